"""Server CPU per authenticated `hello`, for users in `--rooms` rooms each.

Starts `chatserver serve` on a fresh SQLite database (or `--database-url`), registers
`--users` accounts that all join `--rooms` topic rooms, fills each room with `--messages`
messages (so unread counts and `since` replays have something to count), then has the
users connect, wait for `ready` (and `room.synced` for each room given in `since`) and
disconnect, `--rounds` times each, one at a time. The server's CPU time (user + system,
from /proc) over those handshakes, divided by their number, is the figure: wall time
on a shared machine says little, CPU time per handshake much more.

    .venv/bin/python benchmarks/hello_cost.py [--users 50] [--rooms 20] [--messages 50] \
        [--rounds 10] [--since] [--cpu 0]

`--since` sends every room's seq minus 20 (each client missed 20 events per room), as a
client reconnecting after a restart does; without it, a fresh connect.

`--reference` measures the floor instead: after the same preparation (which also gives
the size of our `ready` frame), the same client runs the same handshakes against
`benchmarks/reference/hello_floor.py`, uvicorn with our WebSocket protocol and no
application (accept, read the hello, answer with a frame of `ready`'s size, close). What
our server spends above that figure is our own code's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import connect

from chatserver.sdk import ChatClient

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    database_url: str, port: int, cpu: int | None, workdir: Path, checkout: Path
) -> subprocess.Popen[bytes]:
    """The server of `checkout` (`python -m` imports the package of its working directory)."""
    env = {
        **os.environ,
        "CHAT_DATABASE_URL": database_url,
        "CHAT_RATE_LIMIT_SCALE": "1000",
        "CHAT_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "chatserver", "serve", "--port", str(port)]
    return launch(command, env, cpu, workdir, checkout, port)


def start_reference(
    port: int, cpu: int | None, workdir: Path, ready_bytes: int
) -> subprocess.Popen[bytes]:
    """The floor's server (`benchmarks/reference/hello_floor.py`), answering every hello
    with a frame of `ready_bytes`."""
    script = ROOT / "benchmarks" / "reference" / "hello_floor.py"
    command = [sys.executable, str(script), "--port", str(port), "--ready-bytes", str(ready_bytes)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return launch(command, env, cpu, workdir, ROOT, port)


def launch(
    command: list[str], env: dict[str, str], cpu: int | None, workdir: Path, cwd: Path, port: int
) -> subprocess.Popen[bytes]:
    """Start `command` (on core `cpu` if given) and wait until it answers `/healthz`."""
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    log = (workdir / "server.log").open("ab")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = time.monotonic() + 180  # migrations on a busy machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def py_spy(pid: int, output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` into `output`: a flame graph when it ends in `.svg`, else
    raw folded stacks (to count what the samples are in)."""
    installed = Path(sys.executable).parent / "py-spy"
    binary = str(installed) if installed.exists() else "py-spy"
    kind = "flamegraph" if output.endswith(".svg") else "raw"
    command = [binary, "record", "--pid", str(pid), "--rate", "250", "--format", kind]
    process = subprocess.Popen(
        [*command, "--output", output, "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached before the measured handshakes start
    return process


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def prepare(
    base: str, users: int, rooms: int, messages: int
) -> tuple[list[str], dict[int, int]]:
    """Tokens of `users` accounts, each in every one of `rooms` rooms; each room's last seq."""
    tag = uuid.uuid4().hex[:6]
    owner = ChatClient(base)
    await owner.register(f"own{tag}", "correct horse battery")
    room_ids = [
        int((await owner.create_room(f"h{tag}-{i}", f"Room {i}", "topic"))["id"])
        for i in range(rooms)
    ]
    tokens = [str(owner.token)]
    for n in range(users - 1):
        client = ChatClient(base)
        await client.register(f"u{n}{tag}", "correct horse battery")
        for room in room_ids:
            await client.join(room)
        tokens.append(str(client.token))
        await client.close()
    await owner.connect()
    for room in room_ids:
        for m in range(messages):
            await owner.send(room, f"message {m} in {room}")
    await owner.close()
    probe = ChatClient(base, token=tokens[0])
    ready = await probe.connect()
    seqs = {int(r["id"]): int(r["last_seq"]) for r in ready["rooms"]}
    await probe.close()
    return tokens, seqs


async def handshake(ws_url: str, token: str, since: dict[int, int] | None) -> int:
    """One connect, hello, ready (and replays), close; the size of `ready` in bytes."""
    async with connect(ws_url, max_size=2**22, compression=None) as ws:
        hello: dict[str, object] = {"op": "hello", "v": 1, "token": token}
        if since:
            hello["since"] = {str(room): seq for room, seq in since.items()}
        await ws.send(json.dumps(hello))
        text = await ws.recv()
        frame = json.loads(text)
        assert frame.get("op") == "ready", frame
        waiting = set(since or {})
        async with asyncio.timeout(30):
            while waiting:
                event = json.loads(await ws.recv())
                if event.get("type") == "room.synced":
                    waiting.discard(int(event["room"]))
        return len(text.encode() if isinstance(text, str) else text)


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'chat.db'}"
        port = free_port()
        server = start_server(url, port, args.cpu, workdir, Path(args.checkout))
        try:
            base = f"http://127.0.0.1:{port}"
            tokens, seqs = await prepare(base, args.users, args.rooms, args.messages)
            since = {room: max(0, seq - 20) for room, seq in seqs.items()} if args.since else None
            ws_url = f"ws://127.0.0.1:{port}/ws"
            ready_bytes = await handshake(ws_url, tokens[0], None)
            if args.reference:
                stop(server)
                port = free_port()
                ws_url = f"ws://127.0.0.1:{port}/ws"
                server = start_reference(port, args.cpu, workdir, ready_bytes)
            await handshakes(server.pid, ws_url, tokens, since, args, ready_bytes)
        finally:
            stop(server)


async def handshakes(
    pid: int,
    ws_url: str,
    tokens: list[str],
    since: dict[int, int] | None,
    args: argparse.Namespace,
    ready_bytes: int,
) -> None:
    """The measured handshakes, after a warm-up round, and the figure printed."""
    for token in tokens:  # warm-up: caches, the first statement compilations
        await handshake(ws_url, token, since)
    await asyncio.sleep(1)
    spy = py_spy(pid, args.profile) if args.profile else None
    walls: list[float] = []
    try:
        before = cpu_seconds(pid)
        for _ in range(args.rounds):
            for token in tokens:
                start = time.perf_counter()
                await handshake(ws_url, token, since)
                walls.append((time.perf_counter() - start) * 1000)
        used = cpu_seconds(pid) - before
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            spy.wait(60)
    count = len(walls)
    p95 = sorted(walls)[int(count * 0.95)]
    what = "reference (the floor)" if args.reference else "chatserver"
    print(
        f"{what}: {count} hellos, {args.rooms} rooms each, ready {ready_bytes} bytes, "
        f"since={'yes' if since else 'no'}: server CPU {used / count * 1000:.2f} ms per hello; "
        f"wall p50 {statistics.median(walls):.2f} ms, p95 {p95:.2f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        server.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--since", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument("--cpu", type=int, help="pin the server to this core")
    parser.add_argument("--checkout", default=str(ROOT), help="the server's source tree")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="measure the floor (benchmarks/reference/hello_floor.py) instead of our server",
    )
    parser.add_argument(
        "--profile",
        help="write py-spy's samples of the server here (a flame graph if PATH ends in .svg)",
    )
    args = parser.parse_args()
    if args.reference and args.since:
        parser.error("--reference answers the hello alone: it has no replays to wait for")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
