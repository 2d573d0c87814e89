"""Origin check for browser WebSockets (cross-site WebSocket hijacking defence)."""

from __future__ import annotations

from collections.abc import Sequence


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Clients that send no Origin (bots, SDKs) pass; browsers must match.

    With no list configured, only the server's own origin (the Host the browser
    connected to) is allowed.
    """
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if allowed:
        return "*" in allowed or origin in (a.lower() for a in allowed)
    if not host:
        return False
    host = host.lower()
    return origin in (f"http://{host}", f"https://{host}")
