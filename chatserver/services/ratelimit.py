"""Rate limits in force, and the one helper that turns an empty bucket into an error."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.coordination.base import Limit, RateLimiter
from chatserver.domain.errors import RateLimited
from chatserver.services import login_limits


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
    login_pair: tuple[Limit, ...]

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
            login_pair=login_limits.stages(scale),
        )
