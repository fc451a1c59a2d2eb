"""Slash commands: what counts as one, and how text that only looks like one is written
(docs/api.md, "Slash commands").

A text is a command when it starts with ``/`` and a letter (``/topic Release day``). Two
slashes send the rest as an ordinary message starting with one (``//etc/hosts`` posts
``/etc/hosts``). A message send that holds a command is refused (``400 command``), so a
mistyped command never reaches a channel; commands go to their own door.
"""

from __future__ import annotations

import re

from chat.exceptions import ValidationError

# name -> (arguments, what it does): the help the web composer shows as you type.
COMMANDS: dict[str, tuple[str, str]] = {
    "me": ("text", "Post an action: “Alice waves”"),
    "shrug": ("[text]", "Post a message ending with ¯\\_(ツ)_/¯"),
    "topic": ("[text]", "Set the channel's topic (blank clears it)"),
    "invite": ("@username", "Add someone to this channel"),
    "leave": ("", "Leave this channel"),
}
COMMAND_RE = re.compile(r"^/([A-Za-z][A-Za-z0-9_-]*)(?:[ \t\n]+(.*))?$", re.DOTALL)
# ¯\_(ツ)_/¯ written so that Markdown shows it as typed (the backslash and both underscores).
SHRUG = "¯\\\\\\_(ツ)\\_/¯"


def looks_like_command(text: str) -> bool:
    return bool(COMMAND_RE.match(text))


def parse(text: object) -> tuple[str, str]:
    """``(name, arguments)`` of a known command; a 400 naming ``text`` otherwise."""
    match = COMMAND_RE.match(text) if isinstance(text, str) else None
    if match is None:
        problem = "A command starts with / and its name, like /topic."
        raise ValidationError(problem, code="not_a_command", fields={"text": [problem]})
    name = match.group(1).lower()
    if name not in COMMANDS:
        known = ", ".join(f"/{command}" for command in COMMANDS)
        problem = f"/{name} is not a command. Commands: {known}. Start with // to send the text."
        raise ValidationError(problem, code="unknown_command", fields={"text": [problem]})
    return name, (match.group(2) or "").strip()


def message_text(content: str) -> str:
    """The text a message send stores: ``//x`` becomes ``/x``; a command is refused."""
    if content.startswith("//"):
        return content[1:]
    if looks_like_command(content):
        problem = "This is a slash command: run it as a command, or start with // to send it."
        raise ValidationError(problem, code="command", fields={"content": [problem]})
    return content
