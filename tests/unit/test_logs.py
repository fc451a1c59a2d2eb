"""chatsite.logs: the secret scrubber, the formatters, the LOG_FORMAT switch."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from chatsite import logs
from chatsite.request_log import clean_request_id

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.json_formatter())
    logger = logging.getLogger("chatsite.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_scrub_redacts_secret_keys_at_any_depth() -> None:
    event = {
        "event": "x",
        "password": "hunter2",
        "Authorization": "Bearer abc",
        "body": {"refresh": JWT, "nested": [{"token": "t0k"}, {"access": "a"}]},
        "headers": {"Cookie": "sessionid=s3cret", "Sec-WebSocket-Protocol": "chat.v1"},
    }
    scrubbed = logs.scrub_secrets(None, "info", dict(event))
    text = json.dumps(scrubbed)
    for secret in ("hunter2", "Bearer abc", JWT, "t0k", "s3cret"):
        assert secret not in text
    assert scrubbed["password"] == logs.REDACTED
    assert scrubbed["body"]["nested"][0]["token"] == logs.REDACTED


def test_scrub_redacts_credentials_inside_free_text() -> None:
    event = {
        "event": f"protocols chat.v1, bearer.{JWT} and header Bearer {JWT}",
        "detail": "cookie sessionid=abc123; csrftoken=def456",
        "raw": JWT,
    }
    text = json.dumps(logs.scrub_secrets(None, "info", dict(event)))
    assert JWT not in text
    assert "abc123" not in text
    assert "def456" not in text
    assert "chat.v1" in text


def test_scrub_redacts_bot_and_webhook_tokens_and_outgoing_secrets() -> None:
    event = {"event": "got csb_AAAA-1 and /api/hooks/csh_BBBB_2/ signed with cso_CCCC-3"}
    text = json.dumps(logs.scrub_secrets(None, "info", dict(event)))
    for secret in ("AAAA-1", "BBBB_2", "CCCC-3"):
        assert secret not in text
    assert "/api/hooks/" in text


def test_structlog_and_stdlib_records_render_as_scrubbed_json(captured: io.StringIO) -> None:
    logging.getLogger("chatsite.test_logs").warning("login with %s", f"Bearer {JWT}")
    structlog.get_logger("chatsite.test_logs").info("token_issued", refresh=JWT, user_id=7)
    lines = _lines(captured)
    assert [line["event"] for line in lines] == ["login with [redacted]", "token_issued"]
    assert lines[1]["refresh"] == logs.REDACTED
    assert lines[1]["user_id"] == 7
    assert all("timestamp" in line and "level" in line for line in lines)
    assert JWT not in captured.getvalue()


def test_logging_config_accepts_json_and_console_only() -> None:
    assert logs.logging_config("json")["root"]["handlers"] == ["stderr"]
    assert logs.logging_config("console")["formatters"]["structured"]["processors"]
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.logging_config("xml")


def test_console_formatter_renders_plain_text() -> None:
    config = logs.formatter_config("console")
    factory = config.pop("()")
    formatter = factory(**config)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    rendered = formatter.format(record)
    assert "hello world" in rendered
    with pytest.raises(json.JSONDecodeError):
        json.loads(rendered)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("abc-123", True),
        ("0f1e2d3c.4b5a:6978_x", True),
        ("", False),
        (None, False),
        ("has space", False),
        ("x" * 129, False),
        ('inject"\nfake', False),
    ],
)
def test_clean_request_id_keeps_only_short_plain_ids(incoming: str | None, kept: bool) -> None:
    result = clean_request_id(incoming)
    assert (result == incoming) is kept
    assert 1 <= len(result) <= 128


def test_streamed_bodies_add_no_lines_beyond_request_finished(captured: io.StringIO) -> None:
    logger = structlog.get_logger("chatsite.test_logs")
    for event in ("streaming_started", "streaming_finished", "streaming_cancelled"):
        logger.warning(event)
    logger.error("streaming_failed")
    assert [line["event"] for line in _lines(captured)] == ["streaming_failed"]


def test_a_cancelled_channel_clean_up_is_not_logged_as_an_error() -> None:
    import asyncio
    import logging

    from chatsite.logs import CancelledCleanupFilter

    def record(message: str, exc: BaseException) -> logging.LogRecord:
        return logging.LogRecord(
            "channels_redis.pubsub",
            logging.ERROR,
            __file__,
            1,
            message,
            None,
            (type(exc), exc, None),
        )

    keep = CancelledCleanupFilter().filter
    assert not keep(
        record("Unexpected exception while cleaning-up channel:", asyncio.CancelledError())
    )
    assert keep(record("Unexpected exception while cleaning-up channel:", RuntimeError("real")))
    assert keep(record("Unexpected exception in receive task", asyncio.CancelledError()))
