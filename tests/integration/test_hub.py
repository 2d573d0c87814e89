"""The hub over a real broker: each connection sees every room seq once, in order.

Nothing here waits for time to pass: a test waits for what a client receives, holds the
event log's answers back when it needs a read to be under way, and gives the gap timer
either an hour (it must not fire) or a moment (the test waits for its outcome)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from chatserver.broker.base import CONTROL_CHANNEL, PRESENCE_CHANNEL, Broker, room_channel
from chatserver.broker.memory import MemoryBroker
from chatserver.broker.redis import RedisBroker
from chatserver.domain.models import User
from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.protocol.envelope import (
    MembershipChanged,
    PresenceWindow,
    encode_control,
    encode_presence,
    pack,
)
from tests.integration.conftest import REDIS_URL, require_redis

NEVER = 3600.0
"""A gap wait the test outlives: an early event stays held until its gap is filled."""
SOON = 0.01
"""A gap wait the test does not notice: it waits for the fill, not for the clock."""


class EventLog:
    """Stands in for the store's event log: what was committed, by seq."""

    def __init__(self) -> None:
        self.frames: dict[int, bytes] = {}
        self.asked_last_seq = asyncio.Event()
        self.last_seq_reads: list[list[int]] = []
        """The rooms of each read of last seqs, in order."""
        self.gate: asyncio.Event | None = None
        """While set to an unset event, reads of the log wait for it."""
        self.broken = False

    def commit(self, seq: int) -> bytes:
        frame = json.dumps({"op": "event", "type": "message.created", "seq": seq}).encode()
        self.frames[seq] = frame
        return frame

    async def between(self, room: int, first: int, last: int) -> list[tuple[int, bytes]]:
        if self.gate is not None:
            await self.gate.wait()
        if self.broken:
            raise ConnectionError("event log unreachable")
        return [(s, self.frames[s]) for s in range(first, last + 1) if s in self.frames]

    async def last_seqs(self, rooms: list[int]) -> dict[int, int]:
        self.last_seq_reads.append(sorted(rooms))
        self.asked_last_seq.set()
        return dict.fromkeys(rooms, max(self.frames, default=0))


class Client:
    def __init__(self, limit: int = 100_000, *, stalled: bool = False, user_id: int = 1) -> None:
        self.received: list[int] = []
        self.unsequenced: list[dict[str, object]] = []
        self.closed_with: int | None = None
        self._stalled = stalled
        self._changed = asyncio.Event()
        user = User(user_id, f"u{user_id}", "U", "student")
        self.conn = Connection(user, 1, self._send, self._close, limit)
        self.conn.start()

    async def _send(self, text: str) -> None:
        if self._stalled:
            await asyncio.Event().wait()
        event = json.loads(text)
        if "seq" in event:
            self.received.append(event["seq"])
        else:
            self.unsequenced.append(event)
        self._changed.set()

    async def _close(self, code: int, reason: str) -> None:
        self.closed_with = code
        self._changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def got(self, count: int) -> list[int]:
        """The seqs received once there are at least `count`."""
        await self.until(lambda: len(self.received) >= count)
        return self.received


class Rig:
    """One hub on one broker, a room of its own, and the clients of one test."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.log = EventLog()
        # Its own room, so tests sharing a Redis never see each other's events.
        self.room = uuid.uuid4().int % 10**12
        self.hub: Hub | None = None
        self._clients: list[Client] = []

    async def start(self, gap_wait: float = SOON) -> Hub:
        self.hub = Hub(self.broker, self.log.between, self.log.last_seqs, gap_wait=gap_wait)
        await self.broker.start()
        await self.hub.start()
        return self.hub

    def client(self, limit: int = 100_000, *, stalled: bool = False, user_id: int = 1) -> Client:
        client = Client(limit, stalled=stalled, user_id=user_id)
        self._clients.append(client)
        return client

    async def publish(self, *seqs: int, room: int | None = None) -> None:
        for seq in seqs:
            frame = self.log.frames.get(seq) or self.log.commit(seq)
            await self.broker.publish(room_channel(room or self.room), pack(seq, frame))

    async def publish_unsequenced(self, event: dict[str, object], room: int | None = None) -> None:
        frame = json.dumps(event, separators=(",", ":")).encode()  # compact, as the server's
        await self.broker.publish(room_channel(room or self.room), pack(0, frame))

    async def close(self) -> None:
        for client in self._clients:
            client.conn.discard()
        if self.hub is not None:
            await self.hub.close()
        await self.broker.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """Every test runs on the single-node broker and on Redis."""
    broker: Broker
    if request.param == "redis":
        require_redis()
        broker = RedisBroker(REDIS_URL)
    else:
        broker = MemoryBroker()
    started = Rig(broker)
    yield started
    await started.close()


async def _attach_to_a_new_feed(rig: Rig, hub: Hub, client: Client, floor: int = 0) -> None:
    """Attach, and let the new feed's first look at the store happen before the test goes on."""
    await hub.attach(client.conn, rig.room, floor)
    await rig.log.asked_last_seq.wait()


async def test_in_order_events_reach_every_member_once(rig: Rig) -> None:
    hub = await rig.start()
    a, b = rig.client(), rig.client()
    for client in (a, b):
        await hub.attach(client.conn, rig.room, 0)
    await rig.publish(1, 2, 3, 2, 4)
    assert await a.got(4) == [1, 2, 3, 4]
    assert await b.got(4) == [1, 2, 3, 4]


async def test_an_early_event_is_held_until_the_missing_one_arrives(rig: Rig) -> None:
    hub = await rig.start(gap_wait=NEVER)
    client = rig.client()
    await _attach_to_a_new_feed(rig, hub, client)
    rig.log.commit(1)
    rig.log.commit(2)
    await rig.publish(2)
    await rig.publish_unsequenced({"op": "event", "type": "typing", "user": {"id": 9}})
    await client.until(lambda: bool(client.unsequenced))  # so 2 went through the hub
    assert client.received == []
    await rig.publish(1)
    assert await client.got(2) == [1, 2]


async def test_a_lost_event_is_filled_from_the_log(rig: Rig) -> None:
    hub = await rig.start(gap_wait=SOON)
    client = rig.client()
    await _attach_to_a_new_feed(rig, hub, client)
    rig.log.commit(1)
    rig.log.commit(2)  # committed, but its publish is lost
    await rig.publish(1, 3, 4)
    assert await client.got(4) == [1, 2, 3, 4]


async def test_a_connection_attaching_behind_is_backfilled_while_live_events_wait(
    rig: Rig,
) -> None:
    hub = await rig.start()
    early = rig.client()
    await _attach_to_a_new_feed(rig, hub, early)
    await rig.publish(1, 2, 3)
    await early.got(3)
    rig.log.gate = asyncio.Event()  # the backfill's read is held
    late = rig.client()
    await hub.attach(late.conn, rig.room, 1)  # its snapshot said seq 1
    assert hub.position(late.conn, rig.room) is None  # being caught up
    await rig.publish(4, 5)
    assert await early.got(5) == [1, 2, 3, 4, 5]
    assert late.received == []
    rig.log.gate.set()
    assert await late.got(4) == [2, 3, 4, 5]
    await rig.publish(6)
    assert await late.got(5) == [2, 3, 4, 5, 6]
    assert hub.position(late.conn, rig.room) == 6


async def test_a_connection_whose_backfill_fails_is_closed_and_others_go_on(rig: Rig) -> None:
    hub = await rig.start()
    early = rig.client()
    await _attach_to_a_new_feed(rig, hub, early)
    await rig.publish(1, 2)
    await early.got(2)
    rig.log.broken = True
    late = rig.client()
    await hub.attach(late.conn, rig.room, 0)
    await late.until(lambda: late.closed_with is not None)
    assert late.closed_with == 1011
    await rig.publish(3)
    assert await early.got(3) == [1, 2, 3]
    assert late.received == []


async def test_a_connection_attaching_ahead_skips_what_it_already_has(rig: Rig) -> None:
    hub = await rig.start(gap_wait=NEVER)
    first = rig.client()
    await _attach_to_a_new_feed(rig, hub, first)
    for seq in (1, 2, 3):
        rig.log.commit(seq)
    ahead = rig.client()
    await hub.attach(ahead.conn, rig.room, 3)  # read seq 3 from the store before 1..3 arrived
    assert hub.position(ahead.conn, rig.room) == 3
    await rig.publish(1, 2, 3, 4)
    assert await first.got(4) == [1, 2, 3, 4]
    assert await ahead.got(1) == [4]


async def test_a_new_feed_catches_up_on_events_committed_before_it_subscribed(rig: Rig) -> None:
    hub = await rig.start()
    rig.log.commit(1)
    rig.log.commit(2)
    client = rig.client()
    await hub.attach(client.conn, rig.room, 1)  # snapshot said 1; 2 was published to nobody
    assert await client.got(1) == [2]
    await rig.publish(3)
    assert await client.got(2) == [2, 3]


async def test_a_stalled_client_is_closed_and_others_keep_receiving(rig: Rig) -> None:
    hub = await rig.start()
    stalled = rig.client(limit=200, stalled=True)
    healthy = rig.client()
    await hub.attach(stalled.conn, rig.room, 0)
    await hub.attach(healthy.conn, rig.room, 0)
    await rig.publish(*range(1, 21))
    assert await healthy.got(20) == list(range(1, 21))
    await stalled.until(lambda: stalled.closed_with is not None)
    assert stalled.closed_with == 4008


async def test_after_a_broker_reset_the_feed_is_compared_with_the_store(rig: Rig) -> None:
    hub = await rig.start()
    client = rig.client()
    await _attach_to_a_new_feed(rig, hub, client)
    await rig.publish(1)
    await client.got(1)
    rig.log.commit(2)
    rig.log.commit(3)  # both lost while the broker was away; nothing follows them
    hub.on_reset()
    assert await client.got(3) == [1, 2, 3]


def _presence(user_id: int, status: str) -> bytes:
    event = {"op": "event", "type": "presence", "user": {"id": user_id}, "status": status}
    return json.dumps(event, separators=(",", ":")).encode()


async def test_a_presence_window_reaches_each_connection_once_in_order_never_its_subject(
    rig: Rig,
) -> None:
    """Ann shares both rooms with Bob and is his friend; Cat is in the second room only.
    The window announces Bob, Cat, then Dan leaving. (User ids of this test's own: the
    presence channel reaches every hub on the Redis.)"""
    hub = await rig.start()
    ann_id, bob_id, cat_id, dan_id, eve_id = (rig.room * 10 + n for n in range(1, 6))
    ann, bob, cat = (rig.client(user_id=user_id) for user_id in (ann_id, bob_id, cat_id))
    first, second = rig.room, rig.room + 1
    for client, rooms in ((ann, (first, second)), (bob, (first,)), (cat, (second,))):
        await hub.add_connection(client.conn)
        for room in rooms:
            await hub.attach(client.conn, room, 0)
    window = PresenceWindow(
        frames=[
            _presence(bob_id, "online"),
            _presence(cat_id, "online"),
            _presence(dan_id, "offline"),
        ],
        subjects=[bob_id, cat_id, dan_id],
        rooms={first: [0, 2], second: [0, 1, 2], first + 7: [1]},
        friends={ann_id: [0], eve_id: [1]},
    )
    before = hub.deliveries
    await rig.broker.publish(PRESENCE_CHANNEL, encode_presence(window))
    for room in (first, second):  # then an event behind the window, in each room
        await rig.publish(1, room=room)
    await ann.got(2)
    await bob.got(1)
    await cat.got(1)

    def heard(client: Client) -> list[tuple[object, object]]:
        return [(e["user"]["id"], e["status"]) for e in client.unsequenced]  # type: ignore[index]

    assert heard(ann) == [(bob_id, "online"), (cat_id, "online"), (dan_id, "offline")]
    assert heard(bob) == [(dan_id, "offline")]
    assert heard(cat) == [(bob_id, "online"), (dan_id, "offline")]
    assert hub.deliveries - before == 6 + 4  # one per frame and connection, and the fences


async def test_a_malformed_presence_window_is_ignored(rig: Rig) -> None:
    hub = await rig.start()
    client = rig.client()
    await hub.add_connection(client.conn)
    await hub.attach(client.conn, rig.room, 0)
    await rig.broker.publish(PRESENCE_CHANNEL, b'{"op":"event","type":"presence"}')
    await rig.publish(1)
    assert await client.got(1) == [1]
    assert client.unsequenced == []


async def test_a_leaving_member_gets_no_event_the_broker_hands_over_after_the_detach(
    rig: Rig,
) -> None:
    """A removal publishes its detach command before its `member.left`; an event another
    writer committed just after may arrive in the same breath, before any task of the
    hub runs. The command detaches at once, so that event reaches only those who stay."""
    hub = await rig.start()
    leaving, staying = rig.client(user_id=1), rig.client(user_id=2)
    for client in (leaving, staying):
        await hub.add_connection(client.conn)
        await hub.attach(client.conn, rig.room, 0)
    await rig.publish(1)
    assert await leaving.got(1) == [1]
    removal = MembershipChanged(user_id=1, room_id=rig.room, joined=False, seq=2)
    await rig.broker.publish(CONTROL_CHANNEL, encode_control(removal))
    await rig.publish(2, 3)
    assert await staying.got(3) == [1, 2, 3]
    assert leaving.received == [1]
    assert rig.room not in leaving.conn.rooms


async def test_rooms_that_need_their_last_seq_together_share_one_read(rig: Rig) -> None:
    """A user in many rooms connecting where none had a feed, or a broker reset with many
    feeds, costs one read of the store, not one per room."""
    hub = await rig.start()
    client = rig.client()
    rooms = [rig.room + i for i in range(20)]
    await asyncio.gather(*(hub.attach(client.conn, room, 0) for room in rooms))
    await rig.log.asked_last_seq.wait()
    await asyncio.sleep(0.05)
    assert sorted(r for read in rig.log.last_seq_reads for r in read) == rooms
    assert len(rig.log.last_seq_reads) <= 2, rig.log.last_seq_reads
    rig.log.last_seq_reads.clear()
    hub.on_reset()
    await asyncio.sleep(0.05)
    assert rig.log.last_seq_reads == [rooms]
