"""The coordination contracts (`chatserver.coordination.base`), run against every backend.

In memory, time is a `ManualClock` that the tests move, so refills and expiries cost no
sleep. In Redis, buckets and throttles keep Redis's own time, so those tests wait out
short real intervals; presence scores there come from the node's clock, a `ManualClock`
too. Every test has its own key prefix: tests sharing a Redis never see each other.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from chatserver.coordination.base import Limit, PresenceRegistry, RateLimiter, Throttle
from chatserver.coordination.memory import (
    MemoryPresenceRegistry,
    MemoryRateLimiter,
    MemoryThrottle,
)
from chatserver.coordination.redis import RedisPresenceRegistry, RedisRateLimiter, RedisThrottle
from chatserver.domain.clock import ManualClock
from tests.integration.conftest import REDIS_URL, require_redis
from tests.support.server import free_port

TTL = 30.0
"""Presence expiry in the Redis tests: only ever reached by moving the manual clock."""

RETRY_MARGIN = 0.005
"""Added to a returned wait before retrying, as clients do (the wire rounds it up)."""


class Backend:
    """One test's coordination objects. Each `limiter()`, `throttle()` or `presence()`
    is another node of the same deployment: in memory the single node, in Redis a new
    instance sharing the test's keys."""

    def __init__(self, name: str, client: Redis | None = None) -> None:
        self.name = name
        self.clock = ManualClock()
        self.prefix = f"t{uuid.uuid4().hex[:12]}:"
        self._client = client
        self._limiter = MemoryRateLimiter(self.clock)
        self._throttle = MemoryThrottle(self.clock)
        self._presence = MemoryPresenceRegistry()
        self._registries: list[PresenceRegistry] = []

    @property
    def client(self) -> Redis:
        assert self._client is not None, "a Redis-only helper used on the memory backend"
        return self._client

    def limiter(self) -> RateLimiter:
        if self._client is None:
            return self._limiter
        return RedisRateLimiter(self._client, prefix=f"{self.prefix}rl:")

    def throttle(self) -> Throttle:
        if self._client is None:
            return self._throttle
        return RedisThrottle(self._client, prefix=f"{self.prefix}th:")

    def presence(self) -> PresenceRegistry:
        if self._client is None:
            return self._presence
        return self.redis_presence()

    def redis_presence(self) -> RedisPresenceRegistry:
        registry = RedisPresenceRegistry(
            self.client, ttl=TTL, prefix=f"{self.prefix}p:", clock=self.clock
        )
        self._registries.append(registry)
        return registry

    async def pass_time(self, seconds: float) -> None:
        """Let `seconds` go by for every clock the backend reads."""
        self.clock.advance(seconds)
        if self._client is not None:
            await asyncio.sleep(seconds)  # Redis's own time, for buckets and throttles

    async def close(self) -> None:
        for registry in self._registries:
            await registry.close()
        if self._client is not None:
            keys = [key async for key in self._client.scan_iter(match=f"{self.prefix}*")]
            if keys:
                await self._client.delete(*keys)
            await self._client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Every contract test runs once per backend."""
    if request.param == "redis":
        require_redis()
        built = Backend("redis", Redis.from_url(REDIS_URL, socket_timeout=2))
    else:
        built = Backend("memory")
    yield built
    await built.close()


@pytest.fixture
async def redis_backend() -> AsyncIterator[Backend]:
    """For what only the shared backend does: several nodes, expiry of a dead one."""
    require_redis()
    built = Backend("redis", Redis.from_url(REDIS_URL, socket_timeout=2))
    yield built
    await built.close()


# ---- rate limiter ---------------------------------------------------------------------


async def test_a_burst_is_allowed_then_refused_with_the_time_to_wait(backend: Backend) -> None:
    limiter, limit = backend.limiter(), Limit("messages", rate=1.0, burst=3)
    assert [await limiter.take(limit, "alice") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await limiter.take(limit, "alice")
    assert 0.5 < wait <= 1.0  # one token at one per second, less what already came back


async def test_a_refused_request_spends_nothing(backend: Backend) -> None:
    limiter, limit = backend.limiter(), Limit("messages", rate=10.0, burst=2)
    assert await limiter.take(limit, "alice") == await limiter.take(limit, "alice") == 0.0
    first = await limiter.take(limit, "alice")
    again = await limiter.take(limit, "alice")
    assert 0 < again <= first  # refusals did not dig the bucket deeper
    await backend.pass_time(first + RETRY_MARGIN)
    assert await limiter.take(limit, "alice") == 0.0


async def test_tokens_come_back_at_the_rate(backend: Backend) -> None:
    limiter, limit = backend.limiter(), Limit("messages", rate=10.0, burst=2)
    for _ in range(2):
        assert await limiter.take(limit, "alice") == 0.0
    await backend.pass_time(0.1 + RETRY_MARGIN)  # one token's worth
    assert await limiter.take(limit, "alice") == 0.0
    assert await limiter.take(limit, "alice") > 0


async def test_an_idle_bucket_holds_no_more_than_its_burst(backend: Backend) -> None:
    # A token per 100 ms: on Redis the clock is real, and three takes in a row must not
    # straddle a refill even on a busy machine.
    limiter, limit = backend.limiter(), Limit("messages", rate=10.0, burst=2)
    assert await limiter.take(limit, "alice") == 0.0
    await backend.pass_time(1.0)  # ten tokens' worth, but the bucket holds two
    assert [await limiter.take(limit, "alice") for _ in range(2)] == [0.0, 0.0]
    assert await limiter.take(limit, "alice") > 0


async def test_a_costly_request_spends_several_tokens(backend: Backend) -> None:
    limiter, limit = backend.limiter(), Limit("requests", rate=1.0, burst=5)
    assert await limiter.take(limit, "alice", cost=3) == 0.0
    wait = await limiter.take(limit, "alice", cost=3)
    assert 0.5 < wait <= 1.0  # two tokens left, three needed
    assert await limiter.take(limit, "alice", cost=2) == 0.0


async def test_keys_and_limits_have_separate_buckets(backend: Backend) -> None:
    limiter = backend.limiter()
    messages, logins = Limit("messages", 1.0, 1), Limit("logins", 1.0, 1)
    assert await limiter.take(messages, "alice") == 0.0
    assert await limiter.take(messages, "alice") > 0
    assert await limiter.take(messages, "bob") == 0.0
    assert await limiter.take(logins, "alice") == 0.0


async def test_every_node_draws_from_the_same_bucket(backend: Backend) -> None:
    first, second, limit = backend.limiter(), backend.limiter(), Limit("messages", 1.0, 2)
    assert await first.take(limit, "alice") == 0.0
    assert await second.take(limit, "alice") == 0.0
    assert await first.take(limit, "alice") > 0
    assert await second.take(limit, "alice") > 0


# ---- throttle ---------------------------------------------------------------------------


async def test_a_throttle_allows_once_per_interval(backend: Backend) -> None:
    throttle = backend.throttle()
    assert await throttle.allow("typing:1:2", 0.3)
    assert not await throttle.allow("typing:1:2", 0.3)
    await backend.pass_time(0.1)
    assert not await throttle.allow("typing:1:2", 0.3)
    await backend.pass_time(0.2 + RETRY_MARGIN)
    assert await throttle.allow("typing:1:2", 0.3)
    assert not await throttle.allow("typing:1:2", 0.3)


async def test_throttled_keys_are_independent(backend: Backend) -> None:
    throttle = backend.throttle()
    assert await throttle.allow("typing:1:2", 5)
    assert await throttle.allow("typing:1:3", 5)
    assert await throttle.allow("typing:2:2", 5)
    assert not await throttle.allow("typing:1:2", 5)


async def test_a_throttle_holds_across_nodes(backend: Backend) -> None:
    first, second = backend.throttle(), backend.throttle()
    assert await first.allow("room:7", 5)
    assert not await second.allow("room:7", 5)


# ---- presence ---------------------------------------------------------------------------


async def test_the_first_connection_comes_online_and_the_last_goes_offline(
    backend: Backend,
) -> None:
    presence = backend.presence()
    assert await presence.add(1)
    assert not await presence.add(1)  # a second tab
    assert await presence.online_among([1, 2]) == {1}
    assert not await presence.remove(1)
    assert await presence.online_among([1]) == {1}
    assert await presence.remove(1)
    assert await presence.online_among([1, 2]) == set()


async def test_online_among_reports_only_connected_users(backend: Backend) -> None:
    presence = backend.presence()
    assert await presence.add(1)
    assert await presence.add(3)
    assert await presence.online_among([1, 2, 3, 4]) == {1, 3}
    assert await presence.online_among([]) == set()


async def test_a_user_on_two_nodes_stays_online_until_both_let_go(backend: Backend) -> None:
    first, second = backend.presence(), backend.presence()
    assert await first.add(1)
    assert not await second.add(1)  # already online through the first node
    assert not await first.remove(1)  # still connected to the second
    assert await second.online_among([1]) == {1}
    assert await second.remove(1)
    assert await first.online_among([1]) == set()


async def test_closing_a_node_withdraws_its_users(backend: Backend) -> None:
    closing = backend.presence()
    assert await closing.add(1)
    assert await closing.add(2)
    await closing.close()
    other = backend.presence()
    assert await other.online_among([1, 2]) == set()
    assert await other.add(1)  # announced online again


async def test_a_node_that_died_silently_stops_counting_after_the_ttl(
    redis_backend: Backend,
) -> None:
    dead, alive = redis_backend.redis_presence(), redis_backend.redis_presence()
    assert await dead.add(1)  # and then its process is killed: no remove, no close
    redis_backend.clock.advance(TTL - 1)
    assert await alive.online_among([1]) == {1}
    redis_backend.clock.advance(2)
    assert await alive.online_among([1]) == set()
    assert await alive.add(1)


async def test_a_live_node_keeps_its_users_online_by_refreshing(redis_backend: Backend) -> None:
    node, other = redis_backend.redis_presence(), redis_backend.redis_presence()
    assert await node.add(1)
    redis_backend.clock.advance(TTL - 1)
    await node.refresh()
    redis_backend.clock.advance(TTL - 1)
    assert await other.online_among([1]) == {1}
    assert not await other.add(1)


async def test_without_redis_everything_is_allowed_and_presence_is_local() -> None:
    """Chatting matters more than limits while Redis restarts: every check fails open."""
    client = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    try:
        limit = Limit("messages", 1.0, 1)
        limiter = RedisRateLimiter(client)
        assert [await limiter.take(limit, "alice") for _ in range(3)] == [0.0, 0.0, 0.0]
        throttle = RedisThrottle(client)
        assert await throttle.allow("typing:1:2", 5)
        assert await throttle.allow("typing:1:2", 5)
        presence = RedisPresenceRegistry(client)
        assert await presence.add(1)
        assert await presence.online_among([1, 2]) == {1}
        assert await presence.remove(1)
        await presence.close()
    finally:
        await client.aclose()
