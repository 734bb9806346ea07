"""Hashtags named by people rather than found in a post (following one, featuring one).

Names are read the way posts read them (``rostra.core.text.parse``: a ``#`` and 1-100 word
characters, not all digits, compared in lower case), so a name typed here always matches the
``Hashtag.name`` that posts carry.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from rostra.core.errors import ValidationError
from rostra.core.text import parse
from rostra.posts.models import Hashtag

MAX_NAME = 100  # Hashtag.name's column, and the longest name a post can carry


def tag_name(raw: str) -> tuple[str, str]:
    """``(name, display_name)`` for a hashtag as typed (a leading ``#`` is fine), or
    ValidationError when it is not a hashtag a post could carry."""
    typed = (raw or "").strip()
    typed = typed.removeprefix("#")
    if not typed:
        raise ValidationError("Name a hashtag.", field="name")
    if len(typed) > MAX_NAME:
        raise ValidationError(f"A hashtag is at most {MAX_NAME} characters.", field="name")
    # The posts' own reading of "#name": valid exactly when it reads the whole name as one hashtag.
    if parse(f"#{typed}").hashtags != [typed.lower()]:
        raise ValidationError("Not a hashtag: use letters, digits and underscores, with at least one letter.", field="name")
    return typed.lower(), typed


def hashtag_for(name: str, display_name: str) -> Hashtag:
    """The hashtag row for a checked name, created if nobody has used it yet (as Mastodon does)."""
    tag = Hashtag.objects.filter(name=name).first()
    if tag is not None:
        return tag
    try:
        with transaction.atomic():
            return Hashtag.objects.create(name=name, display_name=display_name)
    except IntegrityError:  # created meanwhile by a post or someone else
        return Hashtag.objects.get(name=name)
