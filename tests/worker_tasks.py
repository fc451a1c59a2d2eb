"""Tasks the worker tests enqueue; the worker process imports them by their dotted path."""

from __future__ import annotations

from pathlib import Path

from worker.registry import background_task


class Refused(RuntimeError):
    pass


@background_task(max_attempts=3, retry_delay=0.2)
def always_fails(marker: str) -> None:
    attempts = Path(marker)
    attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
    raise Refused(f"attempt {len(attempts.read_text())} refused")


@background_task(max_attempts=3, retry_delay=0.2)
def fails_once(marker: str) -> str:
    attempts = Path(marker)
    if not attempts.exists():
        attempts.write_text("x")
        raise Refused("the first attempt is refused")
    return "done"


@background_task()
def write_file(path: str, text: str) -> str:
    Path(path).write_text(text)
    return text
