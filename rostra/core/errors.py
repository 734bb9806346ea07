"""Domain errors. Actions raise these; each surface (web, API) maps them to its own answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a message safe to show to the person who caused it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """The input is wrong; nothing was written. ``errors`` maps field -> messages."""

    def __init__(self, message: str, *, field: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, field=field)
        self.errors = errors or ({field: [message]} if field else {"__all__": [message]})


class NotFound(DomainError):
    """The object does not exist, or the viewer may not know that it exists (answered alike)."""

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class PermissionDenied(DomainError):
    """The viewer knows the object exists but may not do this to it."""


class Conflict(DomainError):
    """The request conflicts with the current state (e.g. already following)."""


class RateLimited(DomainError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
