"""Every core: server CPU per delivery with `serve --workers N` against one worker.

`--workers N` is worth having only if N workers deliver a message as cheaply as one does:
a cost per worker that grows with N (each worker decoding every room event from Redis,
the supervisor, Redis itself sending every event N times) would eat the cores it adds.
This measures it on the open-day shape — `--rooms` rooms (default 1) of `--clients`
clients (default 2,000), 4 publishers a room — with the same broker in every setup:

1. a fresh PostgreSQL database, migrated, with the load tester's accounts written
   straight into it (`seed_accounts.py`: no argon2), and a private `redis-server`;
2. for each round, and in each round each setup of `--workers` (default 1 and 2, the
   order reversed every other round): `chatserver serve --workers N` with
   `CHAT_REDIS_URL` (also for one worker, so both pay the same broker round trip), pinned
   with Redis to `--server-cpus`; the Node load client (`benchmarks/node/loadclient.mjs`)
   on `--client-cpu` connects every client to the one shared port, so the kernel spreads
   them over the workers;
3. one warm-up step at the first rate, then `--seconds` at each of `--rates`: for each
   such step, the CPU time of every worker, of the supervisor and of Redis is read from
   `/proc/<pid>/stat` as the step starts and once it has drained, and divided by the
   deliveries the load client counted in it.

The figure is `server_us_per_delivery` (workers and supervisor; Redis's share is given
apart as `redis_us_per_delivery`), and the summary divides each setup's figure by the one
worker's of the same round and rate. Keep the rates below what the server CPUs can carry:
a server that falls behind batches more frames per system call, which lowers its CPU per
delivery and would blur the comparison, so such steps (`kept_up` false: something left
undelivered, or p99 over a second) are reported but left out of the summary.

    .venv/bin/python benchmarks/workers.py [--clients 2000] [--rates 5,10] [--seconds 20] \
        [--rounds 3] [--workers 1,2] [--server-cpus 0] [--client-cpu 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_accounts

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LOADCLIENT = ROOT / "benchmarks" / "node" / "loadclient.mjs"
TICKS = os.sysconf("SC_CLK_TCK")
PUBLISHERS = 4
KEPT_UP_P99_MS = 1000.0
"""A step whose p99 went past this (or that left anything undelivered) had a server
seconds behind: it batches more per write, so its CPU per delivery is not comparable."""


@dataclass
class Config:
    clients: int = 2000
    rooms: int = 1
    rates: tuple[float, ...] = (5.0, 10.0)
    seconds: float = 20.0
    warmup: float = 10.0
    rounds: int = 3
    workers: tuple[int, ...] = (1, 2)
    server_cpus: str | None = "0"  # taskset list for the workers and Redis; None: unpinned
    client_cpu: str | None = "1"
    drain: float = 5.0
    connect_concurrency: int = 50  # hellos in flight: each holds a pooled connection


@dataclass
class Step:
    """One measured rate on one setup: what the client counted, what the server spent."""

    rate: float
    wall_s: float
    sent: int
    expected: int
    deliveries: int
    lost: int
    duplicates: int
    unacked: int
    p50_ms: float
    p99_ms: float
    client_cpu_pct: float
    worker_cpu_s: list[float]
    worker_connections: list[int]
    supervisor_cpu_s: float
    redis_cpu_s: float
    server_us_per_delivery: float
    redis_us_per_delivery: float
    loadavg: list[float]
    kept_up: bool


@dataclass
class Setup:
    round: int
    workers: int
    started: str
    connect_s: float
    connect_failed: int
    steps: list[Step] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    """User + system time of a process (all its threads) so far, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def established(pid: int, port: int) -> int:
    """Client connections a worker holds on the shared port."""
    return sum(
        1
        for c in psutil.Process(pid).net_connections("tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpus: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus else command


# -- the server ---------------------------------------------------------------------------


class Server:
    """`chatserver serve --workers N` on `port`, and the pids of the processes serving it."""

    def __init__(self, cfg: Config, workers: int, port: int, env: dict[str, str], log: Path):
        self.workers, self.port = workers, port
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            pinned(
                cfg.server_cpus,
                [PY, "-m", "chatserver", "serve", "--port", str(port), "--workers", str(workers)],
            ),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.worker_pids = self._wait_listening()

    @property
    def supervisor_pid(self) -> int | None:
        """The parent of the workers; one worker is the serving process itself."""
        return self.process.pid if self.workers > 1 else None

    def _wait_listening(self, timeout: float = 120) -> list[int]:
        deadline = time.monotonic() + timeout
        parent = psutil.Process(self.process.pid)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            candidates = parent.children() if self.workers > 1 else [parent]
            pids = sorted(p.pid for p in candidates if self._listens(p))
            if len(pids) == self.workers:
                return pids
            time.sleep(0.2)
        raise RuntimeError(f"{self.workers} workers did not listen within {timeout} s")

    def _listens(self, process: psutil.Process) -> bool:
        try:
            return any(
                c.laddr and c.laddr.port == self.port and c.status == psutil.CONN_LISTEN
                for c in process.net_connections("tcp")
            )
        except psutil.Error:
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextmanager
def private_redis(cpus: str | None, workdir: Path) -> Iterator[tuple[str, int]]:
    """A `redis-server` of this run's own, so its CPU time is this run's: (url, pid)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir)]
    process = subprocess.Popen(
        pinned(cpus, command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.kill()
        process.wait()


@contextmanager
def fresh_database(admin: str) -> Iterator[str]:
    """A new PostgreSQL database for this run (dropped afterwards): its asyncpg URL."""
    name = f"chat_bench_workers_{uuid.uuid4().hex[:8]}"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(f"{admin}/postgres")
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- one run ------------------------------------------------------------------------------


def run(cfg: Config, database_url: str, redis_url: str, redis_pid: int, workdir: Path) -> Any:
    """Every round and setup on an empty database; the report (also what `--json` writes)."""
    env = {
        "CHAT_DATABASE_URL": database_url,
        "CHAT_REDIS_URL": redis_url,
        "CHAT_RATE_LIMIT_SCALE": "1000",
        "CHAT_LOG_LEVEL": "warning",
    }
    subprocess.run(
        [PY, "-m", "chatserver", "migrate"], cwd=ROOT, env={**os.environ, **env}, check=True
    )
    tokens = workdir / "tokens.json"
    accounts = asyncio.run(seed_accounts.seed(database_url, "workers", cfg.clients))
    tokens.write_text(json.dumps(accounts))
    plan = workdir / "plan.json"
    setups: list[Setup] = []
    for index in range(cfg.rounds):
        order = cfg.workers if index % 2 == 0 else tuple(reversed(cfg.workers))
        for workers in order:
            port = free_port()
            server = Server(cfg, workers, port, env, workdir / f"server-{index}-{workers}.log")
            try:
                if not plan.exists():
                    _prepare(cfg, port, tokens, plan)
                setup = Setup(index, workers, time.strftime("%H:%M:%S", time.gmtime()), 0.0, 0)
                _load(cfg, server, redis_pid, plan, workdir, setup)
                setups.append(setup)
            finally:
                server.stop()
    return report(cfg, setups)


def _prepare(cfg: Config, port: int, tokens: Path, plan: Path) -> None:
    """The rooms and their members, through the server; the Node client reads the plan."""
    command = [PY, "-m", "chatserver", "loadtest", "--url", f"http://127.0.0.1:{port}"]
    command += ["--clients", str(cfg.clients), "--rooms", str(cfg.rooms)]
    command += ["--publishers", str(PUBLISHERS), "--prefix", "workers"]
    command += ["--room-prefix", "workers", "--token-cache", str(tokens)]
    command += ["--prepare-only", "--plan", str(plan)]
    subprocess.run(command, cwd=ROOT, check=True, timeout=1800)


def _load(
    cfg: Config, server: Server, redis_pid: int, plan: Path, workdir: Path, setup: Setup
) -> None:
    """The Node client at each rate; per step, every process's CPU around it."""
    out = workdir / f"client-{setup.round}-{setup.workers}.json"
    rates = [f"{rate:g}" for rate in cfg.rates]
    command = ["node", str(LOADCLIENT), "--target", "chat", "--plan", str(plan)]
    command += ["--url", f"http://127.0.0.1:{server.port}", "--clients", str(cfg.clients)]
    command += ["--rooms", str(cfg.rooms), "--publishers", str(PUBLISHERS)]
    command += ["--warmup", f"{cfg.warmup:g}", "--drain", f"{cfg.drain:g}"]
    command += ["--connect-concurrency", str(cfg.connect_concurrency)]
    # The first step (at the first rate) warms up; the `--also-rates` steps are measured.
    command += ["--rate", rates[0], "--duration", f"{cfg.seconds:g}"]
    command += ["--also-rates", ",".join(rates), "--json", str(out)]
    pids = [*server.worker_pids, redis_pid]
    if server.supervisor_pid is not None:
        pids.append(server.supervisor_pid)
    samples: list[tuple[float, dict[int, float], list[int]]] = []
    with (workdir / f"client-{setup.round}-{setup.workers}.log").open("w") as log:
        client = subprocess.Popen(
            pinned(cfg.client_cpu, command),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert client.stdout is not None
        measuring = False
        for line in client.stdout:
            log.write(line)
            # "-- fixed: ..." opens a measured step; its "  rate=..." line closes it.
            if line.startswith("-- fixed:") or (measuring and line.startswith("  rate=")):
                now, cpu = time.monotonic(), {pid: cpu_seconds(pid) for pid in pids}
                conns = [established(pid, server.port) for pid in server.worker_pids]
                samples.append((now, cpu, conns))
                measuring = line.startswith("-- fixed:")
        if client.wait() != 0:
            raise RuntimeError(f"the load client failed: see {log.name}")
    result = json.loads(out.read_text())
    setup.connect_s = float(result["connect"]["total_s"])
    setup.connect_failed = int(result["connect"]["failed"])
    for fixed, start, end in zip(result["fixed"], samples[::2], samples[1::2], strict=True):
        setup.steps.append(_step(fixed, start, end, server, redis_pid))


def _step(
    fixed: dict[str, Any],
    start: tuple[float, dict[int, float], list[int]],
    end: tuple[float, dict[int, float], list[int]],
    server: Server,
    redis_pid: int,
) -> Step:
    spent = {pid: end[1][pid] - start[1][pid] for pid in start[1]}
    workers = [spent[pid] for pid in server.worker_pids]
    supervisor = spent[server.supervisor_pid] if server.supervisor_pid is not None else 0.0
    deliveries = int(fixed["deliveries"])
    per = 1e6 / max(deliveries, 1)
    return Step(
        rate=float(fixed["rate"]),
        wall_s=round(end[0] - start[0], 2),
        sent=int(fixed["sent"]),
        expected=int(fixed["expected"]),
        deliveries=deliveries,
        lost=int(fixed["lost"]),
        duplicates=int(fixed["duplicates"]),
        unacked=int(fixed["unacked"]),
        p50_ms=float(fixed["latency_ms"]["p50"]),
        p99_ms=float(fixed["latency_ms"]["p99"]),
        client_cpu_pct=float(fixed["client_cpu_pct"]),
        worker_cpu_s=[round(s, 2) for s in workers],
        worker_connections=start[2],
        supervisor_cpu_s=round(supervisor, 2),
        redis_cpu_s=round(spent[redis_pid], 2),
        server_us_per_delivery=round((sum(workers) + supervisor) * per, 3),
        redis_us_per_delivery=round(spent[redis_pid] * per, 3),
        loadavg=[round(x, 2) for x in os.getloadavg()],
        kept_up=(
            deliveries == int(fixed["expected"])
            and int(fixed["lost"]) == int(fixed["unacked"]) == 0
            and float(fixed["latency_ms"]["p99"]) <= KEPT_UP_P99_MS
        ),
    )


def report(cfg: Config, setups: list[Setup]) -> dict[str, Any]:
    """Every step, then per rate and setup the median figure and its ratio to one worker's,
    over the steps in which the server kept up."""
    base = min(cfg.workers)
    figure: dict[tuple[int, float, int], float] = {
        (s.round, step.rate, s.workers): step.server_us_per_delivery
        for s in setups
        for step in s.steps
        if step.kept_up
    }
    summary = []
    for rate in cfg.rates:
        for workers in cfg.workers:
            runs = [v for (_, r, w), v in sorted(figure.items()) if r == rate and w == workers]
            ratios = [
                v / figure[(i, r, base)]
                for (i, r, w), v in sorted(figure.items())
                if r == rate and w == workers and (i, r, base) in figure
            ]
            summary.append(
                {
                    "rate": rate,
                    "workers": workers,
                    "server_us_per_delivery": runs,
                    "median_us_per_delivery": _median(runs),
                    "ratio_to_one_worker": [round(x, 3) for x in ratios],
                    "median_ratio": _median(ratios),
                }
            )
    return {
        "config": asdict(cfg),
        "setups": [asdict(s) for s in setups],
        "summary": summary,
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def print_summary(result: dict[str, Any]) -> None:
    for setup in result["setups"]:
        for step in setup["steps"]:
            print(
                f"round {setup['round']} workers {setup['workers']} ({setup['started']}) "
                f"rate {step['rate']:g}: {step['deliveries']} deliveries, "
                f"{step['server_us_per_delivery']} µs/delivery (redis "
                f"{step['redis_us_per_delivery']}), workers' CPU {step['worker_cpu_s']} s, "
                f"connections {step['worker_connections']}, p99 {step['p99_ms']} ms, "
                f"lost {step['lost']}, load {step['loadavg']}"
                + ("" if step["kept_up"] else " (server behind: left out)")
            )
    for row in result["summary"]:
        print(
            f"rate {row['rate']:g} workers {row['workers']}: median "
            f"{row['median_us_per_delivery']} µs/delivery, ratio {row['median_ratio']} "
            f"({row['ratio_to_one_worker']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=Config.clients)
    parser.add_argument("--rooms", type=int, default=Config.rooms)
    parser.add_argument("--rates", default="5,10", help="msg/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=Config.seconds)
    parser.add_argument("--warmup", type=float, default=Config.warmup)
    parser.add_argument("--rounds", type=int, default=Config.rounds)
    parser.add_argument("--workers", default="1,2", help="setups, comma-separated")
    parser.add_argument("--server-cpus", default=Config.server_cpus, help="'' for unpinned")
    parser.add_argument("--client-cpu", default=Config.client_cpu, help="'' for unpinned")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cfg = Config(
        clients=args.clients,
        rooms=args.rooms,
        rates=tuple(float(r) for r in args.rates.split(",")),
        seconds=args.seconds,
        warmup=args.warmup,
        rounds=args.rounds,
        workers=tuple(int(w) for w in args.workers.split(",")),
        server_cpus=args.server_cpus or None,
        client_cpu=args.client_cpu or None,
    )
    # Stopped with SIGTERM, the database and Redis are still cleaned up on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with (
        tempfile.TemporaryDirectory(prefix="chat-workers-") as tmp,
        fresh_database(args.postgres) as database_url,
        private_redis(cfg.server_cpus, Path(tmp)) as (redis_url, redis_pid),
    ):
        result = run(cfg, database_url, redis_url, redis_pid, Path(tmp))
    result["loadavg_end"] = list(os.getloadavg())
    print_summary(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
