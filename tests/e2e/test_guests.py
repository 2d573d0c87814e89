"""Guests over real sockets: entering with and without an invite, what a guest may not
do, their stricter message budget, the per-address creation limit, the end of a guest
account (token 401, open sockets closed 4001, the sweep that forgets them), and the
upgrade to a student that keeps the id, the rooms and the messages."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatserver.sdk import ApiError, ChatClient, SocketClosed
from tests.e2e.conftest import ClientFactory, Slug
from tests.support.clients import Guests, guest_clients, status_of, uid
from tests.support.clients import name as name_of
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def founded(staff_tokens: dict[str, str]) -> None:
    """The staff accounts come first, so no student here is the server's first (admin)."""


@pytest.fixture
async def guests(server: ServerProcess) -> AsyncIterator[Guests]:
    """Makes guest clients (closed after the test)."""
    async with guest_clients(server.base_url) as make:
        yield make


async def open_room(owner: ChatClient, slug: Slug, *, guests_allowed: bool) -> dict[str, Any]:
    room = await owner.create_room(slug("open"), "Open day", "topic")
    if guests_allowed:
        room = await owner.update_room(room["id"], guests_allowed=True)
    return room


async def guest_room_and_invite(mentor: ChatClient, slug: Slug) -> tuple[dict[str, Any], str]:
    """A room of `mentor`'s open to guests, and the code of an invite into it as a guest."""
    room = await open_room(mentor, slug, guests_allowed=True)
    invite = await mentor.create_invite(room["id"], role="guest")
    return room, str(invite["code"])


async def open_day(host: ChatClient, prefix: str = "host") -> dict[str, Any]:
    """Signs `host` up (on a fresh server, as its first account: the admin) and returns
    the room it made and opened to guests."""
    await host.register(f"{prefix}{uuid.uuid4().hex[:8]}", PASSWORD)
    room = await host.create_room(f"day-{uuid.uuid4().hex[:8]}", "Day", "topic")
    await host.update_room(room["id"], guests_allowed=True)
    return room


async def test_a_guest_enters_with_a_display_name_and_no_password(
    server: ServerProcess, guests: Guests
) -> None:
    before = time.time()
    visitor = await guests("Zoé")
    assert visitor.user is not None
    assert visitor.user["role"] == "guest"
    assert visitor.user["display_name"] == "Zoé"
    assert visitor.user["username"].startswith("guest-")
    ends = visitor.user["expires_at"]
    # The default lifetime is a day.
    from datetime import datetime

    left = datetime.fromisoformat(ends.replace("Z", "+00:00")).timestamp() - before
    assert 86_400 - 60 < left <= 86_400 + 60
    me = await visitor.me()
    assert me["role"] == "guest" and me["expires_at"] == ends
    # No password opens it: a login with any password is refused like a wrong one.
    stranger = ChatClient(server.base_url)
    try:
        assert await status_of(stranger.login(me["username"], "x" * 12)) == (401, "unauthorized")
    finally:
        await stranger.close()


async def test_guest_names_are_reserved_and_display_names_required(
    server: ServerProcess, guests: Guests
) -> None:
    client = ChatClient(server.base_url)
    try:
        status, code = await status_of(client.register(f"guest-{uuid.uuid4().hex[:8]}", PASSWORD))
        assert (status, code) == (400, "bad_request")
        assert await status_of(client.guest("   ")) == (400, "bad_request")
        assert await status_of(client.http("POST", "/api/auth/guest", json={})) == (
            400,
            "bad_request",
        )
        wrong = {"display_name": 12}
        assert await status_of(client.http("POST", "/api/auth/guest", json=wrong)) == (
            400,
            "bad_request",
        )
    finally:
        await client.close()


async def test_a_guest_with_an_invite_lands_in_its_room_and_is_shown_as_a_guest(
    staff: dict[str, ChatClient],
    guests: Guests,
    slug: Slug,
) -> None:
    mentor = staff["mentor"]
    room, code = await guest_room_and_invite(mentor, slug)
    await mentor.connect()
    visitor = await guests("Visitor A", code)
    assert visitor.user is not None
    joined = await mentor.next_event("member.joined", timeout=5)
    assert joined["user"]["role"] == "guest"
    assert joined["user"]["expires_at"] == visitor.user["expires_at"]
    members = await mentor.members(room["id"])
    shown = next(m for m in members if m["id"] == uid(visitor))
    assert shown["role"] == "guest"
    await visitor.connect()
    sent = await visitor.send(room["id"], "hello from the open day")
    assert sent["author"]["role"] == "guest"
    heard = await mentor.next_event("message.created", timeout=5)
    assert heard["message"]["author"]["role"] == "guest"
    history = await mentor.history(room["id"])
    assert history[-1]["author"]["role"] == "guest"


async def test_a_student_invite_to_a_guest_room_lets_a_guest_in_and_others_do_not(
    server: ServerProcess,
    staff: dict[str, ChatClient],
    guests: Guests,
    slug: Slug,
) -> None:
    mentor = staff["mentor"]
    open_day = await open_room(mentor, slug, guests_allowed=True)
    student_invite = await mentor.create_invite(open_day["id"])
    visitor = await guests("Visitor B", student_invite["code"])
    assert any(r["id"] == open_day["id"] for r in await visitor.rooms())
    closed = await open_room(mentor, slug, guests_allowed=False)
    closed_invite = await mentor.create_invite(closed["id"])
    outsider = ChatClient(server.base_url)
    try:
        assert await status_of(outsider.guest("Visitor C", closed_invite["code"])) == (
            403,
            "forbidden",
        )
        assert outsider.token is None  # nothing was created
        assert await status_of(outsider.guest("Visitor C", "no-such-code-" + "x" * 20)) == (
            404,
            "not_found",
        )
    finally:
        await outsider.close()


async def test_what_a_guest_may_not_do(
    staff: dict[str, ChatClient],
    make_client: ClientFactory,
    guests: Guests,
    slug: Slug,
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    student = await make_client("student")
    visitor = await guests("Visitor D")
    closed = await open_room(mentor, slug, guests_allowed=False)
    allowed = await open_room(mentor, slug, guests_allowed=True)
    # Rooms: none created, only guest rooms joined, nor added to others, nor invited.
    assert await status_of(visitor.create_room(slug("mine"), "Mine", "topic")) == (403, "forbidden")
    assert await status_of(visitor.join(closed["id"])) == (403, "forbidden")
    assert await status_of(mentor.add_member(closed["id"], uid(visitor))) == (403, "forbidden")
    invite = await mentor.create_invite(closed["id"])
    assert await status_of(visitor.accept_invite(invite["code"])) == (403, "forbidden")
    assert (await visitor.join(allowed["id"]))["id"] == allowed["id"]
    # Friends, either way.
    assert await status_of(visitor.add_friend(name_of(student))) == (403, "forbidden")
    assert await status_of(student.add_friend(name_of(visitor))) == (403, "forbidden")
    assert (await student.friends())["outgoing"] == []
    # DMs: with mentors and admins only.
    assert await status_of(visitor.open_dm(name_of(student))) == (403, "forbidden")
    assert await status_of(student.open_dm(name_of(visitor))) == (403, "forbidden")
    dm = await visitor.open_dm(name_of(mentor))
    assert dm["kind"] == "dm"
    assert (await admin.open_dm(name_of(visitor)))["kind"] == "dm"
    # Nothing changed for them: the closed room has no guest in it.
    members = await mentor.members(closed["id"])
    assert all(m["id"] != uid(visitor) for m in members)
    # Nor can an admin make someone a guest.
    assert await status_of(admin.set_role(uid(student), "guest")) == (400, "bad_request")


@pytest.fixture(scope="module")
def brief_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Guests that last 3 s, forgotten at once, swept every half second; a guest creation
    budget of 5 per address."""
    env = {
        "CHAT_GUEST_TTL": "3",
        "CHAT_GUEST_RETENTION": "0",
        "CHAT_GUEST_SWEEP_SECONDS": "0.5",
        "CHAT_RATE_LIMIT_SCALE": "1",
        "CHAT_GUEST_CREATE_BURST_PER_IP": "5",
        "CHAT_GUEST_CREATE_RATE_PER_IP": "0.25",
    }
    with ServerProcess(tmp_path_factory.mktemp("brief"), env=env) as process:
        yield process


async def test_guest_creation_is_limited_per_address(brief_server: ServerProcess) -> None:
    clients = [ChatClient(brief_server.base_url) for _ in range(6)]
    try:
        for client in clients[:5]:
            await client.guest("Crowd")
        with pytest.raises(ApiError) as caught:
            await clients[5].guest("One too many")
        assert caught.value.code == "rate_limited" and caught.value.status == 429
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
    finally:
        for client in clients:
            await client.close()


async def test_guests_send_under_a_stricter_budget(brief_server: ServerProcess) -> None:
    """Unscaled: a guest's burst is 10 messages, a student's 30."""
    await asyncio.sleep(4.5)  # the creation budget of the test before refills (0.25/s)
    host = ChatClient(brief_server.base_url)
    visitor = ChatClient(brief_server.base_url)
    try:
        room = await open_day(host)
        await visitor.guest("Chatty")
        await visitor.join(room["id"])
        for i in range(10):
            await visitor.post_message(room["id"], f"guest {i}")
        with pytest.raises(ApiError) as caught:
            await visitor.post_message(room["id"], "one too many")
        assert caught.value.code == "rate_limited" and caught.value.retry_after
        await visitor.connect()  # the same budget on the WebSocket
        with pytest.raises(ApiError) as again:
            await visitor.send(room["id"], "still too many")
        assert again.value.code == "rate_limited"
        for i in range(20):  # the host, a student's budget, is not spent by that
            await host.post_message(room["id"], f"host {i}")
    finally:
        await visitor.close()
        await host.close()


async def test_an_ended_guest_is_logged_out_and_later_forgotten(
    brief_server: ServerProcess,
) -> None:
    await asyncio.sleep(4.5)  # the creation budget of the test before refills (0.25/s)
    host = ChatClient(brief_server.base_url)
    visitor = ChatClient(brief_server.base_url, reconnect=False)
    try:
        room = await open_day(host)
        invite = await host.create_invite(room["id"], role="guest")
        await visitor.guest("Short visit", invite["code"])
        await visitor.connect()
        message = await visitor.send(room["id"], "I was here")
        # The open socket is closed with 4001 once the account ends (within the re-check).
        with pytest.raises(SocketClosed):
            await visitor.next_event("no such event", timeout=20)
        assert not visitor.connected
        assert visitor.close_code == 4001
        assert await status_of(visitor.me()) == (401, "unauthorized")
        with pytest.raises(SocketClosed):
            await visitor.connect()
        # The message stays; with no retention, the sweep anonymises its author.
        deadline = time.monotonic() + 10
        author: dict[str, Any] = {}
        while time.monotonic() < deadline:
            history = await host.history(room["id"])
            author = next(m for m in history if m["id"] == message["id"])["author"]
            if author["username"].startswith("deleted-"):
                break
            await asyncio.sleep(0.3)
        assert author["username"] == f"deleted-{uid(visitor)}"
        assert author["display_name"] == "Deleted user"
        assert all(m["id"] != uid(visitor) for m in await host.members(room["id"]))
        # Nothing personal left in the database, and no token.
        path = Path(brief_server.database_url.split("///", 1)[1])
        with sqlite3.connect(path) as db:
            (name,) = db.execute("SELECT display_name FROM users WHERE id=?", (uid(visitor),))
            assert name == ("Deleted user",)
            tokens = db.execute("SELECT count(*) FROM tokens WHERE user_id=?", (uid(visitor),))
            assert tokens.fetchone() == (0,)
    finally:
        await visitor.close()
        await host.close()


async def test_upgrade_keeps_the_id_the_rooms_and_the_messages(
    server: ServerProcess,
    staff: dict[str, ChatClient],
    make_client: ClientFactory,
    guests: Guests,
    slug: Slug,
) -> None:
    mentor = staff["mentor"]
    room, code = await guest_room_and_invite(mentor, slug)
    visitor = await guests("Future student", code)
    guest_id = uid(visitor)
    await visitor.connect()
    first = await visitor.send(room["id"], "a question from a visitor")
    mate = await make_client("mate", connect=True)
    await mate.join(room["id"])
    new_name = f"student{uuid.uuid4().hex[:8]}"
    done = await visitor.upgrade(new_name, PASSWORD)
    assert done["user"]["id"] == guest_id
    # Those who see the guest hear of it live: a student now, no end date.
    while (event := await mate.next_event("user.updated"))["user"]["id"] != guest_id:
        pass
    assert event["user"]["role"] == "student" and "expires_at" not in event["user"]
    assert done["user"]["role"] == "student"
    assert done["user"]["username"] == new_name
    assert "expires_at" not in done["user"]
    # The same token goes on working, over HTTP and on the open socket.
    me = await visitor.me()
    assert me["role"] == "student" and "expires_at" not in me
    assert any(r["id"] == room["id"] for r in await visitor.rooms())
    history = await mentor.history(room["id"])
    kept = next(m for m in history if m["id"] == first["id"])
    assert kept["author"]["id"] == guest_id and kept["author"]["role"] == "student"
    second = await visitor.send(room["id"], "now as a student")
    assert second["author"]["role"] == "student"
    # A student's rights now: friends and rooms, and a login with the new password.
    friend = await make_client("friend")
    assert (await visitor.add_friend(name_of(friend))) == "requested"
    created = await visitor.create_room(slug("mine"), "Mine", "topic")
    assert created["kind"] == "topic"
    again = ChatClient(server.base_url)
    try:
        assert (await again.login(new_name, PASSWORD))["user"]["id"] == guest_id
    finally:
        await again.close()
    # Only guests upgrade.
    assert await status_of(visitor.upgrade(f"x{uuid.uuid4().hex[:8]}", PASSWORD)) == (
        403,
        "forbidden",
    )


async def test_upgrade_to_a_taken_username_changes_nothing(
    make_client: ClientFactory, guests: Guests
) -> None:
    student = await make_client("taken")
    visitor = await guests("Visitor F")
    status, code = await status_of(visitor.upgrade(name_of(student), PASSWORD))
    assert (status, code) == (409, "conflict")
    me = await visitor.me()
    assert me["role"] == "guest" and me["username"].startswith("guest-")
    assert await status_of(visitor.upgrade("guest-mine", PASSWORD)) == (400, "bad_request")
    assert await status_of(visitor.upgrade("shortpw" + uuid.uuid4().hex[:6], "short")) == (
        400,
        "bad_request",
    )


@pytest.fixture(scope="module")
def invite_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"CHAT_REGISTRATION": "invite"}
    with ServerProcess(tmp_path_factory.mktemp("invite-only"), env=env) as process:
        yield process


async def test_under_invite_registration_guests_and_upgrades_need_an_invite(
    invite_only_server: ServerProcess,
) -> None:
    admin = ChatClient(invite_only_server.base_url)
    visitor = ChatClient(invite_only_server.base_url)
    try:
        room = await open_day(admin, "admin")
        assert await status_of(visitor.guest("No invite")) == (403, "forbidden")
        guest_invite = await admin.create_invite(room["id"], role="guest")
        await visitor.guest("Invited", guest_invite["code"])
        name = f"kept{uuid.uuid4().hex[:8]}"
        assert await status_of(visitor.upgrade(name, PASSWORD)) == (403, "forbidden")
        # A guest invite opens no permanent account; a student invite does.
        status, _ = await status_of(visitor.upgrade(name, PASSWORD, guest_invite["code"]))
        assert status == 403
        student_invite = await admin.create_invite(room["id"])
        done = await visitor.upgrade(name, PASSWORD, student_invite["code"])
        assert done["user"]["role"] == "student"
        assert done["room"]["id"] == room["id"]
    finally:
        await visitor.close()
        await admin.close()


async def test_two_thousand_guests_in_under_a_minute(server: ServerProcess) -> None:
    """An open day's hall entering at once from behind one address (the module's server
    scales the limits by 50, as a load test would)."""
    import httpx

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        gate = asyncio.Semaphore(32)

        async def enter(i: int) -> int:
            async with gate:
                resp = await http.post("/api/auth/guest", json={"display_name": f"Visitor {i}"})
                return resp.status_code

        started = time.perf_counter()
        statuses = await asyncio.gather(*(enter(i) for i in range(2000)))
        took = time.perf_counter() - started
    assert statuses.count(201) == 2000
    assert took < 60, f"2,000 guests took {took:.1f} s"
    print(f"2,000 guests created in {took:.1f} s")
