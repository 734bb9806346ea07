"""Who is staff: admins make members moderators or admins, and back. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Role, User
from rostra.core.errors import Conflict, PermissionDenied, ValidationError
from rostra.moderation import audit, policies


@dataclass(frozen=True)
class RoleChange:
    username: str
    before: str
    after: str


def change_role(admin: User, username: str, role: str) -> RoleChange:
    """Set a local person's role (member, moderator or admin). Admins only; the last admin stays one."""
    if not policies.is_admin(admin):
        raise PermissionDenied("Only admins can change roles.")
    if role not in Role.values:
        raise ValidationError(f"The role is one of {', '.join(Role.values)}.", field="role")
    name = (username or "").strip().removeprefix("@")
    if not name:
        raise ValidationError("Whose role? Give their username.", field="username")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username__iexact=name).first()
        if user is None or not user.is_active:
            raise ValidationError(f"No one here is called @{name}.", field="username")
        before = str(user.role)
        if before == role:
            raise Conflict(f"@{user.username} is already a {Role(role).label.lower()}.")
        if before == Role.ADMIN:
            # Lock every admin row, so two admins demoting each other at once cannot leave none.
            admins = set(User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True).values_list("pk", flat=True))
            if not admins - {user.pk}:
                raise Conflict("This is the last admin; make someone else an admin first.")
        accounts.set_role(user, role)
        account_id = Account.objects.filter(user=user).values_list("pk", flat=True).first()
        audit.record(
            admin, "role.changed", target_type="account", target_id=account_id, account_id=account_id,
            detail={"from": before, "to": role},
        )
    return RoleChange(user.username, before, role)


def staff() -> list[User]:
    """Admins and moderators (active logins), admins first."""
    users = User.objects.filter(role__in=(Role.ADMIN, Role.MODERATOR), is_active=True).order_by("username")
    return sorted(users, key=lambda u: u.role != Role.ADMIN)
