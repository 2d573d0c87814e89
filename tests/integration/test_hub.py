"""The hub's ordering guarantees: each connection sees every room seq once, in order."""

from __future__ import annotations

import asyncio
import json

from chatserver.broker.base import room_channel
from chatserver.broker.memory import MemoryBroker
from chatserver.domain.models import User
from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.protocol.envelope import pack

ROOM = 7


class EventLog:
    """Stands in for the store's event log: what was committed, by seq."""

    def __init__(self) -> None:
        self.frames: dict[int, bytes] = {}

    def commit(self, seq: int) -> bytes:
        frame = json.dumps({"op": "event", "type": "message.created", "seq": seq}).encode()
        self.frames[seq] = frame
        return frame

    async def between(self, room: int, first: int, last: int) -> list[tuple[int, bytes]]:
        return [(s, self.frames[s]) for s in range(first, last + 1) if s in self.frames]

    async def last_seq(self, room: int) -> int:
        return max(self.frames, default=0)


class Client:
    def __init__(self, limit: int = 100_000, *, stalled: bool = False, user_id: int = 1) -> None:
        self.received: list[int] = []
        self.unsequenced: list[dict[str, object]] = []
        self.closed_with: int | None = None
        self._stalled = stalled
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

    async def _close(self, code: int, reason: str) -> None:
        self.closed_with = code


async def _hub(log: EventLog, gap_wait: float = 0.05) -> tuple[Hub, MemoryBroker]:
    broker = MemoryBroker()
    hub = Hub(broker, log.between, log.last_seq, gap_wait=gap_wait)
    await broker.start()
    await hub.start()
    return hub, broker


async def _publish(broker: MemoryBroker, log: EventLog, *seqs: int) -> None:
    for seq in seqs:
        frame = log.frames.get(seq) or log.commit(seq)
        await broker.publish(room_channel(ROOM), pack(seq, frame))


async def _settle() -> None:
    await asyncio.sleep(0.2)


async def test_in_order_events_reach_every_member_once() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    a, b = Client(), Client()
    for client in (a, b):
        await hub.attach(client.conn, ROOM, 0)
    await _publish(broker, log, 1, 2, 3, 2)
    await _settle()
    assert a.received == b.received == [1, 2, 3]
    await hub.close()
    await broker.close()


async def test_an_early_event_is_held_until_the_missing_one_arrives() -> None:
    log = EventLog()
    hub, broker = await _hub(log, gap_wait=1.0)
    client = Client()
    await hub.attach(client.conn, ROOM, 0)
    await asyncio.sleep(0.05)
    log.commit(1)
    log.commit(2)
    await _publish(broker, log, 2)
    await asyncio.sleep(0.05)
    assert client.received == []
    await _publish(broker, log, 1)
    await asyncio.sleep(0.05)
    assert client.received == [1, 2]
    await hub.close()
    await broker.close()


async def test_a_lost_event_is_filled_from_the_log() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    client = Client()
    await hub.attach(client.conn, ROOM, 0)
    log.commit(1)
    log.commit(2)  # committed, but its publish is lost
    await _publish(broker, log, 1, 3, 4)
    await _settle()
    assert client.received == [1, 2, 3, 4]
    await hub.close()
    await broker.close()


async def test_a_connection_attaching_behind_the_stream_is_backfilled_without_repeats() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    early = Client()
    await hub.attach(early.conn, ROOM, 0)
    await _publish(broker, log, 1, 2, 3)
    await _settle()
    late = Client()
    await hub.attach(late.conn, ROOM, 1)  # its snapshot said seq 1
    await _publish(broker, log, 4, 5)
    await _settle()
    assert early.received == [1, 2, 3, 4, 5]
    assert late.received == [2, 3, 4, 5]
    await hub.close()
    await broker.close()


async def test_a_connection_attaching_ahead_skips_what_it_already_has() -> None:
    log = EventLog()
    hub, broker = await _hub(log, gap_wait=1.0)
    first = Client()
    await hub.attach(first.conn, ROOM, 0)
    for seq in (1, 2, 3):
        log.commit(seq)
    ahead = Client()
    await hub.attach(ahead.conn, ROOM, 3)  # read seq 3 from the store before 1..3 arrived
    await _publish(broker, log, 1, 2, 3, 4)
    await _settle()
    assert first.received == [1, 2, 3, 4]
    assert ahead.received == [4]
    await hub.close()
    await broker.close()


async def test_a_new_feed_catches_up_on_events_committed_before_it_subscribed() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    log.commit(1)
    log.commit(2)
    client = Client()
    await hub.attach(client.conn, ROOM, 1)  # snapshot said 1; 2 was published to nobody
    await _settle()
    assert client.received == [2]
    await hub.close()
    await broker.close()


async def test_a_stalled_client_is_closed_and_others_keep_receiving() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    stalled = Client(limit=200, stalled=True)
    healthy = Client()
    await hub.attach(stalled.conn, ROOM, 0)
    await hub.attach(healthy.conn, ROOM, 0)
    await _publish(broker, log, *range(1, 21))
    await _settle()
    assert stalled.closed_with == 4008
    assert healthy.received == list(range(1, 21))
    await hub.close()
    await broker.close()


async def test_after_a_broker_reset_the_feed_is_compared_with_the_store() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    client = Client()
    await hub.attach(client.conn, ROOM, 0)
    await _publish(broker, log, 1)
    log.commit(2)
    log.commit(3)  # both lost while the broker was away; nothing follows them
    await asyncio.sleep(0.05)
    hub.on_reset()
    await _settle()
    assert client.received == [1, 2, 3]
    await hub.close()
    await broker.close()


async def test_presence_reaches_each_room_mate_once_and_never_its_subject() -> None:
    log = EventLog()
    hub, broker = await _hub(log)
    mate, subject = Client(user_id=1), Client(user_id=2)
    for client in (mate, subject):
        await hub.add_connection(client.conn)
        await hub.attach(client.conn, ROOM, 0)
    other_room = ROOM + 1
    await hub.attach(mate.conn, other_room, 0)
    frame = json.dumps(
        {"op": "event", "type": "presence", "user": {"id": 2}, "status": "online", "at": 1},
        separators=(",", ":"),  # compact, as the server encodes it
    ).encode()
    for room in (ROOM, other_room):  # announced in every room the two share
        await broker.publish(room_channel(room), pack(0, frame))
    await _settle()
    assert [e["status"] for e in mate.unsequenced] == ["online"]
    assert subject.unsequenced == []
    await hub.close()
    await broker.close()
