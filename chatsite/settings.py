"""chatsite settings: one module, every knob from the environment.

Defaults are safe for development. Production switches: DJANGO_DEBUG=0, DJANGO_SECRET_KEY,
DATABASE_URL, REDIS_URL, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS,
DJANGO_HTTPS. docs/operations.md lists them all.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
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
DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET_KEY = "django-insecure-dev-only-key-change-me-in-production-0123456789"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _DEV_SECRET_KEY
if not DEBUG and (
    SECRET_KEY in {_DEV_SECRET_KEY, "change-me-to-a-long-random-string"}
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY set to a long random value (50+ characters, "
        "not the development default); generate one with "
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
    "accounts",
    "chat",
    "web",
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
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "chatsite.overload.OverloadMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
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
# Database: SQLite file unless DATABASE_URL names PostgreSQL.
# PostgreSQL goes through chatsite.db (row-level security context) with psycopg's pool.
# ------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
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
        }
    # Behind PgBouncer in transaction mode: keep the RLS context transaction-local always
    # (chatsite.db runs a query outside a transaction in one of its own).
    DATABASES["default"]["OPTIONS"]["rls_transaction_local"] = env_bool(
        "DATABASE_TRANSACTION_POOLING", False
    )
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
# Presence changes of one moment leave together, one layer message per channel (chat.events).
PRESENCE_BATCH_SECONDS = 0.25
# The GIL switch interval of the server processes (chatsite/asgi.py; Python's default 0.005).
SWITCH_INTERVAL_SECONDS = float(os.environ.get("PYTHON_SWITCH_INTERVAL_S", "0.001"))

CHANNEL_LAYERS: dict[str, dict[str, Any]]
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py's asyncio pool raises past max_connections instead of
                        # waiting, and its socket_timeout must exceed the layer's 5 s
                        # blocking read or idle processes drop connections.
                        "max_connections": 10_000,
                        "socket_timeout": 15,
                    }
                ],
                "prefix": CHANNEL_LAYER_PREFIX,
                # Pending events per Daphne process inbox; past it an event is dropped and
                # clients recover by seq (DESIGN §6).
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
                "expiry": 60,
                # Consumers re-add their groups every heartbeat (chat/consumers.py), so a dead
                # process's group entries go after three missed heartbeats, not after a day.
                "group_expiry": 3 * HEARTBEAT_SECONDS,
            },
        }
    }
    # RedisPubSubChannelLayer unless CHANNEL_LAYER_BACKEND=core (the RedisChannelLayer above):
    # it measured several times cheaper per delivery (docs/operations.md, "Channel layer").
    if os.environ.get("CHANNEL_LAYER_BACKEND", "pubsub") != "core":
        CHANNEL_LAYERS["default"] = {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],
                "prefix": CHANNEL_LAYER_PREFIX,
            },
        }
    CACHES = {
        "default": {
            "BACKEND": "chatsite.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHANNEL_LAYER_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ------------------------------------------------------------------------------
# REST framework and JWT
# https://www.django-rest-framework.org/api-guide/settings/
# ------------------------------------------------------------------------------
CHAT_MESSAGE_RATE = os.environ.get("CHAT_MESSAGE_RATE", "120/min")
CHAT_AUTH_RATE = os.environ.get("CHAT_AUTH_RATE", "20/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, plus the row-level security context of the token's user.
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "chatsite.api_parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # One error shape for every 4xx (docs/api.md); rate limits in chatsite/api_throttles.py.
    "EXCEPTION_HANDLER": "chatsite.api_errors.exception_handler",
    # Proxies in front of the app whose X-Forwarded-For is trusted for the per-IP auth rate
    # (0: use the peer address; a client could otherwise pick its own address).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
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
}

# ------------------------------------------------------------------------------
# Seeds
# ------------------------------------------------------------------------------
SEED_PASSWORD = os.environ.get("SEED_PASSWORD", "chatsite-demo")

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
        "form-action": [SELF],
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
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

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
