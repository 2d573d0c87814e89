"""Hub: this node's fan-out. Broker bytes in; frames, in seq order, to local connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

import msgspec

from chatserver.broker.base import CONTROL_CHANNEL, Broker, room_channel, user_channel
from chatserver.gateway.connection import Connection
from chatserver.gateway.framing import Outgoing
from chatserver.protocol.envelope import MembershipChanged, RevokeToken, decode_control, unpack

log = logging.getLogger(__name__)

FetchEvents = Callable[[int, int, int], Awaitable[list[tuple[int, bytes]]]]
"""(room, first seq, last seq) -> committed frames, from the store's event log."""
LastSeq = Callable[[int], Awaitable[int]]
UserHook = Callable[[int], None]
PRESENCE_PREFIX = b'{"op":"event","type":"presence"'


def presence_subject(frame: bytes) -> int:
    """The id of the user a presence frame is about (decoded once per announcement)."""
    event = msgspec.json.decode(frame, type=_PresenceEvent)
    return event.user.id


class _UserRef(msgspec.Struct):
    id: int


class _PresenceEvent(msgspec.Struct):
    user: _UserRef


class RoomFeed:
    """One room's local subscribers and where its stream stands on this node."""

    __slots__ = ("catching_up", "delivered", "filling", "members", "pending", "room_id", "waiting")

    def __init__(self, room_id: int, delivered: int) -> None:
        self.room_id = room_id
        self.delivered = delivered
        self.members: set[Connection] = set()
        self.pending: dict[int, bytes] = {}
        self.waiting: dict[Connection, int] = {}
        self.catching_up: dict[Connection, list[tuple[int, Outgoing]]] = {}
        self.filling = False

    def everyone(self) -> list[Connection]:
        return [*self.members, *self.waiting, *self.catching_up]


class Hub:
    """Routes every broker message to the local connections that want it.

    Ordering: each room's sequenced events are delivered in seq order with no gaps
    or repeats. An event that arrives early is held back for `gap_wait` seconds;
    if the missing ones have not arrived by then they are read from the event log.
    A connection that attaches behind the stream is backfilled from the log while
    live events for it are buffered, so it too sees every seq exactly once.
    """

    def __init__(
        self,
        broker: Broker,
        fetch_events: FetchEvents,
        last_seq: LastSeq,
        *,
        gap_wait: float = 0.25,
        on_first_connection: UserHook | None = None,
        on_last_connection: UserHook | None = None,
    ) -> None:
        self._broker = broker
        self._fetch = fetch_events
        self._last_seq = last_seq
        self._gap_wait = gap_wait
        self._on_first = on_first_connection
        self._on_last = on_last_connection
        self.feeds: dict[int, RoomFeed] = {}
        self.users: dict[int, set[Connection]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._presence_seen: OrderedDict[bytes, tuple[int, set[int]]] = OrderedDict()
        broker.set_handlers(self.on_message, self.on_reset)

    async def start(self) -> None:
        await self._broker.subscribe(CONTROL_CHANNEL)

    # -- connections ----------------------------------------------------------------

    async def add_connection(self, conn: Connection) -> None:
        conns = self.users.get(conn.user.id)
        if conns is None:
            conns = self.users[conn.user.id] = set()
            await self._broker.subscribe(user_channel(conn.user.id))
            if self._on_first is not None:
                self._on_first(conn.user.id)
        conns.add(conn)

    async def remove_connection(self, conn: Connection) -> None:
        for room_id in list(conn.rooms):
            await self.detach(conn, room_id)
        conns = self.users.get(conn.user.id)
        if conns is None:
            return
        conns.discard(conn)
        if not conns:
            del self.users[conn.user.id]
            await self._broker.unsubscribe(user_channel(conn.user.id))
            if self._on_last is not None:
                self._on_last(conn.user.id)

    async def attach(self, conn: Connection, room_id: int, floor: int) -> None:
        """Deliver the room's events with seq > `floor` to `conn`, each once, in order."""
        if room_id in conn.rooms or conn.closed:
            return
        conn.rooms.add(room_id)
        feed = self.feeds.get(room_id)
        if feed is None:
            feed = self.feeds[room_id] = RoomFeed(room_id, floor)
            await self._broker.subscribe(room_channel(room_id))
            # Anything committed between the caller's snapshot and the subscription
            # was published to nobody here: look for it once now.
            self._spawn(self._catch_up(feed))
        if floor == feed.delivered:
            feed.members.add(conn)
        elif floor > feed.delivered:
            feed.waiting[conn] = floor
        else:
            feed.catching_up[conn] = []
            self._spawn(self._backfill(feed, conn, floor, feed.delivered))

    def position(self, conn: Connection, room_id: int) -> int | None:
        """The room's last seq pushed to `conn`, when known exactly (not while backfilling)."""
        feed = self.feeds.get(room_id)
        if feed is None or room_id not in conn.rooms:
            return None
        if conn in feed.members:
            return feed.delivered
        return feed.waiting.get(conn)

    async def detach(self, conn: Connection, room_id: int) -> None:
        conn.rooms.discard(room_id)
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        feed.members.discard(conn)
        feed.waiting.pop(conn, None)
        feed.catching_up.pop(conn, None)
        if not (feed.members or feed.waiting or feed.catching_up):
            del self.feeds[room_id]
            await self._broker.unsubscribe(room_channel(room_id))

    # -- broker callbacks (in-memory work only) -------------------------------------

    def on_message(self, channel: str, data: bytes) -> None:
        kind, _, ident = channel.partition(":")
        if kind == "room":
            self._on_room(int(ident), data)
        elif kind == "user":
            conns = self.users.get(int(ident))
            if conns:
                if data.startswith(PRESENCE_PREFIX):
                    self._deliver_once(data, conns)
                    return
                out = Outgoing(data)
                for conn in conns:
                    conn.push(out)
        elif channel == CONTROL_CHANNEL:
            self._on_control(data)

    def on_reset(self) -> None:
        """The broker may have dropped messages: compare every feed with the store."""
        for feed in list(self.feeds.values()):
            self._spawn(self._catch_up(feed))

    def _on_room(self, room_id: int, data: bytes) -> None:
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        seq, frame = unpack(data)
        if seq == 0:  # unsequenced: typing, presence
            if frame.startswith(PRESENCE_PREFIX):
                self._deliver_once(frame, feed.everyone())
                return
            out = Outgoing(frame)
            for conn in feed.everyone():
                conn.push(out)
            return
        if seq <= feed.delivered:
            return
        if seq == feed.delivered + 1:
            self._deliver(feed, seq, frame)
            self._drain_pending(feed)
            return
        feed.pending[seq] = frame
        if not feed.filling:
            feed.filling = True
            self._spawn(self._fill_gap(feed))

    def _deliver_once(self, frame: bytes, conns: Iterable[Connection]) -> None:
        """One presence change arrives once per shared room and once as a friend: each
        connection gets it once, and the user it is about gets it on none of theirs.
        Each announcement's bytes are unique (they carry their time), so the frame
        itself is the key."""
        known = self._presence_seen.get(frame)
        if known is None:
            known = self._presence_seen[frame] = (presence_subject(frame), set())
            if len(self._presence_seen) > 64:
                self._presence_seen.popitem(last=False)
        subject, seen = known
        out = Outgoing(frame)
        for conn in conns:
            if conn.serial not in seen and conn.user.id != subject:
                seen.add(conn.serial)
                conn.push(out)

    def _deliver(self, feed: RoomFeed, seq: int, frame: bytes) -> None:
        feed.delivered = seq
        out = Outgoing(frame)
        for conn in feed.members:
            conn.push(out)
        if feed.catching_up:
            for buffered in feed.catching_up.values():
                buffered.append((seq, out))
        if feed.waiting:
            for conn, floor in list(feed.waiting.items()):
                if seq > floor:
                    conn.push(out)
                    del feed.waiting[conn]
                    feed.members.add(conn)

    def _drain_pending(self, feed: RoomFeed) -> None:
        pending = feed.pending
        while pending:
            frame = pending.pop(feed.delivered + 1, None)
            if frame is None:
                # Drop stale arrivals the store already filled in.
                for seq in [s for s in pending if s <= feed.delivered]:
                    del pending[seq]
                return
            self._deliver(feed, feed.delivered + 1, frame)

    def _on_control(self, data: bytes) -> None:
        try:
            command = decode_control(data)
        except Exception:
            log.warning("ignoring a malformed control message")
            return
        if isinstance(command, RevokeToken):
            for conns in self.users.values():
                for conn in list(conns):
                    if conn.token_id == command.token_id:
                        conn.close(4001, "logged out")
        elif isinstance(command, MembershipChanged):
            for conn in list(self.users.get(command.user_id, ())):
                if command.joined:
                    self._spawn(self.attach(conn, command.room_id, command.seq))
                else:
                    self._spawn(self.detach(conn, command.room_id))

    # -- repairs from the store -----------------------------------------------------

    async def _fill_gap(self, feed: RoomFeed) -> None:
        try:
            await asyncio.sleep(self._gap_wait)
            while feed.pending and self.feeds.get(feed.room_id) is feed:
                lowest = min(feed.pending)
                if lowest > feed.delivered + 1:
                    await self._load(feed, lowest - 1)
                    if feed.delivered < lowest - 1:
                        log.warning(
                            "room %s: seqs %s..%s are missing from the log; skipping",
                            feed.room_id,
                            feed.delivered + 1,
                            lowest - 1,
                        )
                        feed.delivered = lowest - 1
                self._drain_pending(feed)
        finally:
            feed.filling = False

    async def _catch_up(self, feed: RoomFeed) -> None:
        try:
            last = await self._last_seq(feed.room_id)
        except Exception as exc:
            log.warning("room %s: cannot read last seq: %s", feed.room_id, exc)
            return
        if last > feed.delivered and self.feeds.get(feed.room_id) is feed:
            await self._load(feed, last)
            self._drain_pending(feed)

    async def _load(self, feed: RoomFeed, upto: int) -> None:
        """Deliver committed events delivered+1..upto from the log, in order."""
        try:
            events = await self._fetch(feed.room_id, feed.delivered + 1, upto)
        except Exception as exc:
            log.warning("room %s: gap fill failed: %s", feed.room_id, exc)
            return
        for seq, frame in events:
            if seq == feed.delivered + 1:
                self._deliver(feed, seq, frame)

    async def _backfill(self, feed: RoomFeed, conn: Connection, floor: int, upto: int) -> None:
        mine = feed.catching_up.get(conn)
        try:
            events = await self._fetch(feed.room_id, floor + 1, upto)
        except Exception as exc:
            log.warning("room %s: backfill failed, closing: %s", feed.room_id, exc)
            conn.close(1011, "could not catch up; reconnect with since")
            return
        if mine is None or feed.catching_up.get(conn) is not mine or conn.closed:
            # Detached meanwhile, or detached and attached again (a `sync`): the
            # newer attach has its own floor and backfill; this one must not run.
            return
        buffered = feed.catching_up.pop(conn)
        last = floor
        for seq, frame in events:
            if seq > last:
                conn.send(frame)
                last = seq
        for seq, out in buffered:
            if seq > last:
                conn.push(out)
                last = seq
        feed.members.add(conn)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        """Close every local WebSocket with 1001 after flushing what is queued for it."""
        conns = [conn for conns in self.users.values() for conn in conns]
        await asyncio.gather(
            *(conn.flush_and_close(1001, "server shutting down") for conn in conns)
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
