"""`--meetup`: everyone answers one meetup at once.

N guest accounts (made in seconds: no password to hash) join one room that allows guests
and open a WebSocket each; an organiser posts a meetup with `--capacity` places. Then every
client answers `going` over HTTP, spread evenly over `--window` seconds (one by default),
and afterwards the first `--leavers` of those going answer `no` all at once. Checked:

- the counts are exact: `capacity` going and the rest waitlisted after the burst, and
  still `capacity` going once the leavers are gone (the first of the line moved up);
- the waitlist's order is exact: the places in line given in the replies are 1..N-C,
  each once, the leavers' places go to positions 1..L of the line and nobody else's
  answer changes, and after them every waiting client's place went down by exactly L;
- every client's card converges: each socket sees, in `message.updated`, the final
  counts; the time from the last answer's acknowledgement to that sighting is reported
  per client (the target is under 2 s for all of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chatserver.loadtest.metrics import LatencySummary, ServerProbe
from chatserver.loadtest.options import Options

PASSWORD = "load-test-password"
UPDATED = b'"message.updated"'


class _Event(msgspec.Struct):
    going: int
    maybe: int
    waitlist: int


class _Message(msgspec.Struct):
    id: int
    event: _Event | None = None


class _Frame(msgspec.Struct):
    type: str = ""
    message: _Message | None = None


_decode = msgspec.json.Decoder(_Frame).decode


@dataclass
class MeetupResult:
    clients: int
    capacity: int
    leavers: int
    burst_seconds: float
    rsvps_ok: int = 0
    rsvp_errors: dict[str, int] = field(default_factory=dict)
    rsvp_ms: LatencySummary = field(default_factory=LatencySummary)
    after_burst: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)
    counts_exact: bool = False
    waitlist_order_exact: bool = False
    promoted_in_order: bool = False
    clients_converged: int = 0
    converge_ms: LatencySummary = field(default_factory=LatencySummary)
    """After the burst: from its last acknowledged answer to each socket seeing the counts."""
    clients_converged_after_leaving: int = 0
    converge_after_leaving_ms: LatencySummary = field(default_factory=LatencySummary)
    updates_seen_per_client: float = 0.0
    server_cpu_pct: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.counts_exact
            and self.waitlist_order_exact
            and self.promoted_in_order
            and self.clients_converged == self.clients
            and self.clients_converged_after_leaving == self.clients
            and self.converge_ms.max <= 2000
            and self.converge_after_leaving_ms.max <= 2000
        )


class _Reader:
    """One socket: the latest counts of the meetup it saw, and when."""

    def __init__(self, message_id: int) -> None:
        self.message_id = message_id
        self.counts: tuple[int, int, int] | None = None
        self.at = 0.0
        self.updates = 0
        self.ws: ClientConnection | None = None

    async def run(self, url: str, token: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await connect(url, max_size=2**22, ping_interval=None, open_timeout=120)
            await ws.send(msgspec.json.encode({"op": "hello", "v": 1, "token": token}).decode())
            ready = await ws.recv()
            if b'"ready"' not in (ready if isinstance(ready, bytes) else ready.encode()):
                raise RuntimeError(f"no ready: {ready[:200]!r}")
            self.ws = ws
        marker = f'"id":{self.message_id},'.encode()
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                data = raw if isinstance(raw, bytes) else raw.encode()
                if UPDATED not in data or marker not in data.replace(b" ", b""):
                    continue
                frame = _decode(data)
                if frame.message is None or frame.message.event is None:
                    continue
                if frame.message.id != self.message_id:
                    continue
                ev = frame.message.event
                self.updates += 1
                self.counts = (ev.going, ev.maybe, ev.waitlist)
                self.at = time.monotonic()


async def _converge(
    readers: list[_Reader], target: tuple[int, int, int], since: float, drain: float
) -> tuple[int, LatencySummary]:
    """Wait (at most `drain` s) for every socket to show `target`; how many did, and how
    long after `since` each saw it."""
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        if all(r.counts == target for r in readers):
            break
        await asyncio.sleep(0.02)
    done = [r for r in readers if r.counts == target]
    return len(done), LatencySummary.of([max(0, int((r.at - since) * 1e6)) for r in done])


def _starts_in_a_week() -> str:
    moment = datetime.now(UTC) + timedelta(days=7)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _register(http: httpx.AsyncClient, name: str) -> tuple[int, str]:
    resp = await http.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    resp.raise_for_status()
    body = resp.json()
    return int(body["user"]["id"]), str(body["token"])


async def _guest(http: httpx.AsyncClient, name: str) -> tuple[int, str]:
    """A guest account: no password to hash, so 500 people are ready in seconds."""
    resp = await http.post("/api/auth/guest", json={"display_name": name})
    resp.raise_for_status()
    body = resp.json()
    return int(body["user"]["id"]), str(body["token"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _bounded(limit: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


async def meetup(opts: Options) -> MeetupResult:
    """Run the scenario against `opts.urls` (clients spread round-robin over them)."""
    n, capacity, leavers = opts.clients, opts.capacity, opts.leavers

    def say(text: str) -> None:
        if not opts.quiet:
            print(f"[meetup] {text}", file=sys.stderr, flush=True)

    result = MeetupResult(n, capacity, leavers, opts.window)
    prefix = f"{opts.prefix[:8]}{uuid.uuid4().hex[:6]}"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=opts.http_url, timeout=60, limits=limits) as http:
        _, organiser = await _register(http, f"{prefix}org")
        say(f"registering {n} accounts")
        accounts = await _bounded(
            opts.register_concurrency, [_guest(http, f"{prefix} {i}") for i in range(n)]
        )
        room = (
            await http.post(
                "/api/rooms",
                json={
                    "slug": f"{prefix}-meet".lower()[:32],
                    "name": "Meetup load",
                    "kind": "topic",
                },
                headers=_auth(organiser),
            )
        ).json()["room"]["id"]
        allowed = await http.patch(
            f"/api/rooms/{room}", json={"guests_allowed": True}, headers=_auth(organiser)
        )
        allowed.raise_for_status()
        await _bounded(
            50,
            [http.post(f"/api/rooms/{room}/join", headers=_auth(tok)) for _, tok in accounts],
        )
        spec = {"title": "Load meetup", "starts_at": _starts_in_a_week(), "capacity": capacity}
        posted = await http.post(
            f"/api/rooms/{room}/messages",
            json={"body": "Who comes?", "event": spec},
            headers=_auth(organiser),
        )
        posted.raise_for_status()
        message_id = int(posted.json()["message"]["id"])

        say(f"{n} accounts in the room, meetup {message_id}; connecting")
        readers = [_Reader(message_id) for _ in range(n)]
        gate = asyncio.Semaphore(opts.connect_concurrency)
        tasks = [
            asyncio.ensure_future(r.run(opts.ws_url(i), accounts[i][1], gate))
            for i, r in enumerate(readers)
        ]
        async with asyncio.timeout(300):
            while sum(1 for r in readers if r.ws is not None) < n:
                if any(t.done() and t.exception() for t in tasks):
                    raise RuntimeError("a WebSocket failed to connect")
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)

        probe = ServerProbe(opts.server_pids)
        probe.percent()
        replies: list[dict[str, Any] | None] = [None] * n
        latencies: list[int] = []
        last_ack = 0.0

        async def answer(i: int, status: str, due: float) -> None:
            nonlocal last_ack
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            for attempt in range(3):  # an answer is idempotent: safe to send again
                try:
                    resp = await http.put(
                        f"/api/messages/{message_id}/rsvp",
                        json={"status": status},
                        headers=_auth(accounts[i][1]),
                    )
                    break
                except httpx.TransportError as exc:
                    name = f"transport:{type(exc).__name__}"
                    result.rsvp_errors[name] = result.rsvp_errors.get(name, 0) + 1
                    if attempt == 2:
                        return
            latencies.append(int((time.perf_counter() - sent) * 1e6))
            last_ack = max(last_ack, time.monotonic())
            if resp.status_code != 200:
                code = resp.json().get("error", {}).get("code", str(resp.status_code))
                result.rsvp_errors[code] = result.rsvp_errors.get(code, 0) + 1
                return
            result.rsvps_ok += 1
            replies[i] = resp.json()["message"]["event"]

        say("connected; the burst")
        start = time.monotonic() + 0.1
        await asyncio.gather(*(answer(i, "going", start + i * opts.window / n) for i in range(n)))
        result.rsvp_ms = LatencySummary.of(latencies)
        view = (
            await http.get(f"/api/messages/{message_id}/event", headers=_auth(organiser))
        ).json()["event"]["message"]["event"]
        result.after_burst = {k: view[k] for k in ("going", "maybe", "waitlist")}
        waiting = n - min(n, capacity)
        burst_ok = result.after_burst == {"going": n - waiting, "maybe": 0, "waitlist": waiting}
        positions = sorted(r["waitlist_position"] for r in replies if r and r["waitlist_position"])
        result.waitlist_order_exact = positions == list(range(1, waiting + 1))
        if not result.waitlist_order_exact:
            result.problems.append("waitlist places in the replies are not 1..N-C once each")
        after = (view["going"], view["maybe"], view["waitlist"])
        result.clients_converged, result.converge_ms = await _converge(
            readers, after, last_ack, max(opts.drain, 3.0)
        )

        say(f"after the burst: {result.after_burst}; converged {result.clients_converged}")
        # The first `leavers` of those going leave at once: the line's first L move up.
        going = [i for i, r in enumerate(replies) if r and r["my_rsvp"] == "going"][:leavers]
        line = sorted(
            (r["waitlist_position"], i)
            for i, r in enumerate(replies)
            if r and r["my_rsvp"] == "waitlisted"
        )
        await asyncio.gather(*(answer(i, "no", 0) for i in going))
        final = (
            await http.get(f"/api/messages/{message_id}/event", headers=_auth(organiser))
        ).json()["event"]["message"]["event"]
        result.final = {k: final[k] for k in ("going", "maybe", "waitlist")}
        moved = min(len(going), len(line))
        expected_final = {
            "going": n - waiting - len(going) + moved,
            "maybe": 0,
            "waitlist": waiting - moved,
        }
        result.counts_exact = burst_ok and result.final == expected_final
        if not result.counts_exact:
            result.problems.append(f"counts: {result.after_burst} then {result.final}")

        async def mine(i: int) -> dict[str, Any]:
            resp = await http.get(
                f"/api/messages/{message_id}/event", headers=_auth(accounts[i][1])
            )
            event: dict[str, Any] = resp.json()["event"]["message"]["event"]
            return event

        checked = await _bounded(50, [mine(i) for _, i in line])
        promoted_ok = all(c["my_rsvp"] == "going" for c in checked[:moved])
        shifted_ok = all(
            c["my_rsvp"] == "waitlisted" and c["waitlist_position"] == place - moved
            for (place, _), c in zip(line[moved:], checked[moved:], strict=True)
        )
        result.promoted_in_order = promoted_ok and shifted_ok
        if not result.promoted_in_order:
            result.problems.append("promotion did not follow the line")
        result.server_cpu_pct = probe.percent()

        target = (final["going"], final["maybe"], final["waitlist"])
        converged, summary = await _converge(readers, target, last_ack, max(opts.drain, 3.0))
        result.clients_converged_after_leaving, result.converge_after_leaving_ms = (
            converged,
            summary,
        )
        result.updates_seen_per_client = round(sum(r.updates for r in readers) / n, 1)
        for r in readers:
            if r.ws is not None:
                await r.ws.close()
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
    return result
