"""The WSGI entry point: pages and the API are served by WSGI workers (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
application = get_wsgi_application()
