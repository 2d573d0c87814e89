"""Login attempts, limited per (client address, account) with delays that grow.

A limit per account alone lets anyone keep a user out by failing on purpose. Keyed by
the pair, a stranger's attempts slow down only that stranger's attempts on that
account; the owner, from another address, logs in as usual (the per-address limit on
all registrations and logins, `auth-ip`, still bounds each address overall).

The delays grow in stages, each a token bucket that an attempt must pass: 5 attempts
at once, then one every 2 s until 10, then one every 30 s until 20, then one every
5 minutes. An idle pair earns its attempts back at the same rates.
"""

from __future__ import annotations

from chatserver.coordination.base import Limit, RateLimiter
from chatserver.domain.errors import RateLimited

STAGES: tuple[tuple[int, float], ...] = ((5, 2.0), (10, 30.0), (20, 300.0))
"""(attempts, then seconds per attempt), loosest first: an attempt refused early
spends nothing from the stricter stages."""


def stages(scale: float) -> tuple[Limit, ...]:
    """The stages as buckets, multiplied by CHAT_RATE_LIMIT_SCALE."""
    return tuple(Limit(f"login-{n}", scale / every, n * scale) for n, every in STAGES)


async def check(
    limiter: RateLimiter, limits: tuple[Limit, ...], address: str, username: object
) -> None:
    """Raise `rate_limited` (with `retry_after`) when this address must wait before
    trying this account again."""
    key = f"{address}|{str(username).strip().lower()[:40]}"
    for limit in limits:
        wait = await limiter.take(limit, key)
        if wait > 0:
            raise RateLimited(
                "too many login attempts for this account from your address",
                retry_after=round(wait + 0.001, 3),
            )
