"""Django's ASGI handler with a fixed set of request threads and a bound on requests in flight.

Django's own handler runs each HTTP request's sync code (middleware, view, the signals that
return its database connection) in a thread made for that request and ended after it. Under
load that is a thread start, an executor, a database wrapper and their locks per request, and
as many threads competing for the GIL as there are requests open (docs/performance.md,
"Round 3: posting a message"). Here each process keeps ``HTTP_THREADS`` threads; a request
takes a free one for its whole life (asgiref's ``ThreadSensitiveContext`` with a given
executor), and waits in the event loop while none is free. Past ``HTTP_MAX_IN_FLIGHT``
requests (running and waiting) a new one is answered 503 with ``Retry-After`` at once,
before its body is read: overload is shed instead of piling up (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.template import loader
from django.utils.module_loading import import_string

from chatsite import metrics
from chatsite.api_errors import error_body
from chatsite.overload import RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[..., Awaitable[Any]]
Send = Callable[..., Awaitable[None]]

BUSY_DETAIL = "The server is busy. Try again shortly."


class RequestThreads:
    """``size`` single-thread executors handed to one request at a time, and the count of
    requests admitted (holding one or waiting for one), at most ``max_in_flight``.

    Used from the event loop only. Executors start their thread on first use and live as
    long as the process, so a thread's database wrapper is made once, not per request.
    """

    def __init__(self, size: int, max_in_flight: int) -> None:
        if size < 1:
            raise ValueError("HTTP_THREADS must be at least 1")
        self.size = size
        self.max_in_flight = max(max_in_flight, size)
        self.in_flight = 0
        self._free = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="http-request")
            for _ in range(size)
        ]
        self._waiting: collections.deque[asyncio.Future[ThreadPoolExecutor]] = collections.deque()

    def admit(self) -> bool:
        """Count a new request in, or refuse it (False) when the process is full."""
        if self.in_flight >= self.max_in_flight:
            return False
        self.in_flight += 1
        return True

    async def acquire(self) -> ThreadPoolExecutor:
        """A free executor; waits, first come first served, while all are taken."""
        if self._free and not self._waiting:
            return self._free.pop()
        waiter: asyncio.Future[ThreadPoolExecutor] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Handed over just as the request was cancelled: pass it on.
                self.release(waiter.result())
            raise

    def release(self, executor: ThreadPoolExecutor) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(executor)
                return
        self._free.append(executor)

    def leave(self) -> None:
        self.in_flight -= 1


class BoundedASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose requests run on ``RequestThreads`` instead of a new thread each,
    and whose middleware chain ends in Django's sync core where its innermost middleware is
    sync (``load_middleware``)."""

    def __init__(self) -> None:
        super().__init__()
        self.threads = RequestThreads(settings.HTTP_THREADS, settings.HTTP_MAX_IN_FLIGHT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        threads = self.threads
        if not threads.admit():
            await shed(scope, send)
            return
        try:
            executor = await threads.acquire()
            try:
                async with ThreadSensitiveContext(executor=executor):
                    await self.handle(scope, receive, send)
            finally:
                threads.release(executor)
        finally:
            threads.leave()

    def load_middleware(self, is_async: bool = False) -> None:
        """Django's ``BaseHandler.load_middleware``, except that under ASGI the chain ends in
        the sync core (``_get_response``, view middleware sync too) when the innermost
        middleware is sync-only (``OverloadMiddleware``, docs/performance.md).

        Django always ends an ASGI chain in its async core: below a sync-only middleware
        that costs a hop from the request's thread back to the event loop (``async_to_sync``)
        and another into the same thread for the view (``sync_to_async``), per request.
        The core calls an async view through ``async_to_sync`` itself, so those still work.
        """
        innermost = import_string(settings.MIDDLEWARE[-1]) if settings.MIDDLEWARE else None
        core_is_async = is_async and (
            innermost is None or getattr(innermost, "async_capable", False)
        )
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []

        core = "_get_response_async" if core_is_async else "_get_response"
        get_response = getattr(self, core)
        handler = convert_exception_to_response(get_response)
        handler_is_async = core_is_async
        for middleware_path in reversed(settings.MIDDLEWARE):
            middleware = import_string(middleware_path)
            middleware_can_sync = getattr(middleware, "sync_capable", True)
            middleware_can_async = getattr(middleware, "async_capable", False)
            if not middleware_can_sync and not middleware_can_async:
                raise RuntimeError(
                    f"Middleware {middleware_path} must have at least one of "
                    "sync_capable/async_capable set to True."
                )
            elif not handler_is_async and middleware_can_sync:
                middleware_is_async = False
            else:
                middleware_is_async = middleware_can_async
            try:
                adapted_handler = self.adapt_method_mode(
                    middleware_is_async,
                    handler,
                    handler_is_async,
                    debug=settings.DEBUG,
                    name=f"middleware {middleware_path}",
                )
                mw_instance = middleware(adapted_handler)
            except MiddlewareNotUsed:
                continue
            else:
                handler = adapted_handler
            if mw_instance is None:
                raise ImproperlyConfigured(f"Middleware factory {middleware_path} returned None.")
            # The core calls these: in its own mode.
            if hasattr(mw_instance, "process_view"):
                self._view_middleware.insert(
                    0, self.adapt_method_mode(core_is_async, mw_instance.process_view)
                )
            if hasattr(mw_instance, "process_template_response"):
                self._template_response_middleware.append(
                    self.adapt_method_mode(core_is_async, mw_instance.process_template_response)
                )
            if hasattr(mw_instance, "process_exception"):
                self._exception_middleware.append(
                    self.adapt_method_mode(False, mw_instance.process_exception)
                )
            handler = convert_exception_to_response(mw_instance)
            handler_is_async = middleware_is_async

        handler = self.adapt_method_mode(is_async, handler, handler_is_async)
        self._middleware_chain = handler


_busy_page: bytes | None = None


def _busy_html() -> bytes:
    global _busy_page
    if _busy_page is None:
        # Rendered without a request (context processors could reach the database), once.
        _busy_page = loader.render_to_string("503.html", {"detail": BUSY_DETAIL}).encode()
    return _busy_page


async def shed(scope: Scope, send: Send) -> None:
    """503 with ``Retry-After``: the API's error shape under /api/, the 503 page otherwise.
    Counted in the request metrics under the route ``shed``; no log line per refusal, as a
    flood of them is exactly when logs must stay cheap."""
    started = time.monotonic()
    path = scope.get("path", "")
    if path.startswith("/api/"):
        body = json.dumps(error_body("unavailable", BUSY_DETAIL)).encode()
        content_type = b"application/json"
    else:
        body = _busy_html()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    metrics.observe_request(str(scope.get("method", "")), "shed", 503, time.monotonic() - started)
