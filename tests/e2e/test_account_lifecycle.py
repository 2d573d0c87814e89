"""Account lifecycle over real sockets: password changes and resets, logging out
everywhere, deletion, export, deactivation and role changes reaching open sockets."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from chatserver.sdk import ApiError, ChatClient, SocketClosed
from tests.e2e.conftest import ClientFactory, register_with_role, unique_slug
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse correct"


@pytest.fixture
async def opened(server: ServerProcess) -> AsyncIterator[list[ChatClient]]:
    """Clients a test opens itself (extra sessions); closed afterwards."""
    clients: list[ChatClient] = []
    yield clients
    for client in clients:
        await client.close()


async def second_session(
    server: ServerProcess, opened: list[ChatClient], username: str, password: str = PASSWORD
) -> ChatClient:
    """Another login of the same account, with its own token and WebSocket."""
    other = ChatClient(server.base_url, reconnect=False)
    opened.append(other)
    await other.login(username, password)
    await other.connect()
    return other


async def closed_with(client: ChatClient, timeout: float = 5.0) -> int | None:
    with pytest.raises(SocketClosed) as closed:
        await client.next_event("never", timeout=timeout)
    return closed.value.close_code


async def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`chatserver user ...` as the operator runs it, on the server's database (and
    Redis, when it has one); in a thread, so the test's sockets keep being read."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatserver", "user", *args],
        env={**server.env, "CHAT_PUBLIC_URL": server.base_url},
        capture_output=True,
        text=True,
        cwd=server.workdir,
        timeout=60,
    )


def name_of(client: ChatClient) -> str:
    assert client.user is not None
    return str(client.user["username"])


def id_of(client: ChatClient) -> int:
    assert client.user is not None
    return int(client.user["id"])


# -- password change -----------------------------------------------------------------


async def test_a_password_change_closes_the_other_sessions_and_keeps_this_one(
    server: ServerProcess, make_client: ClientFactory, opened: list[ChatClient]
) -> None:
    alice = await make_client("alice", reconnect=False)
    other = await second_session(server, opened, name_of(alice))
    await alice.connect()
    stale_token = other.token

    await alice.change_password(PASSWORD, NEW_PASSWORD)

    assert await closed_with(other) == 4001
    assert (await alice.ping())["op"] == "pong"  # the session that changed it stays
    assert (await alice.me())["id"] == id_of(alice)
    stale = ChatClient(server.base_url, token=stale_token)
    opened.append(stale)
    with pytest.raises(ApiError) as refused:
        await stale.me()
    assert refused.value.status == 401
    with pytest.raises(ApiError) as old:
        await ChatClient(server.base_url).login(name_of(alice), PASSWORD)
    assert old.value.status == 401
    fresh = ChatClient(server.base_url)
    opened.append(fresh)
    await fresh.login(name_of(alice), NEW_PASSWORD)


async def test_a_password_change_needs_the_current_password_and_a_valid_new_one(
    make_client: ClientFactory,
) -> None:
    alice = await make_client("alice")
    with pytest.raises(ApiError) as wrong:
        await alice.change_password("not my password", NEW_PASSWORD)
    assert (wrong.value.status, wrong.value.code) == (403, "forbidden")
    with pytest.raises(ApiError) as short:
        await alice.change_password(PASSWORD, "short")
    assert (short.value.status, short.value.code) == (400, "bad_request")
    assert (await alice.me())["id"] == id_of(alice)  # still logged in


# -- log out everywhere ------------------------------------------------------------------


async def test_logging_out_everywhere_closes_every_socket_and_revokes_every_token(
    server: ServerProcess, make_client: ClientFactory, opened: list[ChatClient]
) -> None:
    alice = await make_client("alice", reconnect=False)
    other = await second_session(server, opened, name_of(alice))
    await alice.connect()
    tokens = [alice.token, other.token]

    await alice.logout_all()

    assert await closed_with(alice) == 4001
    assert await closed_with(other) == 4001
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        for token in tokens:
            resp = await api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 401


# -- deletion ---------------------------------------------------------------------------


async def test_a_deleted_account_leaves_its_rooms_and_its_messages_show_a_deleted_user(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    bob = await make_client("bob")
    alice = await make_client("alice", reconnect=False)
    room = await bob.create_room(unique_slug(), "Garden", "topic")
    await alice.join(room["id"])
    posted = await alice.post_message(room["id"], "remember me")
    await alice.add_friend(name_of(bob))
    await bob.add_friend(name_of(alice))
    await bob.connect()
    await alice.connect()

    with pytest.raises(ApiError) as wrong:
        await alice.delete_account("not my password")
    assert wrong.value.code == "forbidden"
    await alice.delete_account(PASSWORD)

    left = await bob.next_event("member.left", room=room["id"])
    gone = left["user"]
    assert gone["id"] == id_of(alice)
    assert gone["username"] == f"deleted-{id_of(alice)}"
    assert gone["display_name"] == "Deleted user"
    assert await closed_with(alice) == 4001

    page = await bob.history(room["id"])
    kept = next(m for m in page if m["id"] == posted["id"])
    assert kept["body"] == "remember me"
    assert kept["author"]["display_name"] == "Deleted user"
    assert kept["author"]["username"] == f"deleted-{id_of(alice)}"
    assert (await bob.room(room["id"]))["member_count"] == 1
    assert (await bob.friends())["friends"] == []
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        login = await api.post(
            "/api/auth/login", json={"username": name_of(alice), "password": PASSWORD}
        )
        assert login.status_code == 401
        found = await api.get(
            "/api/users",
            params={"q": "deleted-"},
            headers={"Authorization": f"Bearer {bob.token}"},
        )
        assert found.json()["users"] == []
        taken = await api.post(
            "/api/auth/register",
            json={"username": f"deleted-{id_of(alice)}", "password": PASSWORD},
        )
        assert taken.status_code == 400


# -- export -----------------------------------------------------------------------------


async def test_the_export_holds_the_profile_rooms_every_message_friends_and_blocks(
    make_client: ClientFactory,
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    carol = await make_client("carol")
    room = await alice.create_room(unique_slug(), "Notes", "topic")
    other = await bob.create_room(unique_slug(), "Elsewhere", "topic")
    await alice.join(other["id"])
    await bob.post_message(other["id"], "not alice's")
    # More than one page of the export's internal reads.
    bodies = [f"note {i}" for i in range(520)]
    for start in range(0, len(bodies), 40):
        await asyncio.gather(
            *(alice.post_message(room["id"], body) for body in bodies[start : start + 40])
        )
    elsewhere = await alice.post_message(other["id"], "hello bob")
    await alice.add_friend(name_of(bob))
    await bob.add_friend(name_of(alice))
    await alice.block(name_of(carol))
    await alice.set_notification_settings(default="all")

    export = await alice.export()

    assert export["user"]["id"] == id_of(alice)
    assert {r["id"] for r in export["rooms"]} == {room["id"], other["id"]}
    written = [m["body"] for m in export["messages"]]
    assert sorted(written) == sorted([*bodies, "hello bob"])
    assert any(m["id"] == elsewhere["id"] and m["room"] == other["id"] for m in export["messages"])
    assert [u["id"] for u in export["friends"]] == [id_of(bob)]
    assert [u["id"] for u in export["blocked"]] == [id_of(carol)]
    assert export["notification_settings"]["default"] == "all"


# -- reset links ------------------------------------------------------------------------


async def test_a_reset_link_sets_the_password_once_and_ends_every_session(
    server: ServerProcess, make_client: ClientFactory, opened: list[ChatClient]
) -> None:
    alice = await make_client("alice", reconnect=False)
    await alice.connect()
    done = await cli(server, "reset-link", name_of(alice))
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    prefix = f"{server.base_url}/reset/"
    assert link.startswith(prefix)
    token = link[len(prefix) :]
    assert len(token) >= 22  # at least 128 random bits, URL-safe
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]

    anonymous = ChatClient(server.base_url)
    opened.append(anonymous)
    await anonymous.reset_password(token, NEW_PASSWORD)

    assert await closed_with(alice) == 4001
    await anonymous.login(name_of(alice), NEW_PASSWORD)
    with pytest.raises(ApiError) as reused:
        await ChatClient(server.base_url).reset_password(token, "yet another password")
    assert reused.value.status == 401


async def test_a_reset_link_expires_after_a_day(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    alice = await make_client("alice")
    done = await cli(server, "reset-link", name_of(alice))
    token = done.stdout.strip().rsplit("/", 1)[1]
    database = server.database_url.split("///", 1)[1]
    day_and_a_second = 86_401_000
    with sqlite3.connect(database) as db:
        lifetimes = db.execute("SELECT expires_at_ms - created_at_ms FROM password_resets")
        assert {row[0] for row in lifetimes} == {86_400_000}
        # A day and a second pass: the link was issued that long ago.
        db.execute(
            "UPDATE password_resets SET created_at_ms = created_at_ms - ?,"
            " expires_at_ms = expires_at_ms - ?",
            (day_and_a_second, day_and_a_second),
        )
    with pytest.raises(ApiError) as expired:
        await ChatClient(server.base_url).reset_password(token, NEW_PASSWORD)
    assert expired.value.status == 401
    await alice.me()  # nothing changed for the account
    await ChatClient(server.base_url).login(name_of(alice), PASSWORD)


async def test_a_reset_link_for_nobody_is_refused(server: ServerProcess) -> None:
    done = await cli(server, "reset-link", f"nobody{uuid.uuid4().hex[:8]}")
    assert done.returncode == 1
    assert "no user named" in done.stderr
    with pytest.raises(ApiError) as unknown:
        await ChatClient(server.base_url).reset_password("x" * 43, NEW_PASSWORD)
    assert unknown.value.status == 401


# -- deactivation -----------------------------------------------------------------------


async def test_an_admin_deactivation_closes_sockets_and_refuses_login_until_reactivated(
    server: ServerProcess,
    make_client: ClientFactory,
    staff: dict[str, ChatClient],
) -> None:
    alice = await make_client("alice", reconnect=False)
    await alice.connect()
    with pytest.raises(ApiError) as not_admin:
        await staff["mentor"].deactivate_user(id_of(alice))
    assert not_admin.value.code == "forbidden"

    await staff["admin"].deactivate_user(id_of(alice))

    assert await closed_with(alice) == 4001
    with pytest.raises(ApiError) as token:
        await alice.me()
    assert token.value.status == 401
    with pytest.raises(ApiError) as login:
        await ChatClient(server.base_url).login(name_of(alice), PASSWORD)
    assert login.value.status == 401
    await staff["admin"].reactivate_user(id_of(alice))
    back = ChatClient(server.base_url)
    try:
        await back.login(name_of(alice), PASSWORD)
        assert (await back.me())["id"] == id_of(alice)
    finally:
        await back.close()


async def test_a_deactivation_by_the_cli_reaches_open_sockets(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    alice = await make_client("alice", reconnect=False)
    await alice.connect()
    done = await cli(server, "deactivate", name_of(alice))
    assert done.returncode == 0, done.stderr
    # The embedded broker cannot reach another process: the server's periodic re-read does.
    assert await closed_with(alice, timeout=15) == 4001
    assert (await cli(server, "reactivate", name_of(alice))).returncode == 0
    await ChatClient(server.base_url).login(name_of(alice), PASSWORD)


# -- roles ------------------------------------------------------------------------------


async def test_a_demoted_mentor_loses_the_right_on_the_open_socket_at_once(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient]
) -> None:
    mentor = ChatClient(server.base_url, register_with_role(server, "mentor"), reconnect=False)
    try:
        me = await mentor.me()
        student = await make_client("student")
        room = await student.create_room(unique_slug(), "Open", "topic")
        first = await student.post_message(room["id"], "one")
        second = await student.post_message(room["id"], "two")
        await mentor.connect()

        await mentor.delete(first["id"])  # a mentor moderates

        changed = await staff["admin"].set_role(me["id"], "student")
        assert changed["role"] == "student"
        with pytest.raises(ApiError) as refused:
            await mentor.delete(second["id"])
        assert refused.value.code == "forbidden"
        assert mentor.connected  # the same socket, no reconnect
    finally:
        await mentor.close()


async def test_only_admins_change_roles_and_only_to_known_roles(
    server: ServerProcess, make_client: ClientFactory, staff: dict[str, ChatClient]
) -> None:
    student = await make_client("student")
    with pytest.raises(ApiError) as not_admin:
        await staff["mentor"].set_role(id_of(student), "mentor")
    assert not_admin.value.code == "forbidden"
    with pytest.raises(ApiError) as unknown:
        await staff["admin"].set_role(id_of(student), "king")
    assert (unknown.value.status, unknown.value.code) == (400, "bad_request")
    with pytest.raises(ApiError) as nobody:
        await staff["admin"].set_role(2**40, "mentor")
    assert nobody.value.status == 404
    assert (await staff["admin"].set_role(id_of(student), "mentor"))["role"] == "mentor"
    assert (await student.me())["role"] == "mentor"


# -- several nodes ----------------------------------------------------------------------


async def forbidden_within(client: ChatClient, message_id: int, seconds: float) -> bool:
    """Whether deleting the message answers `forbidden` within `seconds` (each try
    that is allowed deletes nothing new: the message is already gone or not)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            await client.request("delete", message=message_id)
        except ApiError as refused:
            return refused.code == "forbidden"
        await asyncio.sleep(0.05)
    return False


@pytest.mark.redis
@pytest.mark.postgres
async def test_revocations_and_role_changes_reach_sockets_on_the_other_node(
    two_nodes: list[ServerProcess],
) -> None:
    first, second = two_nodes
    clients: list[ChatClient] = []

    def client(node: ServerProcess, token: str | None = None) -> ChatClient:
        made = ChatClient(node.base_url, token, reconnect=False)
        clients.append(made)
        return made

    try:
        admin = client(first)
        await admin.register(f"admin{uuid.uuid4().hex[:8]}", PASSWORD)
        alice = client(first)
        await alice.register(f"alice{uuid.uuid4().hex[:8]}", PASSWORD)
        elsewhere = client(second)
        await elsewhere.login(name_of(alice), PASSWORD)
        await elsewhere.connect()

        # A password change on the first node closes the session on the second at once
        # (well before the nodes' periodic re-reading of accounts).
        await alice.change_password(PASSWORD, NEW_PASSWORD)
        assert await closed_with(elsewhere, timeout=2) == 4001

        # A role changed by the operator's CLI reaches the second node through Redis.
        mentor = client(second)
        await mentor.register(f"mentor{uuid.uuid4().hex[:8]}", PASSWORD)
        await admin.set_role(id_of(mentor), "mentor")
        room = await alice.create_room(unique_slug(), "Shared", "topic")
        one = await alice.post_message(room["id"], "one")
        two = await alice.post_message(room["id"], "two")
        await mentor.connect()
        await mentor.delete(one["id"])
        done = await cli(first, "set-role", name_of(mentor), "student")
        assert done.returncode == 0, done.stderr
        assert await forbidden_within(mentor, two["id"], seconds=2)
        assert mentor.connected
    finally:
        for made in clients:
            await made.close()
