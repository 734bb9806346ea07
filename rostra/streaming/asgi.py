"""The streaming process's ASGI entry point: ``uvicorn rostra.streaming.asgi:application``."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
django.setup()

from rostra.streaming.app import application  # noqa: E402 - Django must be set up first

__all__ = ["application"]
