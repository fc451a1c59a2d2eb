"""Slash commands: ``/me``, ``/shrug``, ``/topic``, ``/invite``, ``/leave`` (docs/api.md,
"Slash commands").

Each command spends one of the user's ``CHAT_COMMAND_RATE`` budget, then is one call of an
existing service with that service's rights, limits and events:
``/me`` and ``/shrug`` post a message (``message_create``), ``/topic`` is a channel update,
``/invite`` a member add, ``/leave`` the channel's leave. Nothing here writes by itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from accounts.models import User
from chat import commands, selectors
from chat.exceptions import NotFound, ValidationError
from chat.models import Message
from chat.services import base
from chat.services.channels import channel_leave, channel_member_add, channel_update
from chat.services.messages import message_create
from chat.validators import clean_content
from chatsite import ratelimit

TOPIC_MAX_LENGTH = 500


@dataclass(frozen=True)
class CommandResult:
    """What a command did: its name, and the message it posted (``/me``, ``/shrug``)."""

    command: str
    message: Message | None = None
    created: bool = False


def _problem(text: str, code: str = "bad_command") -> ValidationError:
    return ValidationError(text, code=code, fields={"text": [text]})


def _invitee(arguments: str) -> User:
    names = arguments.split()
    if len(names) != 1:
        raise _problem("Name one person: /invite @username.")
    username = names[0].removeprefix("@")
    invitee = User.objects.filter(username__iexact=username, is_active=True).first()
    if invitee is None:
        raise _problem(f"Nobody is called @{username}.", code="unknown_user")
    return invitee


def command_run(
    *,
    user: User,
    channel_id: Any,
    text: object,
    client_id: uuid.UUID | None = None,
    parent_id: Any = None,
) -> CommandResult:
    """Run the slash command ``text`` in a channel the user can see (404 otherwise).

    ``client_id`` and ``parent_id`` apply to the commands that post (``/me``, ``/shrug``).
    """
    base.check_rate(ratelimit.COMMAND, user, "commands")
    name, arguments = commands.parse(text)
    selectors.channel_get(user=user, channel_id=channel_id)
    if name in ("me", "shrug"):
        if name == "me" and not arguments:
            raise _problem("Say what you do: /me waves.")
        content = arguments if name == "me" else f"{arguments} {commands.SHRUG}".strip()
        message, created = message_create(
            user=user,
            channel_id=channel_id,
            content=content,
            client_id=client_id,
            parent_id=parent_id,
            action=name == "me",
            literal=True,
        )
        return CommandResult(name, message, created)
    if parent_id is not None:
        raise ValidationError(
            f"/{name} does not go in a thread.", fields={"parent_id": ["Not for this command."]}
        )
    if name == "topic":
        topic = clean_content(arguments)
        if len(topic) > TOPIC_MAX_LENGTH or "\n" in topic:
            raise _problem(f"A topic is one line of at most {TOPIC_MAX_LENGTH} characters.")
        channel_update(actor=user, channel_id=channel_id, topic=topic)
    elif name == "invite":
        channel_member_add(actor=user, channel_id=channel_id, user=_invitee(arguments))
    elif name == "leave":
        if arguments:
            raise _problem("/leave takes nothing after it.")
        channel_leave(user=user, channel_id=channel_id)
    else:  # pragma: no cover - parse() knows only the commands above
        raise NotFound("Unknown command.")
    return CommandResult(name)
