"""RedisBroker: the broker for several nodes, on Redis pub/sub.

Why Redis pub/sub: it stores nothing and adds one hop between a commit and every
node's hub, which is all a broker that is only a hint needs (the database is the
truth, see `base`). A small pool publishes; one dedicated connection holds every
subscription and is read by a single task, so the handler sees messages in arrival
order. When that connection drops or Redis restarts, the reader reconnects with
jittered exponential backoff, subscribes again to every channel still referenced,
waits for Redis to confirm them all and only then calls the reset handler, so the
hub's gap fill from the database cannot race the subscriptions. An idle connection
is pinged every second, so a Redis that stops answering counts as lost too.

Sharded mode and Redis Cluster: with `sharded=True` room and user channels (every
channel but `CONTROL_CHANNEL`) use SPUBLISH/SSUBSCRIBE (Redis 7 or later). Classic
PUBLISH is broadcast to every node of a Cluster, so its cost grows with the cluster;
a shard channel lives only on the shard that owns its hash slot, so rooms spread
over the shards and adding shards adds pub/sub capacity. The control channel stays
classic on purpose: every node must see it, it is rare, and the Cluster broadcast
delivers it wherever a node is connected. This class talks to one endpoint, which
is exact for one Redis 7 (where both kinds behave the same) and is how it is
tested. On a Cluster, the same commands must be routed by slot: publish through
`redis.asyncio.RedisCluster` (it sends SPUBLISH to the slot's primary) and hold one
subscriber connection per primary, each SSUBSCRIBE-ing the channels of its slots
and resubscribing when a slot moves (Redis then sends an unsolicited SUNSUBSCRIBE);
the reference counting, confirmation and reset logic below applies per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from chatserver.broker.base import CONTROL_CHANNEL, MessageHandler, ResetHandler

log = logging.getLogger(__name__)

IO_TIMEOUT = 1.0
"""Connect and publish-reply timeout: a publish to a dead Redis fails within ~2 s."""
TICK = 1.0
"""A subscriber connection silent this long is pinged ..."""
DEAD_TICKS = 3
"""... and is considered lost after this many silent ticks."""
POOL_SIZE = 8
FIRST_DELAY = 0.1

_Entry = tuple[bytes | None, asyncio.Future[None] | None]


def _ignore_message(channel: str, data: bytes) -> None:
    pass


def _ignore_reset() -> None:
    pass


class RedisBroker:
    """The `Broker` contract over Redis pub/sub (see `base.Broker`).

    A node subscribes once per channel however many local references it holds, and
    delivers a message only while the channel's count is positive. Redis keeps no
    message for a node that is disconnected, so every reconnect ends with a call
    to the reset handler.
    """

    def __init__(
        self, url: str, *, sharded: bool = False, reconnect_max_delay: float = 5.0
    ) -> None:
        self._sharded = sharded
        self._max_delay = max(reconnect_max_delay, FIRST_DELAY)
        # One retry only on a broken connection: it replaces a pooled socket that
        # died with a restarted Redis, without ever waiting on a dead server.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=IO_TIMEOUT,
            socket_timeout=IO_TIMEOUT,
            socket_connect_timeout=IO_TIMEOUT,
            retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
        )
        self._client: Redis = Redis(connection_pool=pool)
        # The subscriber connection is built here but reconnected by the reader only.
        self._factory = ConnectionPool.from_url(url, retry=Retry(NoBackoff(), 0))
        self._factory.connection_kwargs.update(
            protocol=2,  # pub/sub messages as plain arrays, whatever the URL says
            decode_responses=False,
            socket_timeout=None,  # reads set their own timeout (TICK)
            socket_connect_timeout=IO_TIMEOUT,
            socket_keepalive=True,
        )
        self._refs: dict[str, int] = {}
        # One entry per command sent on the subscriber connection, in order: Redis
        # answers each (one channel per command) exactly once, so errors and
        # confirmations are matched to their command by position.
        self._inflight: deque[_Entry] = deque()
        self._confirming: dict[str, asyncio.Future[None]] = {}
        self._conn: AbstractConnection | None = None
        self._lock = asyncio.Lock()  # keeps commands on the wire in decision order
        self._task: asyncio.Task[None] | None = None
        self._on_message: MessageHandler = _ignore_message
        self._on_reset: ResetHandler = _ignore_reset

    def set_handlers(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        """Install the callbacks; called once, before `start`."""
        self._on_message = on_message
        self._on_reset = on_reset

    async def start(self) -> None:
        """Connect both sides and start the reader; raises if Redis is unreachable."""
        if self._task is not None:
            return
        if self._sharded:
            version = str((await self._client.info("server")).get("redis_version", "0"))
            if int(version.split(".")[0]) < 7:
                raise RuntimeError(f"sharded pub/sub needs Redis 7 or later, not {version}")
        else:
            await self._client.ping()
        conn = await self._connect()
        self._task = asyncio.create_task(self._run(conn), name="redis-broker")

    async def publish(self, channel: str, data: bytes) -> None:
        """One PUBLISH (SPUBLISH when sharded); raises within ~2 s if Redis is down.

        Calls made one after another on a channel reach each subscriber in order.
        """
        if self._sharded and channel != CONTROL_CHANNEL:
            await self._client.spublish(channel, data)
        else:
            await self._client.publish(channel, data)

    async def subscribe(self, channel: str) -> None:
        """Take a reference; returns once Redis confirmed the subscription.

        If the connection is down (or drops before the confirmation), it returns at
        once instead: the channel is subscribed on reconnect, then `on_reset` runs.
        Raises `ResponseError` (and gives the reference back) if Redis refuses it.
        """
        count = self._refs.get(channel, 0) + 1
        self._refs[channel] = count
        if count == 1:
            waiter = await self._command(self._verbs(channel)[0], channel, confirm=True)
        else:
            waiter = self._confirming.get(channel)
        if waiter is None:
            return
        try:
            await asyncio.shield(waiter)
        except ResponseError:
            await self.unsubscribe(channel)
            raise

    async def unsubscribe(self, channel: str) -> None:
        """Drop a reference; the last one unsubscribes, and delivery stops at once."""
        count = self._refs.get(channel, 0) - 1
        if count > 0:
            self._refs[channel] = count
            return
        self._refs.pop(channel, None)
        if count == 0:
            await self._command(self._verbs(channel)[1], channel, confirm=False)

    async def ping(self) -> bool:
        """True when Redis answers and the subscriber connection is up."""
        if self._conn is None or not self._conn.is_connected:
            return False
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        """Stop the reader, then close the subscriber connection and the pool."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drop()
        await self._client.aclose(close_connection_pool=True)

    # -- subscriber connection -------------------------------------------------------

    def _verbs(self, channel: str) -> tuple[str, str]:
        if self._sharded and channel != CONTROL_CHANNEL:
            return "SSUBSCRIBE", "SUNSUBSCRIBE"
        return "SUBSCRIBE", "UNSUBSCRIBE"

    def _expect(self, channel: str, *, confirm: bool) -> asyncio.Future[None] | None:
        waiter: asyncio.Future[None] | None = None
        if confirm:
            waiter = asyncio.get_running_loop().create_future()
            self._confirming[channel] = waiter
        self._inflight.append((channel.encode(), waiter))
        return waiter

    async def _command(
        self, verb: str, channel: str, *, confirm: bool
    ) -> asyncio.Future[None] | None:
        async with self._lock:
            conn = self._conn
            if conn is None or not conn.is_connected:
                return None  # the reader resubscribes from `_refs` when it is back
            waiter = self._expect(channel, confirm=confirm)
            with contextlib.suppress(RedisError, OSError):  # the reader sees it as well
                await conn.send_command(verb, channel, check_health=False)
            return waiter

    async def _connect(self) -> AbstractConnection:
        """Open the subscriber connection, subscribe every referenced channel, await
        the confirmations (delivering what arrives meanwhile)."""
        factory = self._factory
        conn = factory.connection_class(**factory.connection_kwargs)
        self._conn = conn  # skipped by `_command` until connected; cleaned up by `_drop`
        try:
            connect: Callable[[], Awaitable[None]] = conn.connect  # untyped in redis-py
            await connect()
            async with self._lock:
                channels = [ch for ch, n in self._refs.items() if n > 0]
                last = None
                for channel in channels:
                    last = self._expect(channel, confirm=True)
                commands = [(self._verbs(ch)[0], ch) for ch in channels]
                if commands:
                    await conn.send_packed_command(conn.pack_commands(commands), False)
            if last is not None:
                await self._pump(conn, until=last)
        except BaseException:
            await self._drop()
            raise
        return conn

    async def _run(self, conn: AbstractConnection) -> None:
        """The reader task: deliver until the connection is lost, reconnect, reset."""
        while True:
            try:
                await self._pump(conn)
            except (RedisError, OSError) as exc:
                log.warning("redis pub/sub connection lost: %s", exc)
            except Exception:
                log.exception("redis pub/sub reader failed; reconnecting")
            await self._drop()
            conn = await self._reconnect()
            try:
                self._on_reset()
            except Exception:
                log.exception("broker reset handler failed")

    async def _reconnect(self) -> AbstractConnection:
        delay = FIRST_DELAY
        while True:
            await asyncio.sleep(random.uniform(delay / 2, delay))
            try:
                conn = await self._connect()
            except Exception as exc:  # whatever it was, the next attempt starts afresh
                log.info("redis pub/sub reconnect failed (next in <= %.1fs): %s", delay, exc)
                delay = min(delay * 2, self._max_delay)
                continue
            log.warning("redis pub/sub reconnected; %d channels resubscribed", len(self._refs))
            return conn

    async def _drop(self) -> None:
        """Forget the connection; pending subscribes return, to be redone on reconnect."""
        conn, self._conn = self._conn, None
        for _, waiter in self._inflight:
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        self._inflight.clear()
        self._confirming.clear()
        if conn is not None:
            with contextlib.suppress(RedisError, OSError):
                await conn.disconnect(nowait=True)

    async def _pump(
        self, conn: AbstractConnection, until: asyncio.Future[None] | None = None
    ) -> None:
        """Read and dispatch replies until `until` is done (or the connection fails)."""
        silent = 0
        while until is None or not until.done():
            try:
                reply = await conn.read_response(timeout=TICK, disconnect_on_error=False)
            except ResponseError as exc:
                self._answered(None, exc)
                silent = 0
                continue
            if reply is None:
                silent += 1
                if silent > DEAD_TICKS:
                    raise RedisConnectionError(f"no answer from Redis in {silent * TICK:.0f}s")
                if silent == 1:
                    async with self._lock:
                        self._inflight.append((None, None))
                        await conn.send_command("PING", check_health=False)
                continue
            silent = 0
            self._dispatch(reply)

    def _dispatch(self, reply: Any) -> None:
        kind = reply[0] if isinstance(reply, list) else None
        if kind == b"message" or kind == b"smessage":
            channel = reply[1].decode()
            if self._refs.get(channel, 0) > 0:  # late arrivals after unsubscribe are dropped
                try:
                    self._on_message(channel, reply[2])
                except Exception:
                    log.exception("broker message handler failed on %s", channel)
        else:  # a reply: (s)subscribe, (s)unsubscribe or pong
            self._answered(reply[1] if kind != b"pong" and kind is not None else None, None)

    def _answered(self, channel: bytes | None, error: ResponseError | None) -> None:
        if not self._inflight:
            return
        sent, waiter = self._inflight[0]
        if error is None and channel is not None and channel != sent:
            return  # unsolicited (a Cluster slot moved): not an answer to our command
        self._inflight.popleft()
        if error is not None:
            log.error("Redis refused a pub/sub command: %s", error)
        if waiter is None or waiter.done():
            return
        if sent is not None and self._confirming.get(sent.decode()) is waiter:
            del self._confirming[sent.decode()]
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
            waiter.exception()  # retrieved: a reconnect's batch has nobody awaiting it
