"""RedisBroker: the broker for several nodes, on Redis pub/sub.

Why: Redis pub/sub stores nothing and adds one hop between a commit and every
node's hub, which is all a broker that is only a hint needs (the database is the
truth, see `base`). A small pool publishes; one connection holds every subscription
and one task reads it, so the handler sees messages in arrival order. When that
connection drops, Redis restarts or stops answering pings, the broker reconnects
with jittered exponential backoff, subscribes again to every referenced channel,
waits for Redis to confirm them and only then calls the reset handler, so the
hub's gap fill from the database cannot race the subscriptions.

Sharded mode and Redis Cluster: with `sharded=True`, room and user channels (all
but `CONTROL_CHANNEL`) use SPUBLISH/SSUBSCRIBE (Redis 7+). A Cluster broadcasts
classic PUBLISH to every node, so that traffic does not shrink as shards are added;
a shard channel lives only on the shard owning its hash slot, so rooms spread over
the shards. The control channel stays classic: it is rare and every node needs it,
which is what the broadcast gives. This class talks to one endpoint: exact for one
Redis 7, where both kinds behave alike (that is how it is tested). On a Cluster the
same commands must be routed by slot: publish with `redis.asyncio.RedisCluster`
(it sends SPUBLISH to the slot's primary) and hold one subscriber connection per
shard, each SSUBSCRIBE-ing the channels of its slots and subscribing again when a
slot moves (Redis then sends an unsolicited SUNSUBSCRIBE); the reference counting,
confirmation and reset logic below then applies per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
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

IO_TIMEOUT = 1.0  # connect, and a publish's reply: publishing to a dead Redis fails fast
TICK = 1.0  # a subscriber connection silent this long is pinged...
DEAD_TICKS = 3  # ...and counts as lost after this many silent ticks
POOL_SIZE = 8
FIRST_DELAY = 0.1

_Entry = tuple[bytes | None, asyncio.Future[None] | None]


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
        # Only a factory: the subscriber connection is opened and reopened by us.
        self._factory = ConnectionPool.from_url(url, retry=Retry(NoBackoff(), 0))
        self._factory.connection_kwargs.update(
            protocol=2,  # pub/sub messages as plain arrays, whatever the URL says
            decode_responses=False,
            socket_timeout=None,  # reads block; liveness is checked by pinging
            socket_connect_timeout=IO_TIMEOUT,
        )
        self._refs: dict[str, int] = {}
        # One entry per command sent on the subscriber connection, in order: Redis
        # answers each (one channel per command) exactly once, so errors and
        # confirmations are matched to their command by position.
        self._inflight: deque[_Entry] = deque()
        self._confirming: dict[str, asyncio.Future[None]] = {}
        self._conn: AbstractConnection | None = None
        self._heard = False
        self._lock = asyncio.Lock()  # keeps commands on the wire in decision order
        self._task: asyncio.Task[None] | None = None
        self._on_message: MessageHandler = lambda channel, data: None
        self._on_reset: ResetHandler = lambda: None

    def set_handlers(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        """Install the callbacks; called once, before `start`."""
        self._on_message = on_message
        self._on_reset = on_reset

    async def start(self) -> None:
        """Connect both sides and start reading; raises if Redis is unreachable."""
        if self._task is not None:
            return
        await self._client.ping()
        last = await self._connect(reset=False)
        self._task = asyncio.create_task(self._supervise(), name="redis-broker")
        if last is not None:  # channels subscribed before start
            await asyncio.shield(last)

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
        waiter = self._confirming.get(channel)
        if count == 1:
            # Registered before any await, so concurrent subscribers wait for it too.
            waiter = self._expect(channel)
            await self._send(self._verbs(channel)[0], channel, waiter)
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
            await self._send(self._verbs(channel)[1], channel)

    async def ping(self) -> bool:
        """True when Redis answers and the subscriber connection is up."""
        if self._conn is None or not self._conn.is_connected:
            return False
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        """Stop reading, then close the subscriber connection and the pool."""
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

    def _expect(self, channel: str) -> asyncio.Future[None]:
        waiter = self._confirming[channel] = asyncio.get_running_loop().create_future()
        return waiter

    async def _send(
        self, verb: str, channel: str | None, waiter: asyncio.Future[None] | None = None
    ) -> None:
        async with self._lock:
            conn = self._conn
            if conn is None or not conn.is_connected:
                # `_connect` subscribes from `_refs` when it is back, then resets.
                if waiter is not None and channel is not None:
                    self._settle(channel, waiter, None)
                return
            self._inflight.append((None if channel is None else channel.encode(), waiter))
            args = (verb,) if channel is None else (verb, channel)
            with contextlib.suppress(RedisError, OSError):  # the reader sees it as well
                await conn.send_command(*args, check_health=False)

    async def _connect(self, *, reset: bool) -> asyncio.Future[None] | None:
        """Open the subscriber connection and subscribe every referenced channel.

        Returns the last confirmation to wait for. With `reset`, the reset handler
        runs once Redis confirmed them all, so the hub's gap fill cannot race them.
        """
        factory = self._factory
        conn = factory.connection_class(**factory.connection_kwargs)
        try:
            connect: Callable[[], Awaitable[None]] = conn.connect  # untyped in redis-py
            async with asyncio.timeout(IO_TIMEOUT):  # the handshake too, not only TCP
                await connect()
            async with self._lock:  # published only after the handshake, for `_send`
                self._conn = conn
                channels = [ch for ch, n in self._refs.items() if n > 0]
                last = None
                for channel in channels:
                    last = self._expect(channel)
                    self._inflight.append((channel.encode(), last))
                if channels:
                    commands = [(self._verbs(ch)[0], ch) for ch in channels]
                    await conn.send_packed_command(conn.pack_commands(commands), False)
        except BaseException:
            self._conn = conn  # for `_drop` to close it and release any waiter
            await self._drop()
            raise
        if reset:
            if last is None:
                self._reset()
            else:
                last.add_done_callback(lambda _: self._reset(unless_replaced=conn))
        return last

    async def _supervise(self) -> None:
        """Runs for the broker's life: serve the connection, reconnect when it is lost."""
        while True:
            try:
                await self._serve()
            except (RedisError, OSError) as exc:
                log.warning("redis pub/sub connection lost: %s", exc)
            except Exception:
                log.exception("redis pub/sub reader failed; reconnecting")
            lost_at = time.monotonic()
            await self._drop()
            delay = FIRST_DELAY
            attempts = 0
            while True:
                await asyncio.sleep(random.uniform(delay / 2, delay))
                attempts += 1
                try:
                    await self._connect(reset=True)
                    break
                except Exception as exc:  # whatever it was, the next attempt starts afresh
                    log.debug("redis pub/sub reconnect failed (next in <= %.1fs): %r", delay, exc)
                    delay = min(delay * 2, self._max_delay)
            log.warning(
                "redis pub/sub reconnected after %.1f s (%d attempts); %d channels resubscribed",
                time.monotonic() - lost_at,
                attempts,
                len(self._refs),
            )

    async def _serve(self) -> None:
        """Run the reader; ping when the connection is idle; raise once it is lost.

        The reader blocks without a timeout: a timeout per read would cost more than
        the rest of the receive path, so liveness is watched from here instead.
        """
        conn = self._conn
        if conn is None:
            raise RedisConnectionError("no subscriber connection")
        reader = asyncio.create_task(self._read(conn), name="redis-broker-reader")
        try:
            silent = 0
            while True:
                await asyncio.wait((reader,), timeout=TICK)
                if reader.done():
                    reader.result()
                    raise RedisConnectionError("reader stopped")
                if self._heard:
                    self._heard, silent = False, 0
                    continue
                silent += 1
                if silent > DEAD_TICKS:
                    raise RedisConnectionError(f"no answer from Redis in {silent * TICK:g}s")
                if silent == 1:
                    await self._send("PING", None)
        finally:
            reader.cancel()
            await asyncio.wait((reader,))

    async def _read(self, conn: AbstractConnection) -> None:
        """The one reader: hands every message to the handler, in arrival order."""
        while True:
            try:
                reply = await conn.read_response(disconnect_on_error=False)
            except ResponseError as exc:
                self._heard = True
                self._answered(None, exc)
                continue
            self._heard = True
            self._dispatch(reply)

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

    def _reset(self, unless_replaced: AbstractConnection | None = None) -> None:
        if unless_replaced is not None and unless_replaced is not self._conn:
            return  # `_drop` resolved the waiters: the next connection resets instead
        try:
            self._on_reset()
        except Exception:
            log.exception("broker reset handler failed")

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
        if waiter is not None and sent is not None:
            self._settle(sent.decode(), waiter, error)

    def _settle(
        self, channel: str, waiter: asyncio.Future[None], error: ResponseError | None
    ) -> None:
        if self._confirming.get(channel) is waiter:
            del self._confirming[channel]
        if waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
            waiter.exception()  # retrieved: a reconnect's batch has nobody awaiting it
