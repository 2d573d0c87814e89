"""Who may hold a socket: open sockets per node, per client address and per account;
and how many handshakes use the database at once.

Every socket costs a file descriptor and some memory before it has said who it is, so
the caps are checked when the socket is accepted, not when it authenticates. The last
tenth of the node's capacity is kept for addresses that hold only a few sockets: one
address (or a few) can fill the node up to 90 %, never to the point where nobody else
gets in.

A `hello` reads the token, the user's rooms and the replays, one pooled connection at a
time. When thousands of sockets say hello at once (a restart), they would all wait on
the pool, whose wait is bounded (10 s): those still waiting then failed with 1013 and
the sends of the clients already in waited behind them. The handshake gate lets as many
handshakes at the database as the pool has connections, and queues the rest in memory,
without a deadline; the pool's overflow stays free for everything else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
from collections.abc import Hashable
from dataclasses import dataclass

from chatserver.coordination.base import Limit
from chatserver.coordination.memory import MemoryRateLimiter
from chatserver.settings import Settings

RESERVED_FILES = 100
"""Descriptors kept for what is not a client socket: the database pool, Redis, logs."""
FEW = 8
"""An address holding fewer sockets than this may use the reserved last tenth."""
HELLO_RATE, HELLO_BURST = 0.5, 30
"""`hello`s per account: each costs a snapshot of the user's rooms from the database."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a socket was not admitted; `per_address` when its address is over its cap
    (the others mean the whole node is full)."""

    reason: str
    per_address: bool


NODE_FULL = Refusal("the server is at its connection limit", per_address=False)
ADDRESS_FULL = Refusal("too many connections from this address", per_address=True)
RESERVED = Refusal("the server is nearly full; the rest is kept for others", per_address=True)


def raise_open_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the new soft limit.

    The soft limit is often 1024 while the hard limit allows far more: about a thousand
    idle sockets would otherwise make `accept` fail with EMFILE for everyone.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)


def automatic_cap(settings: Settings) -> int:
    """Sockets a node accepts when CHAT_MAX_CONNECTIONS is 0: the open-file limit less
    what the node needs for its own connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, int(soft) - RESERVED_FILES - 2 * settings.db_pool_size)


class Admission:
    """Counts open sockets and accounts, and refuses those over a cap.

    Not thread-safe: it lives on the event loop, like the protocols that call it.
    """

    def __init__(self, settings: Settings) -> None:
        scale = settings.rate_limit_scale
        self.max_total = settings.max_connections or automatic_cap(settings)
        self.max_per_ip = max(1, int(settings.max_connections_per_ip * scale))
        self.max_per_user = max(1, int(settings.max_connections_per_user * scale))
        self._reserved_from = self.max_total - self.max_total // 10
        self._proxies = (
            [ipaddress.ip_network(proxy, strict=False) for proxy in settings.trusted_proxies]
            if settings.trust_proxy_headers
            else []
        )
        self._limiter = MemoryRateLimiter()
        self._connects = Limit(
            "connect-ip",
            settings.connect_rate_per_ip * scale,
            settings.connect_burst_per_ip * scale,
        )
        self._hellos = Limit("hello-user", HELLO_RATE * scale, HELLO_BURST * scale)
        self._open: dict[Hashable, str | None] = {}
        self._per_ip: dict[str, int] = {}
        self._per_user: dict[int, int] = {}
        self.handshakes = asyncio.Semaphore(settings.db_pool_size)
        """Held around a handshake's database work (`async with admission.handshakes`):
        at most the pool's size of them at once, the others queued in arrival order."""

    @property
    def total(self) -> int:
        return len(self._open)

    def admit(self, socket: Hashable, address: str | None) -> Refusal | None:
        """Count a newly accepted socket, or say why it must be closed (None: admitted)."""
        if socket in self._open:
            return None
        total = len(self._open)
        if total >= self.max_total:
            return NODE_FULL
        key = self._key(address)
        if key is not None:
            held = self._per_ip.get(key, 0)
            if held >= self.max_per_ip:
                return ADDRESS_FULL
            if total >= self._reserved_from and held >= FEW:
                return RESERVED
            self._per_ip[key] = held + 1
        self._open[socket] = key
        return None

    def release(self, socket: Hashable) -> None:
        """The socket is closed; idempotent, and a no-op for sockets never admitted."""
        if socket not in self._open:
            return
        key = self._open.pop(socket)
        if key is None:
            return
        held = self._per_ip[key] - 1
        if held:
            self._per_ip[key] = held
        else:
            del self._per_ip[key]

    async def connect_wait(self, address: str | None) -> float:
        """Seconds before this address may open another WebSocket (0: now). Per node: a
        handshake costs this node, whoever else the address talks to."""
        return await self._limiter.take(self._connects, self._key(address) or str(address))

    async def hello_wait(self, user_id: int) -> float:
        """Seconds before this account may complete another handshake (0: now)."""
        return await self._limiter.take(self._hellos, str(user_id))

    def add_user(self, user_id: int) -> bool:
        """Count one more WebSocket for an account; False (and not counted) past the cap."""
        held = self._per_user.get(user_id, 0)
        if held >= self.max_per_user:
            return False
        self._per_user[user_id] = held + 1
        return True

    def remove_user(self, user_id: int) -> None:
        held = self._per_user.get(user_id, 0) - 1
        if held > 0:
            self._per_user[user_id] = held
        else:
            self._per_user.pop(user_id, None)

    def _key(self, address: str | None) -> str | None:
        """The address a cap counts: IPv4 as is, IPv6 by /64 (one host usually has a whole
        /64), None for our own proxies (their clients are capped by the proxy)."""
        if address is None:
            return "unknown"
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address  # a Unix socket path or similar: count it as one client
        if self._proxies and any(ip in net for net in self._proxies):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
        return address
