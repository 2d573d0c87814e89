"""Operations: /metrics answers whom CHAT_METRICS allows, its numbers follow what clients
do, and JSON logs name each request and socket without ever carrying a secret."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatserver.sdk import ApiError, ChatClient
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"
SEND_ROUTE = "/api/rooms/{room}/messages"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The default access rule (loopback and admins), JSON logs at the most verbose level,
    and real rate limits with a small message burst, so that a test can run into one."""
    env = {
        "CHAT_LOG_FORMAT": "json",
        "CHAT_LOG_LEVEL": "debug",
        "CHAT_RATE_LIMIT_SCALE": "1",
        "CHAT_MESSAGE_BURST": "5",
    }
    with ServerProcess(tmp_path_factory.mktemp("observed"), env=env) as process:
        yield process


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Metrics for one network only (not loopback), behind a trusted proxy on loopback."""
    env = {"CHAT_METRICS": "192.0.2.0/24", "CHAT_TRUST_PROXY_HEADERS": "true"}
    with ServerProcess(tmp_path_factory.mktemp("restricted"), env=env) as process:
        yield process


async def get(server: ServerProcess, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.get(path, headers={k.replace("_", "-"): v for k, v in headers.items()})


async def post(server: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(path, json=body)


async def register(server: ServerProcess, name: str, password: str = PASSWORD) -> dict[str, Any]:
    username = f"{name}{uuid.uuid4().hex[:8]}"
    reply = await post(server, "/api/auth/register", {"username": username, "password": password})
    assert reply.status_code == 201, reply.text
    session: dict[str, Any] = reply.json()
    return session


async def scrape(server: ServerProcess, token: str | None = None) -> Samples:
    reply = await get(server, "/metrics", **({"Authorization": f"Bearer {token}"} if token else {}))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> None:
    """Wait until `check()` (a value, or an awaitable of one) is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    text = server.log_path.read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def socket_closed_logged(server: ServerProcess, user_id: int) -> bool:
    return any(
        line.get("user_id") == user_id and "close_code" in line for line in log_lines(server)
    )


# -- who may read /metrics -------------------------------------------------------------


async def test_loopback_reads_metrics_without_a_token(server: ServerProcess) -> None:
    samples = await scrape(server)
    assert ("chat_websocket_connections", frozenset()) in samples
    assert value(samples, "process_resident_memory_bytes") > 0


async def test_a_request_relayed_by_an_untrusted_proxy_is_not_local(
    server: ServerProcess,
) -> None:
    """Behind nginx on the same machine every request comes from loopback: one that says
    it was forwarded is not taken for a local scrape unless the proxy is trusted."""
    reply = await get(server, "/metrics", X_Forwarded_For="203.0.113.9")
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "forbidden"


async def test_outside_the_listed_networks_only_admins_read_metrics(
    restricted: ServerProcess,
) -> None:
    admin = await register(restricted, "admin")  # the first account is the admin
    student = await register(restricted, "student")
    assert (admin["user"]["role"], student["user"]["role"]) == ("admin", "student")

    anonymous = await get(restricted, "/metrics")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (403, "forbidden")
    as_student = await get(restricted, "/metrics", Authorization=f"Bearer {student['token']}")
    assert (as_student.status_code, as_student.json()["error"]["code"]) == (403, "forbidden")
    bad_token = await get(restricted, "/metrics", Authorization="Bearer not-a-token")
    assert (bad_token.status_code, bad_token.json()["error"]["code"]) == (401, "unauthorized")
    assert value(await scrape(restricted, admin["token"]), "chat_http_requests_total") > 0


async def test_a_listed_network_behind_a_trusted_proxy_reads_metrics(
    restricted: ServerProcess,
) -> None:
    listed = await get(restricted, "/metrics", X_Forwarded_For="192.0.2.7")
    assert listed.status_code == 200
    assert "chat_websocket_connections" in listed.text
    unlisted = await get(restricted, "/metrics", X_Forwarded_For="198.51.100.7")
    assert unlisted.status_code == 403


async def test_metrics_can_be_turned_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {"CHAT_METRICS": "off"}
    with ServerProcess(tmp_path_factory.mktemp("nometrics"), env=env) as off:
        admin = await register(off, "admin")
        reply = await get(off, "/metrics", Authorization=f"Bearer {admin['token']}")
        assert (reply.status_code, reply.json()["error"]["code"]) == (404, "not_found")


# -- what the numbers say --------------------------------------------------------------


async def test_sends_move_connections_events_deliveries_and_latencies(
    server: ServerProcess,
) -> None:
    alice = ChatClient(server.base_url, (await register(server, "alice"))["token"])
    bob_session = await register(server, "bob")
    bob = ChatClient(server.base_url, bob_session["token"])
    try:
        room = await alice.create_room(f"obs-{uuid.uuid4().hex[:10]}", "Observed", "topic")
        await bob.join(room["id"])
        before = await scrape(server)
        await alice.connect()
        await bob.connect()
        # Presence is announced per short window: once Alice hears Bob come online, both
        # arrivals are published, and what follows counts the messages alone.
        while True:
            seen = await alice.next_event("presence", timeout=10)
            if seen["user"]["id"] == bob_session["user"]["id"] and seen["status"] == "online":
                break
        opened = await scrape(server)
        sockets = value(opened, "chat_websocket_connections")
        assert sockets - value(before, "chat_websocket_connections") == 2
        accepted = value(opened, "chat_websocket_accepted_total")
        assert accepted - value(before, "chat_websocket_accepted_total") == 2

        sends = 3
        for n in range(sends):
            await alice.send(room["id"], f"message {n}")
        await alice.post_message(room["id"], "over HTTP")
        for client in (alice, bob):
            for _ in range(sends + 1):
                await client.next_event("message.created", room=room["id"])
        after = await scrape(server)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(opened, name, **labels)

        # Four messages, each published once and delivered to both members' sockets.
        assert grew("chat_events_published_total", channel="room") == sends + 1
        assert grew("chat_events_received_total", channel="room") == sends + 1
        assert grew("chat_deliveries_total") == (sends + 1) * 2
        assert grew("chat_fanout_seconds_count") >= sends + 1
        assert grew("chat_send_seconds_count", transport="ws") == sends
        assert grew("chat_send_seconds_count", transport="http") == 1
        assert grew("chat_send_seconds_sum", transport="ws") > 0
        assert grew("chat_db_transaction_seconds_count", kind="write") >= sends + 1
        assert grew("chat_db_transaction_seconds_count", kind="read") > 0
        created = {"method": "POST", "route": SEND_ROUTE, "status": "201"}
        assert grew("chat_http_requests_total", **created) == 1

        await bob.close()

        async def one_socket_fewer() -> bool:
            return value(await scrape(server), "chat_websocket_connections") == sockets - 1

        await eventually(one_socket_fewer)
        closed = await scrape(server)
        normal = {"code": "1000"}
        assert value(closed, "chat_websocket_closed_total", **normal) == 1 + value(
            after, "chat_websocket_closed_total", **normal
        )
    finally:
        await alice.close()
        await bob.close()


async def test_rate_limit_hits_and_error_codes_are_counted(server: ServerProcess) -> None:
    client = ChatClient(server.base_url, (await register(server, "limited"))["token"])
    try:
        room = await client.create_room(f"lim-{uuid.uuid4().hex[:10]}", "Limited", "topic")
        await client.connect()
        before = await scrape(server)
        refused = 0
        for n in range(12):  # the burst is 5 messages, refilled at 5 per second
            try:
                await client.send(room["id"], f"quick {n}")
            except ApiError as error:
                assert error.code == "rate_limited"
                refused += 1
        assert refused > 0
        with pytest.raises(ApiError) as missing:
            await client.room(99_999_999)
        assert missing.value.status == 404
        after = await scrape(server)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("chat_rate_limited_total", limit="messages") == refused
        assert grew("chat_errors_total", transport="ws", code="rate_limited") == refused
        assert grew("chat_errors_total", transport="http", code=missing.value.code) == 1
        assert grew("chat_http_requests_total", route="/api/rooms/{room}", status="404") == 1
    finally:
        await client.close()


# -- logs ------------------------------------------------------------------------------


async def test_json_log_lines_name_requests_and_sockets(server: ServerProcess) -> None:
    reply = await get(server, "/api/me", X_Request_Id="chosen-by-client")
    request_id = reply.headers["x-request-id"]
    # The server does not trust proxy headers here: a client cannot choose its id.
    assert request_id != "chosen-by-client"
    session = await register(server, "logged")
    client = ChatClient(server.base_url, session["token"], reconnect=False)
    await client.connect()
    await client.close()
    await eventually(lambda: socket_closed_logged(server, session["user"]["id"]))

    lines = log_lines(server)  # every line is one JSON object
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    access = [line for line in lines if line.get("request_id") == request_id]
    assert [(line["route"], line["status"]) for line in access] == [("/api/me", 401)]
    closed = [line for line in lines if line.get("user_id") == session["user"]["id"]]
    assert closed[-1]["close_code"] == 1000
    assert isinstance(closed[-1]["connection"], int)


async def test_a_trusted_proxy_may_name_the_request(restricted: ServerProcess) -> None:
    reply = await get(restricted, "/healthz", X_Request_Id="edge-42")
    assert reply.headers["x-request-id"] == "edge-42"
    junk = await get(restricted, "/healthz", X_Request_Id="a b;c")
    assert junk.headers["x-request-id"] != "a b;c"


def test_the_documented_nginx_hides_metrics_and_names_requests(
    restricted: ServerProcess, tmp_path: Path
) -> None:
    from tests.e2e.test_nginx import Proxy, nginx_binary

    with Proxy(nginx_binary(), tmp_path, [restricted.port]) as proxy:
        assert httpx.get(f"{proxy.base_url}/metrics").status_code == 404
        reply = httpx.get(f"{proxy.base_url}/healthz")
        # nginx's own $request_id, which the server trusts its proxy for and keeps.
        assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["x-request-id"])


async def test_passwords_and_tokens_never_reach_the_log(server: ServerProcess) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    session = await register(server, "secret", password)
    token = session["token"]
    username = session["user"]["username"]
    login = await post(server, "/api/auth/login", {"username": username, "password": password})
    second_token = login.json()["token"]
    wrong = await post(
        server, "/api/auth/login", {"username": username, "password": "x" + password}
    )
    assert wrong.status_code == 401
    assert (await get(server, "/api/me", Authorization=f"Bearer {token}")).status_code == 200
    reset_token = uuid.uuid4().hex
    await get(server, f"/reset/{reset_token}")
    client = ChatClient(server.base_url, second_token, reconnect=False)
    await client.connect()
    await client.close()
    refused = ChatClient(server.base_url, token + "x", reconnect=False)
    with pytest.raises(ApiError):
        await refused.connect()
    await refused.close()
    await eventually(lambda: socket_closed_logged(server, session["user"]["id"]))

    text = server.log_path.read_text(errors="replace")
    for secret in (password, token, second_token, reset_token):
        # Not even a part of one: a trace that shortens long lines keeps both ends.
        parts = {secret[i : i + 10] for i in range(len(secret) - 9)}
        assert not [part for part in parts if part in text], f"{secret[:4]}… was logged"


async def test_the_event_loop_lag_is_watched(server: ServerProcess) -> None:
    """A stalled loop stalls every socket: operators see it in a histogram of how late
    a watcher sleeping a tenth of a second woke up, about ten samples a second."""
    first = await scrape(server)
    await asyncio.sleep(1.5)
    later = await scrape(server)
    samples = value(later, "chat_event_loop_lag_seconds_count") - value(
        first, "chat_event_loop_lag_seconds_count"
    )
    assert 5 <= samples <= 16, samples
    lateness = value(later, "chat_event_loop_lag_seconds_sum")
    assert 0 <= lateness < value(later, "chat_event_loop_lag_seconds_count")
