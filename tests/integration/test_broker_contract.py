"""The broker contract (`chatserver.broker.base.Broker`), run against every backend."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

import pytest
import redis.asyncio
from redis.exceptions import RedisError

import chatserver.broker.redis as redis_broker
from chatserver.broker.base import CONTROL_CHANNEL
from tests.integration.conftest import Nodes, RedisServer

Channel = Callable[[str], str]


async def test_publish_reaches_subscriber_with_exact_bytes(nodes: Nodes, channel: Channel) -> None:
    node = await nodes.start()
    room = channel("room:1")
    await node.broker.subscribe(room)
    await node.broker.publish(room, b'{"op":"event","seq":1}')
    assert await node.wait_for(room) == [b'{"op":"event","seq":1}']


async def test_not_delivered_when_not_subscribed(nodes: Nodes, channel: Channel) -> None:
    node = await nodes.start()
    other, marker = channel("room:other"), channel("room:marker")
    await node.broker.subscribe(marker)
    await node.broker.publish(other, b"nobody here")
    await node.broker.publish(marker, b"after")
    await node.wait_for(marker)
    assert node.messages == [(marker, b"after")]


async def test_order_of_one_publisher_is_kept(nodes: Nodes, channel: Channel) -> None:
    node = await nodes.start()
    room = channel("room:1")
    await node.broker.subscribe(room)
    sent = [str(i).encode() for i in range(1000)]
    for data in sent:
        await node.broker.publish(room, data)
    assert await node.wait_for(room, len(sent)) == sent


async def test_subscriptions_are_reference_counted(nodes: Nodes, channel: Channel) -> None:
    node = await nodes.start()
    room, marker = channel("room:1"), channel("room:marker")
    await node.broker.subscribe(marker)
    await node.broker.subscribe(room)
    await node.broker.subscribe(room)
    await node.broker.unsubscribe(room)
    await node.broker.publish(room, b"still one reference")
    assert await node.wait_for(room) == [b"still one reference"]

    await node.broker.unsubscribe(room)
    await node.broker.publish(room, b"no reference left")
    await node.broker.publish(marker, b"after")
    await node.wait_for(marker)
    assert node.on(room) == [b"still one reference"]

    await node.broker.subscribe(room)
    await node.broker.publish(room, b"subscribed again")
    assert await node.wait_for(room, 2) == [b"still one reference", b"subscribed again"]


async def test_concurrent_subscribes_all_wait_for_the_subscription(
    nodes: Nodes, channel: Channel
) -> None:
    node = await nodes.start()
    room = channel("room:1")

    async def subscribe_then_publish(i: int) -> None:
        await node.broker.subscribe(room)
        await node.broker.publish(room, b"%d" % i)

    # Another channel's subscribe goes first, so the room's waits its turn to be sent.
    await asyncio.gather(
        node.broker.subscribe(channel("room:2")), *(subscribe_then_publish(i) for i in range(5))
    )
    assert sorted(await node.wait_for(room, 5)) == [b"0", b"1", b"2", b"3", b"4"]


async def test_every_subscribed_node_receives(nodes: Nodes, channel: Channel) -> None:
    if not nodes.shared:
        pytest.skip(f"{nodes.backend}: one process, nothing to share between nodes")
    first, second, bystander = await nodes.start(), await nodes.start(), await nodes.start()
    room = channel("room:1")
    await first.broker.subscribe(room)
    await second.broker.subscribe(room)
    await bystander.broker.publish(room, b"to both")
    assert await first.wait_for(room) == [b"to both"]
    assert await second.wait_for(room) == [b"to both"]
    assert bystander.messages == []


async def test_large_payload_is_intact(nodes: Nodes, channel: Channel) -> None:
    node = await nodes.start()
    room = channel("room:1")
    payload = os.urandom(64 * 1024)  # not UTF-8: bytes go through untouched
    await node.broker.subscribe(room)
    await node.broker.publish(room, payload)
    assert await node.wait_for(room) == [payload]


async def test_ping(nodes: Nodes) -> None:
    node = await nodes.start()
    assert await node.broker.ping() is True


# -- Redis only ------------------------------------------------------------------------


@pytest.mark.redis
async def test_sharded_mode_shards_all_but_the_control_channel(
    private_nodes: Nodes, redis_server: RedisServer, channel: Channel
) -> None:
    node = await private_nodes.start()
    room = channel("room:1")
    await node.broker.subscribe(room)
    await node.broker.subscribe(CONTROL_CHANNEL)
    async with redis.asyncio.Redis.from_url(redis_server.url) as admin:

        async def counts(name: str) -> tuple[int, int]:
            [(_, classic)] = await admin.pubsub_numsub(name)
            [(_, sharded)] = await admin.pubsub_shardnumsub(name)
            return int(classic), int(sharded)

        assert await counts(room) == (
            (0, 1) if private_nodes.backend == "redis-sharded" else (1, 0)
        )
        assert await counts(CONTROL_CHANNEL) == (1, 0)
    await node.broker.publish(room, b"room")
    await node.broker.publish(CONTROL_CHANNEL, b"control")
    await node.wait_for(CONTROL_CHANNEL)
    assert node.messages == [(room, b"room"), (CONTROL_CHANNEL, b"control")]


@pytest.mark.redis
async def test_restart_resubscribes_then_resets(
    private_nodes: Nodes, redis_server: RedisServer, channel: Channel
) -> None:
    node = await private_nodes.start(reconnect_max_delay=0.5)
    room = channel("room:1")
    await node.broker.subscribe(room)
    await node.broker.publish(room, b"before")
    await node.wait_for(room)

    redis_server.kill()
    assert await node.broker.ping() is False
    await redis_server.start()
    await node.wait_until(lambda: node.resets > 0)
    assert await node.broker.ping() is True

    await node.broker.publish(room, b"after")
    assert await node.wait_for(room, 2) == [b"before", b"after"]
    assert node.resets == 1


@pytest.mark.redis
async def test_dropped_connection_resubscribes_then_resets(
    private_nodes: Nodes, redis_server: RedisServer, channel: Channel
) -> None:
    node = await private_nodes.start(reconnect_max_delay=0.5)
    room = channel("room:1")
    await node.broker.subscribe(room)
    async with redis.asyncio.Redis.from_url(redis_server.url) as admin:
        assert await admin.client_kill_filter(_type="pubsub") == 1
        await node.wait_until(lambda: node.resets > 0)
    await node.broker.publish(room, b"after")
    assert await node.wait_for(room) == [b"after"]
    assert node.resets == 1


@pytest.mark.redis
async def test_publish_while_down_fails_fast_and_subscribe_waits_for_reconnect(
    private_nodes: Nodes, redis_server: RedisServer, channel: Channel
) -> None:
    node = await private_nodes.start(reconnect_max_delay=0.5)
    room = channel("room:1")
    redis_server.kill()

    started = time.monotonic()
    with pytest.raises((RedisError, OSError)):
        await asyncio.wait_for(node.broker.publish(room, b"lost"), 10)
    assert time.monotonic() - started < 2

    # While Redis is down a subscribe returns at once; the reconnect subscribes it.
    await asyncio.wait_for(node.broker.subscribe(room), 2)
    await redis_server.start()
    await node.wait_until(lambda: node.resets > 0)
    await node.broker.publish(room, b"after")
    assert await node.wait_for(room) == [b"after"]


@pytest.mark.redis
async def test_start_fails_when_redis_is_down(
    private_nodes: Nodes, redis_server: RedisServer
) -> None:
    redis_server.kill()
    node = private_nodes.build()
    started = time.monotonic()
    with pytest.raises((RedisError, OSError)):
        await node.broker.start()
    assert time.monotonic() - started < 2
    await node.broker.close()


@pytest.mark.redis
async def test_silent_redis_counts_as_lost(
    private_nodes: Nodes,
    redis_server: RedisServer,
    channel: Channel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shorter clocks than in production, so the test takes about a second.
    monkeypatch.setattr(redis_broker, "TICK", 0.1)
    monkeypatch.setattr(redis_broker, "IO_TIMEOUT", 0.3)
    node = await private_nodes.start(reconnect_max_delay=0.2)
    room = channel("room:1")
    await node.broker.subscribe(room)

    redis_server.pause()  # sockets stay open; nothing answers
    started = time.monotonic()
    with pytest.raises((RedisError, OSError)):
        await node.broker.publish(room, b"lost")
    assert time.monotonic() - started < 1
    await asyncio.sleep(0.8)  # long enough for the unanswered pings to count
    redis_server.resume()

    await node.wait_until(lambda: node.resets > 0)
    await node.broker.publish(room, b"after")
    assert await node.wait_for(room) == [b"after"]
    assert node.resets == 1
