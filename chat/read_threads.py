"""The threads of the WebSocket connect path's database reads (``connect_read``)."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")

# The handshake's reads, and those of a connect and of a subscribe, run on a few threads of
# their own, not on the one thread that Channels gives every other ``database_sync_to_async``
# call of the process: in a reconnect storm each connect waits for PostgreSQL two or three
# times, and on one thread those waits queue up one behind the other (docs/performance.md,
# "Round 3: connects").
CONNECT_READ_THREADS = 4
# A connect-read thread keeps its pooled connection while reads keep coming, and gives it
# back to the pool once it has had nothing to do for this long: in a storm each read then
# skips the pool's check-out, its test query and the check-in (docs/performance.md, "Round 3:
# connects, second pass"), and a quiet process holds none of the pool's connections.
IDLE_GIVE_BACK_SECONDS = 0.5

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class ReadThreads(ThreadPoolExecutor):
    """A fixed set of threads that give their database connection back when idle.

    ``ThreadPoolExecutor`` cannot run anything on a thread that waits for work, so a
    connection a thread kept would stay checked out of the pool for ever; these threads wait
    for work with a timeout and close their connection (back to the pool) when it expires.
    """

    def __init__(self, threads: int, idle_seconds: float, name: str) -> None:
        self.threads = threads
        self.idle_seconds = idle_seconds
        self.name = name
        self.work: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self.started: list[threading.Thread] = []
        self.lock = threading.Lock()

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        future: Future[R] = Future()
        self.work.put((future, fn, args, kwargs))
        if len(self.started) < self.threads:
            self._start_thread()
        return future

    def _start_thread(self) -> None:
        with self.lock:
            if len(self.started) >= self.threads:
                return
            thread = threading.Thread(
                target=self._run, name=f"{self.name}_{len(self.started)}", daemon=True
            )
            self.started.append(thread)
        thread.start()

    def give_back_connections(self, timeout: float = 10.0) -> None:
        """Have every thread give its connection back to the pool now (the tests do, before
        the database is emptied or dropped): one close per thread, each thread holding at a
        barrier until all have taken theirs, so no thread takes two."""
        count = len(self.started)
        if not count:
            return
        barrier = threading.Barrier(count)

        def close_and_wait() -> None:
            connection.close()
            barrier.wait(timeout)

        for future in [self.submit(close_and_wait) for _ in range(count)]:
            future.result(timeout)

    def _run(self) -> None:
        while True:
            try:
                future, fn, args, kwargs = self.work.get(timeout=self.idle_seconds)
            except queue.Empty:
                connection.close()  # nothing to do: the connection goes back to the pool
                future, fn, args, kwargs = self.work.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            del future, fn, args, kwargs


_connect_reads = ReadThreads(CONNECT_READ_THREADS, IDLE_GIVE_BACK_SECONDS, "connect-reads")


def give_back_connections() -> None:
    """The connect-read threads' connections, back to the pool now (``give_back_connections``)."""
    _connect_reads.give_back_connections()


def connect_read(function: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``sync_to_async`` on the connect-read threads (reads only: nothing here needs to run
    on the thread of the process's writes).

    Not Channels' ``database_sync_to_async``: that closes the thread's connection after
    every call, which with the pool means a check-in, and a check-out and a test query at the
    next call. The connection stays while it is healthy and in autocommit; after an error, or
    when something left a transaction open, it is closed, and the next read takes (and tests)
    a fresh one from the pool.
    """

    @functools.wraps(function)
    def read_keeping_connection(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = function(*args, **kwargs)
        except BaseException:
            connection.close()
            raise
        if connection.connection is not None and (
            connection.errors_occurred or not connection.get_autocommit()
        ):
            connection.close()
        return result

    return SyncToAsync(read_keeping_connection, thread_sensitive=False, executor=_connect_reads)
