"""Hub: this node's fan-out. Broker bytes in; frames, in seq order, to local connections."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from chatserver.broker.base import (
    CONTROL_CHANNEL,
    PRESENCE_CHANNEL,
    Broker,
    room_channel,
    user_channel,
)
from chatserver.gateway.connection import Connection
from chatserver.gateway.framing import FrameRun, Outgoing, ws_text_frame
from chatserver.protocol.closecodes import CloseCode
from chatserver.protocol.envelope import (
    MembershipChanged,
    ProfileChanged,
    RevokeToken,
    RevokeUser,
    RoleChanged,
    decode_control,
    decode_presence,
    unpack,
)
from chatserver.protocol.roomfeed import Close, Fetch, Output, Push, RoomFeed, StartTimer

log = logging.getLogger(__name__)

FetchEvents = Callable[[int, int, int], Awaitable[list[tuple[int, bytes]]]]
"""(room, first seq, last seq) -> committed frames, from the store's event log."""
LastSeqs = Callable[[list[int]], Awaitable[dict[int, int]]]
"""Rooms -> each one's last committed seq, in one read."""
UserHook = Callable[[int], None]
Feed = RoomFeed[Connection, Outgoing]


class Hub:
    """Routes every broker message to the local connections that want it.

    Ordering: each room's sequenced events are delivered in seq order with no gaps
    or repeats. The rules live in one `RoomFeed` per room (`protocol/roomfeed.py`);
    the hub feeds it broker messages, runs the log reads and the `gap_wait` timer it
    asks for, feeds the answers back, and pushes what it returns to connections.
    """

    def __init__(
        self,
        broker: Broker,
        fetch_events: FetchEvents,
        last_seqs: LastSeqs,
        *,
        gap_wait: float = 0.25,
        on_first_connection: UserHook | None = None,
        on_last_connection: UserHook | None = None,
    ) -> None:
        self._broker = broker
        self._fetch_events = fetch_events
        self._last_seqs = last_seqs
        self._gap_wait = gap_wait
        self._on_first = on_first_connection
        self._on_last = on_last_connection
        self.feeds: dict[int, Feed] = {}
        self.users: dict[int, set[Connection]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._catch_up_due: dict[int, Feed] = {}
        self._catching_up = False
        self.deliveries = 0
        """Frames handed to sockets, one per event and recipient (read by the metrics)."""
        broker.set_handlers(self.on_message, self.on_reset)

    async def start(self) -> None:
        await self._broker.subscribe(CONTROL_CHANNEL)
        await self._broker.subscribe(PRESENCE_CHANNEL)

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
            feed = self.feeds[room_id] = RoomFeed(floor)
            await self._broker.subscribe(room_channel(room_id))
            # Anything committed between the caller's snapshot and the subscription
            # was published to nobody here: look for it once now.
            self._catch_up(room_id, feed)
        self._apply(room_id, feed, feed.attach(conn, floor))

    def position(self, conn: Connection, room_id: int) -> int | None:
        """The room's last seq pushed to `conn`, when known exactly (not while backfilling)."""
        feed = self.feeds.get(room_id)
        if feed is None or room_id not in conn.rooms:
            return None
        return feed.position(conn)

    async def detach(self, conn: Connection, room_id: int) -> None:
        if self._stop_feeding(conn, room_id):
            await self._broker.unsubscribe(room_channel(room_id))

    def _stop_feeding(self, conn: Connection, room_id: int) -> bool:
        """Push nothing more of the room to `conn`, from now on; True when that closed
        the room's feed here (its channel is then to be unsubscribed)."""
        conn.rooms.discard(room_id)
        feed = self.feeds.get(room_id)
        if feed is None:
            return False
        feed.detach(conn)
        if feed.has_subscribers():
            return False
        del self.feeds[room_id]
        return True

    # -- broker callbacks (in-memory work only) -------------------------------------

    def on_message(self, channel: str, data: bytes) -> None:
        kind, _, ident = channel.partition(":")
        if kind == "room":
            self._on_room(int(ident), data)
        elif kind == "user":
            conns = self.users.get(int(ident))
            if conns:
                out = Outgoing(data)
                for conn in conns:
                    conn.push(out)
                self.deliveries += len(conns)
        elif channel == PRESENCE_CHANNEL:
            self._on_presence(data)
        elif channel == CONTROL_CHANNEL:
            self._on_control(data)

    def on_reset(self) -> None:
        """The broker may have dropped messages: compare every feed with the store."""
        for room_id, feed in list(self.feeds.items()):
            self._catch_up(room_id, feed)

    def _on_room(self, room_id: int, data: bytes) -> None:
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        seq, frame = unpack(data)
        if seq == 0:  # unsequenced: typing
            out = Outgoing(frame)
            subscribers = feed.subscribers()
            for conn in subscribers:
                conn.push(out)
            self.deliveries += len(subscribers)
            return
        self._apply(room_id, feed, feed.arrive(seq, Outgoing(frame)))

    def _on_presence(self, data: bytes) -> None:
        """Hand each local connection, in one push, the frames of a presence window that
        are meant for it: those of the users it shares a room with (its rooms' lists,
        joined as sets, so a user met in three rooms counts once) or is a friend of,
        never its own user's, in the window's order.

        The work is a set update per (connection, room) and one push per connection;
        announcing frame by frame, a restart's million presence frames each cost a push
        and a check per room they were published in.
        """
        try:
            window = decode_presence(data)
        except msgspec.DecodeError:  # a ValidationError too
            log.warning("ignoring a malformed presence window")
            return
        feeds, users = self.feeds, self.users
        heard_in = {room: picked for room, picked in window.rooms.items() if room in feeds}
        befriended = {user: picked for user, picked in window.friends.items() if user in users}
        listeners: set[Connection] = set()
        for room_id in heard_in:
            listeners.update(feeds[room_id].subscribers())
        for user_id in befriended:
            listeners.update(users[user_id])
        if not listeners:
            return
        rooms = set(heard_in)
        subject_at = {user_id: index for index, user_id in enumerate(window.subjects)}
        payloads = window.frames
        framed = [ws_text_frame(payload) for payload in payloads]
        delivered = 0
        for conn in listeners:
            lists = [heard_in[room_id] for room_id in conn.rooms & rooms]
            as_friend = befriended.get(conn.user.id)
            if as_friend is not None:
                lists.append(as_friend)
            own = subject_at.get(conn.user.id)
            picked: list[int]
            if len(lists) == 1 and own is None:
                picked = lists[0]  # one list, ascending: nothing to merge
            else:
                chosen = set().union(*lists)  # a user met in three rooms counts once
                if own is not None:
                    chosen.discard(own)
                picked = sorted(chosen)
            if picked:
                conn.push(FrameRun(payloads, framed, picked))
                delivered += len(picked)
        self.deliveries += delivered

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
                        conn.close(CloseCode.UNAUTHORIZED, "logged out")
        elif isinstance(command, MembershipChanged):
            for conn in list(self.users.get(command.user_id, ())):
                if command.joined:
                    self._spawn(self.attach(conn, command.room_id, command.seq))
                elif self._stop_feeding(conn, command.room_id):
                    # Detached here and now, not in a task: an event of the room that
                    # the broker already handed over (it follows this command, which is
                    # published before the member's `member.left`) must not reach them.
                    self._spawn(self._broker.unsubscribe(room_channel(command.room_id)))
        elif isinstance(command, RevokeUser):
            for conn in list(self.users.get(command.user_id, ())):
                if conn.token_id != command.keep_token_id:
                    conn.close(CloseCode.UNAUTHORIZED, "signed out")
        elif isinstance(command, RoleChanged):
            # Every op checks permissions with `conn.user`: the next one uses the new role.
            for conn in self.users.get(command.user_id, ()):
                conn.user = dataclasses.replace(conn.user, role=command.role)
        elif isinstance(command, ProfileChanged):
            # The author of the next message sent over these sockets is the new one.
            for conn in self.users.get(command.user_id, ()):
                conn.user = dataclasses.replace(
                    conn.user,
                    display_name=command.display_name,
                    region=command.region,
                    avatar=command.avatar,
                )

    # -- carrying out what a feed asks for ------------------------------------------

    def _apply(
        self, room_id: int, feed: Feed, outputs: Sequence[Output[Connection, Outgoing]]
    ) -> None:
        for output in outputs:
            if isinstance(output, Push):
                out = output.frame
                for conn in output.to:
                    conn.push(out)
                self.deliveries += len(output.to)
            elif isinstance(output, Fetch):
                self._spawn(self._fetch(room_id, feed, output))
            elif isinstance(output, StartTimer):
                self._spawn(self._gap_timer(room_id, feed))
            elif isinstance(output, Close):
                output.subscriber.close(
                    CloseCode.INTERNAL, "could not catch up; reconnect with since"
                )
            else:
                log.warning(
                    "room %s: seqs %s..%s are missing from the log; skipping",
                    room_id,
                    output.first,
                    output.last,
                )

    async def _gap_timer(self, room_id: int, feed: Feed) -> None:
        await asyncio.sleep(self._gap_wait)
        if self.feeds.get(room_id) is feed:
            self._apply(room_id, feed, feed.gap_wait_over())

    def _catch_up(self, room_id: int, feed: Feed) -> None:
        """Have the feed compare itself with the room's last committed seq.

        Rooms asked for together share one read: a user in 20 rooms connecting to a node
        where none of them had a feed yet, or a broker reset with a thousand feeds, is
        one query, not one per room (`_catch_up_batches`).
        """
        self._catch_up_due[room_id] = feed
        if not self._catching_up:
            self._catching_up = True
            self._spawn(self._catch_up_batches())

    async def _catch_up_batches(self) -> None:
        try:
            await asyncio.sleep(0)  # the rest of this turn's rooms join the batch
            while self._catch_up_due:
                due, self._catch_up_due = self._catch_up_due, {}
                try:
                    lasts = await self._last_seqs(list(due))
                except Exception as exc:
                    log.warning("cannot read the last seq of %d rooms: %s", len(due), exc)
                    continue
                for room_id, feed in due.items():
                    if self.feeds.get(room_id) is feed:
                        self._apply(room_id, feed, feed.last_seq_known(lasts.get(room_id, 0)))
        finally:
            self._catching_up = False

    async def _fetch(self, room_id: int, feed: Feed, request: Fetch[Connection]) -> None:
        """Read the log for a feed; the answer is dropped if the room's feed was closed."""
        events: list[tuple[int, bytes]] | None
        try:
            events = await self._fetch_events(room_id, request.first, request.last)
        except Exception as exc:
            log.warning("room %s: %s failed: %s", room_id, request.reason.value, exc)
            events = None
        if self.feeds.get(room_id) is not feed:
            return
        if events is None:
            self._apply(room_id, feed, feed.fetch_failed(request))
        else:
            frames = [(seq, Outgoing(frame)) for seq, frame in events]
            self._apply(room_id, feed, feed.fetched(request, frames))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        """Close every local WebSocket with 1001 after flushing what is queued for it."""
        conns = [conn for conns in self.users.values() for conn in conns]
        await asyncio.gather(
            *(conn.flush_and_close(CloseCode.GOING_AWAY, "server shutting down") for conn in conns)
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
