"""Accounts: registering, logging in and out, the profile, tokens and the auth rate limit."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from chatserver.sdk import ApiError, ChatClient, SocketClosed
from tests.e2e.conftest import ClientFactory
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"


def new_name(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def api(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


# -- registration ---------------------------------------------------------------------


async def test_register_returns_the_user_and_a_token(api: httpx.AsyncClient) -> None:
    name = new_name("Reg")
    resp = await api.post(
        "/api/auth/register",
        json={"username": name, "password": PASSWORD, "display_name": "Ada L."},
    )
    assert resp.status_code == 201
    body = resp.json()
    user = body["user"]
    assert user["username"] == name.lower()
    assert user["display_name"] == "Ada L."
    assert user["region"] is None
    assert user["role"] in ("student", "admin")
    assert isinstance(user["id"], int)
    assert isinstance(body["token"], str) and len(body["token"]) >= 20

    me = await api.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["id"] == user["id"]


async def test_display_name_defaults_to_the_username(api: httpx.AsyncClient) -> None:
    name = new_name()
    resp = await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    assert resp.status_code == 201
    assert resp.json()["user"]["display_name"] == name


async def test_a_name_taken_in_another_case_is_a_conflict(api: httpx.AsyncClient) -> None:
    name = new_name("case")
    first = await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    assert first.status_code == 201
    for variant in (name, name.upper(), name.capitalize()):
        again = await api.post(
            "/api/auth/register", json={"username": variant, "password": PASSWORD}
        )
        assert_error(again, 409, "conflict")


@pytest.mark.parametrize(
    "username",
    ["ab", "x" * 33, "has space", "émile", "slash/name", "at@sign", "", 12345, None],
)
async def test_invalid_usernames_are_refused(api: httpx.AsyncClient, username: object) -> None:
    resp = await api.post("/api/auth/register", json={"username": username, "password": PASSWORD})
    assert_error(resp, 400, "bad_request")


async def test_usernames_at_the_length_limits_and_with_every_allowed_character(
    api: httpx.AsyncClient,
) -> None:
    short = uuid.uuid4().hex[:3]
    long = ("a._-" + uuid.uuid4().hex * 2)[:32]
    for name in (short, long):
        resp = await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        assert resp.json()["user"]["username"] == name


@pytest.mark.parametrize("password", ["short", "1234567", "", None, 12345678])
async def test_invalid_passwords_are_refused(api: httpx.AsyncClient, password: object) -> None:
    resp = await api.post("/api/auth/register", json={"username": new_name(), "password": password})
    assert_error(resp, 400, "bad_request")


async def test_an_eight_character_password_is_enough(api: httpx.AsyncClient) -> None:
    name = new_name()
    resp = await api.post("/api/auth/register", json={"username": name, "password": "12345678"})
    assert resp.status_code == 201
    login = await api.post("/api/auth/login", json={"username": name, "password": "12345678"})
    assert login.status_code == 200


async def test_a_body_that_is_not_a_json_object_is_a_bad_request(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/api/auth/register",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_error(resp, 400, "bad_request")
    resp = await api.post("/api/auth/register", json=["alice", PASSWORD])
    assert_error(resp, 400, "bad_request")


# -- login ----------------------------------------------------------------------------


async def test_login_in_any_case_gives_a_working_token(api: httpx.AsyncClient) -> None:
    name = new_name("Log")
    registered = await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    user_id = registered.json()["user"]["id"]

    resp = await api.post("/api/auth/login", json={"username": name.upper(), "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.json()
    assert body["user"]["id"] == user_id
    assert body["user"]["username"] == name.lower()
    assert body["token"] != registered.json()["token"]
    me = await api.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["user"]["id"] == user_id


async def test_wrong_password_and_unknown_user_are_both_unauthorized(
    api: httpx.AsyncClient,
) -> None:
    name = new_name()
    await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    wrong = await api.post("/api/auth/login", json={"username": name, "password": PASSWORD + "x"})
    unknown = await api.post(
        "/api/auth/login", json={"username": new_name("nobody"), "password": PASSWORD}
    )
    assert_error(wrong, 401, "unauthorized")
    assert_error(unknown, 401, "unauthorized")
    # Nothing tells an attacker which of the two was wrong.
    assert wrong.json() == unknown.json()


async def test_login_without_credentials_is_refused(api: httpx.AsyncClient) -> None:
    for body in ({"username": new_name()}, {"password": PASSWORD}, {}):
        resp = await api.post("/api/auth/login", json=body)
        assert_error(resp, 400, "bad_request")


# -- the profile ----------------------------------------------------------------------


async def test_me_shows_and_updates_the_profile(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    me = await alice.me()
    assert set(me) >= {"id", "username", "display_name", "role", "region"}
    assert me["username"] == alice.user["username"]  # type: ignore[index]

    updated = await alice.http("PATCH", "/api/me", json={"display_name": "  Alice W.  "})
    assert updated["user"]["display_name"] == "Alice W."
    updated = await alice.http("PATCH", "/api/me", json={"region": "Lyon"})
    assert updated["user"]["region"] == "Lyon"
    assert updated["user"]["display_name"] == "Alice W."  # untouched fields stay
    assert (await alice.me())["region"] == "Lyon"

    cleared = await alice.http("PATCH", "/api/me", json={"region": None})
    assert cleared["user"]["region"] is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"display_name": ""}, "bad_request"),
        ({"display_name": "   "}, "bad_request"),
        ({"display_name": 42}, "bad_request"),
        ({"display_name": "two\nlines"}, "bad_request"),
        ({"display_name": "x" * 65}, "too_large"),
        ({"region": ["Lyon"]}, "bad_request"),
        ({"region": "r" * 65}, "too_large"),
    ],
)
async def test_invalid_profile_changes_are_refused(
    make_client: ClientFactory, change: dict[str, object], code: str
) -> None:
    alice = await make_client("alice")
    before = await alice.me()
    with pytest.raises(ApiError) as refused:
        await alice.http("PATCH", "/api/me", json=change)
    assert refused.value.code == code
    assert refused.value.status == (413 if code == "too_large" else 400)
    assert await alice.me() == before


async def test_patch_me_needs_a_json_object(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    with pytest.raises(ApiError) as refused:
        await alice.http("PATCH", "/api/me", json=["display_name"])
    assert refused.value.code == "bad_request"


# -- tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "garbage"},
    ],
)
async def test_missing_or_bad_tokens_get_401_unauthorized(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for method, path in (("GET", "/api/me"), ("GET", "/api/rooms"), ("POST", "/api/auth/logout")):
        resp = await api.request(method, path, headers=headers)
        assert_error(resp, 401, "unauthorized")
        assert resp.headers["content-type"].startswith("application/json")


async def test_logout_revokes_only_that_token(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    other = ChatClient(alice.base_url)
    try:
        await other.login(alice.user["username"], "correct horse battery")  # type: ignore[index]
        old_token = alice.token
        assert await alice.http("POST", "/api/auth/logout") is None  # 204, no body
        alice.token = old_token
        with pytest.raises(ApiError) as refused:
            await alice.me()
        assert (refused.value.status, refused.value.code) == (401, "unauthorized")
        assert (await other.me())["id"] == alice.user["id"]  # type: ignore[index]
    finally:
        await other.close()


async def test_logout_answers_204(server: ServerProcess, make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        resp = await api.post(
            "/api/auth/logout", headers={"Authorization": f"Bearer {alice.token}"}
        )
    assert resp.status_code == 204
    assert resp.content == b""


async def test_logout_closes_websockets_opened_with_the_token_with_4001(
    make_client: ClientFactory,
) -> None:
    alice = await make_client("alice", reconnect=False)
    second = ChatClient(alice.base_url, reconnect=False)
    try:
        await second.login(alice.user["username"], "correct horse battery")  # type: ignore[index]
        await second.connect()
        await alice.connect()
        token = alice.token
        logout = ChatClient(alice.base_url, token=token)
        try:
            await logout.logout()
        finally:
            await logout.close()
        with pytest.raises(SocketClosed) as closed:
            await alice.next_event("never", timeout=5)
        assert closed.value.close_code == 4001
        # The other session of the same user keeps working.
        assert (await second.ping())["op"] == "pong"

        # A new socket with the revoked token is refused the same way.
        async with connect(alice.ws_url) as ws:
            await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
            await ws.wait_closed()
            assert ws.close_code == 4001
    finally:
        await second.close()


# -- a fresh server -------------------------------------------------------------------


def test_the_first_account_on_a_fresh_server_is_admin(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as fresh:
        roles = []
        for name in ("founder", "second", "third"):
            resp = httpx.post(
                f"{fresh.base_url}/api/auth/register",
                json={"username": name, "password": PASSWORD},
            )
            assert resp.status_code == 201
            roles.append(resp.json()["user"]["role"])
        assert roles == ["admin", "student", "student"]


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "CHAT_RATE_LIMIT_SCALE": "1",
        "CHAT_AUTH_BURST_PER_IP": "3",
        "CHAT_AUTH_RATE_PER_IP": "0.2",
    }
    with ServerProcess(tmp_path_factory.mktemp("limited"), env=env) as process:
        yield process


def test_auth_requests_per_ip_are_rate_limited(limited_server: ServerProcess) -> None:
    url = limited_server.base_url
    with httpx.Client(base_url=url) as api:
        ok = api.post("/api/auth/register", json={"username": "limited", "password": PASSWORD})
        assert ok.status_code == 201
        assert (
            api.post(
                "/api/auth/login", json={"username": "limited", "password": PASSWORD}
            ).status_code
            == 200
        )
        wrong = api.post("/api/auth/login", json={"username": "limited", "password": "wrong-pw"})
        assert wrong.status_code == 401
        # The burst of 3 is spent, whatever the outcome of each attempt.
        for path, payload in (
            ("/api/auth/login", {"username": "limited", "password": PASSWORD}),
            ("/api/auth/register", {"username": "another", "password": PASSWORD}),
        ):
            resp = api.post(path, json=payload)
            error = assert_error(resp, 429, "rate_limited")
            assert isinstance(error["retry_after"], (int, float))
            assert 0 < error["retry_after"] <= 5
            assert int(resp.headers["retry-after"]) >= 1
