"""chatsite.http_handler: requests run on a fixed set of threads, and past the bound on
requests in flight a new one is answered 503 with Retry-After at once, never 500."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import MutableMapping
from typing import Any

import pytest
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from chatsite.http_handler import BoundedASGIHandler, RequestThreads

pytestmark = pytest.mark.django_db(transaction=True)

seen_threads: list[int] = []


def _thread_view(request: HttpRequest) -> HttpResponse:
    seen_threads.append(threading.get_ident())
    return HttpResponse("ok")


@transaction.non_atomic_requests  # ATOMIC_REQUESTS is refused for async views either way
async def _async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async ok")


urlpatterns = [path("thread", _thread_view), path("async", _async_view)]


async def _request(
    handler: BoundedASGIHandler, path_: str, method: str = "GET"
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[MutableMapping[str, Any]] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    disconnected = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await handler(scope, receive, send)
    disconnected.set()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def test_past_the_bound_an_api_request_is_a_503_in_the_api_error_shape() -> None:
    handler = BoundedASGIHandler()
    for _ in range(handler.threads.max_in_flight):
        assert handler.threads.admit()
    status, headers, body = await _request(handler, "/api/chat/messages", "POST")
    assert status == 503
    assert headers[b"retry-after"] == b"1"
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body)["error"]["code"] == "unavailable"
    # Room again: the same request reaches Django (401: no credentials).
    handler.threads.leave()
    status, _, _ = await _request(handler, "/api/chat/messages", "POST")
    assert status == 401


async def test_past_the_bound_a_page_is_a_503_page() -> None:
    handler = BoundedASGIHandler()
    for _ in range(handler.threads.max_in_flight):
        handler.threads.admit()
    status, headers, body = await _request(handler, "/accounts/login/")
    assert status == 503
    assert headers[b"retry-after"] == b"1"
    assert headers[b"content-type"].startswith(b"text/html")
    assert b"busy" in body


@override_settings(ROOT_URLCONF=__name__, HTTP_THREADS=2, HTTP_MAX_IN_FLIGHT=50)
async def test_requests_share_the_process_threads_and_wait_for_a_free_one() -> None:
    handler = BoundedASGIHandler()
    seen_threads.clear()
    replies = await asyncio.gather(*(_request(handler, "/thread") for _ in range(12)))
    assert [status for status, _, _ in replies] == [200] * 12
    assert len(seen_threads) == 12
    assert len(set(seen_threads)) <= 2
    assert handler.threads.in_flight == 0
    # An async view still runs (the sync core calls it through async_to_sync).
    status, _, body = await _request(handler, "/async")
    assert (status, body) == (200, b"async ok")


async def test_a_waiter_cancelled_after_the_hand_over_passes_the_thread_on() -> None:
    threads = RequestThreads(1, 10)
    held = await threads.acquire()
    first = asyncio.ensure_future(threads.acquire())
    second = asyncio.ensure_future(threads.acquire())
    await asyncio.sleep(0)
    threads.release(held)  # handed to the first waiter...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, timeout=5) is held


def test_threads_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="HTTP_THREADS"):
        RequestThreads(0, 10)
