"""Workshop mode over real sockets: who may start and stop it, what it turns on (slow mode,
question mode, guests) and gives back at the end, the summary posted in the room and
served over HTTP, the audit log, and an end that happens once across a restart and
across two nodes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug
from tests.support.clients import status_of
from tests.support.server import ServerProcess

pytestmark = pytest.mark.usefixtures("first_account_taken")

PASSWORD = "correct horse battery"


async def room_update(client: ChatClient, room_id: int, check: Callable[[Frame], bool]) -> Frame:
    """The first `room.updated` of the room whose Room passes `check`."""
    async with asyncio.timeout(10):
        while True:
            event = await client.next_event("room.updated")
            room: Frame = event["room"]
            if room["id"] == room_id and check(room):
                return room


async def test_a_workshop_turns_modes_on_then_gives_the_settings_back_with_a_summary(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    students = [await make_client("student") for _ in range(3)]
    room = await owner.create_room(slug("workshop"), "Workshop", "topic")
    rid = room["id"]
    for student in students:
        await student.join(rid)
    await owner.update_room(rid, slow_mode=5)
    await students[0].connect()

    started = await owner.start_workshop(rid, 3, slow_mode=60, guests=True)
    assert started["workshop"] is not None and started["slow_mode"] == 60
    assert started["guests_allowed"] is True
    seen = await room_update(students[0], rid, lambda r: r["workshop"] is not None)
    assert seen["workshop"] == started["workshop"]
    assert await status_of(owner.start_workshop(rid, 60)) == (409, "conflict")

    # Question mode: messages are questions, replies are not; slow mode holds students.
    first = await students[0].post_message(rid, "what is a monad?")
    assert first["question"]["state"] == "open"
    assert await status_of(students[0].post_message(rid, "and a functor?")) == (
        429,
        "rate_limited",
    )
    second = await students[1].post_message(rid, "why tests?")
    third = await students[2].post_message(rid, "where is the room?")
    reply = await owner.post_message(rid, "a container you can chain", first["id"])
    assert reply["question"] is None
    await students[1].vote(first["id"])
    await students[2].vote(first["id"])
    await students[0].vote(second["id"])
    await owner.answer(first["id"], reply["id"])
    await students[2].delete_message(third["id"])

    ended = await room_update(students[0], rid, lambda r: r["workshop"] is None)
    assert (ended["slow_mode"], ended["guests_allowed"]) == (5, False)
    async with asyncio.timeout(5):
        while True:
            posted = await students[0].next_event("message.created", room=rid)
            if posted["message"]["body"].startswith("Workshop over"):
                break
    assert "2 questions asked, 1 answered, 1 open" in posted["message"]["body"]
    assert owner.user is not None and posted["message"]["author"]["id"] == owner.user["id"]

    summary = await students[1].workshop_summary(rid)
    assert (summary["asked"], summary["answered"], summary["open"]) == (2, 1, 1)
    assert [m["id"] for m in summary["top"]] == [first["id"], second["id"]]
    assert summary["top"][0]["question"]["my_vote"] is True  # the reader's own vote
    assert summary["message"] == posted["message"]["id"]
    # After the workshop, messages are plain again.
    assert (await owner.post_message(rid, "thanks all"))["question"] is None
    actions = [e["action"] for e in await owner.room_audit(rid)]
    assert actions.index("workshop.end") < actions.index("workshop.start")  # newest first


async def test_a_moderator_ends_it_early_and_only_moderators_may(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    owner = await make_client("owner")
    student = await make_client("student")
    room = await owner.create_room(slug("early"), "Early", "topic")
    rid = room["id"]
    await student.join(rid)
    assert await status_of(student.start_workshop(rid, 60)) == (403, "forbidden")
    assert await status_of(owner.stop_workshop(rid)) == (404, "not_found")
    assert await status_of(student.workshop_summary(rid)) == (404, "not_found")
    await staff["mentor"].start_workshop(rid, 3600)  # mentors moderate public rooms
    assert await status_of(student.stop_workshop(rid)) == (403, "forbidden")
    await student.post_message(rid, "a question?")
    summary = await owner.stop_workshop(rid)
    assert (summary["asked"], summary["answered"], summary["open"]) == (1, 0, 1)
    assert (await owner.room(rid))["workshop"] is None
    assert (await owner.room(rid))["slow_mode"] == 0
    assert await status_of(owner.stop_workshop(rid)) == (404, "not_found")


async def test_bad_input_and_rooms_that_cannot_hold_one(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    room = await owner.create_room(slug("bad"), "Bad", "topic")
    path = f"/api/rooms/{room['id']}/workshop"
    for body in (
        {},
        {"duration_s": "60"},
        {"duration_s": 0},
        {"duration_s": 86_401},
        {"duration_s": 60, "slow_mode": -1},
        {"duration_s": 60, "slow_mode": "30"},
        {"duration_s": 60, "guests": 1},
    ):
        assert await status_of(owner.http("POST", path, json=body)) == (400, "bad_request"), body
    private = await owner.create_room(slug("private"), "Private", "topic", visibility="private")
    assert await status_of(owner.start_workshop(private["id"], 60, guests=True)) == (
        400,
        "bad_request",
    )
    await owner.update_room(room["id"], archived=True)
    assert await status_of(owner.start_workshop(room["id"], 60)) == (403, "forbidden")
    stranger = await make_client("stranger")
    assert await status_of(stranger.start_workshop(private["id"], 60)) == (404, "not_found")
    anonymous = ChatClient(owner.base_url)
    try:
        assert await status_of(anonymous.start_workshop(room["id"], 60)) == (401, "unauthorized")
    finally:
        await anonymous.close()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, which it may restart."""
    with ServerProcess(tmp_path) as process:
        yield process


async def test_a_workshop_due_while_the_server_was_down_ends_once_after_the_restart(
    own_server: ServerProcess, slug: Slug
) -> None:
    owner = ChatClient(own_server.base_url, reconnect=False)
    try:
        await owner.register(f"owner{uuid.uuid4().hex[:8]}", PASSWORD)
        room = await owner.create_room(slug("restart"), "Restart", "topic")
        await owner.start_workshop(room["id"], 2)
        own_server.stop()
        await asyncio.sleep(2.5)
        own_server.start()
        for _ in range(50):
            if (await owner.room(room["id"]))["workshop"] is None:
                break
            await asyncio.sleep(0.2)
        else:
            pytest.fail("the workshop did not end after the restart")
        summary = await owner.workshop_summary(room["id"])
        assert summary["asked"] == 0
        bodies = [m["body"] for m in await owner.history(room["id"])]
        assert sum(b.startswith("Workshop over") for b in bodies) == 1
    finally:
        await owner.close()


@pytest.mark.redis
@pytest.mark.postgres
async def test_two_nodes_end_a_workshop_once(two_nodes: list[ServerProcess], slug: Slug) -> None:
    first, second = two_nodes
    owner = ChatClient(first.base_url, reconnect=False)
    watcher = ChatClient(second.base_url, reconnect=False)
    try:
        await owner.register(f"owner{uuid.uuid4().hex[:8]}", PASSWORD)
        assert owner.user is not None
        await watcher.login(str(owner.user["username"]), PASSWORD)
        rooms = [await owner.create_room(slug("nodes"), "Nodes", "topic") for _ in range(3)]
        await watcher.connect()
        for room in rooms:
            await owner.start_workshop(room["id"], 2)
        for room in rooms:
            await room_update(watcher, room["id"], lambda r: r["workshop"] is None)
        await asyncio.sleep(2)  # a second end would have been posted by now
        for room in rooms:
            bodies = [m["body"] for m in await owner.history(room["id"])]
            assert sum(b.startswith("Workshop over") for b in bodies) == 1
            ends = [e for e in await owner.room_audit(room["id"]) if e["action"] == "workshop.end"]
            assert len(ends) == 1
    finally:
        await owner.close()
        await watcher.close()
