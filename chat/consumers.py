"""The WebSocket consumer for /ws/chat/ (DESIGN §6; the protocol is in docs/api.md).

One async consumer per connection. It parses frames, authenticates (``chat.ws_auth`` did the
work), and for every operation that touches the database makes one ``database_sync_to_async``
hop around a service or selector call, inside ``rls.acting_as_user(user)`` so row-level
security sees the user. Writes go through ``chat.services`` exactly as the REST views do, and
every event reaches the channel layer through ``chat.events``; this module never calls
``group_send``.

Events from the layer arrive already encoded (``{"type": "chat.event", "text": ...}``) and
are forwarded as they are: one JSON encoding per event, not one per recipient.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat import events, keepalive, presence, selectors, services
from chat.exceptions import ChatError, NotFound, RateLimited, ValidationError
from chat.models import Message
from chat.serializers import MessageCreateSerializer
from chat.ws_auth import PROBLEM_INACTIVE, PROBLEM_UNAVAILABLE, WebSocketAuth, seconds_left
from chatsite import rls
from chatsite.cache import REDIS_UNAVAILABLE
from chatsite.overload import DATABASE_UNAVAILABLE
from chatsite.ws_server import ClientGone

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16 * 1024

CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_SOCKETS = 4408
CLOSE_FLOODED = 4429
CLOSE_UNAVAILABLE = 4503  # the database or Redis is away: reconnect after a pause

# PostgreSQL or Redis is away: the operation is answered with an ``unavailable`` error event
# and the socket stays open (docs/api.md); a connect that cannot be served closes with 4503.
OUTAGE_ERRORS = (*DATABASE_UNAVAILABLE, *REDIS_UNAVAILABLE)
UNAVAILABLE_DETAIL = "The server cannot reach its database or message bus. Try again shortly."

# A replay reads the database this many changes at a time, so a subscribe holds one page in
# memory while it waits for a slow reader (chatsite/ws_server.py), never the whole backlog.
REPLAY_PAGE_SIZE = 100
# Channels one ping may ask about (``{"type": "ping", "channels": [...]}``).
MAX_PING_CHANNELS = 500
# A JSON string escape of a UTF-16 surrogate: the only way valid UTF-8 text decodes to a
# string that cannot be encoded again (a lone surrogate), so only then is it checked.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

# Rate-limit errors within FLOOD_WINDOW_SECONDS of each other before the socket is closed.
FLOOD_STRIKES = 10
FLOOD_WINDOW_SECONDS = 10.0


class TokenBucket:
    """``capacity`` actions at once, refilled at ``per_second``."""

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _channel_id(content: dict[str, Any]) -> str:
    return str(selectors._as_uuid(content.get("channel_id"), field="channel_id"))


def _since_seq(content: dict[str, Any]) -> int | None:
    value = content.get("since_seq")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problem = "since_seq must be a non-negative integer."
        raise ValidationError(problem, fields={"since_seq": [problem]})
    return value


def _channel_ids(content: dict[str, Any]) -> list[str]:
    """A ping's ``channels``: a list of at most MAX_PING_CHANNELS channel ids."""
    value = content.get("channels")
    problem = f"channels must be a list of at most {MAX_PING_CHANNELS} channel ids."
    if not isinstance(value, list) or len(value) > MAX_PING_CHANNELS:
        raise ValidationError(problem, fields={"channels": [problem]})
    try:
        return [str(selectors._as_uuid(item, field="channels")) for item in value]
    except ValidationError:
        raise ValidationError(problem, fields={"channels": ["Must be channel ids."]}) from None


def _is_encodable(text: str, content: Any) -> bool:
    """False if the frame holds a lone surrogate, raw or escaped: PostgreSQL, the channel
    layer and the socket all refuse it, so it is refused here with the other bad frames."""
    try:
        text.encode("utf-8")
        if SURROGATE_ESCAPE.search(text):
            json.dumps(content, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _replay_text(message: Message, since_seq: int) -> str:
    """A replayed change, in the shape of its live event.

    The database keeps each message's latest change only, so a message created after
    ``since_seq`` replays as ``message.created`` (with its edits applied), an older one as
    ``message.updated`` or ``message.deleted``. Each carries the seq of its latest change.
    """
    if message.deleted_at is not None:
        kind = "message.deleted"
    elif message.seq > since_seq:
        kind = "message.created"
    else:
        kind = "message.updated"
    return str(events.layer_message(events.message_event(message, kind))["text"])


async def _close_unavailable(
    receive: Any, send: Any, accepted: bool, subprotocol: str | None
) -> None:
    """At the ASGI level, what ``connect`` does when the database is away: accept (unless
    done), send an ``unavailable`` error event, close with 4503."""
    if not accepted:
        try:
            message = await asyncio.wait_for(receive(), timeout=5)
        except TimeoutError:
            return
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
    ref = "layer" if accepted else "connect"
    event = {"type": "error", "code": "unavailable", "detail": UNAVAILABLE_DETAIL, "ref": ref}
    await send({"type": "websocket.send", "text": json.dumps(event)})
    await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})


# Client frame type -> the consumer's method for it (one table, not one dict per connection).
FRAME_HANDLERS = {
    "ping": "handle_ping",
    "subscribe": "handle_subscribe",
    "unsubscribe": "handle_unsubscribe",
    "message.send": "handle_message_send",
    "typing": "handle_typing",
}


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One client connection: its subscriptions, rate limits and timers."""

    user: Any = None
    token_timer: asyncio.TimerHandle | None = None
    accepted = False
    session_key: str | None = None
    cleaned_up = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer; a Redis outage that escapes it closes with 4503, not 1011.

        Channels asks the layer for the connection's own channel before anything else, so
        while Redis is away a new connection fails there, before it is accepted (Daphne would
        answer the handshake with a 500); RedisChannelLayer (CHANNEL_LAYER_BACKEND=core) also
        raises from its receive loop under an open socket (Daphne would close it with 1011).
        """
        try:
            await super().__call__(scope, receive, send)
        except REDIS_UNAVAILABLE as exc:
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            auth: WebSocketAuth | None = scope.get("auth")
            await _close_unavailable(
                receive, send, self.accepted, auth.subprotocol if auth else None
            )

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler, one thread hop
        # per event. Each database call here goes through database_sync_to_async, which
        # already does that around the call, so forwarding an event stays on the loop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
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

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, separators=(",", ":"))

    # -- connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        auth: WebSocketAuth | None = self.scope.get("auth")
        await self.accept(auth.subprotocol if auth else None)
        self.accepted = True
        if auth is not None and auth.problem == PROBLEM_INACTIVE:
            await self._refuse("forbidden", "This account is deactivated.", CLOSE_FORBIDDEN)
            return
        if auth is not None and auth.problem == PROBLEM_UNAVAILABLE:
            await self._refuse("unavailable", UNAVAILABLE_DETAIL, CLOSE_UNAVAILABLE)
            return
        left = seconds_left(auth) if auth is not None else None
        if auth is None or auth.problem or (left is not None and left <= 0):
            detail = "Sign in, or send an access token as the subprotocol bearer.<token>."
            await self._refuse("unauthorized", detail, CLOSE_UNAUTHORIZED)
            return
        try:
            went_online = await presence.connection_opened(
                user_id=auth.user.pk,
                connection=self.channel_name,
                limit=settings.CHAT_MAX_SOCKETS_PER_USER,
            )
        except presence.TooManyConnections:
            detail = (
                f"At most {settings.CHAT_MAX_SOCKETS_PER_USER} open connections per user;"
                " close one first."
            )
            await self._refuse("too_many_connections", detail, CLOSE_TOO_MANY_SOCKETS)
            return
        except OUTAGE_ERRORS as exc:
            # While Redis is away neither presence nor the socket cap can be counted; the
            # socket works without them and the next heartbeat counts it again.
            logger.warning("ws.presence_unavailable: %s: %s", type(exc).__name__, exc)
            went_online = False
        self.user = auth.user
        self.session_key = auth.session_key
        self._init_state()
        keepalive.keeper().add(self)
        try:
            channels = await self._follow_member_channels()
        except OUTAGE_ERRORS as exc:
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            self.closing = True
            await self._refuse("unavailable", UNAVAILABLE_DETAIL, CLOSE_UNAVAILABLE)
            return
        await self.send_json(self._welcome(channels))
        try:
            if went_online:
                await events.send_presence(
                    user_id=self.user.pk, status="online", channel_ids=self.member_channels
                )
            await self._send_presence_snapshot()
        except OUTAGE_ERRORS as exc:
            # Presence is best effort: the socket works without it, and the next heartbeat
            # counts the connection again.
            logger.warning("ws.presence_unavailable: %s: %s", type(exc).__name__, exc)
        if left is not None:
            self.token_timer = asyncio.get_running_loop().call_later(
                left, lambda: self.tasks.append(asyncio.ensure_future(self._token_expired()))
            )

    def _init_state(self) -> None:
        self.tasks: list[asyncio.Future[None]] = []
        self.subscribed: set[str] = set()
        self.member_channels: set[str] = set()
        self.forwarded_seq: dict[str, int] = {}  # the last seq sent per channel
        self.replayed_to: dict[str, int] = {}  # changes up to here came from the database
        # Channels whose replay stopped at CHAT_REPLAY_LIMIT: the client pages on from
        # replayed_to, so live events wait for that (they would come twice, or out of order).
        self.paging: set[str] = set()
        self.rights_epoch = 0  # counts subscribes and joins, for keepalive's re-checks
        self.presence_seen: dict[str, str] = {}
        # Floods of frames are this socket's business; the message budget (CHAT_MESSAGE_RATE)
        # is the user's, across sockets and doors, and chat.services spends it.
        self.frame_bucket = TokenBucket(capacity=60, per_second=20)
        self.typing_bucket = TokenBucket(capacity=5, per_second=1)
        self.strikes = 0
        self.last_strike = 0.0
        self.closing = False

    async def _follow_member_channels(self) -> list[tuple[str, str, int]]:
        """Join the user's group and the groups of the user's channels; (id, name, last_seq)."""
        await self.channel_layer.group_add(events.user_group(self.user.pk), self.channel_name)
        for channel_id, _name, _last_seq in await self._member_channels():
            await self._join_group(channel_id)
        # Read again after joining the groups: a change committed in between is either in
        # this last_seq or on its way through the layer, never lost between the two.
        channels = await self._member_channels()
        for channel_id, _name, last_seq in channels:
            await self._join_group(channel_id)
            self.forwarded_seq[channel_id] = last_seq
        self.member_channels = {channel_id for channel_id, _name, _seq in channels}
        return channels

    async def _send_presence_snapshot(self) -> None:
        """A ``presence`` online event for each co-member already online when we connect."""
        online = await presence.online_among(await self._co_member_ids())
        for user_id in sorted(online):
            if self.presence_seen.get(user_id) != "online":
                self.presence_seen[sys.intern(user_id)] = "online"
                await self.send_json({"type": "presence", "user_id": user_id, "status": "online"})

    def _welcome(self, channels: list[tuple[str, str, int]]) -> dict[str, Any]:
        return {
            "type": "welcome",
            "user": {
                "id": str(self.user.pk),
                "username": self.user.username,
                "display_name": self.user.display_name,
                "role": self.user.role,
            },
            "channels": [
                {"id": channel_id, "name": name, "last_seq": last_seq}
                for channel_id, name, last_seq in channels
            ],
            "heartbeat_s": settings.HEARTBEAT_SECONDS,
        }

    async def disconnect(self, code: int) -> None:
        if self.user is None or self.cleaned_up:
            return
        self.cleaned_up = True
        keepalive.keeper().discard(self)
        if self.token_timer is not None:
            self.token_timer.cancel()
        for task in self.tasks:
            task.cancel()
        try:
            await asyncio.gather(
                *(
                    self.channel_layer.group_discard(group, self.channel_name)
                    for group in self.keep_alive_groups()
                )
            )
            if await presence.connection_closed(user_id=self.user.pk, connection=self.channel_name):
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

    def keep_alive_groups(self) -> list[str]:
        groups = [events.user_group(self.user.pk)]
        return groups + [events.channel_group(channel_id) for channel_id in self.subscribed]

    def keep_alive_user_id(self) -> Any:
        return self.user.pk

    def access_to_check(self) -> keepalive.AccessCheck | None:
        if self.closing or self.cleaned_up:
            return None
        return keepalive.AccessCheck(
            user_id=self.user.pk,
            session_key=self.session_key,
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
            self.tasks.append(asyncio.ensure_future(self._act_on(check, verdict)))

    async def _act_on(self, check: keepalive.AccessCheck, verdict: keepalive.AccessVerdict) -> None:
        """Close, or drop the channels that are gone."""
        if self.closing or self.cleaned_up:
            return
        if verdict.problem == PROBLEM_INACTIVE:
            await self.chat_deactivated({})
            return
        if verdict.problem is not None:
            detail = "The session ended (logged out, or the password changed)."
            await self._send_error("unauthorized", detail, ref="account")
            self.closing = True
            await self.close(CLOSE_UNAUTHORIZED)
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
        await self.close(CLOSE_UNAUTHORIZED)

    # -- frames from the client ---------------------------------------------------------

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.user is None or self.closing:
            return
        text: str | None = message.get("text")
        data: bytes = message.get("bytes") or b""
        size = len(data) if text is None else len(text)
        if text is not None and size * 4 > MAX_FRAME_BYTES:
            size = len(text.encode("utf-8"))
        if size > MAX_FRAME_BYTES:
            # Daphne refuses such frames first (chatsite/ws_server.py); other servers may not.
            self.closing = True
            await self.close(CLOSE_MESSAGE_TOO_BIG)
            return
        if text is None:
            await self._send_error("bad_request", "Send JSON text frames.", ref="frame")
            return
        await self.receive(text_data=text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.frame_bucket.take():
            await self._strike(RateLimited("Too many frames; slow down."), ref="frame")
            return
        text = text_data or ""
        try:
            content = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            await self._send_error("bad_request", "Frames must be JSON objects.", ref="frame")
            return
        if not _is_encodable(text, content):
            detail = "Frames must be valid Unicode text (no lone surrogates)."
            await self._send_error("bad_request", detail, ref="frame")
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if not isinstance(kind, str):
            await self._send_error("bad_request", "A frame needs a string type.", ref="frame")
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
            await self._strike(exc, ref=self._ref(kind, content))
        except ChatError as exc:
            await self._send_error(exc.code, exc.detail, self._ref(kind, content), exc.fields)
        except OUTAGE_ERRORS as exc:
            # A message.send answered so may or may not be stored (a failed COMMIT cannot
            # tell): the client sends it again with the same client_id, stored at most once.
            logger.warning("ws.unavailable: %s: %s", type(exc).__name__, exc)
            await self._send_error("unavailable", UNAVAILABLE_DETAIL, self._ref(kind, content))

    @staticmethod
    def _ref(kind: str, content: dict[str, Any]) -> str:
        client_id = content.get("client_id")
        if kind == "message.send" and isinstance(client_id, str) and client_id:
            return client_id[:64]
        return kind

    async def _strike(self, exc: RateLimited, ref: str) -> None:
        now = time.monotonic()
        self.strikes = self.strikes + 1 if now - self.last_strike < FLOOD_WINDOW_SECONDS else 1
        self.last_strike = now
        await self._send_error(exc.code, exc.detail, ref)
        if self.strikes >= FLOOD_STRIKES:
            self.closing = True
            await self.close(CLOSE_FLOODED)

    async def handle_ping(self, content: dict[str, Any]) -> None:
        if "channels" not in content:
            await self.send_json({"type": "pong"})
            return
        # The last seq of each channel asked about that the user can see (others are left
        # out, as if they did not exist): a client that missed a channel's last event sees
        # a seq above its own and re-subscribes with since_seq.
        last_seqs = await self._last_seqs(_channel_ids(content))
        await self.send_json({"type": "pong", "channels": last_seqs})

    async def handle_subscribe(self, content: dict[str, Any]) -> None:
        """Join a visible channel's group, then replay what the client is missing.

        Visibility is checked before joining, so a private channel's events never reach a
        non-member; the changes are read after joining, so none falls between the two, and a
        live event of a change already replayed is skipped (``chat_event``). The replay stops
        after CHAT_REPLAY_LIMIT changes: ``subscribed`` then says ``has_more`` and
        ``replayed_to``, and the client subscribes again from there.
        """
        channel_id = _channel_id(content)
        since_seq = _since_seq(content)
        await self._channel_last_seq(channel_id)
        self.rights_epoch += 1
        await self._join_group(channel_id)
        self.paging.discard(channel_id)
        subscribed: dict[str, Any] = {"type": "subscribed", "channel_id": channel_id}
        if since_seq is None:
            last_seq = await self._channel_last_seq(channel_id)
        else:
            last_seq, replayed_to, has_more = await self._replay(channel_id, since_seq)
            if has_more:
                self.paging.add(channel_id)
                subscribed.update(has_more=True, replayed_to=replayed_to)
            self.replayed_to[channel_id] = max(replayed_to, self.replayed_to.get(channel_id, 0))
        self.forwarded_seq[channel_id] = max(last_seq, self.forwarded_seq.get(channel_id, 0))
        subscribed["last_seq"] = last_seq
        await self.send_json(subscribed)

    async def _replay(self, channel_id: str, since_seq: int) -> tuple[int, int, bool]:
        """Send the changes after ``since_seq``, a page at a time; (last_seq, the seq replayed
        up to, whether CHAT_REPLAY_LIMIT stopped it).

        Each send waits while the client's socket buffer is full (chatsite/ws_server.py), so
        a slow reader holds this consumer, and at most one page, not the whole backlog.
        """
        limit = max(1, settings.CHAT_REPLAY_LIMIT)
        sent, cursor, last_seq = 0, since_seq, 0
        while True:
            size = min(REPLAY_PAGE_SIZE, limit - sent)
            channel_last_seq, texts, cursor_after, more = await self._changes_page(
                channel_id, since_seq, cursor, size
            )
            last_seq = max(last_seq, channel_last_seq)
            for text in texts:
                await self.send(text_data=text)
            sent += len(texts)
            cursor = cursor_after
            if not more:
                # Everything up to the channel's last_seq is now with the client.
                return max(last_seq, cursor), max(last_seq, cursor), False
            if sent >= limit:
                return max(last_seq, cursor), cursor, True

    async def handle_unsubscribe(self, content: dict[str, Any]) -> None:
        channel_id = _channel_id(content)
        self.paging.discard(channel_id)
        await self._leave_group(channel_id)
        await self.send_json(
            {
                "type": "unsubscribed",
                "channel_id": channel_id,
                "last_seq": self.forwarded_seq.get(channel_id, 0),
            }
        )

    async def handle_message_send(self, content: dict[str, Any]) -> None:
        serializer = MessageCreateSerializer(data=content)
        if not serializer.is_valid():
            fields = {name: [str(e) for e in errors] for name, errors in serializer.errors.items()}
            first = next(iter(fields.values()))[0] if fields else "Invalid message."
            raise ValidationError(first, fields=fields)
        data = serializer.validated_data
        message = await self._create_message(
            data["channel_id"], data["content"], data.get("client_id")
        )
        await self.send_json({"type": "ack", "client_id": message["client_id"], "message": message})

    async def handle_typing(self, content: dict[str, Any]) -> None:
        if not self.typing_bucket.take():
            raise RateLimited("Too many typing notices; slow down.")
        channel_id = _channel_id(content)
        if channel_id not in self.subscribed:
            raise NotFound("Subscribe to the channel first.")
        if await presence.typing_allowed(user_id=self.user.pk, channel_id=channel_id):
            await events.send_typing(channel_id=channel_id, user=self.user)

    # -- events from the channel layer --------------------------------------------------

    async def chat_event(self, event: dict[str, Any]) -> None:
        channel_id = event.get("channel_id")
        seq = event.get("seq")
        if channel_id is not None:
            if channel_id not in self.subscribed or channel_id in self.paging:
                return  # left the group (already on its way), or the client pages to it
            if seq is not None:
                if seq <= self.replayed_to.get(channel_id, 0):
                    return  # sent in a replay from the database already
                if seq > self.forwarded_seq.get(channel_id, 0):
                    self.forwarded_seq[channel_id] = seq
        await self.send(text_data=event["text"])

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["user_id"] != str(self.user.pk):
            await self.send(text_data=event["text"])

    async def chat_presence(self, event: dict[str, Any]) -> None:
        # A batch of changes (chat.events.send_presence). A user shares several channels
        # with us: tell the client once per change. The client knows its own status.
        # Interned: every connection of the process keeps the same user-id strings, not a
        # decoded copy each (a room of 50 is 49 entries per connection).
        me = str(self.user.pk)
        for change in event["changes"]:
            user_id, status = sys.intern(change["user_id"]), sys.intern(change["status"])
            if user_id != me and self.presence_seen.get(user_id) != status:
                self.presence_seen[user_id] = status
                await self.send(text_data=change["text"])

    async def chat_membership(self, event: dict[str, Any]) -> None:
        channel_id = str(event["channel_id"])
        if not event["joined"]:
            self.member_channels.discard(channel_id)
            if channel_id in self.subscribed:
                await self.handle_unsubscribe({"channel_id": channel_id})
            return
        self.member_channels.add(channel_id)
        self.rights_epoch += 1
        if channel_id not in self.subscribed:
            try:
                await self.handle_subscribe({"channel_id": channel_id})
            except (ChatError, *OUTAGE_ERRORS):
                self.member_channels.discard(channel_id)

    async def chat_deactivated(self, event: dict[str, Any]) -> None:
        await self._send_error("forbidden", "This account was deactivated.", ref="account")
        self.closing = True
        await self.close(CLOSE_FORBIDDEN)

    # -- helpers ------------------------------------------------------------------------

    async def _send_error(
        self, code: str, detail: str, ref: str, fields: dict[str, list[str]] | None = None
    ) -> None:
        event: dict[str, Any] = {"type": "error", "code": code, "detail": detail, "ref": ref}
        if fields:
            event["fields"] = fields
        await self.send_json(event)

    async def _join_group(self, channel_id: str) -> None:
        if channel_id not in self.subscribed:
            await self.channel_layer.group_add(events.channel_group(channel_id), self.channel_name)
            self.subscribed.add(channel_id)

    async def _leave_group(self, channel_id: str) -> None:
        if channel_id in self.subscribed:
            self.subscribed.discard(channel_id)
            await self.channel_layer.group_discard(
                events.channel_group(channel_id), self.channel_name
            )

    @database_sync_to_async
    def _member_channels(self) -> list[tuple[str, str, int]]:
        with rls.acting_as_user(self.user):
            rows = selectors.channel_ids_of_member(user=self.user)
        return [(str(channel_id), name, last_seq) for channel_id, name, last_seq in rows]

    @database_sync_to_async
    def _co_member_ids(self) -> list[int]:
        with rls.acting_as_user(self.user):
            return selectors.co_member_ids(user=self.user)

    @database_sync_to_async
    def _channel_last_seq(self, channel_id: str) -> int:
        with rls.acting_as_user(self.user):
            return selectors.channel_get(user=self.user, channel_id=channel_id).last_seq

    @database_sync_to_async
    def _last_seqs(self, channel_ids: list[str]) -> dict[str, int]:
        with rls.acting_as_user(self.user):
            return selectors.channel_last_seqs(user=self.user, channel_ids=channel_ids)

    @database_sync_to_async
    def _changes_page(
        self, channel_id: str, since_seq: int, after_seq: int, limit: int
    ) -> tuple[int, list[str], int, bool]:
        """One page of a replay: (the channel's last_seq, the changes after ``after_seq`` as
        event texts, the seq of the last of them, whether more follow)."""
        with rls.acting_as_user(self.user):
            channel, changes, more = selectors.changes_since(
                user=self.user, channel_id=channel_id, since_seq=after_seq, limit=limit
            )
            texts = [_replay_text(message, since_seq) for message in changes]
        cursor = changes[-1].change_seq if changes else after_seq
        return channel.last_seq, texts, cursor, more

    @database_sync_to_async
    def _create_message(self, channel_id: Any, content: str, client_id: Any) -> dict[str, Any]:
        with rls.acting_as_user(self.user):
            message, _created = services.message_create(
                user=self.user, channel_id=channel_id, content=content, client_id=client_id
            )
            return events.message_data(message)
