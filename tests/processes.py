"""The project's Python in a child process, as tests run settings probes, manage.py and servers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    *args: str, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``python <args>`` from the repository root with ``env``; its output, never raising."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def manage(*args: str, env: Mapping[str, str], timeout: float) -> None:
    """``manage.py <args>``; a RuntimeError with its output if it fails."""
    result = run_python("manage.py", *args, env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed: {result.stdout}{result.stderr}")
