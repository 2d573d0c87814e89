"""Every kind of sequenced event survives a lost publication: the log fills the gap.

The broker is a hint; the database is the truth. Each writer goes through one door
(`services/room_events.py`) that stores the broadcast bytes with the seq, so a node
whose broker lost an event delivers that very frame from the log, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chatserver.domain.models import User, iso_ms, now_ms
from chatserver.domain.polls import draft_poll
from chatserver.protocol.events import SEQUENCED_TYPES
from chatserver.protocol.requests import EventChanges, NewEvent, NewRoom, RoomChanges
from chatserver.services.meetups import MeetupService
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


async def _poll(s: Scene, **extra: bool) -> int:
    draft = draft_poll("Lunch?", ["Pizza", "Sushi"], **extra)
    return (await s[0].services.messages.send(s[1], s[3], "", poll=draft)).id


async def _poll_voted(s: Scene) -> object:
    return await s[0].services.polls.vote(s[2], await _poll(s), [2])


async def _poll_vote_changed(s: Scene) -> object:
    poll = await _poll(s, multiple=True)
    await s[0].services.polls.vote(s[2], poll, [1])
    return await s[0].services.polls.vote(s[2], poll, [1, 2])


async def _poll_vote_withdrawn(s: Scene) -> object:
    poll = await _poll(s, anonymous=True)
    await s[0].services.polls.vote(s[2], poll, [1])
    return await s[0].services.polls.vote(s[2], poll, [])


async def _poll_closed(s: Scene) -> object:
    return await s[0].services.polls.close(s[1], await _poll(s))


def _hours_ahead(hours: int) -> str:
    return iso_ms(now_ms() + hours * 3_600_000)


async def _meetup(s: Scene, capacity: int | None = None) -> int:
    spec = MeetupService.spec(
        NewEvent(title="Dinner", starts_at=_hours_ahead(30), place="Rennes", capacity=capacity)
    )
    return (await s[0].services.messages.send(s[1], s[3], "", meetup=spec)).id


async def _meetup_rsvp(s: Scene) -> object:
    return await s[0].services.meetups.rsvp(s[2], await _meetup(s), "going")


async def _meetup_promotion(s: Scene) -> object:
    meetup = await _meetup(s, capacity=1)
    third = await s[0].user("third")
    await s[0].services.rooms.join(third, s[3])
    await s[0].services.meetups.rsvp(s[2], meetup, "going")
    await s[0].services.meetups.rsvp(third, meetup, "going")  # waitlisted
    return await s[0].services.meetups.rsvp(s[2], meetup, "no")  # third moves up


async def _meetup_moved(s: Scene) -> object:
    meetup = await _meetup(s)
    await s[0].services.meetups.rsvp(s[2], meetup, "maybe")
    changes = EventChanges(message=meetup, starts_at=_hours_ahead(50))
    return await s[0].services.meetups.update(s[1], changes)


async def _meetup_cancelled(s: Scene) -> object:
    meetup = await _meetup(s)
    await s[0].services.meetups.rsvp(s[2], meetup, "going")
    return await s[0].services.meetups.cancel(s[1], meetup)


MESSAGE_UPDATES: dict[str, Action] = {
    "poll voted": _poll_voted,
    "poll vote changed": _poll_vote_changed,
    "poll vote withdrawn": _poll_vote_withdrawn,
    "poll closed": _poll_closed,
    "meetup rsvp": _meetup_rsvp,
    "meetup waitlist promotion": _meetup_promotion,
    "meetup moved": _meetup_moved,
    "meetup cancelled": _meetup_cancelled,
}
"""Changes to a message besides its text: each is published as `message.updated`."""


def test_every_sequenced_event_type_is_exercised_here() -> None:
    # A new sequenced event kind must be added to ACTIONS: this is its gap-fill test.
    assert set(ACTIONS) == SEQUENCED_TYPES


@pytest.mark.parametrize("lost", sorted(SEQUENCED_TYPES))
async def test_a_lost_publication_is_filled_from_the_log_in_order(node: Node, lost: str) -> None:
    await _lose_and_fill(node, lost, ACTIONS[lost])


@pytest.mark.parametrize("change", sorted(MESSAGE_UPDATES))
async def test_a_lost_message_update_is_filled_from_the_log_in_order(
    node: Node, change: str
) -> None:
    await _lose_and_fill(node, "message.updated", MESSAGE_UPDATES[change])


async def _lose_and_fill(node: Node, lost: str, action: Action) -> None:
    """Drop the `lost` events `action` publishes; the next event must bring every
    dropped frame back from the log, the very same frames, in order."""
    scene = await _scene(node)
    _, author, reader, room_id, _ = scene
    watcher = await node.watch(reader, room_id)
    node.broker.rule = lambda _channel, event: event.get("type") == lost
    await action(scene)
    dropped = node.broker.dropped
    assert dropped and {e["type"] for e in dropped} == {lost}
    node.broker.rule = None
    # The next event reveals the gap; the hub reads the missing frame from the log.
    last = await node.services.messages.send(author, room_id, "after the loss")
    await watcher.wait_for(lambda: last.seq in watcher.seqs(room_id))
    seqs = watcher.seqs(room_id)
    assert seqs == list(range(seqs[0], last.seq + 1)), "every seq once, in order"
    received = [f for f in watcher.frames if f.get("type") == lost]
    assert received[: len(dropped)] == dropped, "the very frames that were lost"


async def test_a_seq_taken_without_its_event_is_never_committed(node: Node) -> None:
    _, _, _, room_id, _ = await _scene(node)
    room_before, _ = await node.services.rooms.get(await node.user("someone"), room_id)
    with pytest.raises(UnloggedSeq):
        async with node.events.write() as outbox:
            await outbox.next_seq(room_id)
    room_after, _ = await node.services.rooms.get(await node.user("another"), room_id)
    assert room_after.last_seq == room_before.last_seq, "rolled back: no hole in the seqs"
