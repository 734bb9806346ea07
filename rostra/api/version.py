"""The version Rostra reports. Clients (Mastodon.py, toot, masto.js) gate features on a Mastodon
version number at the start of ``version``, so Rostra states the Mastodon API it follows first."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    ROSTRA_VERSION = version("rostra")
except PackageNotFoundError:  # running from a source tree that was never installed
    ROSTRA_VERSION = "0.0.0"

MASTODON_COMPATIBLE = "4.3.0"
MASTODON_VERSION = f"{MASTODON_COMPATIBLE} (compatible; Rostra {ROSTRA_VERSION})"
# No public repository address is settled yet, so source_url is empty (Mastodon sends its repository).
SOURCE_URL = ""
