"""Room settings over real sockets: who may change them, room.updated, announcement and
archived rooms, slow mode on both transports and across restarts and nodes, @room/@here,
and the admins' view of every room."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug, topic_room
from tests.support.clients import name, refused, uid
from tests.support.rooms import connected_room, public_and_private, room_with
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def founded(staff_tokens: dict[str, str]) -> None:
    """The staff accounts come first, so no student here is the server's first (admin)."""


# -- changing settings -----------------------------------------------------------------


async def test_a_moderator_changes_the_settings_and_members_see_room_updated(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    assert (room["posting"], room["slow_mode"], room["archived"]) == ("everyone", 0, False)
    assert (room["guests_allowed"], room["pinned"]) == (False, [])
    await member.connect()

    changed = await owner.update_room(
        room["id"], name="Workshop", topic="Fridays", posting="moderators", slow_mode=30
    )
    assert (changed["name"], changed["topic"]) == ("Workshop", "Fridays")
    assert (changed["posting"], changed["slow_mode"]) == ("moderators", 30)

    event = await member.next_event("room.updated")
    assert event["room"]["id"] == room["id"]
    assert (event["room"]["name"], event["room"]["posting"], event["room"]["slow_mode"]) == (
        "Workshop",
        "moderators",
        30,
    )
    assert event["seq"] == event["room"]["last_seq"] == changed["last_seq"]
    assert member.last_seq[room["id"]] == event["seq"], "the SDK tracks it like any seq"
    seen = await member.room(room["id"])
    assert (seen["topic"], seen["posting"], seen["slow_mode"]) == ("Fridays", "moderators", 30)

    # Clearing the topic, and a change to nothing new, which announces nothing.
    cleared = await owner.update_room(room["id"], clear_topic=True)
    assert cleared["topic"] is None
    await member.next_event("room.updated")
    same = await owner.update_room(room["id"], name="Workshop")
    assert same["last_seq"] == cleared["last_seq"]

    entries = await owner.room_audit(room["id"])
    updates = [e for e in entries if e["action"] == "room.update"]
    assert [e["details"] for e in updates] == [
        {"topic": None},
        {"name": "Workshop", "topic": "Fridays", "posting": "moderators", "slow_mode": 30},
    ]
    assert updates[0]["actor"]["id"] == uid(owner) and updates[0]["room"] == room["id"]


async def test_who_may_change_a_rooms_settings(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    owner, member, outsider, public, private = await public_and_private(make_client, slug)

    # A plain member of either, and a student outside the public one: forbidden.
    for client, room in ((member, public), (member, private), (outsider, public)):
        error = await refused(client.update_room(room["id"], slow_mode=10))
        assert (error.status, error.code) == (403, "forbidden")
    # A private room does not exist for those outside it: staff included.
    for client in (outsider, mentor, admin):
        error = await refused(client.update_room(private["id"], slow_mode=10))
        assert (error.status, error.code) == (404, "not_found")
    # Staff moderate public rooms without joining them, and private ones they are in.
    assert (await mentor.update_room(public["id"], slow_mode=5))["slow_mode"] == 5
    assert (await admin.update_room(public["id"], slow_mode=6))["slow_mode"] == 6
    await owner.add_member(private["id"], uid(mentor))
    assert (await mentor.update_room(private["id"], slow_mode=7))["slow_mode"] == 7
    # So does a member the owner made a moderator.
    await owner.set_room_role(public["id"], uid(member), "moderator")
    assert (await member.update_room(public["id"], slow_mode=8))["slow_mode"] == 8

    async with httpx.AsyncClient(base_url=owner.base_url) as anonymous:
        resp = await anonymous.patch(f"/api/rooms/{public['id']}", json={"slow_mode": 1})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    error = await refused(owner.update_room(987654321, slow_mode=1))
    assert (error.status, error.code) == (404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"slow_mode": "600"},
        {"slow_mode": -1},
        {"slow_mode": 21_601},
        {"slow_mode": 1.5},
        {"slow_mode": True},
        {"posting": "all"},
        {"posting": None},
        {"archived": 1},
        {"archived": "true"},
        {"guests_allowed": "yes"},
        {"name": None},
        {"name": ""},
        {"name": 7},
    ],
)
async def test_wrong_types_and_values_are_refused_not_coerced(
    make_client: ClientFactory, slug: Slug, body: Frame
) -> None:
    owner = await make_client("owner")
    room = await topic_room(owner, slug)
    error = await refused(owner.http("PATCH", f"/api/rooms/{room['id']}", json=body))
    assert (error.status, error.code) == (400, "bad_request")
    assert (await owner.room(room["id"]))["last_seq"] == room["last_seq"], "nothing changed"


async def test_the_limits_of_slow_mode_are_accepted(make_client: ClientFactory, slug: Slug) -> None:
    owner = await make_client("owner")
    room = await topic_room(owner, slug)
    assert (await owner.update_room(room["id"], slow_mode=21_600))["slow_mode"] == 21_600
    assert (await owner.update_room(room["id"], slow_mode=0))["slow_mode"] == 0


async def test_guests_are_allowed_only_in_public_topic_and_region_rooms(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    topic = await mentor.create_room(slug("topic"), "Topic", "topic")
    region = await mentor.create_room(slug("region"), "Region", "region")
    cohort = await mentor.create_room(slug("cohort"), "Cohort", "cohort")
    hidden = await mentor.create_room(slug("hidden"), "Hidden", "topic", visibility="private")
    for room in (topic, region):
        assert (await mentor.update_room(room["id"], guests_allowed=True))["guests_allowed"]
    for room in (cohort, hidden):
        error = await refused(mentor.update_room(room["id"], guests_allowed=True))
        assert (error.status, error.code) == (400, "bad_request")
        assert (await mentor.update_room(room["id"], guests_allowed=False))[
            "guests_allowed"
        ] is False


# -- announcement and archived rooms -----------------------------------------------------


async def test_an_announcement_room_refuses_others_posts_on_both_transports_but_not_reactions(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await connected_room(make_client, slug)
    await owner.update_room(room["id"], posting="moderators")
    news = await owner.send(room["id"], "The workshop moves to room 4")

    error = await refused(member.send(room["id"], "me too"))
    assert error.code == "forbidden"
    error = await refused(member.post_message(room["id"], "me too"))
    assert (error.status, error.code) == (403, "forbidden")
    error = await refused(member.typing(room["id"]))
    assert error.code == "forbidden"
    assert (await member.react(news["id"], "👍"))[0]["count"] == 1
    assert [m["body"] for m in await member.history(room["id"])][-1] == news["body"]


async def test_an_archived_room_is_read_only_for_everyone_and_leaves_the_directory(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    owner = await make_client("owner", connect=True)
    member = await make_client("member")
    passerby = await make_client("passerby")
    room = await topic_room(owner, slug, member)
    kept = await owner.send(room["id"], "minutes of the last meeting")
    await owner.update_room(room["id"], archived=True)

    for client in (owner, member):
        error = await refused(client.post_message(room["id"], "anyone?"))
        assert (error.status, error.code) == (403, "forbidden")
    assert (await refused(owner.send(room["id"], "anyone?"))).code == "forbidden"
    assert (await refused(owner.react(kept["id"], "👍"))).code == "forbidden"
    assert (await refused(owner.edit(kept["id"], "rewritten"))).code == "forbidden"
    assert (await refused(owner.typing(room["id"]))).code == "forbidden"
    assert [m["body"] for m in await passerby.history(room["id"])] == [kept["body"]]

    # Hidden from the directory, except in the lists of those who are in it.
    q = room["slug"]
    assert room["id"] not in {r["id"] for r in await passerby.rooms(q=q)}
    assert room["id"] in {r["id"] for r in await member.rooms(q=q)}
    assert room["id"] in {r["id"] for r in await staff["admin"].rooms(q=q, all=True)}

    await owner.update_room(room["id"], archived=False)
    assert room["id"] in {r["id"] for r in await passerby.rooms(q=q)}
    await member.post_message(room["id"], "back again")


# -- slow mode ------------------------------------------------------------------------------


async def test_slow_mode_answers_rate_limited_with_retry_after_on_both_transports(
    make_client: ClientFactory, slug: Slug, server: ServerProcess
) -> None:
    room, (owner, member) = await connected_room(make_client, slug)
    await owner.update_room(room["id"], slow_mode=60)

    await member.send(room["id"], "first")
    error = await refused(member.send(room["id"], "second"))
    assert error.code == "rate_limited"
    assert error.retry_after is not None
    # A room setting, not a rate limit: CHAT_RATE_LIMIT_SCALE does not shorten it.
    assert server.env["CHAT_RATE_LIMIT_SCALE"] == "50"
    assert 55 <= error.retry_after <= 60
    error = await refused(member.post_message(room["id"], "third"))
    assert (error.status, error.code) == (429, "rate_limited")
    assert error.retry_after is not None and 55 <= error.retry_after <= 60

    # Moderators are not slowed; a room without slow mode slows nobody.
    await owner.send(room["id"], "one")
    await owner.send(room["id"], "two")
    await owner.update_room(room["id"], slow_mode=0)
    await member.send(room["id"], "free again")
    await member.send(room["id"], "and again")


async def test_slow_mode_waits_from_the_previous_message(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    await owner.update_room(room["id"], slow_mode=1)
    await member.post_message(room["id"], "first")
    error = await refused(member.post_message(room["id"], "too soon"))
    assert error.code == "rate_limited"
    await asyncio.sleep(1.1)
    await member.post_message(room["id"], "in time")


async def test_concurrent_sends_under_slow_mode_let_exactly_one_through(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    await owner.update_room(room["id"], slow_mode=60)
    results = await asyncio.gather(
        *(member.post_message(room["id"], f"burst {i}") for i in range(8)),
        return_exceptions=True,
    )
    sent = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, ApiError)]
    assert len(sent) == 1 and len(refusals) == 7
    assert {r.code for r in refusals} == {"rate_limited"}


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, which it may restart."""
    with ServerProcess(tmp_path) as process:
        yield process


async def test_slow_mode_and_mutes_survive_a_restart(own_server: ServerProcess, slug: Slug) -> None:
    owner = ChatClient(own_server.base_url, reconnect=False)
    member = ChatClient(own_server.base_url, reconnect=False)
    try:
        await owner.register(f"owner{uuid.uuid4().hex[:8]}", PASSWORD)
        await member.register(f"member{uuid.uuid4().hex[:8]}", PASSWORD)
        slow = await topic_room(owner, slug, member)
        quiet = await owner.create_room(slug("quiet"), "Quiet", "topic")
        await member.join(quiet["id"])
        await owner.update_room(slow["id"], slow_mode=600)
        await member.post_message(slow["id"], "before the restart")
        until = await owner.mute(quiet["id"], uid(member), 600)

        own_server.restart()

        error = await refused(member.post_message(slow["id"], "after the restart"))
        assert error.code == "rate_limited" and (error.retry_after or 0) > 500
        error = await refused(member.post_message(quiet["id"], "after the restart"))
        assert (error.code, error.until) == ("muted", until)
    finally:
        await owner.close()
        await member.close()


# -- two nodes -------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.postgres
async def test_slow_mode_mutes_and_settings_hold_across_nodes(
    two_nodes: list[ServerProcess], slug: Slug
) -> None:
    first, second = two_nodes
    clients: list[ChatClient] = []

    async def login(node: ServerProcess, username: str) -> ChatClient:
        client = ChatClient(node.base_url, reconnect=False)
        clients.append(client)
        await client.login(username, PASSWORD)
        return client

    try:
        founder = ChatClient(first.base_url, reconnect=False)
        clients.append(founder)
        await founder.register(f"admin{uuid.uuid4().hex[:8]}", PASSWORD)
        owner = ChatClient(first.base_url, reconnect=False)
        clients.append(owner)
        await owner.register(f"owner{uuid.uuid4().hex[:8]}", PASSWORD)
        here = ChatClient(first.base_url, reconnect=False)
        clients.append(here)
        await here.register(f"member{uuid.uuid4().hex[:8]}", PASSWORD)
        there = await login(second, name(here))
        room = await topic_room(owner, slug, here)
        await there.connect()
        await here.connect()

        # A setting changed on the first node reaches a socket on the second.
        await owner.update_room(room["id"], slow_mode=120)
        event = await there.next_event("room.updated")
        assert event["room"]["slow_mode"] == 120

        # Slow mode: a message through one node, the next through the other.
        await here.send(room["id"], "from the first node")
        error = await refused(there.send(room["id"], "from the second node"))
        assert error.code == "rate_limited" and (error.retry_after or 0) > 100

        # A mute made on the first node holds on the second, for messages and typing.
        await owner.update_room(room["id"], slow_mode=0)
        until = await owner.mute(room["id"], uid(here), 300)
        error = await refused(there.send(room["id"], "muted?"))
        assert (error.code, error.until) == ("muted", until)
        assert (await refused(there.typing(room["id"]))).code == "muted"
        muted = await there.next_event("room.muted")
        assert (muted["room"], muted["until"]) == (room["id"], until)
    finally:
        for client in clients:
            await client.close()


# -- @room and @here -------------------------------------------------------------------------


async def reasons_for(clients: dict[str, ChatClient], message: Frame) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for who, client in clients.items():
        found = [
            n["reason"] for n in await client.notifications() if n["message"]["id"] == message["id"]
        ]
        out[who] = found[0] if found else None
    return out


async def test_a_moderators_at_room_notifies_every_member_with_room_mention(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    quiet = await make_client("quiet")
    friendly = await make_client("friendly")
    silent = await make_client("silent")
    named = await make_client("named")
    room = await topic_room(owner, slug, quiet, friendly, silent, named)
    await friendly.set_notification_settings(default="friends")
    await silent.set_notification_settings(rooms={room["id"]: "none"})
    people = {"quiet": quiet, "friendly": friendly, "silent": silent, "named": named}

    message = await owner.post_message(room["id"], f"@room the bus leaves at 9, @{name(named)}!")
    assert await reasons_for(people, message) == {
        "quiet": "room_mention",
        "friendly": "room_mention",
        "silent": None,  # `none` is never overridden
        "named": "mention",  # a mention is stronger
    }

    # From a member who is not a moderator, @room is plain text.
    plain = await quiet.post_message(room["id"], "@room anyone for lunch?")
    assert set((await reasons_for({"friendly": friendly, "named": named}, plain)).values()) == {
        None
    }


async def until_online(viewer: ChatClient, room_id: int, user_id: int) -> None:
    """Wait until the room's member list shows the user connected (presence is noted
    just after the socket's `ready`)."""
    async with asyncio.timeout(5):
        while True:
            members = {m["id"]: m for m in await viewer.members(room_id)}
            if members[user_id]["online"]:
                return
            await asyncio.sleep(0.05)


async def test_at_here_notifies_the_members_who_are_online(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    online = await make_client("online")
    away = await make_client("away")
    room = await mentor.create_room(slug("here"), "Here", "topic")
    await online.join(room["id"])
    await away.join(room["id"])
    await online.connect()
    await until_online(mentor, room["id"], uid(online))
    message = await mentor.post_message(room["id"], "@here quick poll: pizza?")
    pushed = await online.next_event("notification")
    assert pushed["notification"]["reason"] == "room_mention"
    assert await reasons_for({"online": online, "away": away}, message) == {
        "online": "room_mention",
        "away": None,
    }


# -- the admins' door --------------------------------------------------------------------------


async def test_admins_list_every_room_but_dms_with_all_true(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    admin = staff["admin"]
    student = await make_client("student")
    other = await make_client("other")
    private = await student.create_room(slug("priv"), "Private", "topic", visibility="private")
    dm = await student.open_dm(name(other))
    listed = {r["id"]: r for r in await admin.rooms(q=private["slug"], all=True)}
    assert private["id"] in listed and listed[private["id"]]["joined"] is False
    assert dm["id"] not in {r["id"] for r in await admin.rooms(kind="dm", all=True)}
    assert private["id"] not in {r["id"] for r in await admin.rooms(q=private["slug"])}
    error = await refused(student.rooms(all=True))
    assert (error.status, error.code) == (403, "forbidden")
    error = await refused(staff["mentor"].rooms(all=True))
    assert (error.status, error.code) == (403, "forbidden")
