"""Rate limits: token buckets keyed by user, connection or IP."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chatserver.domain.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Limit:
    """`rate` tokens per second refill a bucket holding at most `burst`."""

    name: str
    rate: float
    burst: float


class RateLimiter(Protocol):
    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens; 0.0 when allowed, else the seconds until it would be."""


class MemoryRateLimiter:
    """Buckets in a dict, for one node. Idle buckets are forgotten to bound memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 200_000):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> float:
        now = self._clock()
        full_key = f"{limit.name}:{key}"
        tokens, stamp = self._buckets.get(full_key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - stamp) * limit.rate)
        if tokens < cost:
            self._buckets[full_key] = (tokens, now)
            return (cost - tokens) / limit.rate
        self._buckets[full_key] = (tokens - cost, now)
        if len(self._buckets) > self._max_keys:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # A bucket that has been idle long enough to refill fully carries no state.
        idle = [k for k, (_, stamp) in self._buckets.items() if now - stamp > 600]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys:
            self._buckets.clear()


async def enforce(limiter: RateLimiter, limit: Limit, key: str, cost: float = 1.0) -> None:
    """Raise `rate_limited` with `retry_after` when the bucket is empty."""
    wait = await limiter.take(limit, key, cost)
    if wait > 0:
        raise RateLimited(f"too fast: {limit.name}", retry_after=round(wait + 0.001, 3))


@dataclass(frozen=True, slots=True)
class Limits:
    """Every limit in force, already scaled by CHAT_RATE_LIMIT_SCALE."""

    messages: Limit
    requests: Limit
    auth_ip: Limit
    login_user: Limit
    typing: Limit

    @classmethod
    def from_settings(
        cls,
        *,
        scale: float,
        message_rate: float,
        message_burst: int,
        request_rate: float,
        request_burst: int,
        auth_rate: float,
        auth_burst: int,
    ) -> Limits:
        return cls(
            messages=Limit("messages", message_rate * scale, message_burst * scale),
            requests=Limit("requests", request_rate * scale, request_burst * scale),
            auth_ip=Limit("auth-ip", auth_rate * scale, auth_burst * scale),
            login_user=Limit("login-user", 0.2 * scale, 10 * scale),
            typing=Limit("typing", 0.5 * scale, 2 * scale),
        )
