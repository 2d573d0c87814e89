"""Every kind of sequenced event survives a lost publication: the log fills the gap.

The broker is a hint; the database is the truth. Each writer goes through one door
(`services/room_events.py`) that stores the broadcast bytes with the seq, so a node
whose broker lost an event delivers that very frame from the log, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chatserver.domain.models import User
from chatserver.protocol.events import SEQUENCED_TYPES
from chatserver.protocol.requests import NewRoom, RoomChanges
from chatserver.services.room_events import UnloggedSeq
from tests.support.inprocess import Node

Scene = tuple[Node, User, User, int, int]
"""(node, author, watcher's user, room id, a message id to act on)."""


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    started = await Node.start(tmp_path)
    yield started
    await started.close()


async def _scene(node: Node) -> Scene:
    author = await node.user("author")
    reader = await node.user("reader")
    room = await node.services.rooms.create(
        author, NewRoom(slug="lossy", name="Lossy", kind="topic")
    )
    await node.services.rooms.join(reader, room.id)
    first = await node.services.messages.send(author, room.id, "first")
    return node, author, reader, room.id, first.id


Action = Callable[[Scene], Awaitable[object]]


async def _created(s: Scene) -> object:
    return await s[0].services.messages.send(s[1], s[3], "hello")


async def _updated(s: Scene) -> object:
    return await s[0].services.messages.edit(s[1], s[4], "edited")


async def _reaction_added(s: Scene) -> object:
    return await s[0].services.reactions.react(s[1], s[4], "🎉")


async def _reaction_removed(s: Scene) -> object:
    await s[0].services.reactions.react(s[1], s[4], "🎉")
    return await s[0].services.reactions.unreact(s[1], s[4], "🎉")


async def _member_joined(s: Scene) -> object:
    newcomer = await s[0].user("newcomer")
    return await s[0].services.rooms.join(newcomer, s[3])


async def _member_left(s: Scene) -> object:
    leaver = await s[0].user("leaver")
    await s[0].services.rooms.join(leaver, s[3])
    await s[0].services.rooms.leave(leaver, s[3])
    return leaver


async def _room_updated(s: Scene) -> object:
    return await s[0].services.rooms.update_settings(
        s[1], RoomChanges(room=s[3], topic="now with a topic", slow_mode=5)
    )


ACTIONS: dict[str, Action] = {
    "message.created": _created,
    "message.updated": _updated,
    "reaction.added": _reaction_added,
    "reaction.removed": _reaction_removed,
    "member.joined": _member_joined,
    "member.left": _member_left,
    "room.updated": _room_updated,
}


def test_every_sequenced_event_type_is_exercised_here() -> None:
    # A new sequenced event kind must be added to ACTIONS: this is its gap-fill test.
    assert set(ACTIONS) == SEQUENCED_TYPES


@pytest.mark.parametrize("lost", sorted(SEQUENCED_TYPES))
async def test_a_lost_publication_is_filled_from_the_log_in_order(node: Node, lost: str) -> None:
    scene = await _scene(node)
    _, author, reader, room_id, _ = scene
    watcher = await node.watch(reader, room_id)
    node.broker.rule = lambda _channel, event: event.get("type") == lost
    await ACTIONS[lost](scene)
    assert [e["type"] for e in node.broker.dropped] == [lost]
    node.broker.rule = None
    # The next event reveals the gap; the hub reads the missing frame from the log.
    last = await node.services.messages.send(author, room_id, "after the loss")
    await watcher.wait_for(lambda: last.seq in watcher.seqs(room_id))
    seqs = watcher.seqs(room_id)
    assert seqs == list(range(seqs[0], last.seq + 1)), "every seq once, in order"
    received = [f for f in watcher.frames if f.get("type") == lost]
    assert received and received[0] == node.broker.dropped[0], "the very frame that was lost"


async def test_a_seq_taken_without_its_event_is_never_committed(node: Node) -> None:
    _, _, _, room_id, _ = await _scene(node)
    room_before, _ = await node.services.rooms.get(await node.user("someone"), room_id)
    with pytest.raises(UnloggedSeq):
        async with node.events.write() as outbox:
            await outbox.next_seq(room_id)
    room_after, _ = await node.services.rooms.get(await node.user("another"), room_id)
    assert room_after.last_seq == room_before.last_seq, "rolled back: no hole in the seqs"
