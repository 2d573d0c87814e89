"""Pins and moderator deletes: who may, the 50-pin limit, what open sockets see, and what a
client that was away gets back in its replay."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug
from tests.support.clients import name, next_update, status_of, uid
from tests.support.rooms import room_with
from tests.support.server import ServerProcess

pytestmark = pytest.mark.usefixtures("first_account_taken")


# -- pins --------------------------------------------------------------------------------


async def public_with_a_moderator(
    make_client: ClientFactory, slug: Slug
) -> tuple[ChatClient, ChatClient, ChatClient, Frame, Frame]:
    """Who moderates what: an owner's public room with a plain `student` and a `helper`
    the owner made its moderator, and the owner's private room, which neither is in.
    Returns the owner, the student, the helper, the public and the private room."""
    owner = await make_client("owner")
    student = await make_client("student")
    helper = await make_client("helper")
    public = await owner.create_room(slug("pub"), "Public", "topic")
    private = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    for client in (student, helper):
        await client.join(public["id"])
    await owner.set_room_role(public["id"], uid(helper), "moderator")
    return owner, student, helper, public, private


async def test_a_pin_reaches_open_sockets_as_the_messages_full_state(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    rid = room["id"]
    await member.connect()
    first = await member.post_message(rid, "read the rules")
    second = await member.post_message(rid, "and the schedule")
    await member.react_http(first["id"], "👍")

    await owner.pin(rid, first["id"])  # 204
    event = await next_update(member, rid, first["id"])
    assert event["message"]["pinned"] is True
    assert event["message"]["body"] == "read the rules"
    # The full state: its reactions too (as broadcast, so not `me`).
    assert event["message"]["reactions"] == [{"emoji": "👍", "count": 1, "me": False}]
    assert event["seq"] == first["seq"] + 3  # a sequenced change of its own
    await owner.pin(rid, second["id"])
    await next_update(member, rid, second["id"])
    assert (await member.room(rid))["pinned"] == [first["id"], second["id"]]  # oldest first
    pinned = {m["id"]: m["pinned"] for m in await member.history(rid)}
    assert pinned == {first["id"]: True, second["id"]: True}

    # Idempotent: pinning again changes nothing and announces nothing.
    before = (await owner.room(rid))["last_seq"]
    await owner.pin(rid, first["id"])
    assert (await owner.room(rid))["last_seq"] == before

    await owner.unpin(rid, first["id"])
    event = await next_update(member, rid, first["id"])
    assert event["message"]["pinned"] is False
    await owner.unpin(rid, first["id"])
    assert (await owner.room(rid))["last_seq"] == before + 1
    assert (await member.room(rid))["pinned"] == [second["id"]]


async def test_who_may_pin(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    owner, student, helper, public, private = await public_with_a_moderator(make_client, slug)
    outsider = await make_client("outsider")
    mentor, admin = staff["mentor"], staff["admin"]
    in_public = await student.post_message(public["id"], "pin me")
    in_private = await owner.post_message(private["id"], "secret schedule")

    # Members who do not moderate, and outsiders of a public room: forbidden.
    for client in (student, outsider):
        assert await status_of(client.pin(public["id"], in_public["id"])) == (403, "forbidden")
    # The owner, a room moderator, and staff (a public room needs no membership).
    for client in (owner, helper, mentor, admin):
        await client.unpin(public["id"], in_public["id"])
        await client.pin(public["id"], in_public["id"])
    # A private room does not exist for those outside it, staff included.
    for client in (outsider, mentor, admin):
        assert await status_of(client.pin(private["id"], in_private["id"])) == (404, "not_found")
    await owner.add_member(private["id"], uid(mentor))
    await mentor.pin(private["id"], in_private["id"])  # a mentor who is a member moderates
    # A DM has no moderators, not even its members.
    dm = await student.open_dm(name(outsider))
    in_dm = await outsider.post_message(dm["id"], "hi")
    for client in (student, outsider):
        assert await status_of(client.pin(dm["id"], in_dm["id"])) == (403, "forbidden")

    # Wrong room, unknown or deleted message: 404.
    assert await status_of(owner.pin(private["id"], in_public["id"])) == (404, "not_found")
    assert await status_of(owner.pin(public["id"], 987654321)) == (404, "not_found")
    gone = await student.post_message(public["id"], "soon gone")
    await student.delete_message(gone["id"])
    assert await status_of(owner.pin(public["id"], gone["id"])) == (404, "not_found")


async def test_pins_refuse_bad_input(server: ServerProcess, make_client: ClientFactory) -> None:
    owner = await make_client("owner")
    async with httpx.AsyncClient(base_url=server.base_url) as raw:
        resp = await raw.put("/api/rooms/1/pins/1")
        assert (resp.status_code, resp.json()["error"]["code"]) == (401, "unauthorized")
    for path in ("/api/rooms/abc/pins/1", "/api/rooms/1/pins/0", "/api/rooms/1/pins/1.5"):
        assert await status_of(owner.http("PUT", path)) == (400, "bad_request")


async def test_the_51st_pin_is_refused(make_client: ClientFactory, slug: Slug) -> None:
    owner = await make_client("owner")
    room = await owner.create_room(slug("limit"), "Limit", "topic")
    rid = room["id"]
    sent = [await owner.post_message(rid, f"note {i}") for i in range(51)]
    for message in sent[:50]:
        await owner.pin(rid, message["id"])
    assert await status_of(owner.pin(rid, sent[50]["id"])) == (409, "limit_reached")
    await owner.pin(rid, sent[0]["id"])  # already pinned: still fine at the limit
    pinned = (await owner.room(rid))["pinned"]
    assert pinned == [m["id"] for m in sent[:50]]
    await owner.unpin(rid, sent[0]["id"])
    await owner.pin(rid, sent[50]["id"])
    assert (await owner.room(rid))["pinned"] == [m["id"] for m in sent[1:]]


# -- moderator deletes --------------------------------------------------------------------


async def test_a_moderators_delete_reaches_open_sockets_and_unpins(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, author) = await room_with(make_client, slug, "owner", "author")
    rid = room["id"]
    await author.connect()
    rude = await author.send(rid, "something rude")
    mine = await author.send(rid, "my own")
    await owner.pin(rid, rude["id"])
    await next_update(author, rid, rude["id"])

    await owner.delete_message(rude["id"])
    event = await next_update(author, rid, rude["id"])
    tombstone = event["message"]
    assert (tombstone["deleted"], tombstone["deleted_by"], tombstone["body"]) == (
        True,
        "moderator",
        "",
    )
    assert tombstone["pinned"] is False
    assert (await author.room(rid))["pinned"] == []

    await author.delete(mine["id"])
    event = await next_update(author, rid, mine["id"])
    assert event["message"]["deleted_by"] == "author"
    assert "deleted_by" not in (await author.post_message(rid, "still here"))
    by_id = {m["id"]: m for m in await author.history(rid)}
    assert by_id[rude["id"]]["deleted_by"] == "moderator"
    assert by_id[mine["id"]]["deleted_by"] == "author"


async def test_who_may_delete_others_messages(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    owner, student, helper, public, private = await public_with_a_moderator(make_client, slug)
    mentor, admin = staff["mentor"], staff["admin"]

    async def by_student() -> int:
        return int((await student.post_message(public["id"], "delete me"))["id"])

    assert await status_of(helper.edit_message(await by_student(), "x")) == (403, "forbidden")
    other = await make_client("other")
    await other.join(public["id"])
    assert await status_of(other.delete_message(await by_student())) == (403, "forbidden")
    for client in (owner, helper, mentor, admin):  # staff need no membership in a public room
        await client.delete_message(await by_student())
    in_private = await owner.post_message(private["id"], "members only")
    for client in (mentor, admin):
        assert await status_of(client.delete_message(in_private["id"])) == (404, "not_found")
    await owner.add_member(private["id"], uid(mentor))
    await mentor.delete_message(in_private["id"])

    # In a DM nobody moderates: a mentor in it deletes only their own messages.
    dm = await mentor.open_dm(name(student))
    in_dm = await student.post_message(dm["id"], "between us")
    assert await status_of(mentor.delete_message(in_dm["id"])) == (403, "forbidden")


async def test_a_replay_after_reconnecting_shows_pins_and_tombstones(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    room, (owner, reader) = await room_with(make_client, slug, "owner", "reader")
    rid = room["id"]
    notice = await owner.post_message(rid, "notice")
    spam = await reader.post_message(rid, "spam")
    typo = await reader.post_message(rid, "typo")
    away = ChatClient(reader.base_url, reader.token, reconnect=False)
    try:
        await away.connect()
        seen = away.last_seq[rid]
    finally:
        await away.close()

    await owner.pin(rid, notice["id"])
    await staff["mentor"].delete_message(spam["id"])
    await reader.delete_message(typo["id"])

    back = ChatClient(reader.base_url, reader.token)
    try:
        await back.connect(since={rid: seen})
        replay: list[Frame] = []
        async with asyncio.timeout(10):
            while not replay or replay[-1].get("type") != "room.synced":
                replay.append(await back.next_event(room=rid))
        updated = {f["message"]["id"]: f["message"] for f in replay[:-1]}
        assert [f["type"] for f in replay[:-1]] == ["message.updated"] * 3
        assert updated[notice["id"]]["pinned"] is True
        assert (updated[spam["id"]]["deleted"], updated[spam["id"]]["deleted_by"]) == (
            True,
            "moderator",
        )
        assert updated[typo["id"]]["deleted_by"] == "author"
        assert replay[-1]["seq"] == seen + 3
    finally:
        await back.close()
