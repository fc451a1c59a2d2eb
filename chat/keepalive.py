"""One keep-alive per process for all its WebSocket connections.

Every heartbeat the process's fan-out hub must re-add its channel and user groups
(chat.fanout) on layers that let a group entry expire after a few heartbeats, so the entries
of a process that died fall away, and each open connection must refresh its presence entry
(chat.presence). One task, the ``Keeper`` that chat.realtime holds for the process, does that
for every connection of the process, with the presence refreshes pipelined, instead of a task
and a few Redis round trips per connection: idle connections then cost next to nothing
between heartbeats (docs/performance.md).

The same task re-checks, every heartbeat, what each connection's user may still do
(``recheck``): whether the account is active, whether a cookie socket's session still holds
(log-out, password change), the user's current role, and the memberships behind its private
channels. The channel-layer events that say so at once (``chat.membership``,
``chat.deactivated``) are the fast path but at most once; this is the guarantee that an open
socket never keeps a right for longer than a heartbeat (docs/operations.md, "Open sockets").
It reads in batches of RECHECK_BATCH connections, a few queries each.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from accounts import roles
from chat import presence, selectors, ws_auth
from chatsite import rls
from integrations import services as integration_services

logger = logging.getLogger(__name__)

RECHECK_BATCH = 500  # connections per database hop in recheck


@dataclass(frozen=True)
class AccessCheck:
    """What a connection holds, to be checked against the database."""

    user_id: Any
    session_key: str | None  # a cookie socket's session; None for a token socket
    subscribed: frozenset[str]
    member_of: frozenset[str]
    epoch: int = 0  # the connection's count of subscribes and joins when this was taken
    token_issued_at: float | None = None  # a token socket's access token iat
    bot_token_id: str | None = None  # a bot token socket's token (revoked: close)


@dataclass(frozen=True)
class AccessVerdict:
    """What a connection's user may still do, as the database says now."""

    user: Any = None  # the user's current row (its role may have changed)
    problem: str | None = None  # ws_auth.PROBLEM_INACTIVE or PROBLEM_UNAUTHORIZED: close
    left: frozenset[str] = frozenset()  # of member_of: no longer a member
    hidden: frozenset[str] = frozenset()  # of subscribed: may no longer see it


class KeptConnection(Protocol):
    connection_id: str  # its entry in the user's presence set (chat.presence)

    def keep_alive_user_id(self) -> Any: ...

    def access_to_check(self) -> AccessCheck | None: ...

    def access_checked(self, check: AccessCheck, verdict: AccessVerdict) -> None: ...


class Keeper:
    """The connections of the process and the task that refreshes them (``chat.realtime``
    holds the one of the process: ``realtime.current().keeper``)."""

    def __init__(self, hub: Any = None) -> None:
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.hub = hub  # chat.fanout.Hub: its groups are re-added here
        self.task: asyncio.Task[None] | None = None

    def add(self, connection: KeptConnection) -> None:
        self.connections.add(connection)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, connection: KeptConnection) -> None:
        self.connections.discard(connection)
        if not self.connections and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while self.connections:
            await asyncio.sleep(settings.HEARTBEAT_SECONDS)
            connections = list(self.connections)
            try:
                await refresh(connections)
                if self.hub is not None:
                    await self.hub.refresh()
            except Exception:
                logger.exception("ws.keep_alive_failed")
            try:
                await recheck(connections)
            except Exception:
                logger.exception("ws.recheck_failed")


async def refresh(connections: list[KeptConnection]) -> None:
    """Refresh the connections' presence, in pipelines. (Their layer groups are the hub's:
    ``Hub.refresh``.)"""
    await presence.connections_refreshed(
        [(connection.keep_alive_user_id(), connection.connection_id) for connection in connections]
    )


async def recheck(connections: list[KeptConnection]) -> None:
    """Re-validate every connection's rights and let each act on its verdict."""
    for start in range(0, len(connections), RECHECK_BATCH):
        batch = []
        for connection in connections[start : start + RECHECK_BATCH]:
            check = connection.access_to_check()
            if check is not None:
                batch.append((connection, check))
        if not batch:
            continue
        verdicts = await database_sync_to_async(judge)([check for _, check in batch])
        for (connection, check), verdict in zip(batch, verdicts, strict=True):
            connection.access_checked(check, verdict)  # acts in a task of its own


def _revoked_since(user: Any, issued_at: float) -> bool:
    cut_off = user.tokens_valid_after
    return cut_off is not None and issued_at < cut_off.timestamp()


def judge(checks: list[AccessCheck]) -> list[AccessVerdict]:
    """The verdicts of ``checks``: three queries for all of them, one more when bot token
    sockets are among them, plus two (the session and its user) per distinct cookie session.
    Read as the service, since the batch spans users."""
    channel_ids = sorted(set().union(*(check.subscribed | check.member_of for check in checks)))
    session_keys = {check.session_key for check in checks if check.session_key}
    with rls.acting_as_service():
        users, private, memberships = selectors.socket_rights(
            user_ids=sorted({check.user_id for check in checks}), channel_ids=channel_ids
        )
        sessions = {key: ws_auth.session_auth(key) for key in session_keys}
        bot_token_ids = {check.bot_token_id for check in checks if check.bot_token_id}
        live_tokens = integration_services.live_bot_token_ids(bot_token_ids)
    member_of: dict[Any, set[str]] = {}
    for user_id, channel_id in memberships:
        member_of.setdefault(user_id, set()).add(channel_id)
    verdicts = []
    for check in checks:
        user = users.get(check.user_id)
        if user is None:
            verdicts.append(AccessVerdict(problem=ws_auth.PROBLEM_UNAUTHORIZED))
            continue
        if not user.is_active:
            verdicts.append(AccessVerdict(user, ws_auth.PROBLEM_INACTIVE))
            continue
        if check.token_issued_at is not None and _revoked_since(user, check.token_issued_at):
            # Signed out everywhere, or the password changed (accounts.services).
            verdicts.append(AccessVerdict(user, ws_auth.PROBLEM_UNAUTHORIZED))
            continue
        if check.bot_token_id is not None and check.bot_token_id not in live_tokens:
            # The bot's token was revoked (or deleted) since the handshake.
            verdicts.append(AccessVerdict(user, ws_auth.PROBLEM_UNAUTHORIZED))
            continue
        if check.session_key is not None:
            session = sessions[check.session_key]
            if session.problem is not None or session.user.pk != user.pk:
                verdicts.append(AccessVerdict(user, ws_auth.PROBLEM_UNAUTHORIZED))
                continue
        member = member_of.get(user.pk, set())
        moderates = roles.is_moderator(user)
        hidden = {
            c
            for c in check.subscribed
            if c in private and c not in member and (not moderates or private[c] == "dm")
        }
        verdicts.append(
            AccessVerdict(user, left=frozenset(check.member_of - member), hidden=frozenset(hidden))
        )
    return verdicts
