"""Rate limits in force, and the one helper that turns an empty bucket into an error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chatserver.coordination.base import Limit, RateLimiter
from chatserver.domain.errors import RateLimited
from chatserver.domain.models import Role
from chatserver.services import login_limits

IpLimit = Literal["auth_ip", "guest_ip"]
"""Which per-address budget an anonymous request spends: registrations and logins, or
guest accounts (an open day behind one school NAT needs many more of those)."""


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
    guest_messages: Limit
    guest_ip: Limit

    def per_ip(self, kind: IpLimit) -> Limit:
        """The per-address limit of an anonymous use case."""
        return self.guest_ip if kind == "guest_ip" else self.auth_ip

    def messages_for(self, role: Role) -> Limit:
        """Guests write under their own, stricter budget (an open day's crowd)."""
        return self.guest_messages if role == "guest" else self.messages

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
        guest_message_rate: float,
        guest_message_burst: int,
        guest_create_rate: float,
        guest_create_burst: int,
    ) -> Limits:
        return cls(
            messages=Limit("messages", message_rate * scale, message_burst * scale),
            requests=Limit("requests", request_rate * scale, request_burst * scale),
            auth_ip=Limit("auth-ip", auth_rate * scale, auth_burst * scale),
            login_pair=login_limits.stages(scale),
            guest_messages=Limit(
                "guest-messages", guest_message_rate * scale, guest_message_burst * scale
            ),
            guest_ip=Limit("guest-ip", guest_create_rate * scale, guest_create_burst * scale),
        )
