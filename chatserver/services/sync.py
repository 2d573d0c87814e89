"""Catch-up: what brings a client from the seq it saw to now, and gap fills for the hub."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.domain.errors import BadRequest
from chatserver.domain.models import Message, User, now_ms
from chatserver.protocol import wire
from chatserver.protocol.events import MessageCreated, MessageUpdated, RoomSynced
from chatserver.services.rooms import member_room
from chatserver.store import events as event_store
from chatserver.store import messages as message_store
from chatserver.store.engine import Database

MAX_REPLAY_EVENTS = 1000
EVENT_LOG_RETENTION_MS = 3_600_000
"""The log only fills gaps of seconds; an hour is ample, and edited or deleted text does
not linger in it."""


@dataclass(frozen=True, slots=True)
class Replay:
    """Frames to send in order (ending with `room.synced`), and the seq they bring to."""

    room_id: int
    seq: int
    frames: list[bytes]


class SyncService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def replay(self, user: User, room_id: object, since: object) -> Replay:
        """The folded replay of PROTOCOL's Sequencing section, for one member.

        New messages come as `message.created`, older ones changed since as
        `message.updated` with their full current state (`me` computed for this
        user), in seq order. Over 1000 missed events, or a `since` from the
        future (a restored database), the client is told to reset instead.
        """
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise BadRequest("since must be a non-negative integer")
        async with self._db.read() as conn:
            room, _ = await member_room(conn, user, room_id)
            last = room.last_seq
            if last - since > MAX_REPLAY_EVENTS or since > last:
                return Replay(
                    room.id, last, [wire.encode(RoomSynced(room=room.id, seq=last, reset=True))]
                )
            changed = await message_store.changed_since(
                conn, room.id, since, user.id, MAX_REPLAY_EVENTS + 1
            )
        keyed: list[tuple[int, type[MessageCreated | MessageUpdated], Message]] = []
        for message in changed:
            if message.seq > last:
                continue  # created after the snapshot: the live stream brings it
            if message.seq > since:
                keyed.append((message.seq, MessageCreated, message))
            else:
                # Current state, stamped no later than the snapshot so that the
                # live stream (which resumes after `last`) still applies on top.
                keyed.append((min(message.updated_seq, last), MessageUpdated, message))
        keyed.sort(key=lambda item: item[0])
        frames = [
            wire.encode(kind(room=room.id, seq=seq, message=wire.message_out(message)))
            for seq, kind, message in keyed
        ]
        frames.append(wire.encode(RoomSynced(room=room.id, seq=last)))
        return Replay(room.id, last, frames)

    async def events_between(self, room_id: int, first: int, last: int) -> list[tuple[int, bytes]]:
        """Broadcast frames first..last from the event log, for the hub's gap fill."""
        async with self._db.read() as conn:
            return await event_store.between(conn, room_id, first, last)

    async def prune_event_log(self) -> int:
        """Forget broadcast frames older than the retention; returns how many."""
        async with self._db.write() as conn:
            return await event_store.prune_before(conn, now_ms() - EVENT_LOG_RETENTION_MS)
