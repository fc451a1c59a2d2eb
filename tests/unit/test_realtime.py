"""chat.realtime: one object per process, bound to the serving loop, and the one hand-off
from request threads."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chat import realtime


@pytest.fixture(autouse=True)
async def no_realtime_left() -> AsyncIterator[None]:
    await realtime.stop()
    yield
    await realtime.stop()


async def test_one_object_per_loop_owns_layer_redis_keeper_and_outbox() -> None:
    first = realtime.current()
    assert realtime.current() is first
    assert first.loop is asyncio.get_running_loop()
    assert first.redis() is first.redis()
    assert first.keeper is not None and first.presence_outbox.realtime is first
    assert first.layer is realtime.channel_layer()


async def test_submit_from_a_thread_runs_on_the_loop_in_the_order_of_the_calls() -> None:
    bound = realtime.current()
    ran: list[tuple[int, int | None]] = []
    done = asyncio.Event()
    count = 200

    async def record(number: int) -> None:
        await asyncio.sleep(0)  # each call yields at once: the order is the start order
        ran.append((number, threading.get_ident()))
        if len(ran) == count:
            done.set()

    def request_thread() -> None:
        for number in range(count):
            realtime.submit(record, number, what="test.record")

    await asyncio.to_thread(request_thread)  # returns before the calls ran: no waiting
    await asyncio.wait_for(done.wait(), timeout=5)
    assert [number for number, _ in ran] == list(range(count))
    assert {thread for _, thread in ran} == {threading.get_ident()}  # all on the loop
    assert not bound._tasks  # each task let go when done


def test_submit_without_a_serving_loop_runs_in_the_calling_thread() -> None:
    ran: list[int] = []

    async def record() -> None:
        ran.append(threading.get_ident())

    realtime.submit(record, what="test.record")
    assert len(ran) == 1  # done before submit returned (async_to_sync waits for it)


async def test_a_failing_call_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    realtime.current()
    failed = asyncio.Event()

    async def broken() -> None:
        failed.set()
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="chat.realtime"):
        await asyncio.to_thread(realtime.submit, broken, what="test.broken")
        await asyncio.wait_for(failed.wait(), timeout=5)
        for _ in range(10):  # the done callback runs right after the task
            await asyncio.sleep(0)
    logged = [r for r in caplog.records if r.name == "chat.realtime"]
    assert [r.getMessage() for r in logged] == ["test.broken_failed"]
    assert logged[0].exc_info is not None and "boom" in str(logged[0].exc_info[1])


async def test_serving_binds_the_object_on_the_first_call() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(realtime._current)

    await realtime.Serving(app)({"type": "http"}, None, None)
    assert seen[0] is not None and seen[0].loop is asyncio.get_running_loop()


async def test_a_second_running_loop_is_refused() -> None:
    realtime.current()
    outcome: list[BaseException | None] = []

    def other_loop() -> None:
        async def bind() -> None:
            realtime.current()

        try:
            asyncio.run(bind())
            outcome.append(None)
        except RuntimeError as exc:
            outcome.append(exc)

    await asyncio.to_thread(other_loop)
    assert isinstance(outcome[0], RuntimeError)
