"""A run: connect every client, publish on an absolute schedule, drain, and count."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

from chatserver.loadtest import wire
from chatserver.loadtest.accounts import Prepared, room_index_of_account
from chatserver.loadtest.clients import Client, Shared
from chatserver.loadtest.metrics import (
    CoreClock,
    CpuClock,
    LatencySummary,
    Recorder,
    ServerProbe,
    StepResult,
)
from chatserver.loadtest.options import Options


@dataclass
class ConnectSummary:
    clients: int
    failed: int
    total_s: float
    p50_ms: float
    p99_ms: float


class Run:
    """Every client of one run and the shared counters they write into."""

    def __init__(self, opts: Options, prepared: Prepared | None) -> None:
        self.opts = opts
        self.rec = Recorder()
        rooms = max(1, opts.rooms)  # idle connections may be in no room at all
        # Seqs are tracked (for `since`) only when a storm needs them, from the first frame.
        self.shared = Shared(latencies=self.rec.latencies, rooms=rooms, track_seq=opts.storm)
        self.clients: list[Client] = []
        for i in range(opts.clients):
            account = i % opts.accounts
            room_index = room_index_of_account(opts, account)
            if prepared is None:  # reference servers: no accounts, rooms numbered from 1
                token, room = "reference", room_index + 1
            else:
                token = prepared.tokens[account]
                room = prepared.room_ids[room_index] if prepared.room_ids else 0
            self.clients.append(Client(i, opts.ws_url(i), token, room, room_index))
        for client in self.clients[len(self.clients) - opts.slow_clients :]:
            client.slow = True
        self.publishers: list[list[Client]] = [[] for _ in range(rooms)]
        self.members = [0] * rooms
        self.readers_of: list[Client] = []
        self.next_id = 0
        self.sent = 0
        self.pad = " " + "x" * (opts.body_bytes - 1) if opts.body_bytes > 0 else ""
        self.readers: set[asyncio.Task[None]] = set()
        self.cpu = CpuClock()
        self.probe = ServerProbe(opts.server_pids)
        self.question_share = 0.0  # --open-day: the share of published messages asked
        self.questions = 0

    def say(self, text: str) -> None:
        if not self.opts.quiet:
            print(text, file=sys.stderr, flush=True)

    # -- connections ------------------------------------------------------------------

    async def connect_all(self, clients: list[Client] | None = None) -> ConnectSummary:
        """Handshake every client, `connect_concurrency` at a time; failures are counted."""
        todo = self.clients if clients is None else clients
        gate = asyncio.Semaphore(self.opts.connect_concurrency)
        failed = 0

        async def one(client: Client) -> None:
            nonlocal failed
            async with gate:
                try:
                    await client.open(self.opts.target, self.opts.deflate)
                except Exception as exc:
                    failed += 1
                    if failed <= 3:
                        self.say(f"connect failed: {type(exc).__name__}: {exc}")
                    return
            if not client.slow:
                self.start_reader(client)

        async def report() -> None:
            while True:
                await asyncio.sleep(1.0)
                done = sum(1 for c in todo if c.ws is not None)
                self.say(f"connecting: {done}/{len(todo)} ready, {failed} failed")

        started = time.perf_counter()
        ticker = asyncio.ensure_future(report())
        try:
            await asyncio.gather(*(one(c) for c in todo))
        finally:
            ticker.cancel()
        total = time.perf_counter() - started
        if clients is None:
            self.assign()
        times = sorted(int(c.connect_s * 1e6) for c in todo if c.ws is not None)
        summary = LatencySummary.of(times)
        return ConnectSummary(len(todo), failed, round(total, 2), summary.p50, summary.p99)

    def assign(self) -> None:
        """Publishers and expected receivers, among the clients that did connect: one that
        never got in is a connect failure (counted there), not thousands of losses."""
        self.readers_of = [c for c in self.clients if c.ws is not None and not c.slow]
        self.members = [0] * len(self.members)
        self.publishers = [[] for _ in self.publishers]
        for client in self.readers_of:
            self.members[client.room_index] += 1
            pubs = self.publishers[client.room_index]
            if len(pubs) < self.opts.publishers:
                pubs.append(client)

    def start_reader(self, client: Client) -> None:
        task = asyncio.ensure_future(client.read(self.shared))
        self.readers.add(task)
        task.add_done_callback(self.readers.discard)

    async def close_all(self) -> None:
        async def close(client: Client) -> None:
            if client.ws is not None:
                try:
                    async with asyncio.timeout(3):
                        await client.ws.close()
                except Exception:
                    client.ws.transport.abort()

        gate = asyncio.Semaphore(500)

        async def gated(client: Client) -> None:
            async with gate:
                await close(client)

        await asyncio.gather(*(gated(c) for c in self.clients))
        for task in list(self.readers):
            task.cancel()

    # -- sending ----------------------------------------------------------------------

    def reserve(self, count: int) -> int:
        """Ids (and request refs) come from one counter, so acks map straight back."""
        first = self.next_id
        self.next_id += count
        return first

    async def send(self, client: Client, ident: int, text: str, question: bool = False) -> None:
        ws = client.ws
        if ws is None:
            self.shared.errors["not_connected"] = self.shared.errors.get("not_connected", 0) + 1
            return
        if self.opts.target == "socketio":
            frame = wire.sio_send(ident, client.room, text)
        else:
            frame = wire.send_frame(ident, client.room, text, question)
        try:
            await ws.send(frame)
        except Exception:
            self.shared.errors["send_failed"] = self.shared.errors.get("send_failed", 0) + 1
            return
        self.sent += 1

    async def publish(self, rate: float, seconds: float) -> tuple[int, int]:
        """Send `rate × seconds` messages; tick j is due at t0 + j/rate, never later.

        A tick that is late (the loop was busy) goes out at once and its lateness is
        recorded: sleeping a fixed interval instead would silently lower the rate.
        """
        count = max(1, round(rate * seconds))
        first = self.reserve(count)
        rooms = self.opts.rooms
        loop = asyncio.get_running_loop()
        lateness = self.rec.lateness
        share = self.question_share
        t0 = loop.time()
        for j in range(count):
            due = t0 + j / rate
            now = loop.time()
            if due > now:
                await asyncio.sleep(due - now)
                now = loop.time()
            lateness.append(int((now - due) * 1e6))
            ident = first + j
            pubs = self.publishers[ident % rooms]
            if not pubs:
                continue
            client = pubs[(ident // rooms) % len(pubs)]
            question = share > 0 and int((j + 1) * share) > int(j * share)
            self.questions += question
            await self.send(client, ident, wire.body(ident, time.time_ns(), self.pad), question)
        return first, first + count

    # -- counting ---------------------------------------------------------------------

    def received_total(self) -> int:
        return sum(c.received for c in self.readers_of)

    def complete(self) -> bool:
        """Every acked message has reached every reader, and nothing awaits an ack."""
        shared = self.shared
        if shared.acked_count + sum(shared.errors.values()) < self.sent:
            return False
        expected = sum(n * m for n, m in zip(shared.acked_per_room, self.members, strict=True))
        return self.received_total() >= expected

    async def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.complete():  # noqa: ASYNC110 - polled
            await asyncio.sleep(0.05)

    def count(self, result: StepResult, first: int, end: int) -> None:
        """Exact lost/delivered figures for ids first..end-1, from the bitmaps."""
        rooms = self.opts.rooms
        acked = int.from_bytes(self.shared.acked, "little") >> first
        masks = [0] * rooms
        for offset in range(end - first):
            if acked >> offset & 1:
                masks[(first + offset) % rooms] |= 1 << offset
        result.acked = sum(m.bit_count() for m in masks)
        for client in self.readers_of:
            bits = client.bits(first, end)
            mask = masks[client.room_index]
            result.expected += mask.bit_count()
            result.lost += (mask & ~bits).bit_count()
            result.deliveries += bits.bit_count()

    async def step(self, rate: float, seconds: float) -> StepResult:
        """One constant-rate run, drained and counted."""
        result = StepResult(rate=round(rate, 2), seconds=seconds)
        lat_start, late_start = len(self.rec.latencies), len(self.rec.lateness)
        dups_start = sum(c.dups for c in self.clients)
        errors_start = dict(self.shared.errors)
        sent_start = self.sent
        self.cpu.percent()
        self.probe.percent()
        cores = CoreClock()
        wall_start = time.time_ns()
        first, end = await self.publish(rate, seconds)
        await self.drain(self.opts.drain)
        result.client_cpu_pct = self.cpu.percent()
        result.server_cpu_pct = self.probe.percent()
        result.cores_busy_pct = cores.percent()
        rss = self.probe.rss_bytes()
        result.server_rss_mb = None if rss is None else round(rss / 2**20, 1)
        result.sent = self.sent - sent_start
        result.errors = {
            k: v - errors_start.get(k, 0)
            for k, v in self.shared.errors.items()
            if v != errors_start.get(k, 0)
        }
        self.count(result, first, end)
        result.unacked = max(0, result.sent - result.acked - sum(result.errors.values()))
        result.duplicates = sum(c.dups for c in self.clients) - dups_start
        last_rx = max((c.last_rx_ns for c in self.clients), default=wall_start)
        span = max(seconds, (last_rx - wall_start) / 1e9)
        result.deliveries_per_s = round(result.deliveries / span, 1)
        result.latency_ms = LatencySummary.of(self.rec.latencies[lat_start:])
        late = LatencySummary.of(self.rec.lateness[late_start:])
        result.send_late_ms_p99, result.send_late_ms_max = late.p99, late.max
        return result

    async def progress(self) -> None:
        """One line a second on stderr: what was sent, delivered, and how fast, right now."""
        cpu, probe = CpuClock(), ServerProbe(self.opts.server_pids)
        start, received = len(self.rec.latencies), self.received_total()
        while True:
            await asyncio.sleep(1.0)
            start, window = self.rec.window(start)
            self.rec.mark_second(window)
            now_received = self.received_total()
            server = probe.percent()
            self.say(
                f"t={self.rec.series[-1][0]:6.1f}s sent={self.sent} "
                f"acked={self.shared.acked_count} deliv/s={now_received - received} "
                f"p50={window.p50:.1f}ms p99={window.p99:.1f}ms max={window.max:.1f}ms "
                f"errors={sum(self.shared.errors.values())} cpu={cpu.percent():.0f}%"
                + ("" if server is None else f" server={server:.0f}%")
            )
            received = now_received
