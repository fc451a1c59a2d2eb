"""The connect-read threads keep their pooled connection through a burst of reads and give
it back when idle or after an error (chat/read_threads.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection

from chat import read_threads
from chat.read_threads import ReadThreads, connect_read

pytestmark = pytest.mark.django_db(transaction=True)


def _query_and_report() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.connection is not None


def _holds_a_connection() -> bool:
    return connection.connection is not None


def test_a_thread_keeps_its_connection_between_reads() -> None:
    threads = ReadThreads(1, 60.0, "test-keep")
    assert threads.submit(_query_and_report).result(timeout=10)
    assert threads.submit(_holds_a_connection).result(timeout=10)  # still there
    threads.give_back_connections()
    assert not threads.submit(_holds_a_connection).result(timeout=10)


def test_an_idle_thread_gives_its_connection_back() -> None:
    threads = ReadThreads(1, 0.05, "test-idle")
    assert threads.submit(_query_and_report).result(timeout=10)
    deadline = time.monotonic() + 5
    while threads.submit(_holds_a_connection).result(timeout=10):
        assert time.monotonic() < deadline, "the idle thread kept its connection"
        time.sleep(0.1)


def test_a_failed_read_closes_its_connection() -> None:
    def fails() -> Any:
        _query_and_report()
        raise RuntimeError("boom")

    read = connect_read(fails)
    with pytest.raises(RuntimeError):
        read.func()  # type: ignore[attr-defined]
    assert connection.connection is None


async def test_reads_run_on_the_connect_read_threads() -> None:
    import threading

    @connect_read
    def where() -> str:
        return threading.current_thread().name

    assert (await where()).startswith("connect-reads")
    assert read_threads._connect_reads.started


def test_every_thread_gives_its_connection_back_when_asked() -> None:
    threads = ReadThreads(3, 60.0, "test-give-back")
    for _ in range(6):
        threads.submit(_query_and_report).result(timeout=10)
    threads.give_back_connections()
    # Each thread now holds no connection: ask each one (a barrier again, so all three answer).
    import threading

    barrier = threading.Barrier(len(threads.started))

    def holds_then_wait() -> bool:
        held = connection.connection is not None
        barrier.wait(10)
        return held

    answers = [threads.submit(holds_then_wait) for _ in threads.started]
    assert [f.result(timeout=10) for f in answers] == [False] * len(threads.started)
