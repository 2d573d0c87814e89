"""Catch-up: what brings a client from the seq it saw to now, and gap fills for the hub."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chatserver.domain.errors import NotMember
from chatserver.domain.models import Message, User, now_ms
from chatserver.protocol import wire
from chatserver.protocol.events import MessageCreated, MessageUpdated, RoomSynced
from chatserver.services.rooms import member_room
from chatserver.store import events as event_store
from chatserver.store import messages as message_store
from chatserver.store import rooms as room_store
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

    async def replay(self, user: User, room_id: int, since: int) -> Replay:
        """The folded replay of PROTOCOL's Sequencing section, for one member.

        New messages come as `message.created`, older ones changed since as
        `message.updated` with their full current state (`me` computed for this
        user), in seq order. Over 1000 missed events, or a `since` from the
        future (a restored database), the client is told to reset instead.
        """
        async with self._db.read() as conn:
            room, _ = await member_room(conn, user, room_id)
            last = room.last_seq
            if last - since > MAX_REPLAY_EVENTS or since > last:
                return _reset(room.id, last)
            changed = await message_store.changed_since(
                conn, room.id, since, user.id, MAX_REPLAY_EVENTS + 1
            )
        return _folded(room.id, since, last, changed)

    async def replay_rooms(self, user: User, since: Mapping[int, int]) -> dict[int, Replay]:
        """The replay of each of the user's rooms in `since` (room id: seq seen), as
        `replay` gives them one by one, but in four queries however many rooms: a `hello`
        that resumes forty rooms must not hold the loop for forty replays' queries."""
        if not since:
            return {}
        async with self._db.read() as conn:
            last = {
                room.id: room.last_seq for room, _ in await room_store.user_rooms(conn, user.id)
            }
            if not since.keys() <= last.keys():
                raise NotMember("join the room first")
            behind = {
                room_id: seen
                for room_id, seen in since.items()
                if seen <= last[room_id] and last[room_id] - seen <= MAX_REPLAY_EVENTS
            }
            changed = await message_store.changed_since_in_rooms(conn, behind, user.id)
        by_room: dict[int, list[Message]] = {room_id: [] for room_id in behind}
        for message in changed:
            by_room[message.room_id].append(message)
        return {
            room_id: (
                _folded(room_id, seen, last[room_id], by_room[room_id])
                if room_id in behind
                else _reset(room_id, last[room_id])
            )
            for room_id, seen in since.items()
        }

    async def events_between(self, room_id: int, first: int, last: int) -> list[tuple[int, bytes]]:
        """Broadcast frames first..last from the event log, for the hub's gap fill."""
        async with self._db.read() as conn:
            return await event_store.between(conn, room_id, first, last)

    async def prune_event_log(self) -> int:
        """Forget broadcast frames older than the retention; returns how many."""
        async with self._db.write() as conn:
            return await event_store.prune_before(conn, now_ms() - EVENT_LOG_RETENTION_MS)


def _reset(room_id: int, last: int) -> Replay:
    """Too far behind (or ahead: a restored database): the client starts the room over."""
    return Replay(room_id, last, [wire.encode(RoomSynced(room=room_id, seq=last, reset=True))])


def _folded(room_id: int, since: int, last: int, changed: list[Message]) -> Replay:
    """New messages as `message.created`, older ones changed since as `message.updated`
    with their current state, in seq order, then `room.synced` at `last`."""
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
        wire.encode(kind(room=room_id, seq=seq, message=wire.message_out(message)))
        for seq, kind, message in keyed
    ]
    frames.append(wire.encode(RoomSynced(room=room_id, seq=last)))
    return Replay(room_id, last, frames)
