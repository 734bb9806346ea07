"""The ASGI entry point, kept only for streaming (added with the client API's streaming)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
application = get_asgi_application()
