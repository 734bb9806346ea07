"""gunicorn's logger for ``ROSTRA_LOG_FORMAT=json`` (``rostra serve`` passes ``--logger-class``).

gunicorn's own lines (booting, worker time-outs) come out as JSON lines like Rostra's. Its access
log stays off in every format: Rostra's middleware writes one line per request (logger
``rostra.request``), with the request id and without the client's address.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from rostra.core.logs import JsonFormatter


class JsonLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
