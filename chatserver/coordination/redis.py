"""Coordination in Redis, shared by every node: token buckets, presence, throttles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable

from redis.asyncio import Redis

from chatserver.coordination.base import Limit
from chatserver.domain.clock import SYSTEM_CLOCK, Clock
from chatserver.logs import Outage

log = logging.getLogger(__name__)

# Token bucket in one round trip, atomic on the Redis side. Time comes from Redis
# so that nodes with skewed clocks agree.
_TAKE = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - stamp) * rate)
local wait = 0
if tokens < cost then
  wait = (cost - tokens) / rate
else
  tokens = tokens - cost
end
redis.call('HSET', key, 'tokens', tokens, 'stamp', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """Buckets survive a reconnect to another node: the limit is the user's, not the socket's.

    If Redis is unreachable the request is allowed (and logged): chatting is worth
    more than limiting while Redis restarts.
    """

    def __init__(self, redis: Redis, prefix: str = "chat:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_TAKE)
        self._outage = Outage("Redis (rate limits not checked)", log)

    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> float:
        try:
            wait = await self._script(
                keys=[f"{self._prefix}{limit.name}:{key}"],
                args=[limit.rate, limit.burst, cost],
            )
        except Exception as exc:
            self._outage.failed(exc)
            return 0.0
        self._outage.succeeded()
        return float(wait)


class RedisPresenceRegistry:
    """One sorted set per user: members are node ids, scores their expiry time.

    Each node refreshes its users every `refresh` seconds; a node that dies without
    cleaning up stops counting after `ttl` seconds because its score expires. Scores are
    wall-clock times from `clock`, so nodes' clocks must agree to well within `ttl`.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        ttl: float = 30.0,
        refresh: float = 10.0,
        prefix: str = "chat:p:",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._redis = redis
        self._ttl = ttl
        self._refresh = refresh
        self._prefix = prefix
        self._clock = clock
        self.node_id = uuid.uuid4().hex[:12]
        self._local: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._outage = Outage("Redis (presence not shared)", log)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="presence-refresh")

    async def add(self, user_id: int) -> bool:
        self._local[user_id] = self._local.get(user_id, 0) + 1
        if self._local[user_id] > 1:
            return False
        key = self._key(user_id)
        now = self._now()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zcard(key)
                pipe.zadd(key, {self.node_id: now + self._ttl})
                pipe.expire(key, int(self._ttl) + 1)
                _, before, _, _ = await pipe.execute()
        except Exception as exc:
            self._outage.failed(exc)
            return True
        self._outage.succeeded()
        return int(before) == 0

    async def remove(self, user_id: int) -> bool:
        count = self._local.get(user_id, 0) - 1
        if count > 0:
            self._local[user_id] = count
            return False
        self._local.pop(user_id, None)
        key = self._key(user_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(key, self.node_id)
                pipe.zcount(key, self._now(), "+inf")
                _, remaining = await pipe.execute()
        except Exception as exc:
            self._outage.failed(exc)
            return True
        self._outage.succeeded()
        return int(remaining) == 0

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        if not ids:
            return set()
        now = self._now()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in ids:
                    pipe.zcount(self._key(user_id), now, "+inf")
                counts = await pipe.execute()
        except Exception:
            return {u for u in ids if u in self._local}
        return {u for u, n in zip(ids, counts, strict=True) if int(n) > 0}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in self._local:
                    pipe.zrem(self._key(user_id), self.node_id)
                await pipe.execute()
        self._local.clear()

    async def refresh(self) -> None:
        """Push this node's users' expiry `ttl` ahead (run every `refresh` seconds)."""
        expiry = self._now() + self._ttl
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in list(self._local):
                    pipe.zadd(self._key(user_id), {self.node_id: expiry})
                    pipe.expire(self._key(user_id), int(self._ttl) + 1)
                await pipe.execute()
        except Exception as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    def _now(self) -> float:
        return self._clock.now_ms() / 1000

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            await self.refresh()


class RedisThrottle:
    """A key per throttled thing that Redis expires (`SET NX PX`): time is Redis's own."""

    def __init__(self, redis: Redis, prefix: str = "chat:th:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def allow(self, key: str, seconds: float) -> bool:
        try:
            return bool(
                await self._redis.set(
                    self._prefix + key, b"1", nx=True, px=max(1, int(seconds * 1000))
                )
            )
        except Exception:
            return True
