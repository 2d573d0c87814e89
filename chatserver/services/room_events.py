"""The one door for sequenced room events: seq, event log and publication, always together.

Every change to a room's state that clients must see in order takes the room's next seq,
stores the exact broadcast bytes in `room_events` in the same transaction (so a node that
misses the publication fills the gap with the very same frame), and is published only
after the commit (so nothing is announced that could still roll back). Writers do all
three through an `Outbox` (`next_seq`, then `log`), which refuses to commit a seq whose
event was not logged; none of them calls the store's `next_seq` or the publisher for a
room event directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import now_ms
from chatserver.protocol.envelope import AnyControl
from chatserver.protocol.events import AnySequenced, Event
from chatserver.protocol.wire import encode
from chatserver.services.publisher import Publisher
from chatserver.store import events as event_store
from chatserver.store import rooms as room_store
from chatserver.store.engine import Database

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _RoomFrame:
    room_id: int
    seq: int
    frame: bytes


@dataclass(frozen=True, slots=True)
class _UserFrame:
    user_id: int
    frame: bytes


class UnloggedSeq(RuntimeError):
    """A writer took a seq and did not log its event: a bug, caught before the commit."""


@dataclass(slots=True)
class Outbox:
    """One transaction's connection and what it will announce once it commits."""

    conn: AsyncConnection
    _queued: list[_RoomFrame | _UserFrame | AnyControl] = field(default_factory=list)
    _taken: set[tuple[int, int]] = field(default_factory=set)

    async def next_seq(self, room_id: int) -> int:
        """Take `room_id`'s next seq; `log` must then record the event that carries it.

        The seq's row lock is held until commit, so writers of one room get consecutive
        numbers; a rollback gives the seq back, leaving no hole.
        """
        seq = await room_store.next_seq(self.conn, room_id)
        self._taken.add((room_id, seq))
        return seq

    async def log(self, event: AnySequenced) -> bytes:
        """Store the event's broadcast bytes in the room's log; publish them after commit."""
        room_id = event.room_id
        key = (room_id, event.seq)
        if key not in self._taken:
            raise UnloggedSeq(f"room {room_id} seq {event.seq} was not taken by this outbox")
        self._taken.discard(key)
        frame = encode(event)
        await event_store.append(self.conn, room_id, event.seq, frame, now_ms())
        self._queued.append(_RoomFrame(room_id, event.seq, frame))
        return frame

    def to_user(self, user_id: int, event: Event) -> None:
        """An unsequenced event for one user's connections, sent after the commit."""
        self._queued.append(_UserFrame(user_id, encode(event)))

    def control(self, command: AnyControl) -> None:
        """A node-wide command (membership, revocation), sent after the commit."""
        self._queued.append(command)

    def check_complete(self) -> None:
        """Refuse to commit a seq whose event was never logged: gap filling would break."""
        if self._taken:
            raise UnloggedSeq(f"seqs taken but never logged: {sorted(self._taken)}")


class RoomEvents:
    """Opens write transactions whose sequenced events are published after commit."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self._db = db
        self._publisher = publisher

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Outbox]:
        """A write transaction; what its outbox queued is published once it commits."""
        async with self._db.write() as conn:
            outbox = Outbox(conn)
            yield outbox
            outbox.check_complete()
        await self.publish(outbox)

    async def write_shared(
        self, work: Callable[[Outbox], Awaitable[T]], room_id: int | None = None
    ) -> T:
        """`work` in a transaction that concurrent sends may share (group commit).

        `work` may run twice; only the run that commits has its outbox published.
        `room_id`: the one room it takes a seq in (see `Database.write_shared`).
        """

        async def attempt(conn: AsyncConnection) -> tuple[T, Outbox]:
            outbox = Outbox(conn)
            result = await work(outbox)
            outbox.check_complete()
            return result, outbox

        result, outbox = await self._db.write_shared(attempt, room_id)
        await self.publish(outbox)
        return result

    async def publish(self, outbox: Outbox) -> None:
        """Announce, in the order they were queued, what a committed outbox holds."""
        for item in outbox._queued:
            if isinstance(item, _RoomFrame):
                await self._publisher.room(item.room_id, item.seq, item.frame)
            elif isinstance(item, _UserFrame):
                await self._publisher.user(item.user_id, item.frame)
            else:
                await self._publisher.control(item)
        outbox._queued.clear()
