"""Memory snapshots of a running server, to find where its memory goes (docs/performance.md,
"Round 3").

Off unless ``CHATSITE_TRACEMALLOC_DIR`` names a directory: then the process traces its
allocations from start-up (``tracemalloc``, ``CHATSITE_TRACEMALLOC_FRAMES`` frames each,
default 1), and each SIGUSR2 writes a snapshot there as ``<pid>-<n>.tracemalloc`` after a
full garbage collection. ``bench/ws_churn.py --tracemalloc`` compares two of them. Tracing
slows the process down several times over: never in production.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import tracemalloc
from typing import Any

DIRECTORY_ENV = "CHATSITE_TRACEMALLOC_DIR"
FRAMES_ENV = "CHATSITE_TRACEMALLOC_FRAMES"


def install() -> bool:
    """Start tracing and listen for SIGUSR2 if the environment asks for it."""
    directory = os.environ.get(DIRECTORY_ENV)
    if not directory:
        return False
    tracemalloc.start(int(os.environ.get(FRAMES_ENV, "1")))
    numbers = itertools.count()

    def dump(signum: int, frame: Any) -> None:
        gc.collect()
        path = os.path.join(directory, f"{os.getpid()}-{next(numbers)}.tracemalloc")
        tracemalloc.take_snapshot().dump(path + ".part")
        os.replace(path + ".part", path)  # whole, or not there yet

    signal.signal(signal.SIGUSR2, dump)
    return True
