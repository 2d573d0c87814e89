"""Moderation over real sockets: room roles, adding people (one, or 500 by name), removals,
bans and mutes with their effect on open sockets, the rules that protect admins and
owners, and the audit log, through the API and the command line."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug, topic_room
from tests.support.clients import name, refused, status_of, uid
from tests.support.rooms import connected_room, public_and_private, room_with
from tests.support.server import ServerProcess

ENTRY_KEYS = {
    "id",
    "action",
    "actor",
    "room",
    "target_user",
    "target_message",
    "reason",
    "details",
    "created_at",
}


@pytest.fixture(autouse=True)
def founded(staff_tokens: dict[str, str]) -> None:
    """The staff accounts come first, so no student here is the server's first (admin)."""


async def members_of(viewer: ChatClient, room_id: int) -> dict[int, Frame]:
    return {m["id"]: m for m in await viewer.members(room_id)}


async def actions(viewer: ChatClient, room_id: int) -> list[str]:
    return [e["action"] for e in await viewer.room_audit(room_id)]


# -- room roles ------------------------------------------------------------------------------


async def test_the_creator_owns_the_room_and_gives_room_roles(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    owner = await make_client("owner")
    member = await make_client("member")
    other = await make_client("other")
    room = await topic_room(owner, slug, member, other)
    seats = await members_of(owner, room["id"])
    assert seats[uid(owner)]["room_role"] == "owner"
    assert seats[uid(member)]["room_role"] == "member"
    assert {"online", "muted_until", "role"} <= set(seats[uid(member)])

    promoted = await owner.set_room_role(room["id"], uid(member), "moderator")
    assert (promoted["id"], promoted["room_role"]) == (uid(member), "moderator")
    assert (await members_of(other, room["id"]))[uid(member)]["room_role"] == "moderator"
    assert (await member.room(room["id"]))["room_role"] == "moderator"
    # A moderator moderates but gives no roles; nor do plain members or mentors.
    assert (await member.update_room(room["id"], slow_mode=3))["slow_mode"] == 3
    for client in (member, other, staff["mentor"]):
        assert await status_of(client.set_room_role(room["id"], uid(other), "moderator")) == (
            403,
            "forbidden",
        )
    # Admins do, and the owner's own role does not change.
    await staff["admin"].set_room_role(room["id"], uid(member), "member")
    assert await status_of(staff["admin"].set_room_role(room["id"], uid(owner), "member")) == (
        403,
        "forbidden",
    )

    entries = [e for e in await owner.room_audit(room["id"]) if e["action"] == "member.role"]
    assert [(e["actor"]["id"], e["target_user"]["id"], e["details"]) for e in entries] == [
        (uid(staff["admin"]), uid(member), {"room_role": "member", "previous": "moderator"}),
        (uid(owner), uid(member), {"room_role": "moderator", "previous": "member"}),
    ]


@pytest.mark.parametrize(
    "body", [{"room_role": "owner"}, {"room_role": "boss"}, {"room_role": 1}, {}]
)
async def test_unknown_room_roles_are_refused(
    make_client: ClientFactory, slug: Slug, body: Frame
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    path = f"/api/rooms/{room['id']}/members/{uid(member)}"
    assert await status_of(owner.http("PUT", path, json=body)) == (400, "bad_request")


async def test_room_roles_are_given_to_members_only(make_client: ClientFactory, slug: Slug) -> None:
    owner = await make_client("owner")
    outsider = await make_client("outsider")
    room = await topic_room(owner, slug)
    assert await status_of(owner.set_room_role(room["id"], uid(outsider), "moderator")) == (
        404,
        "not_found",
    )


# -- adding people ------------------------------------------------------------------------


async def test_moderators_add_people_by_name_and_each_joins_visibly(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    cohort = await mentor.create_room(slug("cohort"), "Cohort", "cohort")
    watcher = await make_client("watcher")
    await mentor.add_member(cohort["id"], uid(watcher))
    await watcher.connect()
    ada = await make_client("ada", connect=True)
    bob = await make_client("bob")
    pasted = [
        f"@{name(ada)}",
        name(bob).upper(),
        f"  {name(bob)} ",
        "nobody-by-that-name",
        name(watcher),
    ]

    done = await mentor.add_members(cohort["id"], pasted)
    assert done["added"] == [uid(ada), uid(bob)]
    assert done["already"] == [uid(watcher)]
    assert done["not_found"] == ["nobody-by-that-name"]
    assert done["room"]["member_count"] == 4

    joined = [await watcher.next_event("member.joined", room=cohort["id"]) for _ in range(2)]
    assert [e["user"]["id"] for e in joined] == [uid(ada), uid(bob)]
    assert joined[1]["seq"] == joined[0]["seq"] + 1
    added = await ada.next_event("room.added")
    assert added["room"]["id"] == cohort["id"]
    # The newcomer's open socket follows the room at once.
    hello = await mentor.post_message(cohort["id"], "welcome!")
    assert (await ada.next_event("message.created", room=cohort["id"]))["message"]["id"] == hello[
        "id"
    ]

    again = await mentor.add_members(cohort["id"], [name(ada), name(bob)])
    assert (again["added"], again["already"]) == ([], [uid(ada), uid(bob)])
    adds = [e for e in await mentor.room_audit(cohort["id"]) if e["action"] == "member.add"]
    assert {e["target_user"]["id"] for e in adds} == {uid(watcher), uid(ada), uid(bob)}
    assert all(e["actor"]["id"] == uid(mentor) for e in adds)


async def test_who_may_add_people(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    owner, member, outsider, public, private = await public_and_private(make_client, slug)
    target = await make_client("target")

    assert await status_of(member.add_member(public["id"], uid(target))) == (403, "forbidden")
    assert await status_of(member.add_member(private["id"], uid(target))) == (403, "forbidden")
    assert await status_of(outsider.add_member(private["id"], uid(target))) == (404, "not_found")
    assert await status_of(mentor.add_member(private["id"], uid(target))) == (404, "not_found")
    # Staff moderate public rooms: a mentor adds people there without being in it.
    assert (await mentor.add_member(public["id"], uid(target)))["added"] == [uid(target)]

    # The admins' door: an admin adds themself to a private room, in plain sight.
    await member.connect()
    door = await admin.add_member(private["id"], uid(admin))
    assert door["added"] == [uid(admin)]
    seen = await member.next_event("member.joined", room=private["id"])
    assert seen["user"]["id"] == uid(admin)
    entries = await owner.room_audit(private["id"])
    assert (entries[0]["action"], entries[0]["actor"]["id"], entries[0]["target_user"]["id"]) == (
        "member.add",
        uid(admin),
        uid(admin),
    )

    dm = await owner.open_dm(name(member))
    assert await status_of(owner.add_member(dm["id"], uid(target))) == (403, "forbidden")
    assert await status_of(admin.add_member(dm["id"], uid(admin))) == (404, "not_found")
    assert await status_of(owner.add_member(public["id"], 987654321)) == (404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_id": 5, "usernames": ["x"]},
        {"user_id": "5"},
        {"usernames": "alice"},
        {"usernames": [5]},
        {"usernames": [f"user{i}" for i in range(501)]},
    ],
)
async def test_adding_refuses_bad_input(
    make_client: ClientFactory, slug: Slug, body: Frame
) -> None:
    owner = await make_client("owner")
    room = await topic_room(owner, slug)
    path = f"/api/rooms/{room['id']}/members"
    assert await status_of(owner.http("POST", path, json=body)) == (400, "bad_request")


def seed_accounts(server: ServerProcess, count: int) -> list[str]:
    """Accounts written straight into the server's SQLite database: registering 500 people
    through the API would spend a minute hashing passwords nobody will type."""
    prefix = f"bulk{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i}" for i in range(count)]
    path = server.database_url.split("///", 1)[1]
    with sqlite3.connect(path, timeout=10) as db:
        db.executemany(
            "INSERT INTO users (username, display_name, password_hash, role, created_at_ms) "
            "VALUES (?, ?, '!', 'student', ?)",
            [(n, n, int(time.time() * 1000)) for n in names],
        )
    return names


async def test_five_hundred_usernames_are_added_in_under_a_second(
    server: ServerProcess, staff: dict[str, ChatClient], make_client: ClientFactory, slug: Slug
) -> None:
    mentor = staff["mentor"]
    names = seed_accounts(server, 500)
    cohort = await mentor.create_room(slug("big"), "Big cohort", "cohort")
    watcher = await make_client("watcher")
    await mentor.add_member(cohort["id"], uid(watcher))
    await watcher.connect()

    started = time.perf_counter()
    done = await mentor.add_members(cohort["id"], names)
    elapsed = time.perf_counter() - started
    assert len(done["added"]) == 500 and not done["not_found"]
    assert elapsed < 1.0, f"500 usernames took {elapsed:.2f} s"
    assert done["room"]["member_count"] == 502

    seqs = [(await watcher.next_event("member.joined", room=cohort["id"]))["seq"] for _ in names]
    assert seqs == list(range(seqs[0], seqs[0] + 500)), "one sequenced member.joined each"
    adds = [
        e for e in await mentor.room_audit(cohort["id"], limit=200) if e["action"] == "member.add"
    ]
    assert len(adds) == 200  # a page of them: every one has its entry
    total = (await mentor.room(cohort["id"]))["member_count"]
    assert total == 502


# -- removing ----------------------------------------------------------------------------------


async def test_a_moderator_removes_a_member_whose_socket_gets_room_removed(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await connected_room(make_client, slug)

    await owner.remove_member(room["id"], uid(member), reason="  off topic  ")
    removed = await member.next_event("room.removed")
    assert removed["room"]["id"] == room["id"]
    left = await owner.next_event("member.left", room=room["id"])
    assert (left["user"]["id"], left["by"]["id"], left["reason"]) == (
        uid(member),
        uid(owner),
        "off topic",
    )
    assert left["by"]["role"] == "student"
    assert (await refused(member.send(room["id"], "still here?"))).code == "not_member"
    entry = (await owner.room_audit(room["id"]))[0]
    assert (entry["action"], entry["target_user"]["id"], entry["reason"]) == (
        "member.remove",
        uid(member),
        "off topic",
    )

    # Leaving through the same endpoint: `by` and `reason` are null, nothing is audited.
    await member.join(room["id"])
    await member.remove_member(room["id"], uid(member))
    left = await owner.next_event("member.left", room=room["id"])
    assert (left["user"]["id"], left["by"], left["reason"]) == (uid(member), None, None)
    assert (await owner.room_audit(room["id"]))[0]["action"] == "member.remove"
    assert len([a for a in await actions(owner, room["id"]) if a == "member.remove"]) == 1


async def test_removal_needs_no_body_and_names_a_member(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    async with httpx.AsyncClient(base_url=owner.base_url) as raw:
        headers = {"Authorization": f"Bearer {owner.token}"}
        path = f"/api/rooms/{room['id']}/members/{uid(member)}"
        assert (await raw.delete(path, headers=headers)).status_code == 204
        again = await raw.delete(path, headers=headers)
        assert (again.status_code, again.json()["error"]["code"]) == (404, "not_found")
        anonymous = await raw.delete(path)
        assert anonymous.status_code == 401


async def test_nobody_removes_bans_or_mutes_an_admin_and_only_admins_touch_the_owner(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    owner = await make_client("owner")
    room = await topic_room(owner, slug, admin, mentor)
    for call in (
        owner.remove_member(room["id"], uid(admin)),
        owner.ban(room["id"], uid(admin)),
        owner.mute(room["id"], uid(admin), 60),
        mentor.ban(room["id"], uid(admin)),
        mentor.remove_member(room["id"], uid(owner)),
        mentor.ban(room["id"], uid(owner)),
        mentor.mute(room["id"], uid(owner), 60),
        owner.mute(room["id"], uid(owner), 60),  # nobody mutes themself out of their room
        owner.ban(room["id"], uid(owner)),
    ):
        assert await status_of(call) == (403, "forbidden")
    # An admin may act on the owner.
    await admin.mute(room["id"], uid(owner), 60)
    await admin.unmute(room["id"], uid(owner))
    await admin.remove_member(room["id"], uid(owner), reason="handing over")
    assert uid(owner) not in await members_of(admin, room["id"])


# -- bans --------------------------------------------------------------------------------------


async def test_a_ban_removes_and_keeps_out_until_lifted(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner", connect=True)
    member = await make_client("member")
    stranger = await make_client("stranger")
    room = await topic_room(owner, slug, member)
    await member.connect()

    await owner.ban(room["id"], uid(member), reason="spam")
    assert (await member.next_event("room.removed"))["room"]["id"] == room["id"]
    left = await owner.next_event("member.left", room=room["id"])
    assert (left["by"]["id"], left["reason"]) == (uid(owner), "spam")
    assert await status_of(member.join(room["id"])) == (403, "forbidden")
    assert await status_of(owner.add_member(room["id"], uid(member))) == (403, "forbidden")
    assert await status_of(owner.add_members(room["id"], [name(member)])) == (403, "forbidden")

    # A ban may come first, for someone not in the room yet; a body is optional.
    async with httpx.AsyncClient(base_url=owner.base_url) as raw:
        resp = await raw.put(
            f"/api/rooms/{room['id']}/bans/{uid(stranger)}",
            headers={"Authorization": f"Bearer {owner.token}"},
        )
    assert resp.status_code == 204
    assert await status_of(stranger.join(room["id"])) == (403, "forbidden")

    bans = await owner.bans(room["id"])
    assert [(b["user"]["id"], b["by"]["id"], b["reason"]) for b in bans] == [
        (uid(stranger), uid(owner), None),
        (uid(member), uid(owner), "spam"),
    ]
    assert all(b["created_at"].endswith("Z") for b in bans)

    await owner.unban(room["id"], uid(member))
    await owner.unban(room["id"], uid(member))  # idempotent
    await member.join(room["id"])
    assert [b["user"]["id"] for b in await owner.bans(room["id"])] == [uid(stranger)]
    recent = await actions(owner, room["id"])
    assert recent[:3] == ["member.unban", "member.ban", "member.ban"]


async def test_who_may_ban(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    owner = await make_client("owner")
    member = await make_client("member")
    target = await make_client("target")
    outsider = await make_client("outsider")
    room = await topic_room(owner, slug, member, target)
    private = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    assert await status_of(member.ban(room["id"], uid(target))) == (403, "forbidden")
    assert await status_of(member.bans(room["id"])) == (403, "forbidden")
    assert await status_of(member.unban(room["id"], uid(target))) == (403, "forbidden")
    assert await status_of(outsider.ban(private["id"], uid(target))) == (404, "not_found")
    assert await status_of(staff["mentor"].bans(private["id"])) == (404, "not_found")
    assert await status_of(owner.ban(room["id"], 987654321)) == (404, "not_found")
    # A mentor moderates a public room without being in it.
    await staff["mentor"].ban(room["id"], uid(target), reason="from a mentor")
    assert uid(target) not in await members_of(owner, room["id"])


async def test_a_banned_members_socket_gets_nothing_of_the_room_after_room_removed(
    make_client: ClientFactory, slug: Slug
) -> None:
    """Ordering: the detach reaches every node before the member's `member.left`, so even
    an event another writer committed right after the ban never reaches the socket."""
    owner = await make_client("owner", connect=True)
    victim = await make_client("victim")
    writers = [await make_client("writer") for _ in range(3)]
    room = await topic_room(owner, slug, victim, *writers)
    await victim.connect()

    async def flood(writer: ChatClient) -> None:
        for i in range(25):
            await writer.post_message(room["id"], f"{name(writer)} {i}")

    flooding = [asyncio.create_task(flood(w)) for w in writers]
    await asyncio.sleep(0.05)
    await owner.ban(room["id"], uid(victim), reason="during a flood")
    await asyncio.gather(*flooding)
    left = await owner.next_event("member.left", room=room["id"])
    await asyncio.sleep(0.5)  # anything still on its way arrives meanwhile

    frames = victim.drain_events()
    removed_at = next(i for i, f in enumerate(frames) if f.get("type") == "room.removed")
    after = [f for f in frames[removed_at + 1 :] if f.get("room") == room["id"]]
    assert after == [], "nothing of the room after room.removed"
    seqs = [f["seq"] for f in frames if f.get("type") == "message.created"]
    assert all(seq < left["seq"] for seq in seqs), "no message committed after the ban"
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))


# -- mutes -----------------------------------------------------------------------------------


async def raw_reply(client: ChatClient, frame: Frame) -> Frame:
    """The reply to a frame sent as is, read from the socket's stream by its `ref`."""
    await client.send_raw(json.dumps(frame))
    async with asyncio.timeout(5):
        while True:
            got = await client.next_event()
            if got.get("ref") == frame["ref"]:
                return got


async def test_a_muted_member_reads_but_cannot_send_react_or_type_on_either_transport(
    make_client: ClientFactory, slug: Slug
) -> None:
    room, (owner, member) = await connected_room(make_client, slug)
    hello = await owner.send(room["id"], "hello")

    until = await owner.mute(room["id"], uid(member), 3600, reason="cool down")
    assert until.endswith("Z")
    told = await member.next_event("room.muted")
    assert (told["room"], told["until"]) == (room["id"], until)

    for call in (
        member.send(room["id"], "ws"),
        member.react(hello["id"], "👍"),
        member.typing(room["id"]),
    ):
        error = await refused(call)
        assert (error.code, error.until) == ("muted", until)
    for call in (
        member.post_message(room["id"], "http"),
        member.react_http(hello["id"], "👍"),
    ):
        error = await refused(call)
        assert (error.status, error.code, error.until) == (403, "muted", until)
    async with httpx.AsyncClient(base_url=member.base_url) as raw:
        resp = await raw.post(
            f"/api/rooms/{room['id']}/messages",
            json={"body": "raw"},
            headers={"Authorization": f"Bearer {member.token}"},
        )
    assert resp.json()["error"]["until"] == until
    frame = await raw_reply(member, {"op": "send", "ref": "raw", "room": room["id"], "body": "x"})
    assert (frame["op"], frame["code"], frame["until"]) == ("error", "muted", until)

    # Reading goes on: history, and live events.
    assert [m["body"] for m in await member.history(room["id"])] == ["hello"]
    later = await owner.send(room["id"], "still reading?")
    assert (await member.next_event("message.created", room=room["id"]))["message"]["id"] == later[
        "id"
    ]
    assert (await members_of(owner, room["id"]))[uid(member)]["muted_until"] == until
    assert (await member.room(room["id"]))["muted_until"] == until

    await owner.unmute(room["id"], uid(member))
    assert (await member.next_event("room.muted"))["until"] is None
    await member.send(room["id"], "thanks")
    assert (await members_of(owner, room["id"]))[uid(member)]["muted_until"] is None
    entries = [e for e in await owner.room_audit(room["id"]) if e["action"].endswith("mute")]
    assert [(e["action"], e["reason"]) for e in entries] == [
        ("member.unmute", None),
        ("member.mute", "cool down"),
    ]
    assert entries[1]["details"] == {"duration_s": 3600, "until": until}


@pytest.mark.parametrize(
    "body",
    [
        {"duration_s": 59},
        {"duration_s": 28 * 86_400 + 1},
        {"duration_s": "600"},
        {"duration_s": 600.0},
        {"duration_s": True},
        {},
        {"duration_s": 600, "reason": 5},
    ],
)
async def test_mute_durations_are_60_seconds_to_28_days_and_never_coerced(
    make_client: ClientFactory, slug: Slug, body: Frame
) -> None:
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    path = f"/api/rooms/{room['id']}/mutes/{uid(member)}"
    assert await status_of(owner.http("PUT", path, json=body)) == (400, "bad_request")


async def test_who_may_mute(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    owner = await make_client("owner")
    member = await make_client("member")
    outsider = await make_client("outsider")
    room = await topic_room(owner, slug, member)
    private = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    await owner.add_member(private["id"], uid(member))
    assert await status_of(member.mute(room["id"], uid(owner), 60)) == (403, "forbidden")
    assert await status_of(outsider.mute(private["id"], uid(member), 60)) == (404, "not_found")
    assert await status_of(staff["mentor"].mute(private["id"], uid(member), 60)) == (
        404,
        "not_found",
    )
    assert await status_of(owner.mute(room["id"], uid(outsider), 60)) == (404, "not_found")
    # The longest mute is 28 days; a mentor in the private room may give it.
    await owner.add_member(private["id"], uid(staff["mentor"]))
    await staff["mentor"].mute(private["id"], uid(member), 28 * 86_400)
    assert (await refused(member.post_message(private["id"], "hm"))).code == "muted"


# -- the audit log -----------------------------------------------------------------------------


async def test_the_audit_log_is_for_moderators_and_the_whole_log_for_admins(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    room, (owner, member) = await room_with(make_client, slug, "owner", "member")
    private = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    for seconds in (60, 120, 180):
        await owner.mute(room["id"], uid(member), seconds)

    entries = await owner.room_audit(room["id"])
    assert set(entries[0]) == ENTRY_KEYS
    assert [e["details"]["duration_s"] for e in entries[:3]] == [180, 120, 60]
    assert entries[0]["actor"]["role"] == "student" and entries[0]["target_message"] is None
    page = await owner.room_audit(room["id"], before=entries[0]["id"], limit=1)
    assert [e["id"] for e in page] == [entries[1]["id"]]
    assert await mentor.room_audit(room["id"]) == entries  # staff moderate public rooms

    assert await status_of(member.room_audit(room["id"])) == (403, "forbidden")
    assert await status_of(member.room_audit(private["id"])) == (404, "not_found")
    assert await status_of(admin.room_audit(private["id"])) == (404, "not_found")
    assert await status_of(owner.audit()) == (403, "forbidden")
    assert await status_of(mentor.audit()) == (403, "forbidden")
    for bad in ({"limit": 0}, {"limit": 201}, {"before": "x"}, {"before": -1}):
        path = f"/api/rooms/{room['id']}/audit"
        assert await status_of(owner.http("GET", path, params=bad)) == (400, "bad_request")

    # Admins read every room's entries, the role changes of accounts among them.
    await admin.set_role(uid(member), "mentor")
    everything = await admin.audit(limit=50)
    assert (everything[0]["action"], everything[0]["target_user"]["id"]) == (
        "user.role",
        uid(member),
    )
    assert everything[0]["details"] == {"role": "mentor", "previous": "student"}
    assert everything[0]["room"] is None
    assert entries[0]["id"] in {e["id"] for e in everything}
    await admin.set_role(uid(member), "student")


# -- the command line ------------------------------------------------------------------------


async def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatserver", *args],
        env=server.env,
        capture_output=True,
        text=True,
        cwd=server.workdir,
        timeout=60,
    )


async def test_the_cli_adds_people_from_arguments_and_a_csv_file_and_prints_the_audit_log(
    server: ServerProcess,
    make_client: ClientFactory,
    staff: dict[str, ChatClient],
    slug: Slug,
    tmp_path: Path,
) -> None:
    mentor = staff["mentor"]
    cohort = await mentor.create_room(slug("cli"), "CLI cohort", "cohort")
    await mentor.connect()
    ada, bob, cid, dee = [await make_client(n) for n in ("ada", "bob", "cid", "dee")]
    listing = tmp_path / "people.csv"
    listing.write_text(f"email,username\nx@example.org,{name(bob)}\ny@example.org,{name(cid)}\n")
    plain = tmp_path / "people.txt"
    plain.write_text(f"{name(dee)}\n\nghost-account\n")

    done = await cli(server, "room", "add", cohort["slug"], name(ada), "--from-csv", str(listing))
    assert done.returncode == 0, done.stderr
    assert "3 added" in done.stdout
    # Without Redis the command reaches no server's sockets: the room's next event shows
    # the gap, which the node fills from the event log, in order.
    await mentor.post_message(cohort["id"], "welcome, all three")
    joined = [await mentor.next_event("member.joined", room=cohort["id"]) for _ in range(3)]
    assert [e["user"]["id"] for e in joined] == [uid(ada), uid(bob), uid(cid)]

    done = await cli(server, "room", "add", cohort["slug"], "--from-csv", str(plain))
    assert done.returncode == 1 and "ghost-account" in done.stderr
    assert uid(dee) in await members_of(mentor, cohort["id"])

    missing = await cli(server, "room", "add", "no-such-room-here", name(ada))
    assert missing.returncode == 1 and "no room" in missing.stderr

    printed = await cli(server, "audit", "--room", cohort["slug"], "--limit", "2")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "member.add" in lines[0] and "by the operator" in lines[0] and name(dee) in lines[0]
    adds = [e for e in await mentor.room_audit(cohort["id"]) if e["action"] == "member.add"]
    assert adds[0]["actor"] is None  # the operator


async def test_every_moderation_endpoint_answers_401_404_and_403_as_the_contract_says(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    member = await make_client("member")
    target = await make_client("target")
    outsider = await make_client("outsider")
    room = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    for client in (member, target):
        await owner.add_member(room["id"], uid(client))
    base = f"/api/rooms/{room['id']}"
    calls: list[tuple[str, str, Frame | None]] = [
        ("PATCH", base, {"slow_mode": 5}),
        ("POST", f"{base}/members", {"user_id": uid(outsider)}),
        ("DELETE", f"{base}/members/{uid(target)}", {}),
        ("PUT", f"{base}/members/{uid(target)}", {"room_role": "moderator"}),
        ("PUT", f"{base}/bans/{uid(target)}", {}),
        ("DELETE", f"{base}/bans/{uid(target)}", None),
        ("GET", f"{base}/bans", None),
        ("PUT", f"{base}/mutes/{uid(target)}", {"duration_s": 60}),
        ("DELETE", f"{base}/mutes/{uid(target)}", None),
        ("GET", f"{base}/audit", None),
    ]
    async with httpx.AsyncClient(base_url=owner.base_url) as anonymous:
        for method, path, body in [*calls, ("GET", "/api/audit", None)]:
            resp = await anonymous.request(method, path, json=body)
            assert (resp.status_code, resp.json()["error"]["code"]) == (401, "unauthorized"), path
    for method, path, body in calls:
        assert await status_of(outsider.http(method, path, json=body)) == (404, "not_found")
        assert await status_of(member.http(method, path, json=body)) == (403, "forbidden")
    assert await status_of(member.audit()) == (403, "forbidden")
    assert uid(target) in await members_of(owner, room["id"]), "nothing was done"
