"""Rooms: who may create what, the directory, private rooms' invisibility, join, leave, add."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, Slug
from tests.support.clients import refused
from tests.support.server import ServerProcess

pytestmark = pytest.mark.usefixtures("first_account_taken")

ROOM_FIELDS = {"id", "slug", "name", "kind", "visibility", "topic", "member_count", "last_seq"}


# -- creation -------------------------------------------------------------------------


async def test_students_create_public_topic_rooms_and_are_their_first_member(
    make_client: ClientFactory, slug: Slug
) -> None:
    student = await make_client("student")
    assert student.user["role"] == "student"  # type: ignore[index]
    room = await student.create_room(slug("topic"), "  Rust  ", "topic", topic="ownership")
    assert set(room) >= ROOM_FIELDS
    assert room["name"] == "Rust"
    assert (room["kind"], room["visibility"], room["topic"]) == ("topic", "public", "ownership")
    assert room["member_count"] == 1
    assert room["last_seq"] >= 1  # the creator's member.joined took a seq
    private = await student.create_room(slug("secret"), "Secret", "topic", visibility="private")
    assert private["visibility"] == "private"


@pytest.mark.parametrize("kind", ["cohort", "region"])
async def test_students_may_not_create_cohort_or_region_rooms(
    make_client: ClientFactory, slug: Slug, kind: str
) -> None:
    student = await make_client("student")
    name = slug(kind)
    error = await refused(student.create_room(name, "Nope", kind))
    assert (error.status, error.code) == (403, "forbidden")
    assert not await student.rooms(q=name)


async def test_mentors_and_admins_create_every_kind_but_dm(
    staff: dict[str, ChatClient], slug: Slug
) -> None:
    for role, client in staff.items():
        cohort = await client.create_room(slug(f"{role}-c"), "Cohort 7", "cohort")
        region = await client.create_room(slug(f"{role}-r"), "Lyon", "region")
        hidden = await client.create_room(slug(f"{role}-h"), "Lyon staff", "region", "private")
        topic = await client.create_room(slug(f"{role}-t"), "Python", "topic")
        assert (cohort["kind"], cohort["visibility"]) == ("cohort", "private")
        assert (region["kind"], region["visibility"]) == ("region", "public")
        assert (hidden["kind"], hidden["visibility"]) == ("region", "private")
        assert (topic["kind"], topic["visibility"]) == ("topic", "public")
        error = await refused(client.create_room(slug(f"{role}-d"), "DM", "dm"))
        assert (error.status, error.code) == (400, "bad_request")


async def test_a_cohort_room_is_never_public(staff: dict[str, ChatClient], slug: Slug) -> None:
    mentor = staff["mentor"]
    try:
        room = await mentor.create_room(slug("cohort"), "Cohort 8", "cohort", "public")
    except ApiError as error:
        assert error.code == "bad_request"
    else:
        assert room["visibility"] == "private"


@pytest.mark.parametrize(
    "bad_slug", ["a", "x" * 33, "Upper", "has space", "under_score", "café", "", 17, None]
)
async def test_invalid_slugs_are_refused(make_client: ClientFactory, bad_slug: object) -> None:
    student = await make_client("student")
    error = await refused(
        student.http("POST", "/api/rooms", json={"slug": bad_slug, "name": "Room", "kind": "topic"})
    )
    assert (error.status, error.code) == (400, "bad_request")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "topic"},
        {"kind": "lounge", "name": "Lounge"},
        {"kind": "topic", "name": ""},
        {"kind": "topic", "name": "Room", "visibility": "secret"},
    ],
)
async def test_invalid_room_fields_are_refused(
    make_client: ClientFactory, slug: Slug, body: dict[str, object]
) -> None:
    student = await make_client("student")
    error = await refused(student.http("POST", "/api/rooms", json={"slug": slug("x"), **body}))
    assert (error.status, error.code) == (400, "bad_request")


async def test_a_taken_slug_is_a_conflict(make_client: ClientFactory, slug: Slug) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    taken = slug("taken")
    await alice.create_room(taken, "First", "topic")
    error = await refused(bob.create_room(taken, "Second", "topic"))
    assert (error.status, error.code) == (409, "conflict")
    error = await refused(alice.create_room(taken, "Again", "topic", visibility="private"))
    assert error.code == "conflict"


# -- the directory and reading one room -----------------------------------------------


async def test_directory_shows_public_rooms_and_the_callers_private_rooms_only(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    student = await make_client("student")
    outsider = await make_client("outsider")
    mark = uuid.uuid4().hex[:8]
    public_topic = await mentor.create_room(slug(f"t{mark}"), f"Chess {mark}", "topic")
    public_region = await mentor.create_room(slug(f"r{mark}"), f"Lyon {mark}", "region")
    private_region = await mentor.create_room(
        slug(f"p{mark}"), f"Lyon staff {mark}", "region", "private"
    )
    cohort = await mentor.create_room(slug(f"c{mark}"), f"Cohort {mark}", "cohort")
    await mentor.add_member(cohort["id"], student.user["id"])  # type: ignore[index]
    mine = await outsider.create_room(slug(f"o{mark}"), f"Mine {mark}", "topic", "private")

    def ids(rooms: list[dict[str, Any]]) -> set[int]:
        return {room["id"] for room in rooms}

    everything = {public_topic["id"], public_region["id"], private_region["id"], cohort["id"]}
    assert ids(await mentor.rooms(q=mark)) == everything
    assert ids(await student.rooms(q=mark)) == {
        public_topic["id"],
        public_region["id"],
        cohort["id"],
    }
    assert ids(await outsider.rooms(q=mark)) == {
        public_topic["id"],
        public_region["id"],
        mine["id"],
    }
    assert ids(await student.rooms(kind="region", q=mark)) == {public_region["id"]}
    assert ids(await student.rooms(kind="cohort", q=mark)) == {cohort["id"]}
    assert ids(await mentor.rooms(kind="region", q=mark)) == {
        public_region["id"],
        private_region["id"],
    }
    # q matches names case-insensitively, and slugs.
    assert ids(await student.rooms(q=f"CHESS {mark}")) == {public_topic["id"]}
    assert ids(await student.rooms(q=public_region["slug"])) == {public_region["id"]}
    for room in await student.rooms(q=mark):
        assert set(room) >= ROOM_FIELDS

    # Without q, the caller's private rooms are listed and others' never are.
    listed = ids(await outsider.rooms())
    assert mine["id"] in listed
    assert not listed & {private_region["id"], cohort["id"]}

    error = await refused(student.rooms(kind="lounge"))
    assert error.code == "bad_request"


async def test_a_private_room_does_not_exist_for_non_members(
    server: ServerProcess, make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    outsider = await make_client("outsider")
    secret = await owner.create_room(slug("secret"), "Secret", "topic", visibility="private")
    public = await owner.create_room(slug("public"), "Public", "topic")

    assert (await owner.room(secret["id"]))["id"] == secret["id"]
    seen = await outsider.room(public["id"])
    assert set(seen) >= ROOM_FIELDS
    assert seen["member_count"] == 1

    headers = {"Authorization": f"Bearer {outsider.token}"}
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        hidden = await api.get(f"/api/rooms/{secret['id']}", headers=headers)
        missing = await api.get("/api/rooms/987654321", headers=headers)
        for resp in (hidden, missing):
            assert resp.status_code == 404
            assert resp.json()["error"]["code"] == "not_found"
        assert hidden.json() == missing.json()
        for path in ("join", "leave"):
            hidden = await api.post(f"/api/rooms/{secret['id']}/{path}", headers=headers)
            missing = await api.post(f"/api/rooms/987654321/{path}", headers=headers)
            assert hidden.status_code == missing.status_code == 404
            assert hidden.json() == missing.json()


# -- joining and leaving --------------------------------------------------------------


async def test_joining_a_public_room_counts_the_member_and_tells_the_room(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("join"), "Join", "topic")
    await alice.connect()

    joined = await bob.join(room["id"])
    assert joined["member_count"] == 2
    assert joined["last_seq"] == room["last_seq"] + 1
    event = await alice.next_event("member.joined", room=room["id"])
    assert event["seq"] == room["last_seq"] + 1
    assert event["user"]["id"] == bob.user["id"]  # type: ignore[index]
    assert event["user"]["username"] == bob.user["username"]  # type: ignore[index]

    again = await bob.join(room["id"])  # joining twice changes nothing
    assert again["member_count"] == 2
    assert again["last_seq"] == joined["last_seq"]
    assert (await alice.room(room["id"]))["member_count"] == 2


async def test_private_rooms_cannot_be_joined(make_client: ClientFactory, slug: Slug) -> None:
    owner = await make_client("owner")
    outsider = await make_client("outsider")
    secret = await owner.create_room(slug("secret"), "Secret", "topic", visibility="private")
    error = await refused(outsider.join(secret["id"]))
    assert (error.status, error.code) == (404, "not_found")
    assert (await owner.room(secret["id"]))["member_count"] == 1


async def test_leaving_stops_live_events_and_sending(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("leave"), "Leave", "topic")
    other = await alice.create_room(slug("stay"), "Stay", "topic")
    await bob.join(room["id"])
    await bob.join(other["id"])
    await alice.connect()
    await bob.connect()

    assert await bob.http("POST", f"/api/rooms/{room['id']}/leave") is None  # 204
    left = await alice.next_event("member.left", room=room["id"])
    assert left["user"]["id"] == bob.user["id"]  # type: ignore[index]
    assert (await alice.room(room["id"]))["member_count"] == 1

    await alice.send(room["id"], "bob should not see this")
    await alice.send(other["id"], "but this one")
    removed = await bob.next_event("room.removed")
    assert removed["room"]["id"] == room["id"]
    assert set(removed["room"]) >= ROOM_FIELDS
    seen = await bob.next_event("message.created", room=other["id"])
    assert seen["message"]["body"] == "but this one"
    assert not [frame for frame in bob.drain_events() if frame.get("room") == room["id"]]
    error = await refused(bob.send(room["id"], "let me back in"))
    assert error.code == "not_member"
    error = await refused(bob.post_message(room["id"], "over HTTP"))
    assert (error.status, error.code) == (403, "not_member")
    # room.removed (a Room) tells bob's other devices to drop it.
    reconnected = ChatClient(bob.base_url, bob.token)
    try:
        ready = await reconnected.connect()
        assert room["id"] not in {r["id"] for r in ready["rooms"]}
    finally:
        await reconnected.close()


# -- adding members to private rooms --------------------------------------------------


async def test_an_added_member_is_told_and_gets_live_events_without_reconnecting(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    newcomer = await make_client("newcomer")
    secret = await owner.create_room(slug("secret"), "Secret", "topic", visibility="private")
    await newcomer.connect()
    await owner.connect()

    await owner.add_member(secret["id"], newcomer.user["id"])  # type: ignore[index]
    added = await newcomer.next_event("room.added")
    assert added["room"]["id"] == secret["id"]
    assert set(added["room"]) >= ROOM_FIELDS
    joined = await owner.next_event("member.joined", room=secret["id"])
    assert joined["user"]["id"] == newcomer.user["id"]  # type: ignore[index]

    sent = await owner.send(secret["id"], "welcome!")
    event = await newcomer.next_event("message.created", room=secret["id"])
    assert event["message"]["id"] == sent["id"]
    assert event["seq"] == sent["seq"]
    reply = await newcomer.send(secret["id"], "thanks")
    assert reply["seq"] == sent["seq"] + 1
    assert (await newcomer.room(secret["id"]))["member_count"] == 2


async def test_who_may_add_members_to_a_private_room(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    creator = await make_client("creator")
    member = await make_client("member")
    later = await make_client("later")
    outsider = await make_client("outsider")
    room = await creator.create_room(slug("club"), "Club", "topic", visibility="private")

    await creator.add_member(room["id"], member.user["id"])  # type: ignore[index]
    # A student who is a member but not the creator may not add people...
    error = await refused(member.add_member(room["id"], later.user["id"]))  # type: ignore[index]
    assert (error.status, error.code) == (403, "forbidden")
    # ...and for a student outside it, the room does not exist.
    error = await refused(outsider.add_member(room["id"], later.user["id"]))  # type: ignore[index]
    assert (error.status, error.code) == (404, "not_found")

    # Mentors and admins in the room may.
    for role, client in staff.items():
        await creator.add_member(room["id"], client.user["id"])  # type: ignore[index]
        target = await make_client(f"by-{role}")
        await client.add_member(room["id"], target.user["id"])  # type: ignore[index]
        assert (await target.room(room["id"]))["id"] == room["id"]

    before = (await creator.room(room["id"]))["member_count"]
    await creator.add_member(room["id"], member.user["id"])  # type: ignore[index]
    assert (await creator.room(room["id"]))["member_count"] == before  # already in: no change
    error = await refused(creator.add_member(room["id"], 987654321))
    assert error.code == "not_found"
    error = await refused(creator.http("POST", f"/api/rooms/{room['id']}/members", json={}))
    assert error.code == "bad_request"


async def test_mentors_add_students_to_their_cohort(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    student = await make_client("student")
    cohort = await mentor.create_room(slug("cohort"), "Cohort 9", "cohort")
    error = await refused(student.room(cohort["id"]))
    assert error.code == "not_found"
    await mentor.add_member(cohort["id"], student.user["id"])  # type: ignore[index]
    seen = await student.room(cohort["id"])
    assert (seen["visibility"], seen["member_count"]) == ("private", 2)
    ready = await student.connect()
    assert cohort["id"] in {room["id"] for room in ready["rooms"]}
