"""docs/asyncapi.yaml, the WebSocket protocol, loaded for the tests that check events against it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


def resolve(pointer: str) -> Any:
    """The node a local ``$ref`` (``#/a/b``) points at; KeyError if there is none."""
    assert pointer.startswith("#/"), pointer
    node: Any = document()
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(node: Any) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return inline(resolve(node["$ref"]))
        return {key: inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item) for item in node]
    return node


def operation_messages(action: str) -> list[dict[str, Any]]:
    """The messages of the operations with ``action`` (``send``: server to client)."""
    return [
        inline(message)
        for operation in document()["operations"].values()
        if operation["action"] == action
        for message in operation["messages"]
    ]


@functools.cache
def validators(action: str = "send") -> dict[str, jsonschema.Draft7Validator]:
    """A payload validator per event ``type``, for one direction."""
    found = {}
    for message in operation_messages(action):
        payload = message["payload"]
        found[payload["properties"]["type"]["const"]] = jsonschema.Draft7Validator(
            payload, format_checker=jsonschema.FormatChecker()
        )
    return found


def problems(event: Any, action: str = "send") -> list[str]:
    """What is wrong with ``event`` according to the document (nothing: an empty list)."""
    kind = event.get("type") if isinstance(event, dict) else None
    validator = validators(action).get(kind) if isinstance(kind, str) else None
    if validator is None:
        return [f"no message of type {kind!r} in {DOCUMENT.name}"]
    return [
        f"{kind}: {'/'.join(map(str, error.absolute_path)) or '(event)'}: {error.message}"
        for error in validator.iter_errors(event)
    ]
