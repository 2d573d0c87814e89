"""Racing pins: the 50-pin limit and idempotence hold when moderators pin at the same
moment, on SQLite and on PostgreSQL (where the room's row lock orders them)."""

from __future__ import annotations

import asyncio

from chatserver.domain.errors import LimitReached
from chatserver.protocol.requests import NewRoom
from chatserver.store.messages import MAX_PINS
from tests.integration.conftest import World


async def test_racing_pins_stop_at_the_limit_and_announce_each_change_once(world: World) -> None:
    s = world.s
    owner = await world.user("owner")
    room = await s.rooms.create(owner, NewRoom(slug="race", name="Race", kind="topic"))
    sent = [await s.messages.send(owner, room.id, f"note {i}") for i in range(MAX_PINS + 10)]
    for message in sent[: MAX_PINS - 5]:
        await s.pins.pin(owner, room.id, message.id)
    before = (await s.rooms.get(owner, room.id))[0].last_seq

    racing = [s.pins.pin(owner, room.id, m.id) for m in sent[MAX_PINS - 5 :]]
    racing += [s.pins.pin(owner, room.id, sent[0].id) for _ in range(5)]  # already pinned
    outcomes = await asyncio.gather(*racing, return_exceptions=True)

    assert all(o is None or isinstance(o, LimitReached) for o in outcomes), outcomes
    assert sum(isinstance(o, LimitReached) for o in outcomes) == 10
    after, _ = await s.rooms.get(owner, room.id)
    assert len(after.pinned) == MAX_PINS
    assert after.last_seq == before + 5, "one seq per pin that changed something"
    assert after.pinned[: MAX_PINS - 5] == tuple(m.id for m in sent[: MAX_PINS - 5])
