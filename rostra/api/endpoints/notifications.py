"""Notifications: see docs/api-compatibility.md."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["notifications"])
