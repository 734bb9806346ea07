"""Two-factor authentication: an authenticator app (TOTP) plus single-use recovery codes.

Why by hand rather than a library: TOTP (RFC 6238 over RFC 4226's HOTP) is twenty lines of
``hmac``, and the standard's own test vectors check it (tests/accounts/test_two_factor.py).
Codes are 6 digits from HMAC-SHA1 over 30-second steps, the parameters every authenticator app
assumes; one step either side is accepted for clock drift.

What makes a code single-use: the step of the last accepted code is stored, and a code is only
accepted for a later step (a conditional UPDATE, so two requests racing with one code cannot
both win). Recovery codes carry 80 random bits and are stored as SHA-256 digests; using one is
also a conditional UPDATE.

The life of a login's second factor:

    (none) --begin_enrolment(password)--> pending --confirm_enrolment(code)--> on
    on --disable(password, code)--> (none)

While pending, the secret can be shown again (the person may not have scanned it yet); once on,
nothing shows it. At rest it is sealed (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived
from the instance's secret key, which lives in the data dir or the environment, not in the
database: a leaked database dump or backup does not leak anyone's second factor. (Changing
``ROSTRA_SECRET_KEY`` therefore turns everyone's app codes off; recovery codes still work.) The web login asks for ``verify`` after the password; the OAuth password
grant refuses logins with it on (``is_enabled``), as Mastodon does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote, urlencode

from django.db import transaction

from rostra.accounts.models import RecoveryCode, TwoFactor, User
from rostra.core import clock, sealing
from rostra.core.errors import Conflict, ValidationError

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1  # accept the previous and the next step too
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for HMAC-SHA1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz0123456789".replace("1", "")  # 32 symbols (5 bits each); no i, l, o or 1
_RECOVERY_GROUPS, _RECOVERY_GROUP_LEN = 4, 4  # 16 symbols = 80 bits, shown as xxxx-xxxx-xxxx-xxxx

WRONG_CODE = "That code is not right. Enter the 6-digit code your authenticator app shows now."
USED_CODE = "That code was already used. Wait for the next one in your authenticator app."

Method = Literal["totp", "recovery"]


# --- TOTP ------------------------------------------------------------------------------------


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


_SEAL_PURPOSE = b"rostra two-factor secret"  # the HKDF info: secrets sealed before the move still open


def seal(secret: str) -> str:
    """The secret as stored: encrypted and authenticated with a key the database does not hold."""
    return sealing.seal(secret, purpose=_SEAL_PURPOSE)


def unseal(sealed: str) -> str | None:
    """The stored secret in the clear; None if it was sealed under another secret key."""
    return sealing.unseal(sealed, purpose=_SEAL_PURPOSE)


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // STEP_S


def hotp(secret: str, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: the dynamically truncated HMAC-SHA1 of the counter."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at``."""
    return hotp(secret, step_at(at))


def provisioning_uri(secret: str, *, account_name: str, issuer: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from a QR code (Google's Key Uri Format)."""
    # The label is "issuer:account"; a colon inside either part would split it in the wrong place.
    label = quote(f"{issuer.replace(':', ' ')}:{account_name.replace(':', ' ')}", safe="@:")
    params = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_S})
    return f"otpauth://totp/{label}?{params}"


def _matching_step(secret: str | None, code: str, at: datetime) -> int | None:
    if secret is None:
        return None  # sealed under a secret key this instance no longer has: only recovery codes work
    now = step_at(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        # Compare every candidate (no early exit), in constant time.
        if hmac.compare_digest(hotp(secret, step), code):
            found = step
    return found


def _normalise_totp(code: str) -> str | None:
    digits = "".join(ch for ch in (code or "") if not ch.isspace())
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


# --- Recovery codes --------------------------------------------------------------------------


def _new_recovery_code() -> str:
    symbols = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP_LEN))
    return "-".join(symbols[i : i + _RECOVERY_GROUP_LEN] for i in range(0, len(symbols), _RECOVERY_GROUP_LEN))


def _recovery_digest(code: str) -> str:
    canonical = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()


def _looks_like_recovery_code(code: str) -> bool:
    canonical = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return len(canonical) == _RECOVERY_GROUPS * _RECOVERY_GROUP_LEN


def _replace_recovery_codes(user: User) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_recovery_digest(c)) for c in codes])
    return codes


# --- Reads -----------------------------------------------------------------------------------


def is_enabled(user: User) -> bool:
    return TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).exists()


def login_awaiting_code(user_id: object) -> User | None:
    """The active login with two-factor on whose password step remembered ``user_id``; None otherwise."""
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True, two_factor__confirmed_at__isnull=False).first()


@dataclass(frozen=True)
class Status:
    enabled: bool
    pending_secret: str | None  # only while enrolling
    recovery_codes_left: int


def status(user: User) -> Status:
    row = TwoFactor.objects.filter(user=user).first()
    if row is None:
        return Status(False, None, 0)
    if row.confirmed_at is None:
        return Status(False, unseal(row.secret), 0)
    return Status(True, None, RecoveryCode.objects.filter(user=user, used_at__isnull=True).count())


# --- Writes ----------------------------------------------------------------------------------


def _check_password(user: User, password: str) -> None:
    if not user.check_password(password or ""):
        raise ValidationError("Your password is not right.", field="password")


def begin_enrolment(user: User, password: str) -> str:
    """A new secret for the person to add to their app; nothing is switched on until they confirm.
    Starting again replaces an unconfirmed secret."""
    _check_password(user, password)
    with transaction.atomic():
        row = TwoFactor.objects.select_for_update().filter(user=user).first()
        if row is not None and row.confirmed_at is not None:
            raise Conflict("Two-factor authentication is already on.")
        secret = new_secret()
        if row is None:
            TwoFactor.objects.create(user=user, secret=seal(secret))
        else:
            row.secret, row.last_used_step = seal(secret), 0
            row.save(update_fields=["secret", "last_used_step"])
    return secret


def cancel_enrolment(user: User) -> None:
    TwoFactor.objects.filter(user=user, confirmed_at__isnull=True).delete()


def confirm_enrolment(user: User, code: str, *, at: datetime | None = None) -> list[str]:
    """Switch two-factor on with a current code from the app; returns the recovery codes (shown once)."""
    at = at or clock.now()
    with transaction.atomic():
        row = TwoFactor.objects.select_for_update().filter(user=user).first()
        if row is None:
            raise ValidationError("Start setting up two-factor authentication first.", field="code")
        if row.confirmed_at is not None:
            raise Conflict("Two-factor authentication is already on.")
        normalised = _normalise_totp(code)
        step = _matching_step(unseal(row.secret), normalised, at) if normalised else None
        if step is None:
            raise ValidationError(WRONG_CODE, field="code")
        row.confirmed_at, row.last_used_step = at, step
        row.save(update_fields=["confirmed_at", "last_used_step"])
        return _replace_recovery_codes(user)


def verify(user: User, code: str, *, at: datetime | None = None) -> Method:
    """Accept a current app code or an unused recovery code, once; ``ValidationError`` otherwise."""
    at = at or clock.now()
    row = TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).first()
    if row is None:
        raise ValidationError("Two-factor authentication is not on for this account.", field="code")
    normalised = _normalise_totp(code)
    if normalised is not None:
        step = _matching_step(unseal(row.secret), normalised, at)
        if step is None:
            raise ValidationError(WRONG_CODE, field="code")
        # Only a later step than the last accepted one wins; the UPDATE decides races.
        if not TwoFactor.objects.filter(pk=row.pk, last_used_step__lt=step).update(last_used_step=step):
            raise ValidationError(USED_CODE, field="code")
        return "totp"
    if _looks_like_recovery_code(code):
        used = RecoveryCode.objects.filter(user=user, code_hash=_recovery_digest(code), used_at__isnull=True).update(used_at=at)
        if used:
            return "recovery"
        raise ValidationError("That recovery code is not right, or was already used.", field="code")
    raise ValidationError(WRONG_CODE, field="code")


def disable(user: User, password: str, code: str, *, at: datetime | None = None) -> None:
    """Switch two-factor off: the password and a current code (or a recovery code) are both needed."""
    if not is_enabled(user):
        raise Conflict("Two-factor authentication is already off.")
    _check_password(user, password)
    verify(user, code, at=at)
    with transaction.atomic():
        TwoFactor.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    """New recovery codes (the old ones stop working); the password is needed."""
    if not is_enabled(user):
        raise Conflict("Two-factor authentication is off, so there are no recovery codes.")
    _check_password(user, password)
    with transaction.atomic():
        return _replace_recovery_codes(user)
