"""ReplayCache: a room's folded replay from one seq, read and encoded once for all the
members who resume from that seq while the room stands still.

After a restart, or when a school's Wi-Fi comes back, the members of a room return
together, each having seen the same last event: without sharing, seventy clients of one
room cost seventy identical reads, folds and encodings. An entry is keyed by (room,
since, the room's last seq): every sequenced change to a room (a message, an edit, a
delete, a reaction, a vote, a pin) moves its last seq, so a changed room never matches
an older entry, and a lookup that sees a newer last seq evicts the room's older entries
at once. What no seq records (an author's new display name) is bounded by the entries'
lifetime, after which they leave memory too: a deleted message's text is never handed
out, and is gone from here within `SHARE_SECONDS` of the last replay that held it.
Authorization is the caller's: members are looked up first, and only then handed an
entry.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from chatserver.store.replays import Personal

Key = tuple[int, int, int]
"""(room id, since, the room's last seq)."""

SHARE_SECONDS = 10.0
"""How long an entry is handed out. Its content is exact for its seq whatever its age;
only what no seq records (an author's display name) can be older, by this much at most:
a replay read a few seconds ago is what a client that reconnected then got, and clients
keep authors' names as they received them anyway. Long enough that a slow storm (a
loaded machine, tens of seconds) reads each room's replay a few times, not every
second."""

MAX_BYTES = 16 * 1024 * 1024
"""Memory for all entries (least recently used first out): a room's replay of twenty
messages is ~15 KB, so a thousand rooms returning at once fit."""


@dataclass(frozen=True, slots=True)
class SharedReplay:
    """A room's replay from `since` as a member without state of their own on its
    messages receives it (wire frames, `room.synced` last), and who has such state."""

    frames: tuple[bytes, ...]
    personal: Personal

    @property
    def size(self) -> int:
        return sum(len(frame) for frame in self.frames) + self.personal.size + 200


Fill = Callable[[list[Key]], Awaitable[Mapping[Key, SharedReplay]]]
"""Reads and folds the replays of these keys; may leave out some (the caller reads them)."""


class ReplayCache:
    """Entries by key, least recently used evicted past `max_bytes`, each handed out for
    `ttl` seconds; a key being read is read once, its other askers wait for that read."""

    def __init__(
        self,
        max_bytes: int = MAX_BYTES,
        ttl: float = SHARE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, SharedReplay]] = OrderedDict()
        self._by_room: dict[int, set[Key]] = {}
        self._born: deque[tuple[float, Key]] = deque()
        self._filling: dict[Key, asyncio.Future[Mapping[Key, SharedReplay]]] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, keys: Collection[Key], fill: Fill) -> dict[Key, SharedReplay]:
        """The entry of each key: from memory, from a read already under way, or from
        `fill` (one call for all the keys nobody is reading). A key `fill` leaves out is
        left out of the answer."""
        now = self._clock()
        self._expire(now)
        found: dict[Key, SharedReplay] = {}
        waits: dict[asyncio.Future[Mapping[Key, SharedReplay]], list[Key]] = {}
        missing: list[Key] = []
        for key in keys:
            self._supersede(key)
            held = self._entries.get(key)
            if held is not None:
                self._entries.move_to_end(key)
                found[key] = held[1]
                continue
            reading = self._filling.get(key)
            if reading is not None:
                waits.setdefault(reading, []).append(key)
            else:
                missing.append(key)
        if missing:
            found.update(await self._fill(missing, fill))
        unanswered: list[Key] = []
        for reading, wanted in waits.items():
            # Shielded: this asker being cancelled must not cancel the others' read.
            answer = await asyncio.shield(reading)
            for key in wanted:
                if key in answer:
                    found[key] = answer[key]
                else:
                    unanswered.append(key)  # that read failed: read it ourselves
        if unanswered:
            found.update(await self._fill(unanswered, fill))
        return found

    async def _fill(self, keys: list[Key], fill: Fill) -> Mapping[Key, SharedReplay]:
        reading: asyncio.Future[Mapping[Key, SharedReplay]]
        reading = asyncio.get_running_loop().create_future()
        for key in keys:
            self._filling[key] = reading
        answer: Mapping[Key, SharedReplay] = {}
        try:
            answer = {key: entry for key, entry in (await fill(keys)).items() if key in keys}
        finally:
            for key in keys:
                if self._filling.get(key) is reading:
                    del self._filling[key]
            reading.set_result(answer)  # on failure empty: each waiter reads for itself
        now = self._clock()
        for key, entry in answer.items():
            self._store(key, entry, now)
        return answer

    def _expire(self, now: float) -> None:
        """Evict the entries older than the lifetime, oldest first."""
        born = self._born
        while born and now - born[0][0] >= self._ttl:
            at, key = born.popleft()
            held = self._entries.get(key)
            if held is not None and held[0] == at:
                self._evict(key)

    def _supersede(self, key: Key) -> None:
        """The room's last seq is now key[2]: its entries for an older one are stale."""
        room_id, _, last = key
        for old in [k for k in self._by_room.get(room_id, ()) if k[2] < last]:
            self._evict(old)

    def _store(self, key: Key, entry: SharedReplay, now: float) -> None:
        room_id, _, last = key
        if any(k[2] > last for k in self._by_room.get(room_id, ())):
            return  # read before a change that a later lookup has already seen
        size = entry.size
        if size > self._max_bytes // 4:
            return  # one huge replay would flush everyone else's
        if key in self._entries:
            self._evict(key)
        self._entries[key] = (now, entry)
        self._born.append((now, key))
        self._by_room.setdefault(room_id, set()).add(key)
        self.bytes += size
        while self.bytes > self._max_bytes:
            self._evict(next(iter(self._entries)))

    def _evict(self, key: Key) -> None:
        _, entry = self._entries.pop(key)
        self.bytes -= entry.size
        keys = self._by_room[key[0]]
        keys.discard(key)
        if not keys:
            del self._by_room[key[0]]
