"""Catch-up: what brings a client from the seq it saw to now, and gap fills for the hub."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import NotMember
from chatserver.domain.models import Message, Reaction, User, now_ms
from chatserver.protocol import wire
from chatserver.protocol.events import MessageCreated, MessageUpdated, RoomSynced
from chatserver.services.replay_cache import Key, ReplayCache, SharedReplay
from chatserver.services.rooms import member_room
from chatserver.store import events as event_store
from chatserver.store import messages as message_store
from chatserver.store import replays as replay_store
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
    def __init__(self, db: Database, cache: ReplayCache | None = None) -> None:
        self._db = db
        self._cache = cache or ReplayCache()

    async def replay(self, user: User, room_id: int, since: int) -> Replay:
        """The folded replay of PROTOCOL's Sequencing section, for one member.

        New messages come as `message.created`, older ones changed since as
        `message.updated` with their full current state (`me` computed for this
        user), in seq order. Over 1000 missed events, or a `since` from the
        future (a restored database), the client is told to reset instead.
        """
        async with self._db.read() as conn:
            room, _ = await member_room(conn, user, room_id)
            replays = await self._replays(conn, user, {room.id: (since, room.last_seq)})
        return replays[room.id]

    async def replay_rooms(self, user: User, since: Mapping[int, int]) -> dict[int, Replay]:
        """The replay of each of the user's rooms in `since` (room id: seq seen), as
        `replay` gives them one by one, in a few queries however many rooms: a `hello`
        that resumes forty rooms must not hold the loop for forty replays' queries."""
        if not since:
            return {}
        async with self._db.read() as conn:
            last = await replay_store.member_last_seqs(conn, user.id, since)
            if not since.keys() <= last.keys():
                raise NotMember("join the room first")
            return await self._replays(
                conn, user, {room_id: (seen, last[room_id]) for room_id, seen in since.items()}
            )

    async def _replays(
        self, conn: AsyncConnection, user: User, rooms: Mapping[int, tuple[int, int]]
    ) -> dict[int, Replay]:
        """Replays of rooms the user is a member of ((since, last seq) for each).

        A room's replay is shared by every member resuming from the same seq while the
        room's last seq stays put (`ReplayCache`). The member who reads it reads their
        own view and derives everyone else's from it; a member with state of their own
        on its messages (a reaction, a vote, an answer) has theirs read for them alone.
        """
        out: dict[int, Replay] = {}
        wanted: list[Key] = []
        for room_id, (seen, last) in rooms.items():
            if seen > last or last - seen > MAX_REPLAY_EVENTS:
                out[room_id] = _reset(room_id, last)
            elif seen == last:  # nothing missed: no read at all
                out[room_id] = Replay(room_id, last, [_synced(room_id, last)])
            else:
                wanted.append((room_id, seen, last))
        if not wanted:
            return out
        read_here: dict[int, list[bytes]] = {}

        async def fill(keys: list[Key]) -> dict[Key, SharedReplay]:
            return await _read_shared(conn, user, keys, read_here)

        shared = await self._cache.get(wanted, fill)
        own: dict[int, int] = {}
        for key in wanted:
            room_id, seen, last = key
            entry = shared.get(key)
            if room_id in read_here:
                out[room_id] = Replay(room_id, last, read_here[room_id])
            elif entry is None or entry.personal.includes(user.id):
                own[room_id] = seen
            else:
                out[room_id] = Replay(room_id, last, list(entry.frames))
        if own:
            changed = await message_store.changed_since_in_rooms(conn, own, user.id)
            for room_id, messages in _by_room(own, changed).items():
                seen, last = rooms[room_id]
                out[room_id] = Replay(room_id, last, _folded(room_id, seen, last, messages))
        return out

    async def events_between(self, room_id: int, first: int, last: int) -> list[tuple[int, bytes]]:
        """Broadcast frames first..last from the event log, for the hub's gap fill."""
        async with self._db.read() as conn:
            return await event_store.between(conn, room_id, first, last)

    async def prune_event_log(self) -> int:
        """Forget broadcast frames older than the retention; returns how many."""
        async with self._db.write() as conn:
            return await event_store.prune_before(conn, now_ms() - EVENT_LOG_RETENTION_MS)


async def _read_shared(
    conn: AsyncConnection, user: User, keys: list[Key], read_here: dict[int, list[bytes]]
) -> dict[Key, SharedReplay]:
    """The replays of these rooms for everyone: read once, as `user` sees them (put in
    `read_here`, room by room), with who has state of their own on their messages; the
    others' copy is the same with that state taken out. Four queries or so, however
    many rooms."""
    since = {room_id: seen for room_id, seen, _ in keys}
    changed = await message_store.changed_since_in_rooms(conn, since, user.id)
    personal = await replay_store.personal_by_room(conn, changed)
    by_room = _by_room(since, changed)
    out: dict[Key, SharedReplay] = {}
    for room_id, seen, last in keys:
        mine = _folded(room_id, seen, last, by_room[room_id])
        read_here[room_id] = mine
        holders = personal.get(room_id, replay_store.NOT_PERSONAL)
        if holders.includes(user.id):
            anyone = [_as_anyone(message) for message in by_room[room_id]]
            frames = tuple(_folded(room_id, seen, last, anyone))
        else:
            frames = tuple(mine)
        out[(room_id, seen, last)] = SharedReplay(frames, holders)
    return out


def _as_anyone(message: Message) -> Message:
    """The message as a member with no reaction, vote or answer of their own on it
    reads it: what the viewer's read says about them alone taken out."""
    if message.deleted:
        return message
    question, poll, meetup = message.question, message.poll, message.meetup
    return replace(
        message,
        reactions=tuple(Reaction(r.emoji, r.count, False) for r in message.reactions),
        question=None if question is None else replace(question, my_vote=False),
        poll=None if poll is None else replace(poll, my_vote=()),
        meetup=None if meetup is None else replace(meetup, my_rsvp=None, my_position=None),
    )


def _by_room(rooms: Iterable[int], changed: list[Message]) -> dict[int, list[Message]]:
    by_room: dict[int, list[Message]] = {room_id: [] for room_id in rooms}
    for message in changed:
        by_room[message.room_id].append(message)
    return by_room


def _synced(room_id: int, last: int) -> bytes:
    return wire.encode(RoomSynced(room=room_id, seq=last))


def _reset(room_id: int, last: int) -> Replay:
    """Too far behind (or ahead: a restored database): the client starts the room over."""
    return Replay(room_id, last, [wire.encode(RoomSynced(room=room_id, seq=last, reset=True))])


def _folded(room_id: int, since: int, last: int, changed: list[Message]) -> list[bytes]:
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
    frames.append(_synced(room_id, last))
    return frames
