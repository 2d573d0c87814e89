"""Limits that keep one stranger or one account from locking others out: request and
handshake deadlines, socket caps per node, address and account, handshake and ping
rates, the Host check, proxy addresses, login delays and the password-hashing bound.

The attacker's sockets come from other loopback addresses (127.0.0.2 and up), which
Linux routes to the server on 127.0.0.1 like any other client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.server import ServerProcess
from tests.support.sockets import close_of

PASSWORD = "correct horse battery"


class LimitedServer(ServerProcess):
    """A server started with a low open-file limit (soft, hard), as on many hosts."""

    def __init__(self, workdir: Path, nofile: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(workdir, **kwargs)
        self.nofile = nofile

    def spawn(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatserver", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile),
        )
        log.close()


def raw_socket(port: int, source: str) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes; raises TimeoutError if it does not."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def unasked(sock: socket.socket) -> bytes:
    """What the server has already sent without being asked (b"" if nothing)."""
    try:
        return sock.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return b""


def handshake(port: int, host: str, origin: str | None = None, source: str = "127.0.0.1") -> int:
    """The HTTP status the server answers a WebSocket upgrade with."""
    with raw_socket(port, source) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        extra = f"Origin: {origin}\r\n" if origin else ""
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )
        sock.settimeout(5)
        status = sock.recv(4096).split(b" ", 2)[1]
        return int(status)


def http(server: ServerProcess, source: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=30)


async def register(server: ServerProcess, prefix: str = "u") -> tuple[str, str]:
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    async with http(server) as api:
        resp = await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        return name, resp.json()["token"]


async def hello(server: ServerProcess, token: str, source: str) -> ClientConnection:
    """An authenticated raw WebSocket from `source`; fails unless `ready` comes back."""
    ws = await connect(server.ws_url, local_addr=(source, 0))
    await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["op"] == "ready", frame
    return ws


# -- request and handshake deadlines ----------------------------------------------------


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Deadlines of one second; rate limits at their defaults."""
    env = {"CHAT_HEADER_TIMEOUT": "1", "CHAT_HELLO_TIMEOUT": "1", "CHAT_RATE_LIMIT_SCALE": "1"}
    with ServerProcess(tmp_path_factory.mktemp("quick"), env=env) as process:
        yield process


UNFINISHED = {
    "nothing": b"",
    "half a request line": b"GET /healthz HT",
    "headers without their end": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "half a WebSocket upgrade": (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    ),
    "a body cut short": (
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"username": '
    ),
}


@pytest.mark.parametrize("sent", UNFINISHED.values(), ids=UNFINISHED.keys())
def test_a_request_not_finished_in_time_is_disconnected(quick: ServerProcess, sent: bytes) -> None:
    with raw_socket(quick.port, "127.0.0.2") as sock:
        sock.sendall(sent)
        started = time.monotonic()
        read_until_closed(sock, timeout=10)
        assert 0.8 < time.monotonic() - started < 4


def test_an_idle_keep_alive_connection_is_disconnected(quick: ServerProcess) -> None:
    with raw_socket(quick.port, "127.0.0.2") as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        read_until_closed(sock, timeout=10)
        assert time.monotonic() - started < 4


def test_endless_headers_get_a_431_answer(quick: ServerProcess) -> None:
    with raw_socket(quick.port, "127.0.0.2") as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 40_000)
        answer = read_until_closed(sock, timeout=5)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
        assert b'"too_large"' in answer


async def test_a_truncated_request_body_writes_nothing_to_the_log(quick: ServerProcess) -> None:
    before = quick.log_path.stat().st_size
    for _ in range(50):
        with raw_socket(quick.port, "127.0.0.2") as sock:
            sock.sendall(UNFINISHED["a body cut short"])
    await asyncio.sleep(1)
    assert quick.log_path.stat().st_size - before < 500, quick.log()


async def test_pings_are_rate_limited_per_connection(quick: ServerProcess) -> None:
    _, token = await register(quick, "pinger")
    ws = await hello(quick, token, "127.0.0.3")
    try:
        for ref in range(30):
            await ws.send(json.dumps({"op": "ping", "ref": ref}))
        replies = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(30)]
    finally:
        await ws.close()
    pongs = [r for r in replies if r["op"] == "pong"]
    limited = [r for r in replies if r["op"] == "error"]
    assert 20 <= len(pongs) <= 22
    assert limited and all(r["code"] == "rate_limited" for r in limited)
    assert all(0 < r["retry_after"] <= 1.01 for r in limited)


async def test_handshakes_of_one_account_are_rate_limited(quick: ServerProcess) -> None:
    _, token = await register(quick, "reconnector")
    accepted = 0
    while accepted < 40:  # a burst of 30 hellos, then one every 2 s
        ws = await connect(quick.ws_url, local_addr=("127.0.0.4", 0))
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        try:
            if json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "ready":
                await ws.close()
                accepted += 1
                continue
        except ConnectionClosed:
            pass
        code, reason = await close_of(ws)
        assert (code, "too many connection attempts" in reason) == (4008, True)
        break
    assert 30 <= accepted < 35


# -- caps per address, per account, per node --------------------------------------------


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "CHAT_RATE_LIMIT_SCALE": "1",
        "CHAT_MAX_CONNECTIONS_PER_IP": "20",
        "CHAT_MAX_CONNECTIONS_PER_USER": "3",
        "CHAT_CONNECT_BURST_PER_IP": "10",
        "CHAT_CONNECT_RATE_PER_IP": "0.1",
        "CHAT_HEADER_TIMEOUT": "30",
        "CHAT_ALLOWED_ORIGINS": "https://chat.example.org",
    }
    with ServerProcess(tmp_path_factory.mktemp("capped"), env=env) as process:
        yield process


def test_sockets_per_address_are_capped_when_accepted(capped: ServerProcess) -> None:
    held = [raw_socket(capped.port, "127.0.0.5") for _ in range(20)]
    try:
        time.sleep(0.3)
        assert all(unasked(sock) == b"" for sock in held)
        with raw_socket(capped.port, "127.0.0.5") as extra:
            refused = read_until_closed(extra, timeout=2)
        assert refused.startswith(b"HTTP/1.1 429"), refused[:100]
        assert b'"rate_limited"' in refused and b"retry-after: 5" in refused
        # Another address is not affected...
        assert httpx.get(f"{capped.base_url}/healthz").status_code == 200
        # ...and a socket closed makes room for one more.
        held.pop().close()
        time.sleep(0.3)
        with raw_socket(capped.port, "127.0.0.5") as again:
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            again.settimeout(5)
            assert again.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()


async def test_websockets_per_account_are_capped(capped: ServerProcess) -> None:
    _, token = await register(capped, "tabs")
    sockets = [await hello(capped, token, "127.0.0.6") for _ in range(3)]
    try:
        fourth = await connect(capped.ws_url, local_addr=("127.0.0.6", 0))
        await fourth.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        assert await close_of(fourth) == (4008, "too many connections for this account")
        await sockets.pop().close()
        await asyncio.sleep(0.3)
        sockets.append(await hello(capped, token, "127.0.0.6"))
    finally:
        for ws in sockets:
            await ws.close()


async def test_handshakes_per_address_are_rate_limited(capped: ServerProcess) -> None:
    _, token = await register(capped, "hasty")
    for _ in range(10):
        ws = await connect(capped.ws_url, local_addr=("127.0.0.7", 0))
        await ws.close()
    with pytest.raises(InvalidStatus) as refused:
        await connect(capped.ws_url, local_addr=("127.0.0.7", 0))
    response = refused.value.response
    assert response.status_code == 429
    assert json.loads(response.body or b"")["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    ws = await hello(capped, token, "127.0.0.8")  # other addresses connect as usual
    await ws.close()


# -- Host (DNS rebinding) ---------------------------------------------------------------


def test_the_host_must_be_this_server(quick: ServerProcess, capped: ServerProcess) -> None:
    port = quick.port
    # A rebound domain: its page's Origin matches its Host, so only the Host can tell.
    assert handshake(port, f"evil.example:{port}", f"http://evil.example:{port}") == 403
    assert handshake(port, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 101
    assert handshake(port, f"localhost:{port}", f"http://localhost:{port}") == 101
    assert handshake(port, f"[::1]:{port}") == 101
    refused = httpx.get(f"{quick.base_url}/healthz", headers={"Host": "evil.example"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "CHAT_ALLOWED_ORIGINS" in refused.json()["error"]["message"]
    # With public origins configured, their host is this server too.
    port = capped.port
    public = "https://chat.example.org"
    assert handshake(port, "chat.example.org", public, source="127.0.0.9") == 101
    assert handshake(port, "other.example", "https://other.example", source="127.0.0.9") == 403
    assert httpx.get(f"{capped.base_url}/healthz", headers={"Host": "chat.example.org"}).is_success


# -- client addresses behind a proxy ----------------------------------------------------


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "CHAT_RATE_LIMIT_SCALE": "1",
        "CHAT_TRUST_PROXY_HEADERS": "true",
        "CHAT_TRUSTED_PROXIES": "127.0.0.1",
        "CHAT_AUTH_BURST_PER_IP": "2",
        "CHAT_AUTH_RATE_PER_IP": "0.01",
    }
    with ServerProcess(tmp_path_factory.mktemp("proxied"), env=env) as process:
        yield process


async def _login_status(server: ServerProcess, source: str, forwarded: str) -> int:
    async with http(server, source) as api:
        resp = await api.post(
            "/api/auth/login",
            json={"username": "nobody", "password": PASSWORD},
            headers={"X-Forwarded-For": forwarded},
        )
        return resp.status_code


async def test_the_client_address_is_the_one_our_proxy_added(proxied: ServerProcess) -> None:
    # From the trusted proxy: the rightmost address is the client, whatever it claims before.
    assert await _login_status(proxied, "127.0.0.1", "6.6.6.6, 10.0.0.1") == 401
    assert await _login_status(proxied, "127.0.0.1", "7.7.7.7, 10.0.0.1") == 401
    assert await _login_status(proxied, "127.0.0.1", "8.8.8.8, 10.0.0.1") == 429
    assert await _login_status(proxied, "127.0.0.1", "6.6.6.6, 10.0.0.2") == 401
    # From anyone else, the header is ignored: the limit keys on the peer itself.
    assert await _login_status(proxied, "127.0.0.10", "1.1.1.1") == 401
    assert await _login_status(proxied, "127.0.0.10", "2.2.2.2") == 401
    assert await _login_status(proxied, "127.0.0.10", "3.3.3.3") == 429


# -- login ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"CHAT_RATE_LIMIT_SCALE": "1"}
    with ServerProcess(tmp_path_factory.mktemp("logins"), env=env) as process:
        yield process


async def _login(api: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await api.post("/api/auth/login", json={"username": name, "password": password})


async def test_a_stranger_failing_50_times_cannot_keep_the_owner_out(
    logins: ServerProcess,
) -> None:
    victim, _ = await register(logins, "victim")
    async with http(logins, "127.0.0.11") as attacker:
        answers = [
            (await _login(attacker, victim, "wrong password")).status_code for _ in range(50)
        ]
    assert answers.count(401) <= 7 and answers.count(429) >= 43
    async with http(logins, "127.0.0.1") as owner:
        resp = await _login(owner, victim, PASSWORD)
        assert resp.status_code == 200, resp.text
    async with http(logins, "127.0.0.12") as someone_else:
        assert (await _login(someone_else, victim, "a typo here")).status_code == 401


async def test_login_delays_grow_for_one_address_and_account(logins: ServerProcess) -> None:
    target, _ = await register(logins, "target")
    failures = 0
    waits: list[float] = []
    async with http(logins, "127.0.0.13") as attacker:
        async with asyncio.timeout(40):
            while not waits or waits[-1] <= 2.1:
                resp = await _login(attacker, target, "guess")
                if resp.status_code == 401:
                    failures += 1
                    continue
                assert resp.status_code == 429, resp.text
                waits.append(resp.json()["error"]["retry_after"])
                if waits[-1] <= 2.1:
                    await asyncio.sleep(waits[-1])
    assert 10 <= failures <= 11  # 5 at once, then 5 more one every 2 s (each takes 0.4 s)
    assert len(waits) >= 5 and min(waits) > 0
    assert waits[-1] > 10  # then one every 30 s


def _memory(pid: int, field: str) -> int:
    """A size from /proc/<pid>/status (VmRSS: now, VmHWM: the most ever), in bytes."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        pytest.skip("needs /proc to read the server's memory")
    for line in status.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


async def test_concurrent_logins_hash_a_bounded_number_of_passwords_at_once(
    logins: ServerProcess,
) -> None:
    assert logins.process is not None
    pid = logins.process.pid
    before = _memory(pid, "VmRSS:")
    async with http(logins, "127.0.0.14") as api:
        # Unknown usernames cost a full verification too (against a dummy hash).
        answers = await asyncio.gather(
            *(_login(api, f"ghost{i}{uuid.uuid4().hex[:6]}", "guess") for i in range(24))
        )
    assert [a.status_code for a in answers] == [401] * 24
    # Two hashes at once (CHAT_HASH_CONCURRENCY) of 64 MiB each, plus slack; six at
    # once, as on the shared thread pool, would be 384 MiB.
    assert _memory(pid, "VmHWM:") - before < 200 * 2**20


# -- thousands of silent sockets ---------------------------------------------------------


def _open_file_limits(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc")


def _open_many(port: int, source: str, count: int) -> list[socket.socket]:
    opened = []
    for _ in range(count):
        try:
            opened.append(raw_socket(port, source))
        except OSError:
            break
    return opened


async def test_2000_silent_sockets_from_one_address_do_not_lock_anyone_out(
    tmp_path: Path,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2500 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    elif soft < 2500:
        pytest.skip("this process cannot open 2,000 sockets")
    env = {"CHAT_RATE_LIMIT_SCALE": "1", "CHAT_HEADER_TIMEOUT": "60"}
    server = LimitedServer(tmp_path, (256, 1024), env=env)
    server.start()
    attack: list[socket.socket] = []
    try:
        assert server.process is not None
        # Started with 256, raised to the hard limit at start.
        assert _open_file_limits(server.process.pid) == (1024, 1024)
        attack = await asyncio.to_thread(_open_many, server.port, "127.0.0.2", 2000)
        assert len(attack) == 2000
        await asyncio.sleep(1)

        name, token = await register(server, "legit")
        async with http(server) as api:
            assert (await _login(api, name, PASSWORD)).status_code == 200
            room = await api.post(
                "/api/rooms",
                json={"slug": f"r{uuid.uuid4().hex[:8]}", "name": "Still here", "kind": "topic"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert room.status_code == 201, room.text
        ws = await hello(server, token, "127.0.0.1")
        try:
            await ws.send(
                json.dumps(
                    {"op": "send", "ref": 1, "room": room.json()["room"]["id"], "body": "hi"}
                )
            )
            frames = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]
            assert {f["op"] for f in frames} == {"ok", "event"}
        finally:
            await ws.close()
        assert server.process.poll() is None
        assert "Too many open files" not in server.log()
    finally:
        for sock in attack:
            sock.close()
        server.stop()


def test_a_node_at_its_socket_limit_refuses_newcomers_and_recovers(tmp_path: Path) -> None:
    env = {"CHAT_RATE_LIMIT_SCALE": "1", "CHAT_MAX_CONNECTIONS": "60", "CHAT_HEADER_TIMEOUT": "5"}
    with ServerProcess(tmp_path, env=env) as server:
        # Few sockets from each of many addresses, so that no per-address rule applies.
        held = [raw_socket(server.port, f"127.0.1.{i % 20 + 1}") for i in range(70)]
        try:
            time.sleep(0.5)
            answers = [unasked(sock) for sock in held]
            assert answers[:60] == [b""] * 60
            for refused in answers[60:]:
                assert refused.startswith(b"HTTP/1.1 503"), refused[:100]
                assert b'"unavailable"' in refused
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.5)
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
        assert server.process is not None and server.process.poll() is None


# -- shutdown ---------------------------------------------------------------------------


async def test_sigterm_delivers_what_was_sent_closes_with_1001_and_exits_in_time(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path, env={"CHAT_RATE_LIMIT_SCALE": "1000"})
    server.start()
    try:
        _, writer_token = await register(server, "writer")
        _, reader_token = await register(server, "reader")
        async with http(server) as api:
            auth = {"Authorization": f"Bearer {writer_token}"}
            room = (
                await api.post(
                    "/api/rooms",
                    json={"slug": f"r{uuid.uuid4().hex[:8]}", "name": "Bye", "kind": "topic"},
                    headers=auth,
                )
            ).json()["room"]["id"]
            joined = await api.post(
                f"/api/rooms/{room}/join", headers={"Authorization": f"Bearer {reader_token}"}
            )
            assert joined.is_success, joined.text
            reader = await hello(server, reader_token, "127.0.0.1")
            # Loiterers that must not hold the shutdown up: silent, half a request.
            silent = raw_socket(server.port, "127.0.0.2")
            half = raw_socket(server.port, "127.0.0.2")
            half.sendall(b"GET /healthz HTTP/1.1\r\n")
            sent = []
            for i in range(30):
                resp = await api.post(
                    f"/api/rooms/{room}/messages", json={"body": f"m{i}"}, headers=auth
                )
                sent.append(resp.json()["message"]["id"])
        assert server.process is not None
        stopping_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        with pytest.raises(ConnectionRefusedError):  # no newcomers once it is leaving
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        received = []
        with pytest.raises(ConnectionClosed):
            while True:
                frame = json.loads(await asyncio.wait_for(reader.recv(), 10))
                if frame.get("type") == "message.created":
                    received.append(frame["message"]["id"])
        assert reader.close_code == 1001
        assert received[-len(sent) :] == sent
        await asyncio.to_thread(server.process.wait, 15)
        assert time.monotonic() - stopping_at < 10
        silent.close()
        half.close()
    finally:
        server.stop()
