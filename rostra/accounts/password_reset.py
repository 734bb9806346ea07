"""Password reset by email, without telling anyone who has an account here.

The flow:

1. ``request_reset(email, ip)``: counted against the limits (``password_reset_email`` per
   address, ``login_ip`` per network); the address is looked up and an event is queued whether
   or not it belongs to anyone, so the request does the same work, in the same time, either way,
   and the page answers with the same words (``SENT``).
2. After commit a worker runs ``send_reset_email(user_id)``: for a real login it makes the token
   and sends the link; for an unknown address it does nothing.
3. ``check_link`` / ``reset_password``: the link carries the login's id and a token from Django's
   ``PasswordResetTokenGenerator`` (an HMAC over the password hash, the last sign-in and the
   time), so it stops working once the password changes — it is single use — and after
   ``LINK_LIFETIME``. The new password is checked like a sign-up's; setting it ends every web
   session and every API token. Two-factor stays on, and the person is not signed in by the
   reset: the next sign-in asks for the code as always, so a mailbox alone never passes 2FA.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from rostra.accounts import sessions
from rostra.accounts.models import User
from rostra.core import clock, events, ratelimit
from rostra.core.errors import RateLimited, ValidationError

LINK_LIFETIME = timedelta(hours=1)
SENT = "If an account uses that address, we have sent a link to it. The link works once, for one hour."
INVALID_LINK = "This password reset link is not valid: it has expired, or it was already used. Ask for a new one."
TOO_MANY = "Too many password reset requests for now. Please try again later."
MAX_EMAIL = 254


class _LinkTokens(PasswordResetTokenGenerator):
    """Django's reset tokens under Rostra's own salt, on Rostra's clock, valid for ``LINK_LIFETIME``."""

    key_salt = "rostra.accounts.password_reset"

    def _now(self) -> datetime:
        return clock.now().replace(tzinfo=None)

    def check_token(self, user: User | None, token: str | None) -> bool:
        if not super().check_token(user, token):
            return False
        assert token is not None
        age = self._num_seconds(self._now()) - base36_to_int(token.split("-")[0])
        return 0 <= age <= LINK_LIFETIME.total_seconds()


link_tokens = _LinkTokens()


def _address(email: str) -> str:
    return (email or "").strip()[:MAX_EMAIL]


# --- Asking for a link --------------------------------------------------------------------------


def request_reset(email: str, ip: str) -> None:
    """Queue a reset link for the login using ``email``, if there is one; the same either way.

    Raises ``RateLimited`` over a limit (counted alike for known and unknown addresses), and
    ``ratelimit.LimiterUnavailable`` when nothing can count (the caller fails closed)."""
    address = _address(email)
    rules, lim = ratelimit.rules(), ratelimit.limiter()
    for verdict in (lim.hit(rules["login_ip"], ratelimit.ip_group(ip)), lim.hit(rules["password_reset_email"], address.lower())):
        if not verdict.allowed:
            raise RateLimited(TOO_MANY, verdict.retry_after())
    user = User.objects.filter(email__iexact=address, is_active=True).only("pk").first() if address else None
    # An event for an unknown address too (its handler does nothing): the same writes either way.
    events.emit("password_reset.requested", user_id=user.pk if user is not None else None)


def reset_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"{settings.ROSTRA.base_url}/password-reset/{uid}/{link_tokens.make_token(user)}"


def send_reset_email(user_id: int | None) -> None:
    """After commit: mail the link to a real login; nothing for an unknown address."""
    if user_id is None:
        return
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    name = settings.ROSTRA.instance_name
    body = (
        f"Someone, hopefully you, asked to reset the password of @{user.username} on {name}.\n\n"
        f"Choose a new password here (the link works once, for one hour):\n{reset_link(user)}\n\n"
        "If you did not ask, ignore this email: your password stays as it is.\n"
    )
    send_mail(f"[{name}] Reset your password", body, None, [user.email], fail_silently=False)


# --- Using the link -----------------------------------------------------------------------------


def check_link(uidb64: str, token: str) -> User:
    """The login a reset link is for; ``ValidationError`` when the link is malformed, expired,
    already used or for no one (one message for all)."""
    try:
        user_id = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        raise ValidationError(INVALID_LINK) from None
    user = User.objects.filter(pk=user_id, is_active=True).first() if 0 < user_id < 2**63 else None
    if user is None or not link_tokens.check_token(user, token):
        raise ValidationError(INVALID_LINK)
    return user


def reset_password(uidb64: str, token: str, new_password: str) -> User:
    """Set the new password through a valid link; every web session and API token ends.
    Nothing is written when the link or the password is not right."""
    with transaction.atomic():
        user = check_link(uidb64, token)
        # Lock the login, then check the link again: of two uses racing, one wins.
        user = User.objects.select_for_update().get(pk=user.pk)
        if not link_tokens.check_token(user, token):
            raise ValidationError(INVALID_LINK)
        try:
            password_validation.validate_password(new_password or "", user)
        except DjangoValidationError as exc:
            raise ValidationError(exc.messages[0], errors={"new_password": list(exc.messages)}) from None
        user.set_password(new_password)
        user.credentials_changed_at = clock.now()  # the apps' tokens end (rostra.api.oauth.find_token)
        user.save(update_fields=["password", "credentials_changed_at"])
        sessions.end_other_sessions(user, None)
    return user
