"""Invites over real sockets: who makes and sees them, what they open, their limits, uses
counted once under racing accepts (SQLite and PostgreSQL), registration with an invite
and under CHAT_REGISTRATION=invite, the operator's command and the poster's QR code."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from chatserver.sdk import ApiError, ChatClient
from chatserver.services.invites import render_qr
from tests.e2e.conftest import ClientFactory, Slug
from tests.support.clients import name as name_of
from tests.support.clients import status_of, uid
from tests.support.server import ServerProcess
from tests.support.services import postgres_database

PASSWORD = "correct horse battery"
WEEK_MS = 7 * 86_400_000


@pytest.fixture(autouse=True)
def founded(staff_tokens: dict[str, str]) -> None:
    """The staff accounts come first, so no student here is the server's first (admin)."""


def fresh_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def database(server: ServerProcess) -> sqlite3.Connection:
    return sqlite3.connect(server.database_url.split("///", 1)[1])


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


async def cohort(mentor: ChatClient, slug: Slug) -> dict[str, Any]:
    room: dict[str, Any] = await mentor.create_room(slug("cohort"), "Promo Lyon", "cohort")
    return room


# -- making, listing and using an invite ------------------------------------------------


async def test_a_mentor_invites_a_newcomer_into_a_private_cohort(
    server: ServerProcess,
    make_client: ClientFactory,
    staff: dict[str, ChatClient],
    slug: Slug,
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    await mentor.connect()
    before = time.time() * 1000
    invite = await mentor.create_invite(room["id"], max_uses=5)

    code = invite["code"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", code)
    assert invite["url"] == f"/invite/{code}"
    assert invite["room"] == room["id"]
    assert (invite["role"], invite["max_uses"], invite["uses"], invite["revoked"]) == (
        "student",
        5,
        0,
        False,
    )
    assert invite["created_by"]["id"] == uid(mentor)
    assert abs(ms(invite["expires_at"]) - (before + WEEK_MS)) < 60_000

    # Whoever holds the code sees what it opens, without an account.
    preview = await ChatClient(server.base_url).invite(code)
    assert preview == {
        "room": {
            "name": "Promo Lyon",
            "kind": "cohort",
            "member_count": 1,
            "guests_allowed": False,
        },
        "expires_at": invite["expires_at"],
        "role": "student",
    }

    newcomer = await make_client("newcomer", connect=True)
    assert await status_of(newcomer.history(room["id"])) == (404, "not_found")
    joined = await newcomer.accept_invite(code)
    assert (joined["id"], joined["joined"], joined["member_count"]) == (room["id"], True, 2)
    added = await newcomer.next_event("room.added")
    assert added["room"]["id"] == room["id"]
    seen = await mentor.next_event("member.joined", room=room["id"])
    assert seen["user"]["id"] == uid(newcomer)
    await newcomer.post_message(room["id"], "bonjour la promo")

    # A member accepting again is answered with the room and uses nothing.
    again = await newcomer.accept_invite(code)
    assert again["id"] == room["id"]
    [listed] = await mentor.invites(room["id"])
    assert (listed["code"], listed["uses"]) == (code, 1)
    assert (await mentor.room(room["id"]))["member_count"] == 2


async def test_codes_are_long_random_and_stored_by_their_hash(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    codes = [(await mentor.create_invite(room["id"]))["code"] for _ in range(20)]
    assert len(set(codes)) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", code) for code in codes)  # 192 bits
    with database(server) as db:
        stored = dict(
            db.execute("SELECT code, code_hash FROM invites WHERE room_id = ?", (room["id"],))
        )
    assert stored == {code: hashlib.sha256(code.encode()).hexdigest() for code in codes}
    listed = await mentor.invites(room["id"])
    assert [i["code"] for i in listed] == codes[::-1]  # newest first


async def test_options_are_kept_and_a_guest_invite_needs_a_room_that_allows_guests(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await mentor.create_room(slug("open-day"), "Open day", "topic")
    before = time.time() * 1000
    hour = await mentor.create_invite(room["id"], max_uses=None, expires_in_s=3600)
    assert hour["max_uses"] is None
    assert abs(ms(hour["expires_at"]) - (before + 3_600_000)) < 60_000
    longest = await mentor.create_invite(room["id"], max_uses=10_000, expires_in_s=30 * 86_400)
    assert longest["max_uses"] == 10_000
    shortest = await mentor.create_invite(room["id"], max_uses=1, expires_in_s=60)
    assert shortest["max_uses"] == 1

    assert await status_of(mentor.create_invite(room["id"], role="guest")) == (403, "forbidden")
    with database(server) as db:
        db.execute("UPDATE rooms SET guests_allowed = 1 WHERE id = ?", (room["id"],))
    guest = await mentor.create_invite(room["id"], role="guest")
    assert guest["role"] == "guest"
    assert (await ChatClient(server.base_url).invite(guest["code"]))["role"] == "guest"
    # A guest invite still lets an account in, here where anyone may register.
    visitor = await make_client("visitor")
    assert (await visitor.accept_invite(guest["code"]))["id"] == room["id"]


# -- who may do what --------------------------------------------------------------------


async def test_without_a_token_only_the_preview_answers(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    code = (await mentor.create_invite(room["id"]))["code"]
    nobody = ChatClient(server.base_url)
    assert await status_of(nobody.create_invite(room["id"])) == (401, "unauthorized")
    assert await status_of(nobody.invites(room["id"])) == (401, "unauthorized")
    assert await status_of(nobody.revoke_invite(code)) == (401, "unauthorized")
    assert await status_of(nobody.accept_invite(code)) == (401, "unauthorized")
    assert (await nobody.invite(code))["room"]["name"] == "Promo Lyon"
    await nobody.close()


async def test_only_the_rooms_moderators_make_list_and_revoke_invites(
    make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    private = await cohort(mentor, slug)
    code = (await mentor.create_invite(private["id"]))["code"]
    outsider = await make_client("outsider")
    never_used = private["id"] + 100_000

    # A private room the caller is not in does not exist, for admins too.
    for room_id in (private["id"], never_used):
        assert await status_of(outsider.create_invite(room_id)) == (404, "not_found")
        assert await status_of(outsider.invites(room_id)) == (404, "not_found")
        assert await status_of(admin.create_invite(room_id)) == (404, "not_found")
    # Knowing a code makes nobody its room's moderator.
    assert await status_of(outsider.revoke_invite(code)) == (403, "forbidden")
    assert await status_of(admin.revoke_invite(code)) == (403, "forbidden")

    # A student member of a mentor's room is no moderator of it.
    student = await make_client("student")
    await student.accept_invite(code)
    assert await status_of(student.create_invite(private["id"])) == (403, "forbidden")
    assert await status_of(student.invites(private["id"])) == (403, "forbidden")
    assert await status_of(student.revoke_invite(code)) == (403, "forbidden")

    # In a public room, staff moderate without being members.
    public = await mentor.create_room(slug("topic"), "Rust", "topic")
    made = await admin.create_invite(public["id"])
    assert made["created_by"]["id"] == uid(admin)
    assert [i["code"] for i in await mentor.invites(public["id"])] == [made["code"]]
    await mentor.revoke_invite(made["code"])
    await student.join(public["id"])
    assert await status_of(student.create_invite(public["id"])) == (403, "forbidden")

    # The mentor who made the room, and an admin once a member, manage its invites.
    await admin.add_member(private["id"], uid(admin))
    assert len(await admin.invites(private["id"])) == 1
    await admin.revoke_invite(code)


async def test_revoking_is_audited_once_and_making_is_audited(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    invite = await mentor.create_invite(room["id"], max_uses=3, expires_in_s=3600)
    await mentor.revoke_invite(invite["code"])
    await mentor.revoke_invite(invite["code"])  # again: nothing changes
    assert (await mentor.invites(room["id"]))[0]["revoked"] is True
    with database(server) as db:
        entries = db.execute(
            "SELECT action, actor_id, details FROM audit_log"
            " WHERE room_id = ? AND action LIKE 'invite.%' ORDER BY id",
            (room["id"],),
        ).fetchall()
    assert [(action, actor) for action, actor, _ in entries] == [
        ("invite.create", uid(mentor)),
        ("invite.revoke", uid(mentor)),
    ]
    for _, _, details in entries:  # which invite, not a usable code
        assert invite["code"][:6] in details and invite["code"] not in details


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"max_uses": 0},
        {"max_uses": 10_001},
        {"max_uses": -1},
        {"max_uses": "5"},
        {"max_uses": True},
        {"max_uses": 2.5},
        {"expires_in_s": 59},
        {"expires_in_s": 30 * 86_400 + 1},
        {"expires_in_s": "600"},
        {"expires_in_s": None},
        {"expires_in_s": False},
        {"expires_in_s": 3600.0},
        {"role": "admin"},
        {"role": "mentor"},
        {"role": 1},
        {"role": None},
        [],
        "x",
    ],
)
async def test_out_of_range_values_and_wrong_types_are_refused(
    staff: dict[str, ChatClient], slug: Slug, body: Any
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    path = f"/api/rooms/{room['id']}/invites"
    assert await status_of(mentor.http("POST", path, json=body)) == (400, "bad_request")
    assert await mentor.invites(room["id"]) == []


async def test_malformed_requests_answer_400_and_unknown_codes_404(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        auth = {"Authorization": f"Bearer {mentor.token}"}
        no_body = await http.post(f"/api/rooms/{room['id']}/invites", headers=auth)
        assert (no_body.status_code, no_body.json()["error"]["code"]) == (400, "bad_request")
        not_json = await http.post(
            f"/api/rooms/{room['id']}/invites",
            headers={**auth, "Content-Type": "application/json"},
            content=b"{max_uses: 3",
        )
        assert not_json.status_code == 400
        bad_id = await http.post("/api/rooms/abc/invites", headers=auth, json={})
        assert bad_id.status_code == 400
        too_long = await http.get("/api/invites/" + "a" * 129)
        assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "bad_request")
    anyone = ChatClient(server.base_url)
    for code in ("nope", "x" * 32, "%00", "é" * 30):
        assert await status_of(anyone.invite(code)) == (404, "not_found")
        assert await status_of(mentor.accept_invite(code)) == (404, "not_found")
        assert await status_of(mentor.revoke_invite(code)) == (404, "not_found")
    assert await status_of(anyone.invite_qr("nope")) == (404, "not_found")
    await anyone.close()


# -- invites that let nobody in any more ------------------------------------------------


async def test_revoked_expired_and_used_up_invites_answer_410(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    revoked = await mentor.create_invite(room["id"])
    expired = await mentor.create_invite(room["id"], expires_in_s=60)
    used_up = await mentor.create_invite(room["id"], max_uses=1)
    await mentor.revoke_invite(revoked["code"])
    with database(server) as db:  # its minute has passed
        db.execute(
            "UPDATE invites SET expires_at_ms = expires_at_ms - 61000 WHERE code = ?",
            (expired["code"],),
        )
    first = await make_client("first")
    await first.accept_invite(used_up["code"])

    late = await make_client("late")
    anyone = ChatClient(server.base_url)
    for invite, why in ((revoked, "revoked"), (expired, "expired"), (used_up, "used up")):
        with pytest.raises(ApiError) as caught:
            await anyone.invite(invite["code"])
        assert (caught.value.status, caught.value.code) == (410, "expired")
        assert why in caught.value.message
        assert await status_of(late.accept_invite(invite["code"])) == (410, "expired")
        assert await status_of(anyone.invite_qr(invite["code"])) == (410, "expired")
    assert await status_of(late.history(room["id"])) == (404, "not_found")
    uses = {i["code"]: i["uses"] for i in await mentor.invites(room["id"])}
    assert uses == {revoked["code"]: 0, expired["code"]: 0, used_up["code"]: 1}
    # Revoking one that lets nobody in is allowed; a member still gets the room.
    await mentor.revoke_invite(used_up["code"])
    assert (await first.accept_invite(used_up["code"]))["id"] == room["id"]
    await anyone.close()


async def test_a_banned_user_cannot_come_back_with_an_invite(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    invite = await mentor.create_invite(room["id"], max_uses=2)
    troll = await make_client("troll")
    with database(server) as db:
        db.execute(
            "INSERT INTO room_bans (room_id, user_id, by_id, reason, created_at_ms)"
            " VALUES (?, ?, ?, 'spam', 0)",
            (room["id"], uid(troll), uid(mentor)),
        )
    assert await status_of(troll.accept_invite(invite["code"])) == (403, "forbidden")
    assert await status_of(troll.history(room["id"])) == (404, "not_found")
    assert (await mentor.invites(room["id"]))[0]["uses"] == 0


# -- racing for the last use ------------------------------------------------------------


async def race_for_the_last_use(
    base_url: str, make: Callable[[str], Awaitable[ChatClient]], mentor: ChatClient, slug: Slug
) -> None:
    """Twelve people accept at once an invite with one use left: one gets in."""
    room = await cohort(mentor, slug)
    invite = await mentor.create_invite(room["id"], max_uses=3)
    for name in ("early", "earlier"):
        await (await make(name)).accept_invite(invite["code"])
    racers = [await make("racer") for _ in range(12)]
    results = await asyncio.gather(
        *(r.accept_invite(invite["code"]) for r in racers), return_exceptions=True
    )
    won = [r for r, result in zip(racers, results, strict=True) if isinstance(result, dict)]
    lost = [result for result in results if not isinstance(result, dict)]
    assert len(won) == 1
    assert all(isinstance(e, ApiError) and e.code == "expired" for e in lost), lost
    [listed] = await mentor.invites(room["id"])
    assert listed["uses"] == 3
    assert (await mentor.room(room["id"]))["member_count"] == 4
    # The same person accepting many times at once is counted once.
    second = await mentor.create_invite(room["id"], max_uses=5)
    eager = await make("eager")
    rooms = await asyncio.gather(*(eager.accept_invite(second["code"]) for _ in range(10)))
    assert {r["id"] for r in rooms} == {room["id"]}
    assert (await mentor.invites(room["id"]))[0]["uses"] == 1
    assert (await mentor.room(room["id"]))["member_count"] == 5


async def test_many_accepts_race_for_the_last_use_and_one_wins(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    await race_for_the_last_use(server.base_url, make_client, staff["mentor"], slug)


async def test_registrations_race_for_an_invites_uses_and_only_the_counted_exist(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    invite = await mentor.create_invite(room["id"], max_uses=2)
    names = [fresh_name("reg") for _ in range(8)]
    clients = [ChatClient(server.base_url) for _ in names]
    results = await asyncio.gather(
        *(
            c.register(n, PASSWORD, invite=invite["code"])
            for c, n in zip(clients, names, strict=True)
        ),
        return_exceptions=True,
    )
    made = [n for n, r in zip(names, results, strict=True) if isinstance(r, dict)]
    assert len(made) == 2
    assert all(
        isinstance(r, ApiError) and r.status == 410 for r in results if not isinstance(r, dict)
    )
    assert (await mentor.invites(room["id"]))[0]["uses"] == 2
    for name in names:  # an account exists only when its use was counted
        login = ChatClient(server.base_url)
        if name in made:
            await login.login(name, PASSWORD)
            assert room["id"] in [r["id"] for r in await login.rooms()]
        else:
            assert await status_of(login.login(name, PASSWORD)) == (401, "unauthorized")
        await login.close()
    for c in clients:
        await c.close()


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with (
        postgres_database() as url,
        ServerProcess(tmp_path_factory.mktemp("pg"), database_url=url) as process,
    ):
        yield process


@pytest.mark.postgres
async def test_the_race_for_the_last_use_on_postgresql(
    postgres_server: ServerProcess, slug: Slug
) -> None:
    clients: list[ChatClient] = []

    async def make(name: str) -> ChatClient:
        client = ChatClient(postgres_server.base_url)
        clients.append(client)
        await client.register(fresh_name(name[:8]), PASSWORD)
        return client

    try:
        await make("founder")  # the first account is the admin; the mentor comes next
        mentor = await make("mentor")
        await promote(postgres_server, name_of(mentor), "mentor")
        await race_for_the_last_use(postgres_server.base_url, make, mentor, slug)
    finally:
        for client in clients:
            await client.close()


# -- registration -----------------------------------------------------------------------


async def test_registering_with_an_invite_joins_its_room_in_one_step(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    await mentor.connect()
    invite = await mentor.create_invite(room["id"], max_uses=10)
    newcomer = ChatClient(server.base_url)
    session = await newcomer.register(fresh_name("new"), PASSWORD, "Zoé", invite=invite["code"])
    assert (session["room"]["id"], session["room"]["joined"]) == (room["id"], True)
    assert session["user"]["role"] == "student"
    joined = await mentor.next_event("member.joined", room=room["id"])
    assert joined["user"]["display_name"] == "Zoé"
    ready = await newcomer.connect()
    assert room["id"] in [r["id"] for r in ready["rooms"]]
    assert (await mentor.invites(room["id"]))[0]["uses"] == 1
    await newcomer.close()


async def test_registering_with_a_bad_invite_creates_no_account(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    revoked = (await mentor.create_invite(room["id"]))["code"]
    await mentor.revoke_invite(revoked)
    name = fresh_name("bad")
    client = ChatClient(server.base_url)
    assert await status_of(client.register(name, PASSWORD, invite="nope")) == (404, "not_found")
    assert await status_of(client.register(name, PASSWORD, invite=revoked)) == (410, "expired")
    assert await status_of(client.register(name, PASSWORD, invite=3)) == (400, "bad_request")  # type: ignore[arg-type]
    # Refused whole: the name is still free, and without the invite it registers.
    await client.register(name, PASSWORD)
    assert room["id"] not in [r["id"] for r in await client.rooms()]
    await client.close()


@pytest.fixture(scope="module")
def invite_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"CHAT_REGISTRATION": "invite", "CHAT_PUBLIC_URL": "https://chat.example.org"}
    with ServerProcess(tmp_path_factory.mktemp("invite-only"), env=env) as process:
        yield process


async def promote(server: ServerProcess, username: str, role: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatserver", "user", "set-role", username, role],
        env=server.env,
        capture_output=True,
        cwd=server.workdir,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
async def clients() -> AsyncIterator[list[ChatClient]]:
    opened: list[ChatClient] = []
    yield opened
    for client in opened:
        await client.close()


async def test_an_invite_only_server_registers_its_first_account_then_invitees_only(
    invite_only: ServerProcess, clients: list[ChatClient], slug: Slug
) -> None:
    base = invite_only.base_url

    def client() -> ChatClient:
        clients.append(ChatClient(base))
        return clients[-1]

    founder = client()
    assert (await founder.register(fresh_name("founder"), PASSWORD))["user"]["role"] == "admin"
    name = fresh_name("walkin")
    assert await status_of(client().register(name, PASSWORD)) == (403, "forbidden")

    room = await founder.create_room(slug("topic"), "Welcome", "topic")
    invite = await founder.create_invite(room["id"], max_uses=1)
    assert invite["url"] == f"https://chat.example.org/invite/{invite['code']}"
    async with httpx.AsyncClient(base_url=base) as http:  # the poster: CHAT_PUBLIC_URL's link
        poster = await http.get(f"/api/invites/{invite['code']}/qr.svg")
    assert poster.content == render_qr(invite["url"])
    revoked = await founder.create_invite(room["id"])
    await founder.revoke_invite(revoked["code"])
    with database(invite_only) as db:
        db.execute("UPDATE rooms SET guests_allowed = 1 WHERE id = ?", (room["id"],))
    guest = await founder.create_invite(room["id"], role="guest")
    for bad in ("nope", revoked["code"], guest["code"]):  # none of them a valid invite
        assert await status_of(client().register(name, PASSWORD, invite=bad)) == (403, "forbidden")

    invitee = client()
    session = await invitee.register(name, PASSWORD, invite=invite["code"])
    assert session["room"]["id"] == room["id"]
    late = fresh_name("late")
    assert await status_of(client().register(late, PASSWORD, invite=invite["code"])) == (
        403,
        "forbidden",
    )
    assert [
        i["uses"] for i in await founder.invites(room["id"]) if i["code"] == invite["code"]
    ] == [1]
    # Logging in and the operator's own command are not registrations.
    await client().login(name, PASSWORD)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatserver", "user", "create", late],
        env=invite_only.env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=invite_only.workdir,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    await client().login(late, PASSWORD)


# -- the operator's command and the poster ----------------------------------------------


async def invite_cli(
    server: ServerProcess, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatserver", "invite", "create", *args],
        env={**server.env, **(env or {})},
        capture_output=True,
        text=True,
        cwd=server.workdir,
        timeout=60,
    )


async def test_the_cli_prints_a_link_that_lets_people_in(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    done = await invite_cli(
        server,
        room["slug"],
        "--uses",
        "2",
        "--expires",
        "12h",
        env={"CHAT_PUBLIC_URL": server.base_url},
    )
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith(f"{server.base_url}/invite/")
    code = link.rsplit("/", 1)[1]
    [listed] = await mentor.invites(room["id"])
    assert (listed["code"], listed["max_uses"], listed["created_by"]) == (code, 2, None)
    assert abs(ms(listed["expires_at"]) - (time.time() * 1000 + 12 * 3_600_000)) < 60_000
    student = await make_client("student")
    assert (await student.accept_invite(code))["id"] == room["id"]
    with database(server) as db:
        actors = db.execute(
            "SELECT actor_id FROM audit_log WHERE room_id = ? AND action = 'invite.create'",
            (room["id"],),
        ).fetchall()
    assert actors == [(None,)]

    for args, status in (
        (["no-such-room"], 1),
        ([room["slug"], "--uses", "0"], 1),
        ([room["slug"], "--expires", "31d"], 1),
        ([room["slug"], "--expires", "30s"], 1),
        ([room["slug"], "--expires", "soon"], 2),
        ([room["slug"], "--role", "admin"], 2),
    ):
        failed = await invite_cli(server, *args)
        assert failed.returncode == status, (args, failed.stdout)
        assert failed.stdout == ""
    assert len(await mentor.invites(room["id"])) == 1


async def test_the_qr_code_holds_the_link_and_needs_only_the_code(
    server: ServerProcess, staff: dict[str, ChatClient], slug: Slug
) -> None:
    mentor = staff["mentor"]
    room = await cohort(mentor, slug)
    code = (await mentor.create_invite(room["id"]))["code"]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        served = await http.get(f"/api/invites/{code}/qr.svg")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/svg+xml"
    assert served.headers["cache-control"] == "no-store"
    assert served.content.startswith(b"<svg")
    # Without CHAT_PUBLIC_URL the link is this server's address as the request named it.
    assert served.content == render_qr(f"{server.base_url}/invite/{code}")
    assert served.content != render_qr(f"{server.base_url}/invite/{code}x")


def test_the_web_client_serves_invite_links(server: ServerProcess) -> None:
    page = httpx.get(f"{server.base_url}/invite/{'a' * 32}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == httpx.get(f"{server.base_url}/").text
