"""`GET /metrics` and who may read it (`CHAT_METRICS`).

Metrics tell how many people are online, when and how hard the server works, so they
are not public by default: a scrape is answered from the addresses the setting lists
(the loopback address unless configured otherwise) and to admins' Bearer tokens.
A request relayed by a proxy whose forwarding headers are not trusted does not count
as coming from the proxy's address: behind nginx on the same machine every request
would otherwise look local.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain.errors import ChatError, Forbidden, NotFound
from chatserver.gateway.api import bearer_token, error_response
from chatserver.gateway.metrics import Metrics
from chatserver.services.container import Services
from chatserver.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RELAY_HEADERS = (b"x-forwarded-for", b"forwarded")


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    """`CHAT_METRICS` read once: off, open, or addresses (admins are always let in)."""

    enabled: bool = True
    everyone: bool = False
    loopback: bool = True
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: tuple[str, ...]) -> MetricsAccess:
        """From the validated setting (see `Settings.validate`)."""
        if entries == ("off",):
            return cls(enabled=False, loopback=False)
        if entries == ("open",):
            return cls(everyone=True)
        networks = tuple(
            ipaddress.ip_network(entry, strict=False)
            for entry in entries
            if entry not in ("local", "admins")
        )
        return cls(loopback="local" in entries, networks=networks)

    def address_allowed(self, host: str | None) -> bool:
        if self.everyone:
            return True
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if self.loopback and address.is_loopback:
            return True
        return any(address in network for network in self.networks)


def metrics_route(settings: Settings) -> Route:
    access = MetricsAccess.parse(settings.metrics)
    trust_relay = settings.trust_proxy_headers

    async def scrape(request: Request) -> Response:
        if not access.enabled:
            return error_response(NotFound("no such endpoint"))
        try:
            if not access.address_allowed(_client_address(request, trust_relay)):
                await _require_admin(request)
        except ChatError as error:
            return error_response(error)
        metrics: Metrics = request.app.state.metrics
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    return Route("/metrics", scrape, methods=["GET"])


def _client_address(request: Request, trust_relay: bool) -> str | None:
    """The client's address, or None when a proxy relayed the request and its word is
    not trusted (with CHAT_TRUST_PROXY_HEADERS, uvicorn has already put the forwarded
    address in the scope)."""
    if not trust_relay and any(name in RELAY_HEADERS for name, _ in request.scope["headers"]):
        return None
    return request.client.host if request.client else None


async def _require_admin(request: Request) -> None:
    if "authorization" not in request.headers:
        raise Forbidden("metrics are read from an allowed address or with an admin's token")
    services: Services = request.app.state.services
    user, _ = await services.accounts.authenticate(bearer_token(request))
    if user.role != "admin":
        raise Forbidden("only admins may read metrics")
