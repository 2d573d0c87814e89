"""Private rooms stay private from staff too, and leaving a conversation sticks."""

from __future__ import annotations

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Slug
from tests.support.clients import status_of, uid


async def test_a_mentor_outside_a_private_room_cannot_add_herself_or_read_it(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    student = await make_client("student")
    room = await student.create_room(slug("club"), "Club", "topic", visibility="private")
    await student.post_message(room["id"], "our plans")
    mentor = staff["mentor"]
    never_used = room["id"] + 100_000

    # Exactly the answers an unused id gets: nothing tells the room exists.
    for room_id in (room["id"], never_used):
        assert await status_of(mentor.add_member(room_id, uid(mentor))) == (404, "not_found")
        assert await status_of(mentor.history(room_id)) == (404, "not_found")
    assert room["id"] not in [r["id"] for r in await mentor.rooms()]


async def test_an_admin_may_enter_a_private_room_and_its_members_see_it(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    student = await make_client("student")
    room = await student.create_room(slug("club"), "Club", "topic", visibility="private")
    await student.connect()
    admin = staff["admin"]

    await admin.add_member(room["id"], uid(admin))
    joined = await student.next_event("member.joined", room=room["id"])
    assert joined["user"]["id"] == uid(admin)
    assert len(await admin.history(room["id"])) >= 0


async def test_nobody_enters_a_dm_from_outside_not_even_an_admin(
    make_client: ClientFactory, staff: dict[str, ChatClient]
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    assert bob.user is not None
    dm = await alice.open_dm(bob.user["username"])
    admin = staff["admin"]
    assert await status_of(admin.add_member(dm["id"], uid(admin))) == (404, "not_found")
    assert await status_of(admin.history(dm["id"])) == (404, "not_found")


async def test_leaving_a_dm_sticks_when_the_other_person_writes_again(
    make_client: ClientFactory,
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    assert alice.user is not None and bob.user is not None
    dm = await alice.open_dm(bob.user["username"])
    await bob.leave(dm["id"])

    again = await alice.open_dm(bob.user["username"])
    assert again["id"] == dm["id"]
    await alice.post_message(dm["id"], "are you there?")
    assert dm["id"] not in [r["id"] for r in await bob.rooms()]
    assert await status_of(bob.history(dm["id"])) == (404, "not_found")

    # Bob comes back by opening the conversation himself, and finds what was said.
    back = await bob.open_dm(alice.user["username"])
    assert back["id"] == dm["id"]
    assert [m["body"] for m in await bob.history(dm["id"])][-1] == "are you there?"
