"""Interfaces for state that every node must agree on: rate limits, presence, throttles.

One node keeps this state in memory; several nodes keep it in Redis, so that a user
who reconnects to another node keeps their rate limit and their presence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Limit:
    """`rate` tokens per second refill a bucket holding at most `burst`."""

    name: str
    rate: float
    burst: float


class RateLimiter(Protocol):
    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens from the bucket; 0.0 when allowed, else seconds to wait.

        A refused request spends nothing. Buckets are shared by every node.
        """


class PresenceRegistry(Protocol):
    """Which users have at least one connection on some node."""

    async def start(self) -> None:
        """Begin any periodic refresh the backend needs."""

    async def add(self, user_id: int) -> bool:
        """This node now has the user; True when no node had them before (came online)."""

    async def remove(self, user_id: int) -> bool:
        """This node no longer has the user; True when no node has them now (went offline)."""

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        """Those of `user_ids` connected anywhere. A node that died silently stops
        counting within the backend's expiry time."""

    async def close(self) -> None:
        """Withdraw this node's users and stop refreshing."""


class Throttle(Protocol):
    async def allow(self, key: str, seconds: float) -> bool:
        """True at most once per `seconds` for a key, across every node."""
