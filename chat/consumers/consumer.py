"""``ChatConsumer``: one WebSocket connection to /ws/chat/ (docs/api.md, docs/asyncapi.yaml).

One async consumer per connection. It parses frames (``frames``), authenticates
(``chat.ws_auth`` did the work), and for every operation that touches the database makes one
``database_sync_to_async`` hop around a service or selector call (``database``). Writes go
through ``chat.services`` exactly as the REST views do; every event it sends is built by
``chat.events``, and it never calls ``group_send``.

Events from the layer arrive already encoded (``{"type": "chat.event", "text": ...}``) and
are forwarded as they are: one JSON encoding per event, not one per recipient. They come from
the process's hub (``chat.fanout``), which hands each to ``live``: a channel's events, and the
user's own (membership, sign-out, mentions, read markers). A consumer has no channel-layer
channel of its own.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import types
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from rest_framework.serializers import Serializer

from chat import events, fanout, keepalive, presence, realtime
from chat.consumers import closes, database, frames
from chat.consumers.closes import OUTAGE_ERRORS, UNAVAILABLE_DETAIL, close_unavailable
from chat.exceptions import ChatError, NotFound, RateLimited, ValidationError
from chat.serializers import (
    CommandFrameSerializer,
    MessageCreateSerializer,
    ReactionFrameSerializer,
)
from chat.ws_auth import PROBLEM_INACTIVE, PROBLEM_UNAVAILABLE, WebSocketAuth, seconds_left
from chatsite import metrics, ws_server
from chatsite.cache import REDIS_UNAVAILABLE
from chatsite.ws_server import ClientGone

logger = logging.getLogger(__name__)

# Changes of one channel committed close together can reach the layer out of seq order: each
# request hands its event over after its own commit, and threads and processes race there.
# A live event that runs ahead of the last seq sent waits up to this long for the ones before
# it. If they do not come (the layer dropped one), it goes anyway, and the client catches up
# by seq (docs/architecture.md, "The path of a message").
REORDER_WAIT_SECONDS = 0.5
# At most this many events wait per channel; past it they all go at once.
REORDER_MAX_HELD = 1000

# What most sockets never use, shared until one does (``ChatConsumer``, lazy state): an idle
# socket holds no empty containers of its own (docs/performance.md, "Round 3: memory per
# connection and churn").
_NONE: frozenset[str] = frozenset()
_EMPTY: Mapping[Any, Any] = types.MappingProxyType({})

# Client frame type -> the consumer's method for it (one table, not one dict per connection).
FRAME_HANDLERS = {
    "ping": "handle_ping",
    "subscribe": "handle_subscribe",
    "unsubscribe": "handle_unsubscribe",
    "message.send": "handle_message_send",
    "typing": "handle_typing",
    "reaction.add": "handle_reaction_add",
    "reaction.remove": "handle_reaction_remove",
    "command.run": "handle_command_run",
}


class ChatConsumer(AsyncWebsocketConsumer):
    """One client connection: its subscriptions, rate limits and timers.

    Built on Channels' ``AsyncWebsocketConsumer`` (accept, send, close, the handlers of the
    ``websocket.*`` messages). It implements the documented hooks ``connect``, ``receive``
    (every frame: size, rate, decoding, then a ``handle_*`` method) and ``disconnect``, and
    replaces two methods of ``AsyncConsumer``:

    - ``__call__`` reads the socket alone: Channels' own also opens a layer channel for the
      connection and reads it beside the socket, and here the process's hub brings every
      event (chat.fanout); a Redis outage that escapes closes with 4503, not 1011;
    - ``dispatch`` skips Channels' ``aclose_old_connections`` before every handler (one thread
      hop per forwarded event; each database call here is a ``database_sync_to_async`` hop,
      which closes stale connections itself), and leaves the groups and presence at once
      when a send finds the client gone or a handler fails.
    """

    # No layer channel per connection (``__call__``); no groups of Channels' bookkeeping.
    channel_layer: Any = None
    groups = ()
    connection_id: str | None = None  # its entry in the user's presence set
    user: Any = None
    token_timer: asyncio.TimerHandle | None = None
    accepted = False
    session_key: str | None = None
    token_issued_at: float | None = None
    bot_token_id: str | None = None
    # A bot token limited to some channels (docs/integrations.md): their ids; None otherwise.
    channel_scope: frozenset[str] | None = None
    cleaned_up = False
    dm_members: dict[str, list[dict[str, str]]] | None = None
    presence_batch = False  # the client asked for batched presence events
    # Live delivery (``live``): while a handler runs (``busy``) or the socket's buffer is
    # full, a channel's events wait in ``backlog`` and go out in order after it.
    busy = False
    backlog: deque[dict[str, Any]] | None = None
    drainer: asyncio.Future[None] | None = None
    protocol: Any = None
    # Lazy state: shared empties until the socket first needs its own (``_init_state``).
    tasks: list[asyncio.Future[None]] | tuple[()] = ()
    # Channels whose replay stopped at CHAT_REPLAY_LIMIT: the client pages on from
    # replayed_to, so live events wait for that (they would come twice, or out of order).
    paging: set[str] | frozenset[str] = _NONE
    # Live events that ran ahead of forwarded_seq, per channel: {seq: text}, and the timer
    # that sends them anyway when the missing ones do not come.
    held: Mapping[str, dict[int, str]] = _EMPTY
    held_timers: Mapping[str, asyncio.TimerHandle] = _EMPTY
    presence_seen: Mapping[str, str] = _EMPTY  # what the client was told of each co-member

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve the connection: each message of the server in turn, through ``dispatch``.

        Channels' own ``__call__`` first asks the layer for a channel of the connection's
        own and then reads it beside the socket (``await_many_dispatch``: an asyncio queue, a
        task per message and, on the pub/sub layer, a Redis subscription per connection).
        Here the process's hub brings the channels' and the user's events (chat.fanout), so
        the socket is all there is to read (docs/architecture.md, "Delivery of live events").
        A Redis outage that escapes closes with 4503, not 1011.
        """
        self.scope = scope
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        except REDIS_UNAVAILABLE as exc:
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            auth: WebSocketAuth | None = scope.get("auth")
            await close_unavailable(
                receive, send, self.accepted, auth.subprotocol if auth else None
            )

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if self.drainer is not None:
            # Live events the hub handed over before this frame go first.
            await asyncio.gather(self.drainer, return_exceptions=True)
        self.busy = True
        try:
            await handler(message)
            await self._send_backlog()
        except ClientGone:
            # The client left while we were sending (chatsite/ws_server.py): no bug, and
            # nothing more to send. Leave now; websocket.disconnect follows.
            await self.disconnect(1006)
        except Exception:
            # A bug, not bad input (that gets an error event). The server closes with 1011;
            # leave the groups and presence now rather than when their entries expire, so
            # the user does not show as online for three heartbeats.
            await self.disconnect(1011)
            raise
        finally:
            self.busy = False

    async def send_event(self, event: dict[str, Any]) -> None:
        """Send an event built by ``chat.events`` to this client."""
        await self.send(text_data=events.encode(event))

    # -- connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        auth: WebSocketAuth | None = self.scope.get("auth")
        await self.accept(auth.subprotocol if auth else None)
        self.accepted = True
        if auth is not None and auth.problem == PROBLEM_INACTIVE:
            await self._refuse("forbidden", "This account is deactivated.", closes.CLOSE_FORBIDDEN)
            return
        if auth is not None and auth.problem == PROBLEM_UNAVAILABLE:
            await self._refuse("unavailable", UNAVAILABLE_DETAIL, closes.CLOSE_UNAVAILABLE)
            return
        left = seconds_left(auth) if auth is not None else None
        if auth is None or auth.problem or (left is not None and left <= 0):
            detail = "Sign in, or send an access token as the subprotocol bearer.<token>."
            await self._refuse("unauthorized", detail, closes.CLOSE_UNAUTHORIZED)
            return
        member_channels, co_member_ids = auth.take_connect_reads()
        self.connection_id = realtime.current().connection_id()
        try:
            went_online = await presence.connection_opened(
                user_id=auth.user.pk,
                connection=self.connection_id,
                limit=settings.CHAT_MAX_SOCKETS_PER_USER,
            )
        except presence.TooManyConnections:
            detail = (
                f"At most {settings.CHAT_MAX_SOCKETS_PER_USER} open connections per user;"
                " close one first."
            )
            await self._refuse("too_many_connections", detail, closes.CLOSE_TOO_MANY_SOCKETS)
            return
        except OUTAGE_ERRORS as exc:
            # Redis is away (presence lives on the layer's first host). The hub may well
            # follow this user's channels already and need no Redis to add the socket, but no
            # live event would reach it: the client comes back after a pause instead.
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            await self._refuse("unavailable", UNAVAILABLE_DETAIL, closes.CLOSE_UNAVAILABLE)
            return
        self.user = auth.user
        self.session_key = auth.session_key
        self.token_issued_at = auth.issued_at
        self.bot_token_id = auth.bot_token_id
        self.channel_scope = auth.channel_scope
        self._init_state()
        self.presence_batch = wants_presence_batch(self.scope)
        realtime.current().keeper.add(self)
        try:
            channels = await self._follow_member_channels(member_channels)
        except OUTAGE_ERRORS as exc:
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            self.closing = True
            await self._refuse("unavailable", UNAVAILABLE_DETAIL, closes.CLOSE_UNAVAILABLE)
            return
        await self.send_event(
            events.welcome_event(
                self.user, channels, settings.HEARTBEAT_SECONDS, dm_members=self.dm_members
            )
        )
        try:
            if went_online:
                await events.send_presence(
                    user_id=self.user.pk, status="online", channel_ids=self.member_channels
                )
            await self._send_presence_snapshot(co_member_ids)
        except OUTAGE_ERRORS as exc:
            # Presence is best effort: the socket works without it, and the next heartbeat
            # counts the connection again.
            logger.warning("ws.presence_unavailable: %s: %s", type(exc).__name__, exc)
        if left is not None:
            self.token_timer = asyncio.get_running_loop().call_later(
                left, lambda: self._keep_task(self._token_expired())
            )

    def _init_state(self) -> None:
        """What every connected socket uses; the rest (``tasks``, ``paging``, ``held``,
        ``held_timers``, ``presence_seen``) stays a shared empty until first written."""
        self.subscribed: set[str] = set()
        self.member_channels: set[str] = set()
        self.forwarded_seq: dict[str, int] = {}  # the last seq sent per channel
        self.rights_epoch = 0  # counts subscribes and joins, for keepalive's re-checks
        # Floods of frames are this socket's business; the message budget (CHAT_MESSAGE_RATE)
        # is the user's, across sockets and doors, and chat.services spends it.
        self.frame_bucket = frames.TokenBucket(capacity=60, per_second=20)
        self.typing_bucket = frames.TokenBucket(capacity=5, per_second=1)
        self.strikes = 0
        self.last_strike = 0.0
        self.closing = False

    async def _follow_member_channels(
        self, known: tuple[tuple[str, str, int], ...] | None = None
    ) -> list[tuple[str, str, int]]:
        """Follow the user's events and the user's channels; (id, name, last_seq).

        ``known``: the channels the handshake read (``chat.ws_auth``), so only the read after
        joining is a database hop of its own.
        """
        if known is None:
            known = tuple(await database.member_channels(self.user))
        await self._join_groups([channel_id for channel_id, _n, _s in known], user=True)
        # Read again after joining the groups: a change committed in between is either in
        # this last_seq or on its way through the layer, never lost between the two.
        channels, self.dm_members = await database.member_channels_and_dms(self.user)
        if self.channel_scope is not None:
            channels = [channel for channel in channels if self._in_scope(channel[0])]
            self.dm_members = {
                k: v for k, v in (self.dm_members or {}).items() if self._in_scope(k)
            }
        await self._join_groups([channel_id for channel_id, _n, _s in channels])
        for channel_id, _name, last_seq in channels:
            self.forwarded_seq[channel_id] = last_seq
        self.member_channels = {channel_id for channel_id, _name, _seq in channels}
        return channels

    async def _join_groups(self, channel_ids: list[str], *, user: bool = False) -> None:
        """Follow the channels of ``channel_ids`` (``_join_group``) and, with ``user``, the
        user's own events, together."""
        hub = realtime.current().hub
        await asyncio.gather(
            *((hub.join_user(self.user.pk, self),) if user else ()),
            *(self._join_group(channel_id) for channel_id in channel_ids),
        )

    async def _send_presence_snapshot(self, co_member_ids: tuple[int, ...] | None = None) -> None:
        """Who of the co-members (read by the handshake, or now) is online as we connect: one
        batched ``presence`` event, or one event per person for clients that did not ask for
        batches."""
        if co_member_ids is None:
            co_member_ids = tuple(await database.co_member_ids(self.user))
        online = await presence.online_among(list(co_member_ids))
        news = []
        for user_id in sorted(online):
            if self.presence_seen.get(user_id) != "online":
                self._seen()[sys.intern(user_id)] = "online"
                news.append(user_id)
        if not news:
            return
        if self.presence_batch:
            await self.send_event(events.presence_batch_event((u, "online") for u in news))
            return
        for user_id in news:
            await self.send_event(events.presence_event(user_id, "online"))

    async def disconnect(self, code: int) -> None:
        if self.user is None or self.cleaned_up:
            return
        self.cleaned_up = True
        current = realtime.current()
        current.keeper.discard(self)
        current.hub.leave_user(self.user.pk, self)
        for channel_id in self.subscribed:
            current.hub.leave(channel_id, self)
        self.backlog = None
        if self.drainer is not None:
            self.drainer.cancel()
        if self.token_timer is not None:
            self.token_timer.cancel()
        for channel_id in list(self.held):
            self._drop_held(channel_id)
        for task in self.tasks:
            task.cancel()
        if self.connection_id is None:
            return
        try:
            went_offline = await presence.connection_closed(
                user_id=self.user.pk, connection=self.connection_id
            )
            if went_offline:
                await events.send_presence(
                    user_id=self.user.pk, status="offline", channel_ids=self.member_channels
                )
        except REDIS_UNAVAILABLE as exc:
            # Redis is away: the connection's presence entry expires on its own.
            logger.warning("ws.disconnect_cleanup_failed: %s: %s", type(exc).__name__, exc)

    async def _refuse(self, code: str, detail: str, close_code: int) -> None:
        await self._send_error(code, detail, ref="connect")
        await self.close(close_code)

    # -- kept alive by chat.keepalive, once per heartbeat -------------------------------

    def keep_alive_user_id(self) -> Any:
        return self.user.pk

    def access_to_check(self) -> keepalive.AccessCheck | None:
        if self.closing or self.cleaned_up:
            return None
        return keepalive.AccessCheck(
            user_id=self.user.pk,
            session_key=self.session_key,
            token_issued_at=self.token_issued_at,
            bot_token_id=self.bot_token_id,
            subscribed=frozenset(self.subscribed),
            member_of=frozenset(self.member_channels),
            epoch=self.rights_epoch,
        )

    def access_checked(
        self, check: keepalive.AccessCheck, verdict: keepalive.AccessVerdict
    ) -> None:
        """Take a heartbeat's re-check (chat.keepalive). Acting on it means sending to the
        client, so it runs in a task of this connection: the keep-alive never waits for a
        slow reader."""
        if self.closing or self.cleaned_up:
            return
        self.user = verdict.user or self.user  # a new role applies to every later check
        gone = verdict.left | (verdict.hidden & self.subscribed)
        if verdict.problem is not None or (gone and check.epoch == self.rights_epoch):
            self._keep_task(self._act_on(check, verdict))

    async def _act_on(self, check: keepalive.AccessCheck, verdict: keepalive.AccessVerdict) -> None:
        """Close, or drop the channels that are gone."""
        if self.closing or self.cleaned_up:
            return
        if verdict.problem == PROBLEM_INACTIVE:
            await self.chat_deactivated({})
            return
        if verdict.problem is not None:
            detail = (
                "The bot token was revoked."
                if self.bot_token_id is not None
                else "The session ended (logged out, or the password changed)."
            )
            await self._send_error("unauthorized", detail, ref="account")
            self.closing = True
            await self.close(closes.CLOSE_UNAUTHORIZED)
            return
        if check.epoch != self.rights_epoch:
            return  # joined or subscribed since the read: the next heartbeat decides
        for channel_id in sorted(verdict.left):
            await self.chat_membership({"channel_id": channel_id, "joined": False})
        for channel_id in sorted(verdict.hidden & self.subscribed):
            await self.handle_unsubscribe({"channel_id": channel_id})

    async def _token_expired(self) -> None:
        await self._send_error("unauthorized", "The access token expired.", ref="token")
        self.closing = True
        await self.close(closes.CLOSE_UNAUTHORIZED)

    # -- frames from the client ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """One frame: its size, this socket's frame budget, decoding, then its handler."""
        if self.user is None or self.closing:
            return
        if frames.too_big(text_data, bytes_data):
            # Daphne refuses such frames first (chatsite/ws_server.py); other servers may not.
            self.closing = True
            await self.close(closes.CLOSE_MESSAGE_TOO_BIG)
            return
        if text_data is None:
            await self._send_error("bad_request", "Send JSON text frames.", ref="frame")
            return
        if not self.frame_bucket.take():
            await self._strike(RateLimited("Too many frames; slow down."), ref="frame")
            return
        try:
            kind, content = frames.decode(text_data)
        except frames.BadFrame as exc:
            await self._send_error("bad_request", exc.detail, ref="frame")
            return
        handler_name = FRAME_HANDLERS.get(kind)
        handler: Callable[[dict[str, Any]], Awaitable[None]] | None = (
            getattr(self, handler_name) if handler_name else None
        )
        if handler is None:
            await self._send_error("unknown_type", f"Unknown type {kind[:40]!r}.", ref=kind[:40])
            return
        try:
            await handler(content)
        except RateLimited as exc:
            await self._strike(exc, ref=frames.ref(kind, content))
        except ChatError as exc:
            await self._send_error(exc.code, exc.detail, frames.ref(kind, content), exc.fields)
        except OUTAGE_ERRORS as exc:
            # A message.send answered so may or may not be stored (a failed COMMIT cannot
            # tell): the client sends it again with the same client_id, stored at most once.
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            await self._send_error("unavailable", UNAVAILABLE_DETAIL, frames.ref(kind, content))

    async def _strike(self, exc: RateLimited, ref: str) -> None:
        now = time.monotonic()
        recent = now - self.last_strike < frames.FLOOD_WINDOW_SECONDS
        self.strikes = self.strikes + 1 if recent else 1
        self.last_strike = now
        await self._send_error(exc.code, exc.detail, ref)
        if self.strikes >= frames.FLOOD_STRIKES:
            self.closing = True
            await self.close(closes.CLOSE_FLOODED)

    async def handle_ping(self, content: dict[str, Any]) -> None:
        if "channels" not in content:
            await self.send_event(events.pong_event())
            return
        # The last seq of each channel asked about that the user can see (others are left
        # out, as if they did not exist): a client that missed a channel's last event sees
        # a seq above its own and re-subscribes with since_seq.
        asked = [c for c in frames.channel_ids(content) if self._in_scope(c)]
        last_seqs = await database.last_seqs(self.user, asked)
        await self.send_event(events.pong_event(last_seqs))

    async def handle_subscribe(self, content: dict[str, Any]) -> None:
        """Join a visible channel's group, then replay what the client is missing.

        Visibility is checked before joining, so a private channel's events never reach a
        non-member; the changes are read after joining, so none falls between the two, and a
        live event of a change already replayed is skipped (``chat_event``). The replay stops
        after CHAT_REPLAY_LIMIT changes: ``subscribed`` then says ``has_more`` and
        ``replayed_to``, and the client subscribes again from there. When retention deleted
        history after ``since_seq``, ``subscribed`` carries the channel's ``trimmed_seq``: the
        client drops what it holds up to it (docs/api.md, "History deleted by retention").
        """
        channel_id = frames.channel_id(content)
        self._check_scope(channel_id)
        since_seq = frames.since_seq(content)
        if channel_id not in self.subscribed:
            # Already in the group (the user's channels are joined at connect): nothing new
            # can reach the socket by joining, and the reads below check visibility anyway.
            await database.channel_last_seq(self.user, channel_id)
        self.rights_epoch += 1
        await self._join_group(channel_id)
        self._stop_paging(channel_id)
        # What waits for a missing seq was committed before the read below: the replay, or
        # the last_seq that `subscribed` reports, covers it.
        self._drop_held(channel_id)
        paged_to = trimmed = None
        if since_seq is None:
            last_seq = await database.channel_last_seq(self.user, channel_id)
        else:
            last_seq, replayed_to, has_more, trimmed_seq = await self._replay(channel_id, since_seq)
            if trimmed_seq > since_seq:
                trimmed = trimmed_seq
            if has_more:
                self._own_paging().add(channel_id)
                paged_to = replayed_to
        self.forwarded_seq[channel_id] = max(last_seq, self.forwarded_seq.get(channel_id, 0))
        await self.send_event(
            events.subscribed_event(channel_id, last_seq, replayed_to=paged_to, trimmed_seq=trimmed)
        )

    async def _replay(self, channel_id: str, since_seq: int) -> tuple[int, int, bool, int]:
        """Send the changes after ``since_seq``, a page at a time; (last_seq, the seq replayed
        up to, whether CHAT_REPLAY_LIMIT stopped it, the channel's trimmed_seq).

        Each send waits while the client's socket buffer is full (chatsite/ws_server.py), so
        a slow reader holds this consumer, and at most one page, not the whole backlog.
        """
        limit = max(1, settings.CHAT_REPLAY_LIMIT)
        sent, cursor, last_seq, trimmed_seq = 0, since_seq, 0, 0
        while True:
            size = min(database.REPLAY_PAGE_SIZE, limit - sent)
            page = await database.changes_page(self.user, channel_id, since_seq, cursor, size)
            channel_last_seq, channel_trimmed_seq, texts, cursor_after, more = page
            last_seq = max(last_seq, channel_last_seq)
            trimmed_seq = max(trimmed_seq, channel_trimmed_seq)
            for text in texts:
                await self.send(text_data=text)
            metrics.REPLAYED.inc(len(texts))
            sent += len(texts)
            cursor = cursor_after
            if not more:
                # Everything up to the channel's last_seq is now with the client.
                return max(last_seq, cursor), max(last_seq, cursor), False, trimmed_seq
            if sent >= limit:
                return max(last_seq, cursor), cursor, True, trimmed_seq

    async def handle_unsubscribe(self, content: dict[str, Any]) -> None:
        channel_id = frames.channel_id(content)
        self._stop_paging(channel_id)
        await self._leave_group(channel_id)
        last_seq = self.forwarded_seq.get(channel_id, 0)
        await self.send_event(events.unsubscribed_event(channel_id, last_seq))

    async def handle_message_send(self, content: dict[str, Any]) -> None:
        data = _validated(MessageCreateSerializer, content)
        self._check_scope(data["channel_id"])
        message = await database.create_message(
            self.user,
            data["channel_id"],
            data["content"],
            data.get("client_id"),
            data.get("parent_id"),
            data.get("attachment_ids", ()),
        )
        await self.send_event(events.ack_event(message))

    async def handle_command_run(self, content: dict[str, Any]) -> None:
        """The same service as POST .../commands/ (docs/api.md, "Slash commands")."""
        data = _validated(CommandFrameSerializer, content)
        self._check_scope(data["channel_id"])
        await self.send_event(await database.run_command(self.user, data))

    async def handle_reaction_add(self, content: dict[str, Any]) -> None:
        """The same service as POST .../reactions/; the channel hears ``message.updated``."""
        data = _validated(ReactionFrameSerializer, content)
        await database.react(
            self.user, data["message_id"], data["emoji"], add=True, scope=self.channel_scope
        )

    async def handle_reaction_remove(self, content: dict[str, Any]) -> None:
        data = _validated(ReactionFrameSerializer, content)
        await database.react(
            self.user, data["message_id"], data["emoji"], add=False, scope=self.channel_scope
        )

    async def handle_typing(self, content: dict[str, Any]) -> None:
        if not self.typing_bucket.take():
            raise RateLimited("Too many typing notices; slow down.")
        channel_id = frames.channel_id(content)
        if channel_id not in self.subscribed:
            raise NotFound("Subscribe to the channel first.")
        if await presence.typing_allowed(user_id=self.user.pk, channel_id=channel_id):
            await events.send_typing(channel_id=channel_id, user=self.user)

    # -- events from the channel layer, through the hub --------------------------------

    def live(self, delivery: fanout.Delivery) -> int:
        """An event of a channel or of the user from the process's hub (``chat.fanout``);
        the frames written.

        Written to the connection at once when nothing else is under way; while a handler
        runs (a replay, an ack), earlier events wait, or the client's buffer is full, it joins
        the backlog and goes out after, by the same filters (``chat_event``). The user's
        events that act (``chat.membership``, ``chat.deactivated``, ``chat.signed_out``)
        always take the backlog: their handlers run in order with everything else."""
        message = delivery.message
        if self.busy or self.backlog or self.cleaned_up or not self._writable():
            self._defer(message)
            return 0
        kind = message["type"]
        if kind == events.LAYER_EVENT_TYPE:
            texts = self._event_texts(message)
        elif kind == "chat.presence":
            texts = self._presence_texts(message)
        elif kind == "chat.typing":
            texts = [message["text"]] if message["user_id"] != str(self.user.pk) else []
        else:
            self._defer(message)
            return 0
        for text in texts:
            ws_server.write(self.protocol, delivery.frame(text))
        return len(texts) if kind == events.LAYER_EVENT_TYPE else 0

    def _writable(self) -> bool:
        if self.protocol is None:
            self.protocol = ws_server.protocol_of(self.scope) or False
        return bool(self.protocol) and ws_server.writable(self.protocol)

    def _defer(self, message: dict[str, Any]) -> None:
        if self.cleaned_up:
            return
        if self.backlog is None:
            self.backlog = deque()
        self.backlog.append(message)
        if not self.busy and self.drainer is None:
            self.drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        """Send the backlog outside a handler (the client's buffer was full)."""
        self.busy = True
        try:
            await self._send_backlog()
        except ClientGone:
            self.backlog = None  # websocket.disconnect follows
        except Exception:
            logger.exception("ws.delivery_failed")
            await self.disconnect(1011)
            await self.close(1011)
        finally:
            self.busy = False
            self.drainer = None

    async def _send_backlog(self) -> None:
        while self.backlog:
            message = self.backlog.popleft()
            await getattr(self, get_handler_name(message))(message)
        self.backlog = None  # most sockets need none most of the time

    async def chat_event(self, event: dict[str, Any]) -> None:
        texts = self._event_texts(event)
        for text in texts:
            await self.send(text_data=text)
        if texts:
            metrics.DELIVERIES.inc(len(texts))

    def _event_texts(self, event: dict[str, Any]) -> list[str]:
        """What of a ``chat.event`` goes to the client now, in order (and the seq bookkeeping
        of it): nothing for a change replayed already or waiting for its predecessors; the
        event and then any held ones it lets through."""
        channel_id = event.get("channel_id")
        seq = event.get("seq")
        text: str = event["text"]
        if channel_id is None:
            # The user's own events (mentions, read markers) say which channel they concern.
            about = event.get("about")
            return [text] if about is None or self._in_scope(about) else []
        if channel_id not in self.subscribed:
            return []  # left the group (already on its way)
        if seq is None:
            return [text]
        if channel_id in self.paging:
            return []  # the client pages to it: the change comes in a later page
        forwarded = self.forwarded_seq.get(channel_id, 0)
        if seq <= forwarded:
            # Sent already, live or in a replay from the database, or committed before the
            # last_seq the client was told (welcome, subscribed): a late event of it, such as
            # one the hub still had on its way from an earlier socket, would reach a
            # reconnecting client before the replay that brings it in order.
            return []
        if seq > forwarded + 1:
            return self._hold(channel_id, seq, text)
        self.forwarded_seq[channel_id] = seq
        if channel_id in self.held:
            return [text, *self._release_held(channel_id, everything=False)]
        return [text]

    def _hold(self, channel_id: str, seq: int, text: str) -> list[str]:
        """Keep an event that ran ahead until the seqs before it arrive, or the wait ends;
        past REORDER_MAX_HELD, what is held goes now."""
        all_held, timers = self._own_held()
        held = all_held.setdefault(channel_id, {})
        held[seq] = text
        if len(held) > REORDER_MAX_HELD:
            return self._release_held(channel_id, everything=True)
        if channel_id not in timers:
            timers[channel_id] = asyncio.get_running_loop().call_later(
                REORDER_WAIT_SECONDS, self._wait_ended, channel_id
            )
        return []

    def _wait_ended(self, channel_id: str) -> None:
        self._own_held()[1].pop(channel_id, None)
        self._defer({"type": "chat.held", "channel_id": channel_id})

    async def chat_held(self, event: dict[str, Any]) -> None:
        """The reorder wait of a channel ended: send what is held, gap and all."""
        texts = self._release_held(event["channel_id"], everything=True)
        for text in texts:
            await self.send(text_data=text)
        if texts:
            metrics.DELIVERIES.inc(len(texts))

    def _release_held(self, channel_id: str, *, everything: bool) -> list[str]:
        """A channel's held events in seq order: those that now follow on from the last seq
        sent, or (``everything``) all of them, leaving the gap for the client to fill. One
        the client has had since, or will have from a replay, goes nowhere."""
        held = self.held.get(channel_id)
        texts = []
        while held:
            seq = min(held)
            forwarded = self.forwarded_seq.get(channel_id, 0)
            stale = seq <= forwarded
            if not stale and not everything and seq != forwarded + 1:
                break
            text = held.pop(seq)
            if not held:
                self._drop_held(channel_id)
            if not stale:
                self.forwarded_seq[channel_id] = seq
                texts.append(text)
        return texts

    def _drop_held(self, channel_id: str) -> None:
        if self.held is _EMPTY:
            return  # nothing was ever held
        held, timers = self._own_held()
        held.pop(channel_id, None)
        timer = timers.pop(channel_id, None)
        if timer is not None:
            timer.cancel()

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["user_id"] != str(self.user.pk):
            await self.send(text_data=event["text"])

    async def chat_presence(self, event: dict[str, Any]) -> None:
        # A batch of changes (chat.events.send_presence). A user shares several channels
        # with us: tell the client once per change. The client knows its own status.
        # Interned: every connection of the process keeps the same user-id strings, not a
        # decoded copy each (a room of 50 is 49 entries per connection).
        for text in self._presence_texts(event):
            await self.send(text_data=text)

    def _presence_texts(self, event: dict[str, Any]) -> list[str]:
        """The frames of a presence batch for this client: what it does not know yet, one
        frame per change, or one frame in all for a client that asked for batches (the one
        the sender encoded, when nothing is left out; docs/performance.md, "Round 3:
        connects")."""
        me = str(self.user.pk)
        news: list[dict[str, str]] = []
        changes = event["changes"]
        for change in changes:
            user_id, status = sys.intern(change["user_id"]), sys.intern(change["status"])
            if user_id != me and self.presence_seen.get(user_id) != status:
                self._seen()[user_id] = status
                news.append(change)
        if not news:
            return []
        if not self.presence_batch:
            return [change["text"] for change in news]
        if len(news) == len(changes) and "text" in event:
            return [event["text"]]
        batch = events.presence_batch_event((c["user_id"], c["status"]) for c in news)
        return [events.encode(batch)]

    async def chat_membership(self, event: dict[str, Any]) -> None:
        """The user joined or left a channel (``chat.events.notify_membership``), or a
        heartbeat's re-check found them gone (no ``text`` then).

        Leaving: stop following the channel first, then tell the client (``membership``
        joined false), so nothing of it arrives after. Joining: tell the client, then follow
        the channel with a replay from the ``last_seq`` of the shape it was told, so a change
        committed in between reaches it too (also for a socket that was open before a direct
        message existed).
        """
        channel_id = str(event["channel_id"])
        text = event.get("text")
        if not self._in_scope(channel_id):
            return  # a scoped bot token neither follows nor hears of other channels
        if not event["joined"]:
            self.member_channels.discard(channel_id)
            if channel_id in self.subscribed:
                await self.handle_unsubscribe({"channel_id": channel_id})
            if text is None:
                text = await database.left_channel_text(self.user, channel_id)
            if text is not None:
                await self.send(text_data=text)
            return
        self.member_channels.add(channel_id)
        self.rights_epoch += 1
        if text is not None:
            await self.send(text_data=text)
        if channel_id not in self.subscribed:
            subscribe: dict[str, Any] = {"channel_id": channel_id}
            if event.get("last_seq") is not None:
                subscribe["since_seq"] = event["last_seq"]
            try:
                await self.handle_subscribe(subscribe)
            except (ChatError, *OUTAGE_ERRORS):
                self.member_channels.discard(channel_id)

    async def chat_deactivated(self, event: dict[str, Any]) -> None:
        await self._send_error("forbidden", "This account was deactivated.", ref="account")
        self.closing = True
        await self.close(closes.CLOSE_FORBIDDEN)

    async def chat_signed_out(self, event: dict[str, Any]) -> None:
        detail = "The session ended (logged out, or the password changed)."
        await self._send_error("unauthorized", detail, ref="account")
        self.closing = True
        await self.close(closes.CLOSE_UNAUTHORIZED)

    # -- helpers ------------------------------------------------------------------------

    async def _send_error(
        self, code: str, detail: str, ref: str, fields: dict[str, list[str]] | None = None
    ) -> None:
        await self.send_event(events.error_event(code, detail, ref, fields))

    def _keep_task(self, coroutine: Awaitable[None]) -> None:
        """Run ``coroutine`` in a task of this connection, cancelled when it closes."""
        if not isinstance(self.tasks, list):
            self.tasks = []
        self.tasks.append(asyncio.ensure_future(coroutine))

    # The lazy state, the socket's own from its first write.

    def _own_paging(self) -> set[str]:
        if not isinstance(self.paging, set):
            self.paging = set()
        return self.paging

    def _stop_paging(self, channel_id: str) -> None:
        if channel_id in self.paging:
            self._own_paging().discard(channel_id)

    def _own_held(self) -> tuple[dict[str, dict[int, str]], dict[str, asyncio.TimerHandle]]:
        if not isinstance(self.held, dict) or not isinstance(self.held_timers, dict):
            self.held, self.held_timers = {}, {}
        return self.held, self.held_timers

    def _seen(self) -> dict[str, str]:
        if not isinstance(self.presence_seen, dict):
            self.presence_seen = {}
        return self.presence_seen

    def _in_scope(self, channel_id: Any) -> bool:
        return self.channel_scope is None or str(channel_id) in self.channel_scope

    def _check_scope(self, channel_id: Any) -> None:
        """A scoped bot token names another channel: answered as a channel it may not see."""
        if not self._in_scope(channel_id):
            raise NotFound("Channel not found.")

    async def _join_group(self, channel_id: str) -> None:
        if channel_id not in self.subscribed:
            await realtime.current().hub.join(channel_id, self)
            self.subscribed.add(channel_id)

    async def _leave_group(self, channel_id: str) -> None:
        self._drop_held(channel_id)
        if channel_id in self.subscribed:
            self.subscribed.discard(channel_id)
            realtime.current().hub.leave(channel_id, self)


def wants_presence_batch(scope: dict[str, Any]) -> bool:
    """Whether the client asked for batched ``presence`` events (``?presence=batch``)."""
    query = parse_qs(bytes(scope.get("query_string") or b"").decode("latin1"))
    return "batch" in query.get("presence", [])


def _validated(serializer_class: type[Serializer], content: dict[str, Any]) -> dict[str, Any]:
    """A frame checked by the serializer its REST door uses; a ValidationError otherwise."""
    serializer = serializer_class(data=content)
    if not serializer.is_valid():
        fields = {name: [str(e) for e in errors] for name, errors in serializer.errors.items()}
        first = next(iter(fields.values()))[0] if fields else "Invalid frame."
        raise ValidationError(first, fields=fields)
    return dict(serializer.validated_data)
