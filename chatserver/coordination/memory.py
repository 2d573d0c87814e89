"""In-process coordination for the single-node server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from chatserver.coordination.base import Limit
from chatserver.domain.clock import SYSTEM_CLOCK, Clock


class MemoryRateLimiter:
    """Token buckets in a dict. Idle buckets are forgotten to bound memory."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, max_keys: int = 200_000) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> float:
        now = self._clock.monotonic()
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
        # A bucket idle long enough to be full again carries no information.
        idle = [k for k, (_, stamp) in self._buckets.items() if now - stamp > 600]
        for key in idle:
            del self._buckets[key]


class MemoryPresenceRegistry:
    """Counts this node's users; with one node that is everyone."""

    def __init__(self) -> None:
        self._online: Counter[int] = Counter()

    async def start(self) -> None:
        return None

    async def add(self, user_id: int) -> bool:
        self._online[user_id] += 1
        return self._online[user_id] == 1

    async def remove(self, user_id: int) -> bool:
        self._online[user_id] -= 1
        if self._online[user_id] <= 0:
            del self._online[user_id]
            return True
        return False

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if u in self._online}

    async def close(self) -> None:
        self._online.clear()


class MemoryThrottle:
    """Last allowed time per key; forgotten in bulk once they are too many to keep."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}

    async def allow(self, key: str, seconds: float) -> bool:
        now = self._clock.monotonic()
        if now - self._last.get(key, float("-inf")) < seconds:
            return False
        self._last[key] = now
        if len(self._last) > 100_000:
            self._last = {k: t for k, t in self._last.items() if now - t < seconds}
        return True
