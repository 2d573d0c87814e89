"""Origin and Host checks for browsers (cross-site WebSocket hijacking, DNS rebinding)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from chatserver.domain.errors import Forbidden
from chatserver.gateway.api import error_response
from chatserver.settings import Settings


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


def public_origins(settings: Settings) -> tuple[str, ...]:
    """The origins this server is configured to be reached at: CHAT_ALLOWED_ORIGINS and
    CHAT_PUBLIC_URL."""
    if settings.public_url:
        return (*settings.allowed_origins, settings.public_url)
    return settings.allowed_origins


def host_allowed(host: str | None, allowed: Sequence[str]) -> bool:
    """True when the Host header names this server as it is configured.

    DNS rebinding: a page on a domain whose owner then points it at this server makes
    the browser send that domain both as Host and in Origin, so comparing the two (the
    Origin check's default) passes. A Host is therefore accepted only when it is the
    host of one of `allowed` (`public_origins`), or an IP address or `localhost`, which
    no outside DNS can point elsewhere. With `*` in the list, any Host passes.
    """
    if "*" in allowed:
        return True
    name = _hostname(host)
    if name is None:
        return False
    if name == "localhost" or _is_ip(name):
        return True
    return name in _configured_hosts(tuple(allowed))


def _hostname(host: str | None) -> str | None:
    """The name in a Host header, without port, brackets, case or trailing dot."""
    if not host:
        return None
    try:
        name = urlsplit(f"//{host.strip()}").hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=8)
def _configured_hosts(allowed: tuple[str, ...]) -> frozenset[str]:
    names = set()
    for origin in allowed:
        name = _hostname(urlsplit(origin).netloc)
        if name is not None:
            names.add(name)
    return frozenset(names)


class HostCheck:
    """Refuses HTTP requests whose Host is not this server (see `host_allowed`), with a
    403 that names the setting to change. The WebSocket endpoint checks its own."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = public_origins(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
            if not host_allowed(host, self.allowed):
                refusal = Forbidden(
                    f"this server does not answer to the host {(host or '')[:100]!r}; "
                    "list its address in CHAT_ALLOWED_ORIGINS"
                )
                await error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)
