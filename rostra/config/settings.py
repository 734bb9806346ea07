"""Django settings, derived entirely from the typed ``RostraSettings`` (see ``env.py``)."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url

from rostra.config.env import ConfigError, load
from rostra.core.logs import logging_config

try:
    ROSTRA = load()
except ConfigError as exc:  # An invalid setting stops start-up with a message naming it.
    print(f"rostra: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

BASE_DIR = ROSTRA.data_dir
SECRET_KEY = ROSTRA.secret_key
DEBUG = ROSTRA.debug
FEDERATION_MODE = ROSTRA.federation_mode  # open | allowlist: see rostra.federation.policy
ALLOW_LOOPBACK_FEDERATION = ROSTRA.allow_loopback_federation  # see rostra.core.outbound; only with a loopback domain
AUTHORIZED_FETCH = ROSTRA.authorized_fetch  # see rostra.federation.authorized_fetch; the tests turn it off
TESTING = False  # only rostra.config.test_settings turns this on; no environment variable can

ALLOWED_HOSTS = [ROSTRA.hostname, "localhost", "127.0.0.1", "[::1]"]
if ROSTRA.media_hostname:
    ALLOWED_HOSTS.append(ROSTRA.media_hostname)  # the separate media origin: only /media/ answers there
CSRF_TRUSTED_ORIGINS = [ROSTRA.base_url]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "rostra.core",
    "rostra.accounts",
    "rostra.posts",
    "rostra.moderation",
    "rostra.timelines",
    "rostra.notifications",
    "rostra.search",
    "rostra.portability",
    "rostra.federation",
    "rostra.pipeline",
    "rostra.api",
    "rostra.web",
]

MIDDLEWARE = [
    "rostra.core.observability.ObservabilityMiddleware",  # outermost: request id, log line, latency; /metrics (never shed)
    "rostra.core.admission.AdmissionMiddleware",  # first: /health, and overload → 503 + Retry-After (docs/operations.md)
    "django.middleware.security.SecurityMiddleware",
    "rostra.web.middleware.MediaOriginMiddleware",  # with ROSTRA_MEDIA_URL: the media host serves /media/ only
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rostra.api.throttle.RateLimitMiddleware",
    "rostra.core.replicas.ReadYourWritesMiddleware",  # with read replicas: a writer reads the primary for a few seconds
    "rostra.web.middleware.SessionActivityMiddleware",  # sign-ins' last-seen, at most once a minute
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "rostra.web.middleware.SecurityHeadersMiddleware",
    "rostra.web.middleware.FaultMiddleware",  # database down → 503 + Retry-After, media disk full → 507
    "rostra.federation.middleware.ContentNegotiationMiddleware",  # /@user and /@user/<id> answer servers with ActivityStreams
]

ROOT_URLCONF = "rostra.config.urls"
WSGI_APPLICATION = "rostra.config.wsgi.application"
ASGI_APPLICATION = "rostra.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rostra.web.context.instance",
            ],
        },
    },
]

# --- Databases: SQLite in WAL mode by default, PostgreSQL when DATABASE_URL says so.


def _postgres(url: str) -> dict[str, Any]:
    settings_dict: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    if ROSTRA.db_prepared_statements:
        # Parameters bound by the server, and statements a connection runs five times prepared:
        # PostgreSQL then plans a home page's dozen statements once per connection, not on every
        # read (in process, XS: 19-23 -> 13-15 ms a read). Off behind a pooler that drops
        # prepared statements (ROSTRA_DB_PREPARED_STATEMENTS, docs/operations.md).
        settings_dict.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    return settings_dict


if ROSTRA.database_url and not ROSTRA.database_url.startswith("sqlite"):
    DATABASES = {"default": _postgres(ROSTRA.database_url)}
else:
    sqlite_path = ROSTRA.data_dir / "rostra.sqlite3"
    if ROSTRA.database_url and ROSTRA.database_url.startswith("sqlite"):
        sqlite_path = type(sqlite_path)(unquote(urlsplit(ROSTRA.database_url).path))
    DATABASES = {
        "default": {
            "ENGINE": "rostra.core.sqlite3",  # Django's, remembering its placeholder rewrites (rostra/core/sqlite3)
            "NAME": str(sqlite_path),
            # Each web and task thread keeps its connection: opening one per request (PRAGMAs,
            # schema, a cold page cache) cost a home read a third of its time (bench: 16 clients,
            # 179 -> 276 reads/s). Each connection's page cache is capped at 8 MB below.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # WAL for concurrent readers; IMMEDIATE so writers queue instead of failing on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=20000; PRAGMA cache_size=-8000;"
                ),
            },
        }
    }

# Read replicas (DATABASE_REPLICA_URLS, PostgreSQL only): aliases replica_1..n, used by
# rostra.core.replicas for timeline and search reads; every write goes to "default".
ROSTRA_READ_REPLICAS: list[str] = []
for _n, _url in enumerate(ROSTRA.database_replica_urls, start=1):
    DATABASES[f"replica_{_n}"] = _postgres(_url)
    ROSTRA_READ_REPLICAS.append(f"replica_{_n}")
DATABASE_ROUTERS = ["rostra.core.replicas.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/home"

# --- Passwords: Argon2id at OWASP parameters (19 MiB, t=2, p=1): ~20-40 ms a hash here.
PASSWORD_HASHERS = ["rostra.accounts.hashers.RostraArgon2Hasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache: Redis when configured, otherwise in-process.
if ROSTRA.redis_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": ROSTRA.redis_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- The task queue (Huey): SQLite file by default, Redis when configured.
if ROSTRA.redis_url:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "rostra",
        "url": ROSTRA.redis_url,
        "immediate": False,
        "results": False,
        "consumer": {"workers": ROSTRA.task_workers, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "rostra.pipeline.queue.RostraSqliteHuey",  # synchronous=NORMAL, as the main database
        "name": "rostra",
        "filename": str(ROSTRA.data_dir / "tasks.sqlite3"),
        "immediate": False,
        "results": False,
        # SQLite is polled (Redis blocks on its list): at most a second between polls when idle,
        # not huey's default ten, so an inbox item or a delivery waits a second at most.
        "consumer": {"workers": ROSTRA.task_workers, "worker_type": "thread", "max_delay": 1.0},
    }

# --- Sessions, cookies, security headers.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = ROSTRA.https
CSRF_COOKIE_SECURE = ROSTRA.https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if ROSTRA.https:
    # Behind a TLS-terminating proxy that says so in X-Forwarded-Proto (docs/security.md): a
    # request that reached Rostra over plain http is redirected, and browsers are told to use
    # https only, for two years, subdomains included (as Mastodon's nginx configuration does).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = ROSTRA.hsts_preload
    if not ROSTRA.hsts_preload:
        # Asking browsers to hard-code the domain is the domain owner's decision
        # (ROSTRA_HSTS_PRELOAD), not a defect of the deployment.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Static files (whitenoise) and uploaded media (served through the visibility door).
STATIC_URL = "/static/"
STATIC_ROOT = ROSTRA.data_dir / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from the finders; the folder only has to exist
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(ROSTRA.media_dir)}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = ROSTRA.media_dir
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Email: console by default.
DEFAULT_FROM_EMAIL = ROSTRA.email_from
if ROSTRA.email_backend == "smtp" and ROSTRA.smtp_url:
    _smtp = urlsplit(ROSTRA.smtp_url)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _smtp.hostname or "localhost"
    EMAIL_PORT = _smtp.port or (465 if _smtp.scheme == "smtps" else 587)
    EMAIL_HOST_USER = unquote(_smtp.username or "")
    EMAIL_HOST_PASSWORD = unquote(_smtp.password or "")
    EMAIL_USE_SSL = _smtp.scheme == "smtps"
    EMAIL_USE_TLS = _smtp.scheme == "smtp" and EMAIL_PORT != 25
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ROSTRA_LOG_FORMAT: text or JSON lines, with the request's (or task's) id and fields (rostra.core.logs).
LOGGING = logging_config(ROSTRA.log_format, ROSTRA.log_level)
