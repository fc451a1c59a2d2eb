"""chatsite settings: one module, every knob from the environment.

Defaults are safe: DEBUG is off and, without DJANGO_SECRET_KEY, the key is a random one kept
in a local file (`make run` turns DEBUG on for a loopback-only development server). Production
switches: DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS,
CORS_ALLOWED_ORIGINS, DJANGO_HTTPS. docs/operations.md lists them all.
"""

import ipaddress
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
import dj_email_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from chatsite import logs

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


# ------------------------------------------------------------------------------
# Core
# https://docs.djangoproject.com/en/5.2/ref/settings/
# ------------------------------------------------------------------------------
def secret_key_from_file(path: Path) -> str:
    """The random key kept in ``path``, made on first use, readable by its owner only.

    Processes starting at once race to create it: each writes a complete candidate to a
    private temporary file and links it into place (a link never replaces an existing file),
    so every one of them reads back the same, whole key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, candidate = tempfile.mkstemp(prefix=".secret-key-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(64) + "\n")
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process linked its key first
        finally:
            os.unlink(candidate)
    if path.stat().st_mode & 0o077:
        raise ImproperlyConfigured(
            f"{path} (the secret key) must be readable by its owner only: chmod 600 {path}"
        )
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} (the secret key) is empty: delete it to make a new one")
    return key


# Off unless asked for: `make run` asks, and then serves on a loopback address only
# (chat/management/commands/serve.py).
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY_FILE = Path(os.environ.get("DJANGO_SECRET_KEY_FILE") or BASE_DIR / ".secret_key")
try:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secret_key_from_file(SECRET_KEY_FILE)
except OSError as exc:
    raise ImproperlyConfigured(
        f"no DJANGO_SECRET_KEY, and its file {SECRET_KEY_FILE} cannot be made or read "
        f"({exc.strerror}): set DJANGO_SECRET_KEY, or DJANGO_SECRET_KEY_FILE to a writable path"
    ) from exc
if not DEBUG and (
    SECRET_KEY == "change-me-to-a-long-random-string"  # noqa: S105 - .env.example's placeholder
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be a long random value (50+ characters, not a placeholder), "
        "or unset to use a random key file; generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "axes",
    "django_structlog",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "chat",
    "files",
    "notifications",
    "integrations",
    "web",
    "worker",
    "exports",
]

# Order matters for speed too. ServeStatic is async-only and everything above it runs on the
# event loop; everything below it runs in one thread per request, because the last entry is
# sync-only. Django's own middleware there costs no thread hop (async MiddlewareMixin costs
# one per hook). Static files get their security headers from SERVESTATIC_ADD_HEADERS_FUNCTION.
MIDDLEWARE = [
    "chatsite.request_log.RequestLogMiddleware",
    # Static files under ASGI without buffering (docs/operations.md).
    "servestatic.middleware.ServeStaticMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "chatsite.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chatsite.rls.RowLevelSecurityMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "chatsite.overload.OverloadMiddleware",
]
if DEBUG:
    # Django's debug 404 page would list every URL pattern (chatsite.security).
    MIDDLEWARE.append("chatsite.security.PlainNotFoundMiddleware")

ROOT_URLCONF = "chatsite.urls"
# Under /api/ a failed CSRF check answers in the API's error shape (docs/api.md).
CSRF_FAILURE_VIEW = "chatsite.api_errors.csrf_failure"
WSGI_APPLICATION = "chatsite.wsgi.application"
ASGI_APPLICATION = "chatsite.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "accounts.context_processors.signup",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# ------------------------------------------------------------------------------
# Attachments (files/; docs/operations.md "Attachments and storage")
# Local files under MEDIA_ROOT unless STORAGE_URL names an S3-compatible bucket:
#   s3://<access key>:<secret key>@<bucket>?endpoint_url=https://...&region_name=...
# (keys optional: boto3's own chain of credentials then applies).
# ------------------------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGE_URL = os.environ.get("STORAGE_URL", "")
# Largest file accepted; refused from Content-Length, and while streaming past it.
CHAT_UPLOAD_MAX_BYTES = env_int("CHAT_UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
# Largest image (width x height) that gets a thumbnail; a bigger one is refused as a
# possible decompression bomb. Pillow's own guard (Image.MAX_IMAGE_PIXELS) is set to it too.
CHAT_UPLOAD_MAX_PIXELS = env_int("CHAT_UPLOAD_MAX_PIXELS", 50_000_000)
# Behind nginx: the internal location that serves MEDIA_ROOT (X-Accel-Redirect), e.g.
# /protected-files/; empty: Django streams the bytes itself.
CHAT_UPLOAD_ACCEL_PREFIX = os.environ.get("CHAT_UPLOAD_ACCEL_PREFIX", "")
# Lifetime of a presigned S3 URL that a permitted download is redirected to.
CHAT_UPLOAD_URL_SECONDS = env_int("CHAT_UPLOAD_URL_SECONDS", 60)
# Uploads no message carries are removed after this long (manage.py remove_stale_uploads).
CHAT_UPLOAD_STALE_HOURS = env_int("CHAT_UPLOAD_STALE_HOURS", 24)

# ------------------------------------------------------------------------------
# Retention and exports (docs/integrations.md "Retention", "Exporting")
# ------------------------------------------------------------------------------
# Messages older than this many days are deleted by the worker; 0 keeps them forever. A
# channel's own retention_days (moderators) overrides it.
CHAT_RETENTION_DAYS = env_int("CHAT_RETENTION_DAYS", 0)
# How often the worker applies retention, and how many messages one transaction deletes.
CHAT_RETENTION_INTERVAL = env_int("CHAT_RETENTION_INTERVAL", 3600)
CHAT_RETENTION_BATCH = env_int("CHAT_RETENTION_BATCH", 500)
# Per-user exports: how long a finished archive can be downloaded, and how often one may ask.
CHAT_USER_EXPORT_DAYS = env_int("CHAT_USER_EXPORT_DAYS", 7)
CHAT_USER_EXPORT_RATE = os.environ.get("CHAT_USER_EXPORT_RATE", "1/day")


def attachment_storage(url: str) -> dict[str, Any]:
    """The STORAGES entry for attachments from STORAGE_URL (unset: local files)."""
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT / "uploads")},
        }
    parts = urlsplit(url)
    if parts.scheme == "file":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": unquote(parts.path)},
        }
    if parts.scheme != "s3" or not parts.hostname:
        raise ImproperlyConfigured("STORAGE_URL: use s3://[key:secret@]<bucket>?endpoint_url=...")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    options: dict[str, Any] = {
        "bucket_name": parts.hostname,
        "endpoint_url": query.get("endpoint_url") or None,
        "region_name": query.get("region_name") or None,
        "addressing_style": query.get("addressing_style", "path"),
        "signature_version": "s3v4",
        "querystring_auth": True,
        "querystring_expire": CHAT_UPLOAD_URL_SECONDS,
        "file_overwrite": False,
        "default_acl": None,
    }
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


# collectstatic writes a gzip and a brotli copy of every file that compresses; ServeStatic
# sends the smallest one the browser accepts (docs/web.md, "Weight"). Names stay unhashed:
# the ES modules import each other by plain relative names.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
    "attachments": attachment_storage(STORAGE_URL),
}

# Uploads stream to a temporary file, never whole into memory; the handler also refuses a
# body past CHAT_UPLOAD_MAX_BYTES from its Content-Length, and stops reading past it.
FILE_UPLOAD_HANDLERS = ["files.upload_handlers.CappedUploadHandler"]
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

# ------------------------------------------------------------------------------
# Database: SQLite file unless DATABASE_URL names PostgreSQL.
# PostgreSQL goes through chatsite.db (row-level security context) with psycopg's pool.
# ------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    # Several people at once: write-ahead log (readers never wait for the writer), and every
    # transaction takes the write lock when it begins, waiting up to SQLITE_TIMEOUT_SECONDS for
    # it. A transaction that read first and wrote later would otherwise fail at once with
    # "database is locked" whenever another one wrote in between (docs/operations.md).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("SQLITE_TIMEOUT_SECONDS", 20),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "chatsite.db"
    DATABASES["default"].setdefault("OPTIONS", {})
    if env_bool("DATABASE_POOL", True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 2),
            "max_size": env_int("DATABASE_POOL_MAX", 20),
            # Past this wait for a free connection a request is answered 503 + Retry-After
            # (chatsite.overload): overload sheds load instead of queueing it for long.
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 3),
            # While PostgreSQL is away the pool retries each connection with a doubling pause
            # for this long, then gives up until a request asks again. The psycopg_pool
            # default (300 s) lets the pauses grow to minutes, and so the time it takes
            # requests to succeed again after PostgreSQL is back (docs/operations.md, "Outages").
            "reconnect_timeout": 5,
        }
    # Behind PgBouncer in transaction mode: keep the RLS context transaction-local always
    # (chatsite.db runs a query outside a transaction in one of its own).
    DATABASES["default"]["OPTIONS"]["rls_transaction_local"] = env_bool(
        "DATABASE_TRANSACTION_POOLING", False
    )
    # A server-side cursor (QuerySet.iterator()) outlives the statement that opened it, which
    # the pooler may already have handed to another client's transaction.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
        "DATABASE_TRANSACTION_POOLING", False
    )
    # Test a pooled connection (one empty query) before a request uses it, so connections
    # that a PostgreSQL restart killed are replaced, not served (chatsite.db; its measured
    # cost is in docs/operations.md, "Outages").
    DATABASES["default"]["OPTIONS"]["pool_check"] = env_bool("DATABASE_POOL_CHECK", True)
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("DATABASE_TEST_NAME") or None}
# The runtime role (no ownership, no BYPASSRLS) that migrations grant data access to when it
# exists; docs/operations.md "Roles and row-level security".
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "chatsite_app")

# ------------------------------------------------------------------------------
# Channel layer and cache: Redis when REDIS_URL is set, in-process otherwise.
# See docs/operations.md for the choice of layer and the redis-py pool settings.
# ------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CHANNEL_LAYER_PREFIX = os.environ.get("CHANNEL_LAYER_PREFIX", "chatsite")
HEARTBEAT_SECONDS = env_int("CHAT_HEARTBEAT_SECONDS", 30)
# WebSocket limits (docs/operations.md, "Open sockets"): changes replayed per subscribe, and
# open sockets per user across every process.
CHAT_REPLAY_LIMIT = env_int("CHAT_REPLAY_LIMIT", 500)
CHAT_MAX_SOCKETS_PER_USER = env_int("CHAT_MAX_SOCKETS_PER_USER", 20)
# Handshakes a process works on at once (authentication to welcome); the others wait their
# turn, so a reconnect storm finishes connects instead of starting all of them.
CHAT_WS_CONNECTS_IN_FLIGHT = env_int("CHAT_WS_CONNECTS_IN_FLIGHT", 16)
# How long a handshake may wait for its turn before Daphne drops it (at least this, whatever
# its --websocket_connect_timeout): in a reconnect storm a handshake that waits costs nothing,
# one dropped comes back and costs its work again (docs/performance.md, "Round 3: connects,
# second pass").
CHAT_WS_HANDSHAKE_SECONDS = env_int("CHAT_WS_HANDSHAKE_SECONDS", 120)

# HTTP requests (chatsite/http_handler.py, docs/operations.md): the threads a process runs
# requests' sync code on (a request waits in the event loop for a free one), and the requests
# it admits at once, running and waiting; past that a new one is answered 503 at once.
HTTP_THREADS = env_int("HTTP_THREADS", 16)
HTTP_MAX_IN_FLIGHT = env_int("HTTP_MAX_IN_FLIGHT", 200)
# Presence changes of one moment leave together, one layer message per channel (chat.events).
PRESENCE_BATCH_SECONDS = 0.25
# The GIL switch interval of the server processes (chatsite/asgi.py; Python's default 0.005).
SWITCH_INTERVAL_SECONDS = float(os.environ.get("PYTHON_SWITCH_INTERVAL_S", "0.001"))

# Scale-out (docs/operations.md, "Scaling out"): the channel layer may be sharded over several
# Redis servers, and every Redis may be reached through Redis Sentinel. With REDIS_SENTINELS
# set, the host part of REDIS_URL and of each CHANNEL_LAYER_REDIS_URLS entry names a master
# that the sentinels monitor (django-redis' convention: redis://[:password@]<master>/<db>).
CHANNEL_LAYER_REDIS_URLS = env_list("CHANNEL_LAYER_REDIS_URLS")
REDIS_SENTINELS = env_list("REDIS_SENTINELS")
# Options of every connection of the channel layer and the presence client: redis-py's asyncio
# pool raises past max_connections instead of waiting, and its socket_timeout must exceed
# RedisChannelLayer's 5 s blocking read or idle processes drop connections.
LAYER_CONNECTION_OPTIONS = {"max_connections": 10_000, "socket_timeout": 15}
SENTINEL_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 2}


def sentinel_addresses(entries: list[str]) -> list[tuple[str, int]]:
    """``["s1:26379", "s2"]`` -> ``[("s1", 26379), ("s2", 26379)]``."""
    addresses = []
    for entry in entries:
        host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "26379")
        try:
            addresses.append((host.strip("[]"), int(port)))
        except ValueError:
            raise ImproperlyConfigured(
                f"REDIS_SENTINELS: {entry!r} is not host:port (e.g. sentinel-1:26379)"
            ) from None
    return addresses


def layer_host(url: str, sentinels: list[tuple[str, int]]) -> dict[str, Any]:
    """One channels-redis ``hosts`` entry: a Redis URL, or a master found through Sentinel."""
    if not sentinels:
        return {"address": url, **LAYER_CONNECTION_OPTIONS}
    parsed = urlsplit(url)
    if parsed.scheme not in {"redis", "rediss"} or not parsed.hostname:
        raise ImproperlyConfigured(
            f"{url!r}: with REDIS_SENTINELS, name the master as redis://<master>/<db>"
        )
    host: dict[str, Any] = {
        "master_name": parsed.hostname,
        "sentinels": sentinels,
        "db": int(parsed.path.strip("/") or 0),
        # A sentinel that does not answer is skipped after these, not waited on.
        "sentinel_kwargs": SENTINEL_TIMEOUTS,
        **LAYER_CONNECTION_OPTIONS,
    }
    if parsed.password:
        host["password"] = unquote(parsed.password)
    if parsed.username:
        host["username"] = unquote(parsed.username)
    return host


CHANNEL_LAYERS: dict[str, dict[str, Any]]
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    _sentinels = sentinel_addresses(REDIS_SENTINELS)
    # One shard per URL; every process must list the same URLs in the same order (channels-redis
    # picks a group's shard by a CRC32 of its name). Presence counters live on the first.
    _layer_hosts = [
        layer_host(url, _sentinels) for url in (CHANNEL_LAYER_REDIS_URLS or [REDIS_URL])
    ]
    if os.environ.get("CHANNEL_LAYER_BACKEND", "pubsub") == "core":
        # RedisChannelLayer: per-process inboxes in Redis lists, groups as sorted sets.
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": _layer_hosts,
                    "prefix": CHANNEL_LAYER_PREFIX,
                    # Pending events per process inbox; past it an event is dropped and
                    # clients recover by seq (docs/api.md).
                    "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
                    "expiry": 60,
                    # The keep-alive re-adds every socket's groups each heartbeat
                    # (chat/keepalive.py), so a dead process's group entries go after three
                    # missed heartbeats, not after a day.
                    "group_expiry": 3 * HEARTBEAT_SECONDS,
                },
            }
        }
    else:
        # RedisPubSubChannelLayer, the default: it measured several times cheaper per
        # delivery (docs/operations.md, "Channel layer"). It has no inboxes and no group
        # entries, so it takes no capacity or expiry options.
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": _layer_hosts, "prefix": CHANNEL_LAYER_PREFIX},
            }
        }
    CACHES = {
        "default": {
            "BACKEND": "chatsite.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHANNEL_LAYER_PREFIX,
            # A Redis that does not answer must not hold requests: past these the cache
            # answers from process memory (chatsite.cache, docs/operations.md "Outages").
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 2},
        }
    }
    if _sentinels:
        # django-redis asks the sentinels for the master named by REDIS_URL's host part.
        CACHES["default"]["OPTIONS"].update(
            {
                "CLIENT_CLASS": "django_redis.client.SentinelClient",
                "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                "SENTINELS": _sentinels,
                "SENTINEL_KWARGS": SENTINEL_TIMEOUTS,
            }
        )
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ------------------------------------------------------------------------------
# Metrics: /metrics in the Prometheus text format (chatsite/metrics.py, docs/operations.md
# "Metrics"). Several processes per host share PROMETHEUS_MULTIPROC_DIR (read by
# prometheus-client itself). Readable from METRICS_ALLOWED_IPS, or with the bearer token.
# ------------------------------------------------------------------------------
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be 32+ random characters (or unset)")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(entry, strict=False)
        for entry in env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc} (addresses or CIDR ranges)") from exc

# ------------------------------------------------------------------------------
# REST framework and JWT
# https://www.django-rest-framework.org/api-guide/settings/
# ------------------------------------------------------------------------------
# Rate limits (chatsite/ratelimit.py; docs/operations.md "Limits"), in DRF's notation.
# Per user, across REST, WebSocket and the pages:
CHAT_MESSAGE_RATE = os.environ.get("CHAT_MESSAGE_RATE", "120/min")
CHAT_EDIT_RATE = os.environ.get("CHAT_EDIT_RATE", "60/min")
CHAT_CHANNEL_CREATE_RATE = os.environ.get("CHAT_CHANNEL_CREATE_RATE", "20/hour")
CHAT_MEMBER_ADD_RATE = os.environ.get("CHAT_MEMBER_ADD_RATE", "60/min")
CHAT_SEARCH_RATE = os.environ.get("CHAT_SEARCH_RATE", "60/min")
CHAT_DM_CREATE_RATE = os.environ.get("CHAT_DM_CREATE_RATE", "60/min")
CHAT_USER_SEARCH_RATE = os.environ.get("CHAT_USER_SEARCH_RATE", "300/min")
CHAT_REACTION_RATE = os.environ.get("CHAT_REACTION_RATE", "120/min")
CHAT_PREVIEW_RATE = os.environ.get("CHAT_PREVIEW_RATE", "60/min")
CHAT_REPORT_RATE = os.environ.get("CHAT_REPORT_RATE", "20/hour")
CHAT_COMMAND_RATE = os.environ.get("CHAT_COMMAND_RATE", "60/min")
CHAT_UPLOAD_RATE = os.environ.get("CHAT_UPLOAD_RATE", "30/min")
CHAT_DOWNLOAD_RATE = os.environ.get("CHAT_DOWNLOAD_RATE", "600/min")
# Notification settings changes (PATCH .../membership/) and reads of the mentions list.
CHAT_MEMBERSHIP_RATE = os.environ.get("CHAT_MEMBERSHIP_RATE", "60/min")
CHAT_MENTION_LIST_RATE = os.environ.get("CHAT_MENTION_LIST_RATE", "120/min")
# Incoming webhooks: per hook (docs/integrations.md). Their bot's CHAT_MESSAGE_RATE applies too.
CHAT_HOOK_RATE = os.environ.get("CHAT_HOOK_RATE", "60/min")
# Bot and token management by moderators, per user.
CHAT_BOT_MANAGE_RATE = os.environ.get("CHAT_BOT_MANAGE_RATE", "30/hour")
# The largest incoming webhook body; a larger one is refused with 413 before it is read.
CHAT_HOOK_MAX_BYTES = env_int("CHAT_HOOK_MAX_BYTES", 64 * 1024)
# Outgoing webhooks (docs/integrations.md, "Outgoing webhooks"): how long one attempt may
# take, how many attempts in all (the n-th retry after RETRY_DELAY * 2^(n-1) seconds), how
# stale a process's list of hooked channels may be, how long deliveries stay in the log, and
# networks (comma-separated CIDRs) hooks may reach although private or loopback.
CHAT_OUTGOING_WEBHOOK_TIMEOUT = float(os.environ.get("CHAT_OUTGOING_WEBHOOK_TIMEOUT", "5"))
CHAT_OUTGOING_WEBHOOK_MAX_ATTEMPTS = env_int("CHAT_OUTGOING_WEBHOOK_MAX_ATTEMPTS", 4)
CHAT_OUTGOING_WEBHOOK_RETRY_DELAY = float(os.environ.get("CHAT_OUTGOING_WEBHOOK_RETRY_DELAY", "10"))
CHAT_OUTGOING_WEBHOOK_REFRESH = float(os.environ.get("CHAT_OUTGOING_WEBHOOK_REFRESH", "2"))
CHAT_OUTGOING_WEBHOOK_LOG_DAYS = env_int("CHAT_OUTGOING_WEBHOOK_LOG_DAYS", 14)
CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = os.environ.get(
    "CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS", ""
)
# Paths whose bodies are refused with 413 over a limit before Django reads them
# (chatsite/body_limit.py): path prefix -> the setting that holds the limit in bytes.
REQUEST_BODY_LIMITS = {"/api/hooks/": "CHAT_HOOK_MAX_BYTES"}
# Per client address, every login, token and sign-up door together:
CHAT_AUTH_RATE = os.environ.get("CHAT_AUTH_RATE", "20/min")
# Claim links of imported accounts mailed to one address (docs/integrations.md).
CHAT_CLAIM_EMAIL_RATE = os.environ.get("CHAT_CLAIM_EMAIL_RATE", "3/hour")
# Proxies in front of the app whose X-Forwarded-For is trusted for the client address
# (0: use the peer address; a client could otherwise pick its own address).
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# A search query that runs longer than this is cancelled and answered 503 (docs/search.md).
CHAT_SEARCH_TIMEOUT_MS = env_int("CHAT_SEARCH_TIMEOUT_MS", 3000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, plus the row-level security context of the token's user.
        # A bot's API token (integrations), then simplejwt's, plus the row-level security
        # context of the token's user.
        "integrations.authentication.BotTokenAuthentication",
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # A bot token limited to some channels reaches only those (integrations).
        "integrations.authentication.TokenChannelScope",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON only, as the schema says: any other body is a 415 (docs/api.md). The browsable
    # API posts through its "Raw data" tab as application/json.
    "DEFAULT_PARSER_CLASSES": ["chatsite.api_parsers.StrictJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # One error shape for every 4xx (docs/api.md); rate limits in chatsite/ratelimit.py.
    "EXCEPTION_HANDLER": "chatsite.api_errors.exception_handler",
    "NUM_PROXIES": NUM_PROXIES,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "chatsite API",
    "DESCRIPTION": "REST API of chatsite, a self-hosted real-time team chat.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Choice sets that share a field name get names of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ChannelKindEnum": "chat.models.Channel.Kind",
        "MembershipRoleEnum": "chat.models.Membership.Role",
        "MentionKindEnum": "notifications.models.Mention.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatsite.api_errors.document_global_errors",
        "chatsite.api_errors.document_string_rules",
    ],
}

# ------------------------------------------------------------------------------
# Seeds
# ------------------------------------------------------------------------------
# Demo users (`manage.py seed`) exist only with DEBUG on (password `chatsite-demo`) or with
# an explicit SEED_PASSWORD.
SEED_PASSWORD = os.environ.get("SEED_PASSWORD", "")
# The first admin, made at first start (`manage.py ensure_admin`) if no user has that name.
CHAT_ADMIN_USERNAME = os.environ.get("CHAT_ADMIN_USERNAME", "")
CHAT_ADMIN_PASSWORD = os.environ.get("CHAT_ADMIN_PASSWORD", "")
CHAT_ADMIN_EMAIL = os.environ.get("CHAT_ADMIN_EMAIL", "")

# ------------------------------------------------------------------------------
# Accounts: sign-up, mail, verification, password reset, single sign-on (django-allauth)
# https://docs.allauth.org/en/latest/account/configuration.html; docs/operations.md "Accounts"
# ------------------------------------------------------------------------------
# Who may create an account: `open` (anyone), `invite` (through an invitation link; the
# default), `closed` (nobody; admins create accounts).
CHAT_SIGNUP = os.environ.get("CHAT_SIGNUP", "invite").strip().lower() or "invite"
if CHAT_SIGNUP not in {"open", "invite", "closed"}:
    raise ImproperlyConfigured("CHAT_SIGNUP must be open, invite or closed")
CHAT_REQUIRE_EMAIL_VERIFICATION = env_bool("CHAT_REQUIRE_EMAIL_VERIFICATION", False)
CHAT_INVITE_DAYS = env_int("CHAT_INVITE_DAYS", 7)
CHAT_INVITE_RATE = os.environ.get("CHAT_INVITE_RATE", "30/hour")
CHAT_PROFILE_RATE = os.environ.get("CHAT_PROFILE_RATE", "30/hour")

# Mail: EMAIL_URL (smtp://user:password@host:587/?tls=True, smtps://... for implicit TLS);
# unset, mails are written to the console (the process's stdout).
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    _email = dj_email_url.parse(EMAIL_URL)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT") or 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("EMAIL_FROM", "chatsite <chatsite@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
# One password field: the page's fixed labels are Username, Email and Password.
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory" if CHAT_REQUIRE_EMAIL_VERIFICATION else "optional"
# One address per account; a change waits for the new address's verification.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[chatsite] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if env_bool("DJANGO_HTTPS", False) else "http"
# Logins are limited by CHAT_AUTH_RATE per address and django-axes per username and address
# (one owner each); allauth keeps its limits on the mails it sends.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None, "signup": None}
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("NUM_PROXIES", 0)
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False

# Single sign-on through one OpenID Connect provider, shown as "Sign in with <OIDC_NAME>".
OIDC_NAME = os.environ.get("OIDC_NAME", "")
OIDC_SERVER_URL = os.environ.get("OIDC_SERVER_URL", "")
OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_SCOPES = env_list("OIDC_SCOPES", "openid,profile,email")
# Whether the provider may create accounts (its users are the team), whatever CHAT_SIGNUP says
# except `closed`.
OIDC_SIGNUP = env_bool("OIDC_SIGNUP", True)
SOCIALACCOUNT_PROVIDERS: dict[str, Any] = {"openid_connect": {"APPS": []}}
if OIDC_SERVER_URL and OIDC_CLIENT_ID:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"].append(
        {
            "provider_id": "oidc",
            "name": OIDC_NAME or "single sign-on",
            "client_id": OIDC_CLIENT_ID,
            "secret": OIDC_CLIENT_SECRET,
            "settings": {
                "server_url": OIDC_SERVER_URL,
                "scope": OIDC_SCOPES,
                "oauth_pkce_enabled": True,
            },
        }
    )

# ------------------------------------------------------------------------------
# The background worker: django-tasks with its database backend (docs/operations.md,
# "The worker"); `manage.py worker` runs the tasks, `manage.py serve --worker` starts one.
# https://docs.djangoproject.com/en/6.0/topics/tasks/
# ------------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# A failed task is tried CHAT_TASK_MAX_ATTEMPTS times in all, the n-th retry after
# CHAT_TASK_RETRY_DELAY * 2^(n-1) seconds; tasks may set their own (worker.registry).
CHAT_TASK_MAX_ATTEMPTS = env_int("CHAT_TASK_MAX_ATTEMPTS", 5)
CHAT_TASK_RETRY_DELAY = float(os.environ.get("CHAT_TASK_RETRY_DELAY", "30"))
# Tasks that succeeded are deleted after this many days (failed ones stay).
CHAT_TASK_RESULT_DAYS = env_int("CHAT_TASK_RESULT_DAYS", 7)
CHAT_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("CHAT_WORKER_HEARTBEAT_SECONDS", "10"))
# Health calls the worker stale when no heartbeat came for this long.
CHAT_WORKER_STALE_SECONDS = float(
    os.environ.get("CHAT_WORKER_STALE_SECONDS", str(3 * CHAT_WORKER_HEARTBEAT_SECONDS))
)

# ------------------------------------------------------------------------------
# Notifications by email and Web Push, sent by the worker (docs/operations.md,
# "Email notifications" and "Push notifications")
# ------------------------------------------------------------------------------
# The site's address as people reach it, for the links in emails (the worker has no request).
CHAT_SITE_URL = os.environ.get("CHAT_SITE_URL", "http://localhost:8000").rstrip("/")
# A DM or mention still unread this many seconds later, while its user is offline, is mailed;
# one mail per user per this many seconds at most. The worker looks every INTERVAL seconds.
CHAT_EMAIL_NOTIFY_DELAY = float(os.environ.get("CHAT_EMAIL_NOTIFY_DELAY", "600"))
CHAT_EMAIL_NOTIFY_INTERVAL = float(os.environ.get("CHAT_EMAIL_NOTIFY_INTERVAL", "60"))
# Web Push: `manage.py generate_vapid_keys` prints a pair. Unset: no push.
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:admin@localhost")
CHAT_PUSH_TTL_SECONDS = env_int("CHAT_PUSH_TTL_SECONDS", 3600)
# Push endpoints must be public https hosts unless this is on (tests, closed networks).
CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS = env_bool("CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS", False)
CHAT_PUSH_SUBSCRIPTION_RATE = os.environ.get("CHAT_PUSH_SUBSCRIPTION_RATE", "30/hour")
CHAT_NOTIFICATION_SETTINGS_RATE = os.environ.get("CHAT_NOTIFICATION_SETTINGS_RATE", "60/hour")
CHAT_UNSUBSCRIBE_RATE = os.environ.get("CHAT_UNSUBSCRIBE_RATE", "30/hour")

# ------------------------------------------------------------------------------
# Security: HTTPS, headers, CSP, CORS, brute-force lockout (docs/operations.md)
# https://docs.djangoproject.com/en/5.2/ref/middleware/#module-django.middleware.security
# ------------------------------------------------------------------------------
HTTPS = env_bool("DJANGO_HTTPS", False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


def _static_file_headers(headers: Any, path: str, url: str) -> None:
    """What SecurityMiddleware adds to other responses; static files are served above it."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = SECURE_REFERRER_POLICY


SERVESTATIC_ADD_HEADERS_FUNCTION = _static_file_headers
SESSION_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Container probes speak plain HTTP to the process: never redirect them.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# The single sign-on button posts to the site, which redirects the form to the provider.
FORM_ACTION_SOURCES = [SELF]
if OIDC_SERVER_URL:
    _oidc = urlsplit(OIDC_SERVER_URL)
    FORM_ACTION_SOURCES.append(f"{_oidc.scheme}://{_oidc.netloc}")
# django-csp 4: templates put nonce="{{ request.csp_nonce }}" on their <script> tags;
# chatsite.security adds the site's own ws:// or wss:// origin to connect-src per request.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": FORM_ACTION_SOURCES,
        "frame-ancestors": [NONE],
    },
}

# django-cors-headers: only the API answers cross-origin, and only to CORS_ALLOWED_ORIGINS.
# Clients authenticate with a bearer token there, so no credentials (cookies) cross origins.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "Link"]

# django-axes: lock a username from one client address after AXES_FAILURE_LIMIT failed logins
# (web form and /api/auth/token/). Attempts are counted in the cache (Redis in full mode):
# the database would roll them back with the failed request's transaction (ATOMIC_REQUESTS).
AUTHENTICATION_BACKENDS = [
    "chatsite.security.AxesBackend",
    "chatsite.security.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A lockout lasts AXES_COOLOFF_MINUTES from the lockout (and the backend flags the request).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "chatsite.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "chatsite.ratelimit.client_ip"
AXES_VERBOSE = False
if not REDIS_URL:
    # Embedded mode is a single process, where the local-memory cache is shared by all.
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]

# ------------------------------------------------------------------------------
# Logging: one structured line per request and per WebSocket session (chatsite.logs)
# https://django-structlog.readthedocs.io/
# ------------------------------------------------------------------------------
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("console" if DEBUG else "json")
LOG_LEVEL = (os.environ.get("LOG_LEVEL") or "INFO").upper()
LOGGING = logs.logging_config(LOG_FORMAT, LOG_LEVEL)
logs.configure_structlog()
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = 10  # request_started only at DEBUG
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # validated by chatsite.request_log
# The logged client address is the peer (Daphne --proxy-headers puts the real client there),
# as for rate limits and lockouts: a client cannot write its own X-Forwarded-For into the logs.
IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
