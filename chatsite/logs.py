"""Structured logs: JSON or console lines through structlog, with secrets scrubbed.

Settings call :func:`logging_config` and :func:`configure_structlog` (this module imports no
Django code, so settings can use it). The request line comes from :mod:`chatsite.request_log`,
the WebSocket session line from :mod:`chatsite.ws_logging`. Every record, from structlog or
from the standard library, passes :func:`scrub_secrets` before it is rendered, so a token,
password or cookie value that reaches a log call by mistake is replaced by ``[redacted]``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"

# Keys whose values never reach a log line, wherever they sit in the event.
SECRET_KEYS = frozenset(
    {
        "access",
        "authorization",
        "cookie",
        "csrfmiddlewaretoken",
        "http_authorization",
        "http_cookie",
        "http_sec_websocket_protocol",
        "password",
        "password1",
        "password2",
        "refresh",
        "sec-websocket-protocol",
        "secret",
        "set-cookie",
        "token",
    }
)
# Values that look like credentials even under an innocent key: bearer headers, the
# `bearer.<jwt>` WebSocket subprotocol entry, bare JWTs, session and csrf cookies, bot API
# tokens, incoming webhook tokens (the hook's URL path, /api/hooks/<token>/, is one) and outgoing
# webhook secrets.
SECRET_PATTERNS = (
    re.compile(r"(?i)\bbearer[ .]\S+"),
    re.compile(r"\bcs[bho]_[\w-]+"),
    re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"),
    re.compile(r"(?i)\b(sessionid|csrftoken)=[^;\s]+"),
)


def _scrub_text(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and key.lower() in SECRET_KEYS
            else _scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    return value


def scrub_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact secret keys and credential-looking values."""
    for key in list(event_dict):
        if key.lower() in SECRET_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


# ------------------------------------------------------------------------------
# Configuration (called from settings)
# ------------------------------------------------------------------------------
_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter_config(log_format: str) -> dict[str, Any]:
    """The ``logging`` formatter entry for ``json`` or ``console`` output."""
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
        tail: list[Any] = [structlog.processors.format_exc_info]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        tail = []
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *tail,
            scrub_secrets,
            renderer,
        ],
        "foreign_pre_chain": [*_SHARED_PROCESSORS, structlog.stdlib.ExtraAdder()],
    }


def json_formatter() -> logging.Formatter:
    """A stand-alone JSON formatter (used by tests and tools that capture log output)."""
    config = formatter_config("json")
    factory = config.pop("()")
    return factory(**config)


class CancelledCleanupFilter(logging.Filter):
    """Drop channels-redis's error line for a cancellation during a channel's clean-up.

    When a connection closes, Daphne cancels the consumer, and the pub/sub layer's receive
    unsubscribes on the way out; a second cancellation there is logged as an unexpected
    exception with a traceback, once per connection on a mass disconnect, though nothing is
    wrong and nothing is lost.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (
            isinstance(exc, asyncio.CancelledError)
            and record.getMessage().startswith("Unexpected exception while cleaning-up channel")
        )


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """The LOGGING dict: everything to stderr through one structlog formatter."""
    if log_format not in {"json", "console"}:
        raise ValueError(f"LOG_FORMAT must be 'json' or 'console', not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter_config(log_format)},
        "filters": {"cancelled_cleanup": {"()": CancelledCleanupFilter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # request_finished (or request_failed, with the traceback) already says it once;
            # these would repeat every 4xx and 5xx.
            "django.request": {"level": "CRITICAL"},
            "django.server": {"level": "ERROR"},
            "django.channels.server": {"level": "WARNING"},
            "daphne": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            "channels_redis.pubsub": {"filters": ["cancelled_cleanup"]},
        },
    }


# django-structlog adds lines around streamed bodies (static files): the request already has
# its one ``request_finished`` line. A failure while streaming is still logged.
_STREAMING_NOISE = frozenset({"streaming_started", "streaming_finished", "streaming_cancelled"})


def drop_streaming_noise(logger: Any, method_name: str, event_dict: Any) -> Any:
    if event_dict.get("event") in _STREAMING_NOISE:
        raise structlog.DropEvent
    return event_dict


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            drop_streaming_noise,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
