"""Secrets sealed at rest with a key the database does not hold.

Some secrets must be stored readable (a two-factor secret, an actor's private signing key), so a
digest will not do. They are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from the instance's secret key, which lives in the data dir or the environment, not in the
database: a leaked dump or backup does not leak them. Each use names its ``purpose``, so the
derived keys differ and one kind of sealed value can never be unsealed as another.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet(purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, *, purpose: bytes) -> str:
    """The secret as stored: encrypted and authenticated with a key the database does not hold."""
    return _fernet(purpose).encrypt(secret.encode()).decode()


def unseal(sealed: str, *, purpose: bytes) -> str | None:
    """The stored secret in the clear; None if it was sealed under another secret key or purpose."""
    try:
        return _fernet(purpose).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
