"""``rostra export-account`` and ``rostra import-account``: the lifeboat on the command line.

``rostra.config.cli`` owns the parser and Django's setup and calls these; they take their output
streams as arguments so tests can drive them. Each returns the exit status: 0 done, 2 the
command could not run (no such account, a bad archive, ...): the reason is printed, and an
import that could not run wrote nothing.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TextIO

from django.db import transaction

from rostra.accounts.actions import sign_up
from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import DomainError, ValidationError
from rostra.portability import actions, archive, restore

EXIT_OK, EXIT_CANNOT_RUN = 0, 2
SHOWN_ISSUES = 20


def _local(username: str) -> Account | None:
    return Account.objects.filter(username__iexact=username.removeprefix("@"), domain="", user__isnull=False).first()


def export_account(username: str, out: str | None, stdout: TextIO, stderr: TextIO) -> int:
    account = _local(username)
    if account is None:
        print(f"rostra: there is no local account @{username.removeprefix('@')}.", file=stderr)
        return EXIT_CANNOT_RUN
    path = Path(out or f"rostra-archive-{account.username}-{now():%Y%m%d}.zip")
    if path.exists():
        print(f"rostra: {path} exists already; choose another file with -o.", file=stderr)
        return EXIT_CANNOT_RUN
    if not path.parent.is_dir():
        print(f"rostra: the folder {path.parent} does not exist.", file=stderr)
        return EXIT_CANNOT_RUN
    size = actions.export_account(account, path)
    print(f"rostra: wrote the archive of @{account.username} to {path} ({size:,} bytes).", file=stdout)
    return EXIT_OK


def import_account(path: str, username: str, email: str | None, stdout: TextIO, stderr: TextIO) -> int:
    source = Path(path)
    try:
        archive.read_archive(source).close()  # refused before any account is made
        with transaction.atomic():
            account, password = _target(username, email)
            report = restore.restore_account(account, source)
    except (ValidationError, _CannotRun) as exc:
        print(f"rostra: {exc.message if isinstance(exc, DomainError) else exc}", file=stderr)
        for line in exc.errors.get("lines", []) if isinstance(exc, ValidationError) else []:
            print(f"  {line}", file=stderr)
        return EXIT_CANNOT_RUN
    except DomainError as exc:
        print(f"rostra: {exc.message}", file=stderr)
        return EXIT_CANNOT_RUN
    if password:
        print(f"rostra: created @{account.username}; its password is {password} (change it after signing in).", file=stdout)
    print(f"rostra: restored into @{account.username}: {report.summary()}", file=stdout)
    for issue in report.issues[:SHOWN_ISSUES]:
        print(f"  not restored: {issue}", file=stdout)
    if len(report.issues) > SHOWN_ISSUES:
        print(f"  …and {len(report.issues) - SHOWN_ISSUES} more.", file=stdout)
    return EXIT_OK


class _CannotRun(Exception):
    pass


def _target(username: str, email: str | None) -> tuple[Account, str]:
    """The account to restore into: an existing one that has not posted yet, or a new one."""
    account = _local(username)
    if account is not None:
        if restore.own_posts_not_imported(account):
            raise _CannotRun(f"@{account.username} already has posts of its own; restore into a new account, or one that has not posted.")
        return account, ""
    if not email:
        raise _CannotRun(f"there is no account @{username.removeprefix('@')} yet; give --email to create it.")
    password = secrets.token_urlsafe(15)
    user = sign_up(username.removeprefix("@"), email, password)
    return Account.objects.get(user=user), password
