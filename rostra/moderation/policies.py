"""Who may do what in trust and safety. Roles: member, moderator, admin (``accounts.models.Role``)."""

from __future__ import annotations

from typing import Any

from rostra.accounts.models import Role

STAFF_ROLES = (Role.MODERATOR, Role.ADMIN)


def is_moderator(user: Any) -> bool:
    """Moderators and admins work the queue, act on posts and accounts, and decide appeals."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.role in STAFF_ROLES)


def is_admin(user: Any) -> bool:
    """Admins also edit the policy and change people's roles."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.ADMIN)


def can_decide_appeal(user: Any, appeal: Any) -> bool:
    """A moderator other than the one who acted, and never the person appealing."""
    if not is_moderator(user):
        return False
    if appeal.action.moderator_id is not None and appeal.action.moderator_id == user.pk:
        return False
    return getattr(getattr(user, "account", None), "pk", None) != appeal.account_id


def can_read_appeal(user: Any, appeal: Any) -> bool:
    return is_moderator(user) or getattr(getattr(user, "account", None), "pk", None) == appeal.account_id
