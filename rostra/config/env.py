"""Rostra's settings: one typed object built from environment variables.

Every setting is declared once here, with its variable, default and meaning. An invalid value
stops start-up with a message that names the variable and says why (``ConfigError``).
The README's settings table mirrors this file; ``tests/config/test_env.py`` keeps them in step.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rostra.core.ratelimit import parse_limits, parse_networks


class ConfigError(Exception):
    """A setting has an invalid value; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    help: str


# The table of settings: variable, default, meaning. Order is the README's order.
SETTINGS: tuple[Setting, ...] = (
    Setting("ROSTRA_DATA_DIR", "./data", "Where Rostra keeps its SQLite database, media, task queue and generated secret key."),
    Setting("ROSTRA_DOMAIN", "127.0.0.1:8000", "The public host[:port] of this instance, as people type it in a browser."),
    Setting("ROSTRA_HTTPS", "false", "Whether the public URL is https:// (behind a TLS-terminating proxy that sets X-Forwarded-Proto). Turns on secure cookies, HSTS and the redirect of plain-http requests."),
    Setting("ROSTRA_HSTS_PRELOAD", "false", "With ROSTRA_HTTPS: add `preload` to the HSTS header, consenting to browsers' HSTS preload list (submit the domain at hstspreload.org yourself)."),
    Setting("DATABASE_URL", None, "A PostgreSQL URL (postgres://user@host:5432/db). Unset: SQLite in WAL mode inside the data dir."),
    Setting("DATABASE_REPLICA_URLS", None, "Comma-separated PostgreSQL URLs of read replicas of DATABASE_URL (PostgreSQL only). Set: the public, local, hashtag and profile timelines and search read from a replica; everything else, every write, and a person's own reads for a few seconds after they wrote, use the primary."),
    Setting("REDIS_URL", None, "A Redis URL (redis://127.0.0.1:6379/0). Set: the task queue and cache use Redis. Unset: embedded SQLite queue, in-process cache."),
    Setting("ROSTRA_SECRET_KEY", None, "Django's signing key. Unset: generated once and kept in <data dir>/secret_key."),
    Setting("ROSTRA_DEBUG", "false", "Development mode: detailed error pages. Never on a public server."),
    Setting("ROSTRA_INSTANCE_NAME", "Rostra", "The name shown in the page header and the web app manifest."),
    Setting("ROSTRA_INSTANCE_DESCRIPTION", "A public square for free expression.", "One line describing this instance, shown on the landing page."),
    Setting("ROSTRA_MAX_POST_CHARS", "1000", "The longest post, in characters (100 to 100000)."),
    Setting("ROSTRA_REGISTRATIONS", "open", "Sign-up mode: open, or closed (only an admin creates accounts with `rostra users create`)."),
    Setting("ROSTRA_SURGE_SIGNUPS_PER_MIN", "30", "Surge mode set to auto (`rostra surge auto`) turns on when sign-ups over the last 10 minutes average more than this many a minute, and off after 30 minutes below it (1 to 100000; see docs/operations.md, Surge mode)."),
    Setting("ROSTRA_MEDIA_URL", None, "A separate origin for uploaded media, e.g. https://media.social.example (a second host name routed to the same Rostra). Set: every image URL points there, the media host serves nothing but /media/, and no cookie of the main site reaches it. Unset: media is served from the main origin."),
    Setting("ROSTRA_MEDIA_S3_URL", None, "Keep media in an S3-compatible bucket instead of <data dir>/media: https://ACCESS_KEY:SECRET@endpoint[:port]/bucket[/prefix][?region=eu-west-1] (key and secret URL-encoded; http:// only for a loopback endpoint). Media is still served through Rostra's visibility check; the bucket stays private."),
    Setting("ROSTRA_MEDIA_MAX_BYTES", "16777216", "The largest image upload, in bytes (default 16 MiB)."),
    Setting("ROSTRA_MEDIA_MAX_PIXELS", "33177600", "The largest image upload, in pixels (default 33 megapixels, e.g. 7680x4320)."),
    Setting("ROSTRA_REMOTE_MEDIA_DAYS", "30", "How many days a cached copy of another server's image (a remote post's attachment) is kept when no local account liked, reposted, bookmarked or replied to its post; after that the copy is deleted and the image is shown from its origin again."),
    Setting("ROSTRA_EMAIL_BACKEND", "console", "How email is sent: console (printed to the server log) or smtp."),
    Setting("ROSTRA_SMTP_URL", None, "With ROSTRA_EMAIL_BACKEND=smtp: smtp://user:password@host:587 (smtps:// for implicit TLS)."),
    Setting("ROSTRA_EMAIL_FROM", "rostra@localhost", "The From: address of email Rostra sends."),
    Setting("ROSTRA_WEB_WORKERS", "2", "How many web worker processes `rostra serve` starts (1 to 64)."),
    Setting("ROSTRA_TASK_WORKERS", "2", "How many task worker threads `rostra serve` and `rostra worker` start (1 to 64)."),
    Setting("ROSTRA_SHED_QUEUE_MS", "1000", "Load shedding: a request that waited longer than this many milliseconds for a web worker thread (or since the proxy's X-Request-Start) is answered 503 with Retry-After at once; writes at half of it. 0 turns it off (0 to 60000). See docs/operations.md, Overload and recovery."),
    Setting("ROSTRA_SHED_MAX_INFLIGHT", "0", "Load shedding: at most this many requests in progress per web process; more are answered 503 with Retry-After. 0: no bound beyond the worker threads (0 to 1024)."),
    Setting("ROSTRA_SHED_TASK_BACKLOG", "50000", "Load shedding: while the task queue holds more than this many tasks, writes (posts, likes, follows) are answered 503 with Retry-After; reports, blocks, mutes and moderation never are. 0 turns it off."),
    Setting("ROSTRA_SHED_RETRY_AFTER", "5", "Load shedding: the Retry-After, in seconds, of a shed request (1 to 3600); each answer adds up to as much again at random, so clients do not return all at once."),
    Setting("ROSTRA_LOG_LEVEL", "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR."),
    Setting("ROSTRA_LOG_FORMAT", "text", "Log lines as text or json (one JSON object a line with time, level, logger, message, request id, route, status, duration, account id; never IP addresses or tokens). See docs/operations.md, Metrics and logs."),
    Setting("ROSTRA_METRICS_ALLOW", None, "Comma-separated addresses or networks besides loopback that may read /metrics (e.g. `10.0.0.0/8`). Everyone else gets a 404 unless they send ROSTRA_METRICS_TOKEN."),
    Setting("ROSTRA_METRICS_TOKEN", None, "A bearer token (at least 16 characters) that lets Prometheus read /metrics from any address: `Authorization: Bearer <token>`. Unset: /metrics answers only loopback and ROSTRA_METRICS_ALLOW."),
    Setting("ROSTRA_RATE_LIMITS", None, "Rate-limit overrides, e.g. `signup_ip=20/30m,api_ip=600/5m` or `scale=10` (see docs/api-compatibility.md, Rate limits). Unset: Mastodon's numbers."),
    Setting("ROSTRA_TRUSTED_PROXIES", None, "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is believed (e.g. `127.0.0.1,10.0.0.0/8`). Unset: the client address is the connection's."),
    Setting("ROSTRA_STREAMING_PORT", "8001", "The port of the streaming process (/api/v1/streaming, WebSocket and SSE) that `rostra serve` starts beside the web server."),
    Setting("ROSTRA_STREAMING_URL", None, "The public ws:// or wss:// URL clients stream from. Unset: wss://<domain> with ROSTRA_HTTPS (a reverse proxy routes /api/v1/streaming), else ws://<host>:<streaming port>."),
    Setting("ROSTRA_STREAMING_PUBLIC", "true", "Whether anonymous clients may read the public and hashtag streams (signed-in clients always may)."),
    Setting("ROSTRA_ALLOW_LOOPBACK_FEDERATION", "false", "For tests and local experiments only: federate over plain http with peers on loopback addresses (127.0.0.2 to 127.255.255.254). Refused unless ROSTRA_DOMAIN is itself a loopback address, so a public instance can never be turned against its own host."),
    Setting("ROSTRA_AUTHORIZED_FETCH", "true", "Authorised fetch (Mastodon's \"secure mode\"): other servers must sign their GETs of actors, posts and collections (unsigned: a minimal actor with its key, or 401), and servers of suspended domains are refused. WebFinger, NodeInfo, the instance actor and web pages stay open."),
    Setting("ROSTRA_FEDERATION_MODE", "open", "Which servers this instance federates with: open (every server except blocked domains) or allowlist (only domains an admin allowed with `rostra domains allow`, in and out). See docs/federation.md, Instance policy."),
    Setting("ROSTRA_API_REQUIRE_AUTH", "false", "Refuse the client API to anonymous clients: every /api/v1 and /api/v2 endpoint except what an app needs before signing in (instance, apps, custom emojis, sign-up) answers 401 without a user's token. Web pages and RSS feeds stay public."),
    Setting("ROSTRA_DB_PREPARED_STATEMENTS", "true", "With PostgreSQL: send statements with server-side parameters and let each connection prepare the ones it runs again and again (after 5 runs), so PostgreSQL plans a home page's statements once per connection instead of on every read (about a third of a home read's time on PostgreSQL). Set it to false behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements)."),
    Setting("ROSTRA_HOME_MAX_ITEMS", "800", "With REDIS_URL: how many posts each home timeline keeps in Redis (100 to 10000); older ones fall off, and a timeline missing from Redis is rebuilt from the database when read."),
    Setting("ROSTRA_FANOUT_BATCH", "10000", "Fan-out to more home timelines than this is split into queued batches of this size, shared by the workers (100 to 1000000)."),
    Setting("ROSTRA_INACTIVE_DAYS", "14", "Followers who have not used the web or the API for this many days get no fan-out; their home timeline is rebuilt when they come back (1 to 3650)."),
)

_DOMAIN_RE = re.compile(r"^(?=.{1,253}(:\d{1,5})?$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$")


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value: use true or false.")


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number.") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range: it must be between {lo} and {hi}.")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} is not one of: {', '.join(choices)}.")
    return value


def _domain(name: str, raw: str) -> str:
    value = raw.strip().lower().rstrip(".")
    if "://" in value or "/" in value:
        raise ConfigError(f"{name}={raw!r} must be a bare host[:port] such as social.example.org, not a URL.")
    if not _DOMAIN_RE.match(value):
        raise ConfigError(f"{name}={raw!r} is not a valid host[:port].")
    if ":" in value and not 1 <= int(value.rsplit(":", 1)[1]) <= 65535:
        raise ConfigError(f"{name}={raw!r} has a port outside 1-65535.")
    return value


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ConfigError(f"{name}={value!r} must start with {' or '.join(s + '://' for s in schemes)}.")
    # A PostgreSQL URL may name a unix socket through ?host=...; SQLite URLs have no host.
    if not parts.hostname and parts.scheme != "sqlite" and "host=" not in parts.query:
        raise ConfigError(f"{name}={value!r} has no host.")
    return value


def _media_origin(raw: str | None, *, domain: str, https: bool) -> str | None:
    """ROSTRA_MEDIA_URL: an origin only (scheme, host, port), another host than the site's own,
    and https when the site is."""
    if not raw or not raw.strip():
        return None
    value = _url("ROSTRA_MEDIA_URL", raw, ("https",) if https else ("http", "https")).rstrip("/")
    parts = urlsplit(value)
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"ROSTRA_MEDIA_URL={raw.strip()!r} must be an origin only, like https://media.example.org (no path, query or user).")
    if parts.netloc.lower() == domain.lower() or parts.hostname == domain.split(":", 1)[0].lower():
        raise ConfigError(f"ROSTRA_MEDIA_URL={raw.strip()!r} must be another host than ROSTRA_DOMAIN: a separate origin is the point.")
    return value


def _loopback_federation(raw: str, domain: str) -> bool:
    """The test-only hatch: on only for an instance whose own address is loopback."""
    if not _bool("ROSTRA_ALLOW_LOOPBACK_FEDERATION", raw):
        return False
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    if not is_loopback_host(host):
        raise ConfigError(
            f"ROSTRA_ALLOW_LOOPBACK_FEDERATION is for tests on loopback addresses only, and ROSTRA_DOMAIN={domain!r} is not one: "
            "unset it on a real instance."
        )
    return True


@dataclass(frozen=True)
class RostraSettings:
    data_dir: Path
    domain: str
    https: bool
    hsts_preload: bool
    database_url: str | None
    redis_url: str | None
    secret_key: str
    debug: bool
    instance_name: str
    instance_description: str
    max_post_chars: int
    registrations: str
    media_max_bytes: int
    media_max_pixels: int
    email_backend: str
    smtp_url: str | None
    email_from: str
    web_workers: int
    task_workers: int
    log_level: str
    rate_limits: str = ""
    trusted_proxies: tuple[str, ...] = ()
    log_format: str = "text"  # text | json (rostra.core.logs)
    metrics_allow: tuple[str, ...] = ()  # networks besides loopback that may read /metrics
    metrics_token: str | None = None  # a bearer token that may read /metrics from anywhere
    streaming_port: int = 8001
    streaming_url: str | None = None
    streaming_anonymous: bool = True
    api_require_auth: bool = False
    remote_media_days: int = 30  # cached remote images no local account interacted with are kept this long
    federation_mode: str = "open"  # open | allowlist (rostra.federation.policy)
    allow_loopback_federation: bool = False
    authorized_fetch: bool = True
    media_url: str | None = None  # a separate media origin, scheme://host[:port], no trailing slash
    home_max_items: int = 800  # posts per home timeline in Redis (rostra.timelines.store)
    fanout_batch: int = 10_000  # recipients per fan-out batch (rostra.timelines.actions)
    inactive_days: int = 14  # followers away longer get no fan-out
    shed_queue_ms: int = 1000  # load shedding (rostra.core.admission); 0 = off
    shed_max_inflight: int = 0  # per web process; 0 = only the worker threads bound it
    shed_task_backlog: int = 50000  # writes shed above this many queued tasks; 0 = off
    shed_retry_after: int = 5
    database_replica_urls: tuple[str, ...] = ()  # read replicas of database_url (PostgreSQL only)
    db_prepared_statements: bool = True  # PostgreSQL: server-side binding and prepared statements
    media_s3_url: str | None = None  # media in an S3-compatible bucket (rostra.core.mediastore)
    surge_signups_per_min: int = 30  # auto surge mode's threshold (rostra.accounts.surge)

    @property
    def base_url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.domain}"

    @property
    def hostname(self) -> str:
        return self.domain.split(":", 1)[0]

    @property
    def media_hostname(self) -> str | None:
        return urlsplit(self.media_url).hostname if self.media_url else None

    @property
    def streaming_public_url(self) -> str:
        """Where clients open /api/v1/streaming (advertised in the instance documents)."""
        if self.streaming_url:
            return self.streaming_url.rstrip("/")
        if self.https:
            return f"wss://{self.domain}"
        return f"ws://{self.hostname}:{self.streaming_port}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)


def _replica_urls(raw: str | None, database_url: str | None, redis_url: str | None) -> tuple[str, ...]:
    """DATABASE_REPLICA_URLS: PostgreSQL URLs, and only beside a PostgreSQL DATABASE_URL."""
    urls = tuple(u.strip() for u in (raw or "").split(",") if u.strip())
    if not urls:
        return ()
    if not database_url or database_url.startswith("sqlite"):
        raise ConfigError(
            "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL: SQLite has no read replicas "
            "(unset DATABASE_REPLICA_URLS, or set DATABASE_URL=postgres://...)."
        )
    if not redis_url:
        raise ConfigError(
            "DATABASE_REPLICA_URLS needs REDIS_URL: after a person writes, their reads go to the primary for a few seconds, "
            "and every web process must know it (set REDIS_URL=redis://...)."
        )
    for url in urls:
        _url("DATABASE_REPLICA_URLS", url, ("postgres", "postgresql"))
    if len(urls) > 16:
        raise ConfigError(f"DATABASE_REPLICA_URLS lists {len(urls)} replicas: at most 16.")
    return urls


def _media_s3_url(raw: str | None) -> str | None:
    """ROSTRA_MEDIA_S3_URL: checked by the media store's own parser, which names what is wrong."""
    if not raw or not raw.strip():
        return None
    from rostra.core.mediastore import S3UrlError, parse_s3_url

    try:
        parse_s3_url(raw.strip())
    except S3UrlError as exc:
        raise ConfigError(f"ROSTRA_MEDIA_S3_URL is invalid: {exc}") from None
    return raw.strip()


def _secret_key(data_dir: Path, raw: str | None) -> str:
    if raw:
        if len(raw) < 32:
            raise ConfigError("ROSTRA_SECRET_KEY is too short: use at least 32 characters.")
        return raw
    path = data_dir / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    key = secrets.token_urlsafe(48)
    # Written once, readable only by this user; a second process racing us reads the winner's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600) if not path.exists() else None
    if fd is not None:
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key
    return path.read_text().strip()


def _metrics_token(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    value = raw.strip()
    if len(value) < 16 or any(c.isspace() for c in value):
        raise ConfigError("ROSTRA_METRICS_TOKEN must be at least 16 characters without spaces (e.g. from `openssl rand -hex 24`).")
    return value


def _checked(name: str, raw: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is invalid: {exc}.") from None


def load(environ: Mapping[str, str] | None = None) -> RostraSettings:
    """Build the settings from the environment, or raise ConfigError naming the bad variable."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        spec = next(s for s in SETTINGS if s.env == name)
        value = env.get(name)
        if value is None or value.strip() == "":
            return spec.default
        return value

    def req(name: str) -> str:
        value = get(name)
        assert value is not None, name
        return value

    data_dir = Path(req("ROSTRA_DATA_DIR")).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "media").mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"ROSTRA_DATA_DIR={str(data_dir)!r} cannot be created: {exc.strerror}.") from None
    if not os.access(data_dir, os.W_OK):
        raise ConfigError(f"ROSTRA_DATA_DIR={str(data_dir)!r} is not writable by this user.")

    database_url = get("DATABASE_URL")
    if database_url:
        database_url = _url("DATABASE_URL", database_url, ("postgres", "postgresql", "sqlite"))
    redis_url = get("REDIS_URL")
    if redis_url:
        redis_url = _url("REDIS_URL", redis_url, ("redis", "rediss"))
    email_backend = _choice("ROSTRA_EMAIL_BACKEND", req("ROSTRA_EMAIL_BACKEND"), ("console", "smtp"))
    smtp_url = get("ROSTRA_SMTP_URL")
    if email_backend == "smtp":
        if not smtp_url:
            raise ConfigError("ROSTRA_EMAIL_BACKEND=smtp needs ROSTRA_SMTP_URL (smtp://user:password@host:587).")
        smtp_url = _url("ROSTRA_SMTP_URL", smtp_url, ("smtp", "smtps"))
    email_from = req("ROSTRA_EMAIL_FROM").strip()
    if "@" not in email_from:
        raise ConfigError(f"ROSTRA_EMAIL_FROM={email_from!r} is not an email address.")
    name = req("ROSTRA_INSTANCE_NAME").strip()
    if not 1 <= len(name) <= 60:
        raise ConfigError("ROSTRA_INSTANCE_NAME must be 1 to 60 characters.")

    return RostraSettings(
        data_dir=data_dir,
        domain=_domain("ROSTRA_DOMAIN", req("ROSTRA_DOMAIN")),
        https=_bool("ROSTRA_HTTPS", req("ROSTRA_HTTPS")),
        hsts_preload=_bool("ROSTRA_HSTS_PRELOAD", req("ROSTRA_HSTS_PRELOAD")),
        database_url=database_url,
        database_replica_urls=_replica_urls(get("DATABASE_REPLICA_URLS"), database_url, redis_url),
        media_s3_url=_media_s3_url(get("ROSTRA_MEDIA_S3_URL")),
        redis_url=redis_url,
        secret_key=_secret_key(data_dir, get("ROSTRA_SECRET_KEY")),
        debug=_bool("ROSTRA_DEBUG", req("ROSTRA_DEBUG")),
        instance_name=name,
        instance_description=req("ROSTRA_INSTANCE_DESCRIPTION").strip()[:300],
        max_post_chars=_int("ROSTRA_MAX_POST_CHARS", req("ROSTRA_MAX_POST_CHARS"), 100, 100_000),
        registrations=_choice("ROSTRA_REGISTRATIONS", req("ROSTRA_REGISTRATIONS"), ("open", "closed")),
        surge_signups_per_min=_int("ROSTRA_SURGE_SIGNUPS_PER_MIN", req("ROSTRA_SURGE_SIGNUPS_PER_MIN"), 1, 100_000),
        media_max_bytes=_int("ROSTRA_MEDIA_MAX_BYTES", req("ROSTRA_MEDIA_MAX_BYTES"), 1024, 1 << 30),
        media_max_pixels=_int("ROSTRA_MEDIA_MAX_PIXELS", req("ROSTRA_MEDIA_MAX_PIXELS"), 10_000, 200_000_000),
        remote_media_days=_int("ROSTRA_REMOTE_MEDIA_DAYS", req("ROSTRA_REMOTE_MEDIA_DAYS"), 1, 3650),
        email_backend=email_backend,
        smtp_url=smtp_url,
        email_from=email_from,
        web_workers=_int("ROSTRA_WEB_WORKERS", req("ROSTRA_WEB_WORKERS"), 1, 64),
        task_workers=_int("ROSTRA_TASK_WORKERS", req("ROSTRA_TASK_WORKERS"), 1, 64),
        shed_queue_ms=_int("ROSTRA_SHED_QUEUE_MS", req("ROSTRA_SHED_QUEUE_MS"), 0, 60_000),
        shed_max_inflight=_int("ROSTRA_SHED_MAX_INFLIGHT", req("ROSTRA_SHED_MAX_INFLIGHT"), 0, 1024),
        shed_task_backlog=_int("ROSTRA_SHED_TASK_BACKLOG", req("ROSTRA_SHED_TASK_BACKLOG"), 0, 100_000_000),
        shed_retry_after=_int("ROSTRA_SHED_RETRY_AFTER", req("ROSTRA_SHED_RETRY_AFTER"), 1, 3600),
        log_level=_choice("ROSTRA_LOG_LEVEL", req("ROSTRA_LOG_LEVEL"), ("debug", "info", "warning", "error")).upper(),
        streaming_port=_int("ROSTRA_STREAMING_PORT", req("ROSTRA_STREAMING_PORT"), 1, 65535),
        streaming_url=_url("ROSTRA_STREAMING_URL", get("ROSTRA_STREAMING_URL") or "", ("ws", "wss")) if get("ROSTRA_STREAMING_URL") else None,
        streaming_anonymous=_bool("ROSTRA_STREAMING_PUBLIC", req("ROSTRA_STREAMING_PUBLIC")),
        api_require_auth=_bool("ROSTRA_API_REQUIRE_AUTH", req("ROSTRA_API_REQUIRE_AUTH")),
        federation_mode=_choice("ROSTRA_FEDERATION_MODE", req("ROSTRA_FEDERATION_MODE"), ("open", "allowlist")),
        authorized_fetch=_bool("ROSTRA_AUTHORIZED_FETCH", req("ROSTRA_AUTHORIZED_FETCH")),
        db_prepared_statements=_bool("ROSTRA_DB_PREPARED_STATEMENTS", req("ROSTRA_DB_PREPARED_STATEMENTS")),
        allow_loopback_federation=_loopback_federation(req("ROSTRA_ALLOW_LOOPBACK_FEDERATION"), _domain("ROSTRA_DOMAIN", req("ROSTRA_DOMAIN"))),
        media_url=_media_origin(get("ROSTRA_MEDIA_URL"), domain=_domain("ROSTRA_DOMAIN", req("ROSTRA_DOMAIN")), https=_bool("ROSTRA_HTTPS", req("ROSTRA_HTTPS"))),
        rate_limits=_checked("ROSTRA_RATE_LIMITS", get("ROSTRA_RATE_LIMITS") or "", parse_limits) and (get("ROSTRA_RATE_LIMITS") or ""),
        trusted_proxies=_checked("ROSTRA_TRUSTED_PROXIES", get("ROSTRA_TRUSTED_PROXIES") or "", parse_networks),
        log_format=_choice("ROSTRA_LOG_FORMAT", req("ROSTRA_LOG_FORMAT"), ("text", "json")),
        metrics_allow=_checked("ROSTRA_METRICS_ALLOW", get("ROSTRA_METRICS_ALLOW") or "", parse_networks),
        metrics_token=_metrics_token(get("ROSTRA_METRICS_TOKEN")),
        home_max_items=_int("ROSTRA_HOME_MAX_ITEMS", req("ROSTRA_HOME_MAX_ITEMS"), 100, 10_000),
        fanout_batch=_int("ROSTRA_FANOUT_BATCH", req("ROSTRA_FANOUT_BATCH"), 100, 1_000_000),
        inactive_days=_int("ROSTRA_INACTIVE_DAYS", req("ROSTRA_INACTIVE_DAYS"), 1, 3650),
    )


def is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


Loader = Callable[[Mapping[str, str] | None], RostraSettings]
