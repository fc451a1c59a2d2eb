"""The threads of the WebSocket connect path's database reads (``connect_read``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")

# The handshake's reads, and those of a connect and of a subscribe, run on a few threads of
# their own, not on the one thread that Channels gives every other ``database_sync_to_async``
# call of the process: in a reconnect storm each connect waits for PostgreSQL two or three
# times, and on one thread those waits queue up one behind the other (docs/performance.md,
# "Round 3: connects").
CONNECT_READ_THREADS = 4
_connect_reads = ThreadPoolExecutor(CONNECT_READ_THREADS, thread_name_prefix="connect-reads")


def connect_read(function: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``database_sync_to_async`` on the connect-read threads (reads only: nothing here
    needs to run on the thread of the process's writes)."""

    @functools.wraps(function)
    def read_and_give_back(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            # The connection goes back to the pool at once: these threads outlive any
            # request, and a connection they kept would stay checked out.
            connection.close()

    return DatabaseSyncToAsync(read_and_give_back, thread_sensitive=False, executor=_connect_reads)
