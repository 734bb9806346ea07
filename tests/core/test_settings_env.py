"""Settings: one typed object from ROSTRA_* variables; a bad value names its variable."""

from __future__ import annotations

import stat

import pytest

from rostra.config.env import SETTINGS, ConfigError, load


@pytest.fixture
def base(tmp_path):
    return {"ROSTRA_DATA_DIR": str(tmp_path / "data")}


def test_defaults_load(base, tmp_path):
    cfg = load(base)
    assert cfg.data_dir == (tmp_path / "data").resolve()
    assert cfg.media_dir.is_dir()
    assert cfg.domain == "127.0.0.1:8000"
    assert cfg.base_url == "http://127.0.0.1:8000"
    assert cfg.max_post_chars == 1000
    assert cfg.registrations == "open"
    assert cfg.media_max_bytes == 16 * 1024 * 1024
    assert cfg.log_level == "INFO"
    assert not cfg.uses_postgres
    # The generated secret key is kept, readable by this user only, and reused next time.
    key_file = cfg.data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load(base).secret_key == cfg.secret_key
    assert len(cfg.secret_key) >= 32


def test_good_values_are_read(base):
    cfg = load(
        base
        | {
            "ROSTRA_DOMAIN": "Social.Example.ORG.",
            "ROSTRA_HTTPS": "yes",
            "DATABASE_URL": "postgres://rostra@db.internal:5432/rostra",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "ROSTRA_SECRET_KEY": "k" * 40,
            "ROSTRA_MAX_POST_CHARS": "5_000",
            "ROSTRA_REGISTRATIONS": "Closed",
            "ROSTRA_EMAIL_BACKEND": "smtp",
            "ROSTRA_SMTP_URL": "smtps://u:p@mail.example.org:465",
            "ROSTRA_LOG_LEVEL": "debug",
            "ROSTRA_WEB_WORKERS": " 4 ",
            "ROSTRA_INSTANCE_NAME": "  The Forum  ",
        }
    )
    assert cfg.domain == "social.example.org"
    assert cfg.base_url == "https://social.example.org"
    assert cfg.https and cfg.uses_postgres
    assert cfg.secret_key == "k" * 40
    assert cfg.max_post_chars == 5000
    assert cfg.registrations == "closed"
    assert cfg.log_level == "DEBUG"
    assert cfg.web_workers == 4
    assert cfg.instance_name == "The Forum"
    # An empty value means "use the default", as an unset one does.
    assert load(base | {"ROSTRA_MAX_POST_CHARS": "   "}).max_post_chars == 1000


BAD_VALUES = [
    ("ROSTRA_DOMAIN", "https://social.example.org"),
    ("ROSTRA_DOMAIN", "social.example.org/path"),
    ("ROSTRA_DOMAIN", "bad_host!"),
    ("ROSTRA_DOMAIN", "example.org:70000"),
    ("ROSTRA_DOMAIN", "a" * 300),
    ("ROSTRA_HTTPS", "maybe"),
    ("ROSTRA_HSTS_PRELOAD", "sometimes"),
    ("DATABASE_URL", "mysql://db/rostra"),
    ("DATABASE_URL", "postgres://"),
    ("REDIS_URL", "http://127.0.0.1:6379"),
    ("REDIS_URL", "redis://"),
    ("DATABASE_REPLICA_URLS", "postgres://replica:5432/rostra"),  # without a PostgreSQL DATABASE_URL
    ("ROSTRA_MEDIA_S3_URL", "https://s3.example.com/bucket"),  # no access key and secret
    ("ROSTRA_SECRET_KEY", "short"),
    ("ROSTRA_DEBUG", "sometimes"),
    ("ROSTRA_INSTANCE_NAME", "n" * 61),
    ("ROSTRA_MAX_POST_CHARS", "lots"),
    ("ROSTRA_MAX_POST_CHARS", "99"),
    ("ROSTRA_MAX_POST_CHARS", "100001"),
    ("ROSTRA_MAX_POST_CHARS", "1e3"),
    ("ROSTRA_REGISTRATIONS", "invite-only"),
    ("ROSTRA_SURGE_SIGNUPS_PER_MIN", "0"),
    ("ROSTRA_SURGE_SIGNUPS_PER_MIN", "lots"),
    ("ROSTRA_MEDIA_MAX_BYTES", "16MB"),
    ("ROSTRA_MEDIA_MAX_BYTES", "10"),
    ("ROSTRA_MEDIA_MAX_PIXELS", "-1"),
    ("ROSTRA_MEDIA_MAX_PIXELS", "999999999999"),
    ("ROSTRA_EMAIL_BACKEND", "sendmail"),
    ("ROSTRA_EMAIL_FROM", "nobody"),
    ("ROSTRA_WEB_WORKERS", "0"),
    ("ROSTRA_WEB_WORKERS", "many"),
    ("ROSTRA_TASK_WORKERS", "65"),
    ("ROSTRA_LOG_LEVEL", "verbose"),
    ("ROSTRA_RATE_LIMITS", "api_ip=lots"),
    ("ROSTRA_RATE_LIMITS", "nonsense=5/5m"),
    ("ROSTRA_RATE_LIMITS", "signup_ip=5/fortnight"),
    ("ROSTRA_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example"),
    ("ROSTRA_STREAMING_PORT", "0"),
    ("ROSTRA_STREAMING_PORT", "http"),
    ("ROSTRA_STREAMING_URL", "https://social.example.org"),
    ("ROSTRA_STREAMING_PUBLIC", "sometimes"),
    ("ROSTRA_API_REQUIRE_AUTH", "sometimes"),
    ("ROSTRA_ALLOW_LOOPBACK_FEDERATION", "sometimes"),
    ("ROSTRA_AUTHORIZED_FETCH", "sometimes"),
    ("ROSTRA_DB_PREPARED_STATEMENTS", "sometimes"),
    ("ROSTRA_FEDERATION_MODE", "closed"),
    ("ROSTRA_REMOTE_MEDIA_DAYS", "0"),
    ("ROSTRA_REMOTE_MEDIA_DAYS", "a month"),
    ("ROSTRA_MEDIA_URL", "ftp://media.example.org"),
    ("ROSTRA_MEDIA_URL", "https://media.example.org/files"),
    ("ROSTRA_MEDIA_URL", "https://user@media.example.org"),
    ("ROSTRA_MEDIA_URL", "https://127.0.0.1:8000"),  # the site's own origin is not a separate one
    ("ROSTRA_SHED_QUEUE_MS", "-1"),
    ("ROSTRA_SHED_QUEUE_MS", "60001"),
    ("ROSTRA_SHED_MAX_INFLIGHT", "1025"),
    ("ROSTRA_SHED_MAX_INFLIGHT", "some"),
    ("ROSTRA_SHED_TASK_BACKLOG", "-1"),
    ("ROSTRA_SHED_TASK_BACKLOG", "100000001"),
    ("ROSTRA_SHED_RETRY_AFTER", "0"),
    ("ROSTRA_SHED_RETRY_AFTER", "3601"),
    ("ROSTRA_LOG_FORMAT", "xml"),
    ("ROSTRA_METRICS_ALLOW", "10.0.0.0/8,prometheus.internal"),
    ("ROSTRA_METRICS_TOKEN", "short"),
    ("ROSTRA_METRICS_TOKEN", "has spaces in it 1234567"),
    ("ROSTRA_HOME_MAX_ITEMS", "99"),
    ("ROSTRA_HOME_MAX_ITEMS", "10001"),
    ("ROSTRA_FANOUT_BATCH", "99"),
    ("ROSTRA_FANOUT_BATCH", "1000001"),
    ("ROSTRA_INACTIVE_DAYS", "0"),
    ("ROSTRA_INACTIVE_DAYS", "3651"),
]


def test_a_media_origin_must_be_https_behind_tls_and_loses_its_slash(base):
    with pytest.raises(ConfigError, match="ROSTRA_MEDIA_URL"):
        load(base | {"ROSTRA_DOMAIN": "social.example.org", "ROSTRA_HTTPS": "true", "ROSTRA_MEDIA_URL": "http://media.example.org"})
    cfg = load(base | {"ROSTRA_DOMAIN": "social.example.org", "ROSTRA_HTTPS": "true", "ROSTRA_MEDIA_URL": "https://Media.example.org/"})
    assert cfg.media_url == "https://Media.example.org" and cfg.media_hostname == "media.example.org"


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_names_its_variable(base, name, value):
    with pytest.raises(ConfigError) as err:
        load(base | {name: value})
    assert name in str(err.value)


def test_smtp_needs_a_good_smtp_url(base):
    with pytest.raises(ConfigError, match="ROSTRA_SMTP_URL"):
        load(base | {"ROSTRA_EMAIL_BACKEND": "smtp"})
    with pytest.raises(ConfigError, match="ROSTRA_SMTP_URL"):
        load(base | {"ROSTRA_EMAIL_BACKEND": "smtp", "ROSTRA_SMTP_URL": "https://mail.example.org"})


def test_data_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="ROSTRA_DATA_DIR"):
        load({"ROSTRA_DATA_DIR": str(blocker)})
    with pytest.raises(ConfigError, match="ROSTRA_DATA_DIR"):
        load({"ROSTRA_DATA_DIR": str(blocker / "below")})


def test_every_setting_has_a_test_here_for_a_bad_value():
    # Settings that have no invalid value: the data dir (checked above), a free-text description
    # and the SMTP URL (checked above, only meaningful with the smtp backend).
    free = {"ROSTRA_DATA_DIR", "ROSTRA_INSTANCE_DESCRIPTION", "ROSTRA_SMTP_URL"}
    covered = {name for name, _ in BAD_VALUES}
    assert {s.env for s in SETTINGS} - free == covered
