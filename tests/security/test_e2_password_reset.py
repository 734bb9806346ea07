"""E2 login-bruteforce, the password-reset half (../shared/SECURITY-TESTS.md): [5 / 30 min per
email] and the sign-in limit per network; the answer never says whether an address has an
account, not even when refusing. And the hashes a stolen database would give up: Argon2id at
OWASP's parameters, older hashes upgraded at the next sign-in."""

from __future__ import annotations

import dataclasses

import argon2
import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.core import mail
from django.test import Client

from rostra.accounts import password_reset
from rostra.accounts.hashers import RostraArgon2Hasher
from rostra.accounts.models import User
from rostra.testing.world import PASSWORD

MIB = 1024  # Argon2's memory cost is in KiB


@pytest.fixture
def limits(settings):
    def apply(raw: str = "") -> None:
        # The database counter, so another test worker's Redis reset cannot disturb the counts.
        settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits=raw, redis_url=None)

    return apply


def ask(email: str, ip: str = "192.0.2.30"):
    return Client(REMOTE_ADDR=ip).post("/password-reset", {"email": email})


def test_e2_login_bruteforce_password_reset_sixth_request_per_email_refused_alike(world, run_tasks, limits):
    limits("")
    for i in range(5):
        # From different networks: the limit is the address's, wherever the requests come from
        for email in ("alice@example.org", "nobody@example.org"):
            assert ask(email, ip=f"192.0.2.{40 + i}").status_code == 302
    known, unknown = ask("alice@example.org", ip="198.51.100.1"), ask("nobody@example.org", ip="198.51.100.2")
    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content  # not one byte tells them apart
    assert password_reset.TOO_MANY in known.content.decode()
    assert int(known["Retry-After"]) > 0
    assert ask("ALICE@example.org", ip="198.51.100.3").status_code == 429  # the address, in any case
    run_tasks()
    assert len(mail.outbox) == 5 and {tuple(m.to) for m in mail.outbox} == {("alice@example.org",)}
    # Another address is not held up by alice's.
    assert ask("bob@example.org", ip="198.51.100.4").status_code == 302


def test_e2_login_bruteforce_password_reset_counts_against_the_networks_sign_in_limit(world, limits):
    limits("login_ip=3/5m")
    assert [ask(f"person{i}@example.org").status_code for i in range(3)] == [302, 302, 302]
    assert ask("alice@example.org").status_code == 429
    r = Client(REMOTE_ADDR="192.0.2.30").post("/login", {"username": "alice", "password": PASSWORD})
    assert r.status_code == 429  # resets and sign-ins share the network's budget
    assert ask("alice@example.org", ip="203.0.113.9").status_code == 302  # another network is served


def test_e2_login_bruteforce_password_reset_fails_closed_without_a_limiter(world, limits, monkeypatch):
    from rostra.core import ratelimit

    limits("")

    def down(*args: object, **kwargs: object) -> None:
        raise ratelimit.LimiterUnavailable("no store can count")

    monkeypatch.setattr(ratelimit.Limiter, "hit", down)
    r = ask("alice@example.org")
    assert r.status_code == 503 and r["Retry-After"] == "30"
    assert mail.outbox == []


def test_argon2id_meets_owasp_parameters(settings):
    from rostra.config import settings as production

    assert production.PASSWORD_HASHERS[0] == "rostra.accounts.hashers.RostraArgon2Hasher"
    encoded = RostraArgon2Hasher().encode("correct horse", RostraArgon2Hasher().salt())
    params = argon2.extract_parameters(encoded.removeprefix("argon2"))
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19 * MIB and params.time_cost >= 2 and params.parallelism == 1


@pytest.mark.parametrize(
    "old_hash",
    [
        lambda pw: "argon2" + argon2.PasswordHasher(time_cost=1, memory_cost=8 * MIB, parallelism=2).hash(pw),  # weaker Argon2id
        lambda pw: make_password(pw, hasher="pbkdf2_sha256"),  # Django's default
    ],
    ids=["weak-argon2id", "pbkdf2"],
)
def test_argon2id_meets_owasp_parameters_older_hashes_upgraded_at_sign_in(world, settings, old_hash):
    settings.PASSWORD_HASHERS = ["rostra.accounts.hashers.RostraArgon2Hasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    User.objects.filter(username="alice").update(password=old_hash(PASSWORD))
    r = Client().post("/login", {"username": "alice", "password": PASSWORD})
    assert r.status_code == 302
    stored = User.objects.get(username="alice").password
    assert isinstance(identify_hasher(stored), RostraArgon2Hasher)
    assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
