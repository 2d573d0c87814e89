"""The server's Prometheus metrics: one registry per app, and every series it exposes.

Each app gets its own `CollectorRegistry` (not prometheus_client's global one), so
several apps in one process — tests, benchmarks — never share or collide. Hot paths
record at most one observation per event: the hub keeps plain integer tallies that are
read only when `/metrics` is scraped, and children of labelled series that are used
per event are resolved once here rather than on every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sized
from typing import Literal, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Transport = Literal["http", "ws"]
TransactionKind = Literal["read", "write"]

SEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""A send is acknowledged after its commit: around a millisecond when all is well."""
FANOUT_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.1)
"""Fan-out of one event is in-memory work: microseconds per few hundred sockets."""
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""The event loop's lateness: under a millisecond when idle; 20 ms is a stall users feel."""
DB_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class HubTallies(Protocol):
    """What the hub counts for the metrics without knowing about them."""

    @property
    def deliveries(self) -> int: ...
    @property
    def feeds(self) -> Sized: ...
    @property
    def users(self) -> Sized: ...


class Metrics:
    """Every series of one app. Names follow Prometheus conventions (`chat_` prefix,
    base units, `_total` on counters), and labels take values from small fixed sets:
    close codes, protocol error codes, limit names and route templates, never ids."""

    def __init__(self) -> None:
        # Counters' `_created` twins double the exposition for a start time that
        # `process_start_time_seconds` already gives (a process-wide switch).
        disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream
        registry = self.registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.sockets_open = Gauge(
            "chat_websocket_connections",
            "WebSockets open on this node (handshake accepted, not yet closed)",
            registry=registry,
        )
        self.sockets_accepted = Counter(
            "chat_websocket_accepted",
            "WebSocket handshakes accepted",
            registry=registry,
        )
        self.sockets_closed = Counter(
            "chat_websocket_closed",
            "WebSockets closed, by close code (the first one sent or received; 1006 when "
            "the connection dropped without one)",
            ["code"],
            registry=registry,
        )
        self.slow_consumers = Counter(
            "chat_slow_consumer_closes",
            "WebSockets closed with 4008 because their client read too slowly (what was "
            "queued for them was dropped)",
            registry=registry,
        )
        published = Counter(
            "chat_events_published",
            "Messages this node published to the broker, by channel kind",
            ["channel"],
            registry=registry,
        )
        received = Counter(
            "chat_events_received",
            "Messages this node received from the broker, by channel kind",
            ["channel"],
            registry=registry,
        )
        kinds = ("room", "user", "presence", "control")
        self.published = {kind: published.labels(kind) for kind in kinds}
        self.received = {kind: received.labels(kind) for kind in kinds}
        send = Histogram(
            "chat_send_seconds",
            "Time from a send request's arrival to its acknowledgement, which follows the "
            "commit, by transport",
            ["transport"],
            buckets=SEND_BUCKETS,
            registry=registry,
        )
        self.send_seconds = {transport: send.labels(transport) for transport in ("http", "ws")}
        self.fanout_seconds = Histogram(
            "chat_fanout_seconds",
            "Time the hub takes to hand one broker message to every local socket it is for",
            buckets=FANOUT_BUCKETS,
            registry=registry,
        )
        transactions = Histogram(
            "chat_db_transaction_seconds",
            "Time a database transaction stays open, from asking for it to its end (on "
            "SQLite, writes include the wait for the write lock), by kind",
            ["kind"],
            buckets=DB_BUCKETS,
            registry=registry,
        )
        self._transactions = {kind: transactions.labels(kind) for kind in ("read", "write")}
        self.loop_lag = Histogram(
            "chat_event_loop_lag_seconds",
            "How late the event loop woke a watcher that sleeps a tenth of a second: while "
            "it was late, every socket of this node waited too",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.rate_limited = Counter(
            "chat_rate_limited",
            "Requests refused by a rate limit, by limit name",
            ["limit"],
            registry=registry,
        )
        self.errors = Counter(
            "chat_errors",
            "Error replies, by transport and protocol error code",
            ["transport", "code"],
            registry=registry,
        )
        self.http_requests = Counter(
            "chat_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )

    def observe_transaction(self, kind: TransactionKind, seconds: float) -> None:
        """The store's callback for each transaction it ends."""
        self._transactions[kind].observe(seconds)

    def error(self, transport: Transport, code: str) -> None:
        self.errors.labels(transport, code).inc()

    async def watch_loop(self, every: float = 0.1) -> None:
        """Record the event loop's lag until cancelled: sleep `every`, note how late the
        wake-up came (a stall: a long callback, a synchronous call, a GC pause)."""
        loop = asyncio.get_running_loop()
        observe = self.loop_lag.observe
        while True:
            due = loop.time() + every
            await asyncio.sleep(every)
            observe(max(0.0, loop.time() - due))

    def watch_hub(self, hub: HubTallies) -> None:
        """Expose the hub's tallies, read at scrape time only."""
        self.registry.register(_HubCollector(hub))

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The current values in the format the scraper asked for, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _HubCollector(Collector):
    def __init__(self, hub: HubTallies) -> None:
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        hub = self._hub
        yield CounterMetricFamily(
            "chat_deliveries",
            "Event frames the hub handed to local sockets (one per event and recipient)",
            value=hub.deliveries,
        )
        yield GaugeMetricFamily(
            "chat_hub_rooms", "Rooms with subscribers on this node", value=len(hub.feeds)
        )
        yield GaugeMetricFamily(
            "chat_hub_users",
            "Users with an authenticated socket on this node",
            value=len(hub.users),
        )
