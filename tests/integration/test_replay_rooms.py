"""The replays a `hello` sends for all of a user's rooms at once are, room by room, exactly
the replays `sync` gives one room at a time: same frames, same order, same resets."""

from __future__ import annotations

import pytest

from chatserver.app import build_services
from chatserver.broker.memory import MemoryBroker
from chatserver.domain.errors import NotMember
from chatserver.domain.models import Room, User, now_ms
from chatserver.protocol.requests import NewRoom
from chatserver.services.container import Services
from chatserver.services.sync import MAX_REPLAY_EVENTS
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database


@pytest.fixture
def services(db: Database) -> Services:
    built, _hub = build_services(Settings(database_url=db.url), db, MemoryBroker())
    return built


async def _user(db: Database, name: str) -> User:
    async with db.write() as conn:
        return await account_store.create_user(
            conn, username=name, display_name=name, password_hash="x", role="mentor", now=now_ms()
        )


async def _room(services: Services, owner: User, slug: str) -> Room:
    return await services.rooms.create(owner, NewRoom(slug=slug, name=slug, kind="topic"))


async def test_batched_replays_match_one_room_replays(db: Database, services: Services) -> None:
    me, other = await _user(db, "me"), await _user(db, "other")
    quiet, busy, far, ahead = [await _room(services, other, s) for s in ("qq", "bb", "ff", "aa")]
    for room in (quiet, busy, far, ahead):
        await services.rooms.join(me, room.id)
    old = [await services.messages.send(other, busy.id, f"old {i} @me") for i in range(4)]
    await services.reactions.react(me, old[0].id, "👍")
    seen = (await services.rooms.get(me, busy.id))[0].last_seq
    # After `seen`: new messages, and changes to older ones (edit, delete, reaction).
    for i in range(3):
        await services.messages.send(other, busy.id, f"new {i}")
    await services.messages.edit(other, old[1].id, "old 1, edited")
    await services.messages.delete(other, old[2].id)
    await services.reactions.react(other, old[0].id, "🎉")
    await services.reactions.react(me, old[3].id, "👍")
    far_start = (await services.rooms.get(me, far.id))[0].last_seq
    for i in range(MAX_REPLAY_EVENTS + 1):
        await services.messages.send(other, far.id, f"far {i}")
    quiet_seq = (await services.rooms.get(me, quiet.id))[0].last_seq
    since = {quiet.id: quiet_seq, busy.id: seen, far.id: far_start, ahead.id: 10_000}

    batched = await services.sync.replay_rooms(me, since)
    one_by_one = {r: await services.sync.replay(me, r, s) for r, s in since.items()}

    assert batched == one_by_one
    assert len(batched[busy.id].frames) == 3 + 4 + 1  # 3 new, 4 changed, room.synced
    assert b'"reset":true' in batched[far.id].frames[0]
    assert b'"reset":true' in batched[ahead.id].frames[0]
    assert batched[quiet.id].frames == one_by_one[quiet.id].frames
    assert len(batched[quiet.id].frames) == 1


async def test_a_room_the_user_is_not_in_is_refused(db: Database, services: Services) -> None:
    me, other = await _user(db, "me"), await _user(db, "other")
    mine, theirs = await _room(services, other, "mine"), await _room(services, other, "theirs")
    await services.rooms.join(me, mine.id)
    with pytest.raises(NotMember):
        await services.sync.replay_rooms(me, {mine.id: 0, theirs.id: 0})
