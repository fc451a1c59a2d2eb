"""What rendering a message costs (chat/rendering.py): typical messages and pathological
input at the 4000 code point limit, each rendered many times in this process.

    .venv/bin/python -m bench.render_cost [--repeat 20]

Prints one JSON object: for each case its length, and the minimum and median time in ms of
the whole render (Markdown, mentions and emoji, sanitizing). The minimum is the cost on an
idle core; the median shows how a busy machine stretches it. docs/performance.md keeps the
numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import django

TYPICAL: dict[str, str] = {
    "plain sentence": "Deploy is done, the new build is on staging.",
    "typical formatted": (
        "**Heads up** @alice: the `deploy` job failed on _staging_ :sweat_smile:\n"
        "> see https://ci.example.com/jobs/1234\n\n- retry\n- or roll back"
    ),
    "code block 30 lines": "```python\n" + "def f(x):\n    return x * 2  # double\n" * 15 + "```",
}

# Pathological input at the 4000 code point limit (tests/unit/test_rendering.py bounds it).
PATHOLOGICAL: dict[str, str] = {
    "nested quotes": ">" * 4000,
    "nested lists": "".join(" " * (2 * n) + "- x\n" for n in range(120))[:4000],
    "nested emphasis": "*" * 2000 + "x" + "*" * 1999,
    "4000 backticks": "`" * 4000,
    "backtick runs": "`a``b```c````" * 300,
    "unclosed links": "[" * 4000,
    "link openers": "[a](" * 1000,
    "huge table": ("| a | b | c |\n|---|---|---|\n" + "| 1 | 2 | 3 |\n" * 400)[:4000],
    "long list": "- item\n" * 570,
    "many mentions": "@alice " * 570,
    "many shortcodes": ":tada:" * 666,
    "many autolinks": "https://a.example/ " * 210,
    "long code block": "```python\n" + "x = [1, 2, 3]  # c\n" * 209 + "```",
    "emphasis soup": "*_~" * 1333,
    "entity soup": "&amp;" * 800,
}

CASES: dict[str, str] = {**TYPICAL, **PATHOLOGICAL}


def measure(repeat: int) -> dict[str, dict[str, float]]:
    from chat.rendering import MentionContext, render

    mentions = MentionContext(users={"alice": 7}, broadcast=True)
    results: dict[str, dict[str, float]] = {}
    for name, source in CASES.items():
        render(source, mentions)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            render(source, mentions)
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {
            "length": len(source),
            "min_ms": round(min(times), 2),
            "median_ms": round(statistics.median(times), 2),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    django.setup()
    print(json.dumps({"render_cost": measure(args.repeat)}, indent=1))


if __name__ == "__main__":
    main()
