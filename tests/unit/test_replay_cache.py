"""The shared replays' memory: bounded by bytes (least recently used out first), a room's
older copies gone as soon as a newer seq is seen, none handed out past its lifetime, and
one read for many askers of the same key."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from chatserver.services.replay_cache import Key, ReplayCache, SharedReplay
from chatserver.store.replays import NOT_PERSONAL


class Reads:
    """A fill that makes a replay of `size` bytes per key and counts what it read."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.keys: list[Key] = []

    async def __call__(self, keys: list[Key]) -> Mapping[Key, SharedReplay]:
        self.keys += keys
        await asyncio.sleep(0)  # a real read may suspend: others ask meanwhile
        return {key: SharedReplay((b"x" * self.size,), NOT_PERSONAL) for key in keys}


async def test_many_askers_of_one_key_share_one_read() -> None:
    cache, reads = ReplayCache(), Reads()
    answers = await asyncio.gather(*(cache.get([(1, 10, 30)], reads) for _ in range(50)))
    assert reads.keys == [(1, 10, 30)]
    assert all(answer[(1, 10, 30)] is answers[0][(1, 10, 30)] for answer in answers)


async def test_memory_stays_under_its_bound_least_recently_used_out_first() -> None:
    cache, reads = ReplayCache(max_bytes=10_000), Reads(size=1000)
    for room in range(1, 9):
        await cache.get([(room, 0, 5)], reads)
    await cache.get([(1, 0, 5)], reads)  # room 1 used again: now the most recent
    for room in range(9, 13):
        await cache.get([(room, 0, 5)], reads)
    assert cache.bytes <= 10_000
    reads.keys.clear()
    await cache.get([(1, 0, 5), (2, 0, 5)], reads)
    assert reads.keys == [(2, 0, 5)]  # room 2 was evicted, room 1 kept


async def test_a_newer_seq_evicts_the_rooms_older_copies() -> None:
    cache, reads = ReplayCache(), Reads()
    await cache.get([(1, 10, 30), (2, 10, 30)], reads)
    held = cache.bytes
    await cache.get([(1, 10, 31)], reads)  # room 1 changed (an edit, a delete)
    assert len(cache) == 2 and cache.bytes == held
    reads.keys.clear()
    await cache.get([(1, 10, 30), (2, 10, 30)], reads)
    assert reads.keys == [(1, 10, 30)]  # the old copy is gone, room 2's is not


async def test_no_copy_is_handed_out_past_its_lifetime() -> None:
    now = [100.0]
    cache, reads = ReplayCache(ttl=10.0, clock=lambda: now[0]), Reads()
    await cache.get([(1, 10, 30)], reads)
    now[0] += 9.0
    await cache.get([(1, 10, 30)], reads)
    assert reads.keys == [(1, 10, 30)]
    now[0] += 2.0
    await cache.get([(2, 0, 1)], reads)  # any lookup clears what has expired
    assert len(cache) == 1
    await cache.get([(1, 10, 30)], reads)
    assert reads.keys == [(1, 10, 30), (2, 0, 1), (1, 10, 30)]


async def test_a_failed_read_is_read_again_by_those_who_waited_for_it() -> None:
    cache, reads = ReplayCache(), Reads()
    failures = [RuntimeError("the database went away")]

    async def flaky(keys: list[Key]) -> Mapping[Key, SharedReplay]:
        await asyncio.sleep(0)
        if failures:
            raise failures.pop()
        return await reads(keys)

    first, second = await asyncio.gather(
        cache.get([(1, 10, 30)], flaky), cache.get([(1, 10, 30)], flaky), return_exceptions=True
    )
    assert isinstance(first, RuntimeError)
    assert isinstance(second, dict) and (1, 10, 30) in second
