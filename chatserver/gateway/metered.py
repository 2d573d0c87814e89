"""Decorators that record metrics around the broker, the rate limiters, WebSocket sends
and each WebSocket's life, so that the code they wrap stays free of metrics."""

from __future__ import annotations

import dataclasses
import logging
import time
from types import TracebackType

from prometheus_client import Counter
from starlette.types import Message, Receive, Send

from chatserver.broker.base import Broker, MessageHandler, ResetHandler
from chatserver.coordination.base import Limit, RateLimiter
from chatserver.gateway.commands import Dispatcher
from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.gateway.metrics import Metrics
from chatserver.protocol import requests as rq
from chatserver.services.container import Services

log = logging.getLogger(__name__)


def _kind(channel: str) -> str:
    """`room`, `user`, `presence` or `control`: the part of a channel name before its id."""
    return channel.partition(":")[0]


class MeteredBroker:
    """A broker that counts messages both ways and times the hub's work on each one.

    The fan-out time runs from the broker handing a message over to the hub returning,
    by which time every recipient's socket has been written to (or its queue fed). An
    event held back for a missing seq is delivered later and not part of that time.
    """

    def __init__(self, inner: Broker, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def set_handlers(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        received = self._metrics.received
        fanout = self._metrics.fanout_seconds
        clock = time.perf_counter

        def timed(channel: str, data: bytes) -> None:
            kind = _kind(channel)
            counter = received.get(kind)
            if counter is not None:
                counter.inc()
            if kind == "control":
                on_message(channel, data)
                return
            started = clock()
            on_message(channel, data)
            fanout.observe(clock() - started)

        self._inner.set_handlers(timed, on_reset)

    async def start(self) -> None:
        await self._inner.start()

    async def publish(self, channel: str, data: bytes) -> None:
        await self._inner.publish(channel, data)
        counter = self._metrics.published.get(_kind(channel))
        if counter is not None:
            counter.inc()

    async def subscribe(self, channel: str) -> None:
        await self._inner.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        await self._inner.unsubscribe(channel)

    async def ping(self) -> bool:
        return await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()


class MeteredLimiter:
    """A rate limiter that counts refusals by limit name."""

    def __init__(self, inner: RateLimiter, refused: Counter) -> None:
        self._inner = inner
        self._refused = refused

    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> float:
        wait = await self._inner.take(limit, key, cost)
        if wait > 0:
            self._refused.labels(limit.name).inc()
        return wait


def metered_services(services: Services, metrics: Metrics) -> Services:
    """The same services with their rate limiters counted: every limit the gateway
    enforces is read through `Services.limiter` or `Services.local_limiter`."""
    return dataclasses.replace(
        services,
        limiter=MeteredLimiter(services.limiter, metrics.rate_limited),
        local_limiter=MeteredLimiter(services.local_limiter, metrics.rate_limited),
    )


class MeteredDispatcher(Dispatcher):
    """The WebSocket dispatcher, timing each acknowledged `send` (its reply follows the
    commit, so the time covers the whole write)."""

    def __init__(self, services: Services, hub: Hub, metrics: Metrics) -> None:
        super().__init__(services, hub)
        self._send_seconds = metrics.send_seconds["ws"]

    async def run(self, conn: Connection, command: rq.AnyCommand) -> bytes | None:
        if type(command) is not rq.Send:
            return await super().run(conn, command)
        started = time.perf_counter()
        reply = await super().run(conn, command)
        self._send_seconds.observe(time.perf_counter() - started)
        return reply


class SocketWatch:
    """Counts one WebSocket's accepted handshake and the code that closed it, from the
    ASGI messages passing between the server and the endpoint.

    The code is the first one seen: the server's `websocket.close`, or the disconnect
    the server reports (a client's close, a dropped connection, or a close written
    directly to the socket, which uvicorn reports the same way). An endpoint that
    returns without either is closed by uvicorn with 1000, or 1011 if it raised.
    A context manager rather than a coroutine around the endpoint, which every idle
    socket would keep suspended: `with SocketWatch(...) as watch: await endpoint(...)`.
    Its line at the close carries the socket's serial and user (`logformat.bind_socket`,
    set in the same task).
    """

    __slots__ = ("_accepted", "_code", "_metrics", "_receive", "_send")

    def __init__(self, metrics: Metrics, receive: Receive, send: Send) -> None:
        self._metrics = metrics
        self._receive = receive
        self._send = send
        self._accepted = False
        self._code: int | None = None

    async def receive(self) -> Message:
        message = await self._receive()
        if self._code is None and message["type"] == "websocket.disconnect":
            self._code = int(message.get("code", 1005))
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.close" and self._code is None:
            self._code = int(message.get("code", 1000))
        await self._send(message)
        if kind == "websocket.accept":
            self._accepted = True
            self._metrics.sockets_accepted.inc()
            self._metrics.sockets_open.inc()

    def __enter__(self) -> SocketWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """The endpoint returned (or raised): the socket is closed."""
        if not self._accepted:
            return
        code = self._code if self._code is not None else 1000 if exc is None else 1011
        self._metrics.sockets_open.dec()
        self._metrics.sockets_closed.labels(str(code)).inc()
        log.info("WebSocket closed with %d", code, extra={"fields": {"close_code": code}})
