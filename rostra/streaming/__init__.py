"""Streaming (Mastodon's /api/v1/streaming over WebSocket and SSE) in its own small ASGI process.

Pages and the API stay on WSGI (gunicorn); only long-lived streams run here, in ``rostra streaming``
(started by ``rostra serve``). The pipeline's handlers publish small messages (an event, an id and
its audience) on the bus (``bus``); the streaming process asks the visibility door which
subscribers may see each one, renders it for them (a post: once per distinct set of per-viewer
marks, ``hub``) and writes it to their sockets (``app``).
"""
