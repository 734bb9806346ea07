"""What must be said about a local account while it still exists, just before it is purged.

A deleted account's last word to other servers (the Delete of its actor) has to be written
while its key and its followers are still here; accounts never import federation, so
federation registers the step when it starts (``register``), as it does for moving. Each step
runs inside the purge's transaction: it is written with the deletion or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from rostra.accounts.models import Account

_steps: list[Callable[[Account], None]] = []


def register(step: Callable[[Account], None]) -> None:
    if step not in _steps:
        _steps.append(step)


def before_purge(account: Account) -> None:
    for step in _steps:
        step(account)
