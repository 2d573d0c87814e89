"""The load tester counts what it must: losses, duplicates and deliveries, exactly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from chatserver.cli import build_parser
from chatserver.loadtest import wire
from chatserver.loadtest.command import run
from chatserver.loadtest.metrics import LatencySummary, percentile
from chatserver.loadtest.options import options_from
from tests.support.server import ServerProcess

DROPPED_ID, DUPLICATED_ID = 3, 5


class Misbehaving:
    """Just enough of the protocol (hello → ready, send → ok + message.created to the room),
    except that message DROPPED_ID never reaches the room's first member and message
    DUPLICATED_ID reaches its second member twice."""

    def __init__(self) -> None:
        self.rooms: dict[int, list[ServerConnection]] = {}
        self.seq = 0

    async def handler(self, ws: ServerConnection) -> None:
        hello = json.loads(await ws.recv())
        for room in hello["rooms"]:
            self.rooms.setdefault(room, []).append(ws)
        await ws.send(json.dumps({"op": "ready", "rooms": []}))
        try:
            async for raw in ws:
                command = json.loads(raw)
                self.seq += 1
                event = {
                    "type": "message.created",
                    "room": command["room"],
                    "seq": self.seq,
                    "message": {"id": self.seq, "body": command["body"]},
                    "op": "event",
                }
                await ws.send(json.dumps({"op": "ok", "ref": command["ref"]}))
                ident = int(command["body"].split()[1])
                frame = json.dumps(event)
                for index, member in enumerate(self.rooms[command["room"]]):
                    if ident == DROPPED_ID and index == 0:
                        continue
                    copies = 2 if ident == DUPLICATED_ID and index == 1 else 1
                    for _ in range(copies):
                        await member.send(frame)
        except ConnectionClosed:
            pass


@pytest.fixture
async def misbehaving() -> AsyncIterator[Server]:
    async with serve(Misbehaving().handler, "127.0.0.1", 0) as server:
        yield server


def _options(url: str, *extra: str) -> list[str]:
    return ["loadtest", "--url", url, "--quiet", "--warmup", "0.2", "--drain", "1", *extra]


async def test_counts_exactly_one_loss_and_one_duplicate(
    misbehaving: Server, tmp_path: Path
) -> None:
    port = next(iter(misbehaving.sockets)).getsockname()[1]
    out = tmp_path / "result.json"
    argv = _options(f"http://127.0.0.1:{port}", "--target", "ws", "--clients", "4")
    argv += ["--rate", "40", "--duration", "0.5", "--json", str(out)]
    status = await run(options_from(build_parser().parse_args(argv)))
    step = json.loads(out.read_text())["steps"][0]
    assert (step["sent"], step["acked"], step["unacked"]) == (20, 20, 0)
    assert step["lost"] == 1
    assert step["duplicates"] == 1
    assert step["expected"] == 20 * 4
    assert step["deliveries"] == 20 * 4 - 1
    assert status == 1  # a loss fails the run


def test_real_server_delivers_everything_once(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with ServerProcess(tmp_path, env={"CHAT_RATE_LIMIT_SCALE": "1000"}) as server:
        argv = _options(server.base_url, "--clients", "20", "--rooms", "2", "--rate", "20")
        argv += ["--duration", "2", "--json", str(out), "--prefix", "t"]
        argv += ["--server-pid", str(server.process.pid if server.process else 0)]
        status = asyncio.run(run(options_from(build_parser().parse_args(argv))))
    result = json.loads(out.read_text())
    step = result["steps"][0]
    assert status == 0
    assert result["connect"]["failed"] == 0
    assert (step["sent"], step["acked"], step["lost"], step["duplicates"]) == (40, 40, 0, 0)
    assert step["deliveries"] == step["expected"] == 40 * 10  # 10 members in each room
    assert step["latency_ms"]["count"] == 400
    assert step["server_cpu_pct"] is not None


def test_body_scan_finds_the_id_with_or_without_spaces() -> None:
    text = wire.body(42, 1_700_000_000_123_456_789, " xx")
    for separators in ((",", ":"), (", ", ": ")):
        frame = json.dumps({"message": {"body": text}}, separators=separators).encode()
        start = wire.body_start(frame, 0)
        assert frame[start:].split(b'"')[0] == b"42 1700000000123456789 xx"
    assert wire.body_start(b'{"message":{"body":"hello"}}', 0) == -1
    assert wire.scan_int(b'{"type":"room.synced","room":1,"seq": 17}', wire.SEQ_MARK) == 17


def test_percentiles_are_nearest_rank() -> None:
    samples = list(range(1, 101))
    assert [percentile(samples, q) for q in (50, 99, 100)] == [50.0, 99.0, 100.0]
    summary = LatencySummary.of([3000, 1000, 2000])
    assert (summary.count, summary.p50, summary.max) == (3, 2.0, 3.0)


def test_open_day_with_guests_reports_no_loss_and_the_queue_latency(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    env = {"CHAT_RATE_LIMIT_SCALE": "1000"}
    with ServerProcess(tmp_path, env=env) as server:
        argv = _options(server.base_url, "--open-day", "--clients", "40", "--duration", "5")
        argv += ["--reaction-rate", "20", "--drain", "10", "--json", str(out), "--prefix", "od"]
        status = asyncio.run(run(options_from(build_parser().parse_args(argv))))
    result = json.loads(out.read_text())
    step, day = result["steps"][0], result["open_day"]
    assert status == 0
    assert result["connect"]["failed"] == 0
    assert (day["clients"], day["guests"], day["mentors"]) == (40, 30, 3)
    assert step["sent"] == step["acked"] == (20 + 2) * 5
    assert (step["lost"], step["duplicates"]) == (0, 0)
    assert step["deliveries"] == step["expected"] == step["sent"] * 40
    assert step["latency_ms"]["p99"] > 0
    assert day["questions_asked"] == 2 * 5
    assert day["queue_ms"]["count"] >= 5 and day["queue_ms"]["p95"] > 0
    assert day["answers_ok"] >= 3
    assert day["votes_ok"] > 0 and day["reactions_acked"] > 0
    assert day["side_errors"] == {}


def test_open_day_refuses_more_than_one_room() -> None:
    argv = _options("http://127.0.0.1:1", "--open-day", "--rooms", "2")
    with pytest.raises(ValueError, match="one room"):
        options_from(build_parser().parse_args(argv))
