"""The scenarios that are not a plain message stream: idle, reactions burst, reconnect storm."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from chatserver.loadtest.clients import Client
from chatserver.loadtest.metrics import LatencySummary, ServerProbe
from chatserver.loadtest.runner import ConnectSummary, Run

REACTION_EMOJI = "👍"


@dataclass
class IdleResult:
    connections: int
    server_rss_before_mb: float
    server_rss_after_mb: float
    kib_per_connection: float
    deflate_offered: bool
    deflate_accepted: int


async def idle(run: Run) -> tuple[ConnectSummary, IdleResult]:
    """Server RSS per authenticated idle connection: (after − before) / N, after a hold."""
    probe = ServerProbe(run.opts.server_pids)
    if not probe.enabled:
        raise SystemExit("--idle needs --server-pid (memory is measured on the server)")
    before = probe.rss_bytes() or 0
    connected = await run.connect_all()
    run.say(f"connected {connected.clients - connected.failed}; holding {run.opts.idle_hold}s")
    await asyncio.sleep(run.opts.idle_hold)
    after = probe.rss_bytes() or 0
    alive = max(1, connected.clients - connected.failed)
    accepted = sum(1 for c in run.clients if c.ws is not None and c.ws.protocol.extensions)
    return connected, IdleResult(
        connections=alive,
        server_rss_before_mb=round(before / 2**20, 1),
        server_rss_after_mb=round(after / 2**20, 1),
        kib_per_connection=round((after - before) / alive / 1024, 2),
        deflate_offered=run.opts.deflate,
        deflate_accepted=accepted,
    )


class _Message(msgspec.Struct):
    id: int


class _Sent(msgspec.Struct):
    message: _Message


@dataclass
class ReactionsResult:
    reactors: int
    reactions_sent: int
    reactions_acked: int
    errors: dict[str, int]
    final_count: int
    clients_final: int
    seconds_to_final: float
    per_client_final_ms: LatencySummary
    server_cpu_pct: float | None
    client_cpu_pct: float


async def reactions(run: Run) -> ReactionsResult:
    """One message, then every client reacts with the same emoji within --duration seconds.

    Done when every client has seen the reaction count reach the number of accepted
    reactions (counts only grow here, and events of a room arrive in seq order).
    """
    opts = run.opts
    author = run.publishers[0][0]
    assert author.ws is not None
    ref = run.reserve(1)
    waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    run.shared.waiters[ref] = waiter
    frame = {"op": "send", "ref": ref, "room": author.room, "body": "react to this"}
    await author.ws.send(msgspec.json.encode(frame).decode())  # text: binary is refused
    message_id = msgspec.json.decode(await asyncio.wait_for(waiter, 30), type=_Sent).message.id
    await asyncio.sleep(1.0)  # everyone has the message before the burst starts
    reactors = run.readers_of
    first = run.reserve(len(reactors))
    run.cpu.percent()
    run.probe.percent()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    started = time.monotonic()
    for i, client in enumerate(reactors):
        due = t0 + i * opts.duration / len(reactors)
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        frame = {"op": "react", "ref": first + i, "message": message_id, "emoji": REACTION_EMOJI}
        assert client.ws is not None
        await client.ws.send(msgspec.json.encode(frame).decode())
    deadline = time.monotonic() + opts.duration + opts.drain
    while time.monotonic() < deadline:
        acked = run.shared.acked_count
        if acked + sum(run.shared.errors.values()) >= len(reactors) and all(
            c.reactions >= acked for c in reactors
        ):
            break
        await asyncio.sleep(0.02)
    final = run.shared.acked_count
    done = [c for c in reactors if c.reactions >= final]
    per_client = [int((c.final_at - started) * 1e6) for c in done]
    return ReactionsResult(
        reactors=len(reactors),
        reactions_sent=len(reactors),
        reactions_acked=final,
        errors=dict(run.shared.errors),
        final_count=final,
        clients_final=len(done),
        seconds_to_final=round(max(c.final_at for c in done) - started, 3) if done else -1.0,
        per_client_final_ms=LatencySummary.of(per_client),
        server_cpu_pct=run.probe.percent(),
        client_cpu_pct=run.cpu.percent(),
    )


@dataclass
class StormResult:
    clients: int
    reconnected: int
    failed: int
    seconds_to_all_caught_up: float
    resume_to_synced_ms: LatencySummary


async def storm(run: Run, dropped: list[Client]) -> StormResult:
    """At --storm-at, `dropped` all close; each resumes with `since` within --storm-spread.

    Caught up means the client received `room.synced`, which ends its replay; the loss
    and duplicate counts of the whole run then say whether the replay was exact.
    """
    opts = run.opts
    await asyncio.sleep(opts.storm_at)
    await asyncio.gather(*(c.ws.close() for c in dropped if c.ws is not None))
    dropped_at = time.monotonic()
    run.say(f"storm: {len(dropped)} clients dropped; resuming within {opts.storm_spread}s")
    resumed: dict[int, float] = {}

    async def resume(client: Client) -> None:
        await asyncio.sleep(random.uniform(0, opts.storm_spread))
        resumed[client.index] = time.monotonic()
        client.synced_at = 0.0
        try:
            await client.open(opts.target, opts.deflate, since={client.room: client.last_seq})
        except Exception:
            return
        run.start_reader(client)

    await asyncio.gather(*(resume(c) for c in dropped))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(  # noqa: ASYNC110 - polled: no hot-path events
        c.synced_at == 0.0 for c in dropped if c.ws is not None and c.closed_code is None
    ):
        await asyncio.sleep(0.05)
    synced = [c for c in dropped if c.synced_at > 0]
    spans = [int((c.synced_at - resumed[c.index]) * 1e6) for c in synced]
    last = max((c.synced_at for c in synced), default=dropped_at)
    return StormResult(
        clients=len(dropped),
        reconnected=len(synced),
        failed=len(dropped) - len(synced),
        seconds_to_all_caught_up=round(last - dropped_at, 3),
        resume_to_synced_ms=LatencySummary.of(spans),
    )


def as_dict(value: Any) -> Any:
    """Dataclasses (nested) to plain JSON values."""
    return msgspec.to_builtins(value)
