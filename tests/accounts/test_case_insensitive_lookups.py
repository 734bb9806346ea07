"""``__iexact`` on usernames and email addresses: case-insensitive, exact, and served by the indexes.

Django's own ``iexact`` (LIKE on SQLite, UPPER() on PostgreSQL) reads every row; Rostra's, on
these fields, is ``LOWER(column) = LOWER(value)``, the expression its unique indexes are built on.
"""

from __future__ import annotations

import pytest
from django.db import connection

from rostra.accounts.actions import sign_up
from rostra.accounts.models import Account, User, WaitlistEntry
from rostra.federation.models import ActorKey

pytestmark = pytest.mark.django_db

PASSWORD = "quiet-lantern-orbit-42"


def test_iexact_matches_whatever_the_case_and_nothing_else() -> None:
    sign_up("Al_ice", "Al_ice@Example.org", PASSWORD)
    sign_up("alXice", "alXice@example.org", PASSWORD)
    assert list(User.objects.filter(username__iexact="AL_ICE").values_list("username", flat=True)) == ["Al_ice"]
    assert list(User.objects.filter(email__iexact="al_ice@EXAMPLE.org").values_list("username", flat=True)) == ["Al_ice"]
    assert list(Account.objects.filter(username__iexact="al_ice", domain="").values_list("username", flat=True)) == ["Al_ice"]
    # LIKE's wildcards are plain characters: "_" and "%" match only themselves
    assert not User.objects.filter(username__iexact="al%").exists()
    assert not Account.objects.filter(username__iexact="al_ic_").exists()
    # through a relation, and the ``None`` of Django's own iexact (IS NULL)
    assert not ActorKey.objects.filter(account__username__iexact="nobody", account__domain="").exists()
    assert not User.objects.filter(username__iexact=None).exists()


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda: User.objects.filter(username__iexact="Someone"), "user_username_ci_unique"),
        (lambda: User.objects.filter(email__iexact="Someone@Example.org"), "user_email_ci_unique"),
        (lambda: Account.objects.filter(username__iexact="Someone", domain=""), "account_handle_unique"),
        (
            lambda: WaitlistEntry.objects.filter(email__iexact="Someone@Example.org", used_at__isnull=True),
            "waitlist_email_ci_unique",
        ),
    ],
)
def test_iexact_is_the_expression_of_the_unique_index(queryset, index) -> None:
    qs = queryset()
    sql = str(qs.query)
    assert "LOWER(" in sql and " LIKE " not in sql and "UPPER(" not in sql
    if connection.vendor == "sqlite":  # PostgreSQL's planner prefers a scan of a table this small
        assert f"USING INDEX {index}" in qs.explain()
