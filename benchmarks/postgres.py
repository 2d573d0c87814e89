"""PostgreSQL against SQLite: the workshops scenario on one node; three nodes in one room.

    .venv/bin/python benchmarks/postgres.py [--rate 600] [--seconds 20] [--repeat 2]
    .venv/bin/python benchmarks/postgres.py --step [--rate 300] [--step-seconds 10]
    .venv/bin/python benchmarks/postgres.py --before ../old-checkout     # a third setup
    .venv/bin/python benchmarks/postgres.py --checkout ../new --before ../old
    .venv/bin/python benchmarks/postgres.py --cluster [--nodes 3] [--rate 100]

Workshops (200 rooms × 10 clients, 2 publishers a room, every message a database write):
the accounts and their tokens are written straight into a SQLite file and copied into a
PostgreSQL database (no argon2), the rooms are made once per backend through the API,
and every run starts one node, pinned to core 0, on a fresh copy of its backend's
prepared database (SQLite: a file copy; PostgreSQL: CREATE DATABASE ... TEMPLATE). The
backends alternate, run after run, so that other work on a shared machine falls on all
of them; each run gives the load tester's figures (rate, acked, lost, latency, server
CPU%) and, over the node's whole life, the CPU of the node and of its PostgreSQL
backends (which do on PostgreSQL part of what the node does itself on SQLite).
`--before PATH` adds PostgreSQL served from another checkout (e.g. `git archive` of an
earlier commit), to measure a change; `--checkout PATH` serves the others from another
checkout too (so that uncommitted work in this one is in neither).

Cluster: `--nodes` nodes sharing a fresh PostgreSQL database and a private redis-server,
all on core 0; `--clients` clients in one room spread round-robin over the nodes, the
first `--publishers` of them writing (so on different nodes); fixed rate or `--step`.
The load tester counts every acknowledged message lost or duplicated on every client;
`tests/e2e/test_cluster.py` checks the order.

Results go to bench-results/postgres-<time>/ (JSON per run, and summary.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from cluster import ClusterConfig, copy_accounts, fresh_database, private_redis
from harness import (
    OURS_PORT,
    PY,
    ROOT,
    SERVER_CORE,
    Bench,
    _wait_port,
    pin_all_threads,
    seed_sqlite_accounts,
)

PREFIX = "pg"
ADMIN = "postgresql://postgres@127.0.0.1:5432"
TICKS = os.sysconf("SC_CLK_TCK")
SERVE = [PY, "-m", "chatserver", "serve"]


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(f"{ADMIN}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def database_copy(template: str, name: str) -> Iterator[str]:
    """A fresh PostgreSQL database copied from `template` (nobody may be connected to it)."""
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for attempt in range(50):  # the last node's connections may take a moment to go
        try:
            asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            break
        except asyncpg.ObjectInUseError:
            if attempt == 49:
                raise
            time.sleep(0.2)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def backends_cpu(database: str) -> float:
    """CPU of the PostgreSQL backends connected to `database`, since each started."""

    async def pids() -> list[int]:
        conn = await asyncpg.connect(f"{ADMIN}/postgres")
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
        finally:
            await conn.close()
        return [int(row["pid"]) for row in rows]

    return sum(cpu_seconds(pid) for pid in asyncio.run(pids()))


@contextmanager
def node(
    bench: Bench, url: str, port: int, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> Iterator[int]:
    """One `chatserver serve` on the server core, from the checkout `cwd`."""
    log = (bench.out / f"server-{port}.log").open("ab")
    proc = subprocess.Popen(
        [*bench.prefix, "taskset", "-c", SERVER_CORE, *SERVE, "--port", str(port)],
        cwd=cwd,
        env={
            **os.environ,
            "CHAT_DATABASE_URL": url,
            "CHAT_RATE_LIMIT_SCALE": "1000",
            "CHAT_LOG_LEVEL": "warning",
            **(env or {}),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port, proc)
        pin_all_threads(proc.pid)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def load_args(args: argparse.Namespace) -> list[str]:
    if args.step:
        return [
            "--step",
            *("--rate", f"{args.rate:g}", "--step-factor", f"{args.step_factor:g}"),
            *("--step-seconds", f"{args.step_seconds:g}", "--p99-bound-ms", "250"),
            "--warmup",
            "3",
        ]
    return ["--rate", f"{args.rate:g}", "--duration", f"{args.seconds:g}", "--warmup", "3"]


def summarise(setup: str, result: dict[str, Any], extra: dict[str, float]) -> dict[str, Any]:
    """The run's fixed step, or with --step the highest step that passed (and the next)."""
    steps = result.get("steps") or [{}]
    step = result.get("best") or steps[-1]
    acked = int(step.get("acked", 0))
    out: dict[str, Any] = {
        "setup": setup,
        "rate": step.get("rate"),
        "acked": acked,
        "unacked": step.get("unacked"),
        "lost": step.get("lost"),
        "duplicates": step.get("duplicates"),
        "p50_ms": step.get("latency_ms", {}).get("p50"),
        "p99_ms": step.get("latency_ms", {}).get("p99"),
        "server_cpu_pct": step.get("server_cpu_pct"),
        "loadavg_after": result.get("loadavg_after"),
        **extra,
    }
    if "best" in result:
        failed = steps[-1]
        out["next_step"] = {
            "rate": failed.get("rate"),
            "p99_ms": failed.get("latency_ms", {}).get("p99"),
            "lost": failed.get("lost"),
            "server_cpu_pct": failed.get("server_cpu_pct"),
        }
    if acked and step.get("server_cpu_pct") is not None:
        out["server_ms_per_message"] = round(
            step["server_cpu_pct"] / 100 * step["seconds"] * 1000 / acked, 3
        )
    return out


def workshops(bench: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """SQLite and PostgreSQL (and `--before`'s PostgreSQL), alternating."""
    shape = ["--clients", str(args.clients), "--rooms", str(args.rooms), "--publishers", "2"]
    shape += ["--room-prefix", "ws", "--prefix", PREFIX, "--accounts", str(args.clients)]
    shape += ["--register-concurrency", "32"]  # only token checks: every token is valid
    tokens = bench.state / "tokens.json"
    local = ["--url", f"http://127.0.0.1:{args.port}", "--token-cache", str(tokens)]
    prepared = bench.state / "prepared.db"
    subprocess.run(
        [PY, "-m", "chatserver", "migrate"],
        cwd=ROOT,
        env={**os.environ, "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{prepared}"},
        check=True,
    )
    seed_sqlite_accounts(prepared, f"lt-{PREFIX}", args.clients, tokens)
    template = f"chat_bench_pg_{os.getpid()}"
    runs: list[dict[str, Any]] = []
    with ExitStack() as stack:
        pg_url = stack.enter_context(fresh_database(bench, ADMIN, template))
        copy_accounts(bench, pg_url, prepared)
        with_rooms = bench.state / "with-rooms.db"
        shutil.copyfile(prepared, with_rooms)
        for url in (f"sqlite+aiosqlite:///{with_rooms}", pg_url):
            with node(bench, url, args.port) as pid:
                bench.loadtest(
                    "prepare",
                    [*shape, *local, "--server-pid", str(pid), "--prepare-only"],
                    timeout=1800,
                )
        here = Path(args.checkout).resolve() if args.checkout else ROOT
        setups: list[tuple[str, Path]] = [("sqlite", here), ("postgres", here)]
        if args.before:
            setups.append(("postgres-before", Path(args.before).resolve()))
        for round_ in range(args.repeat):
            for setup, cwd in setups:
                label = f"workshops-{setup}-{round_ + 1}"
                with ExitStack() as run:
                    if setup == "sqlite":
                        for suffix in ("", "-wal", "-shm"):
                            (bench.state / f"run.db{suffix}").unlink(missing_ok=True)
                        # The backup API reads through the write-ahead log: every room is in.
                        source = sqlite3.connect(with_rooms)
                        target = sqlite3.connect(bench.state / "run.db")
                        source.backup(target)
                        source.close()
                        target.close()
                        url, database = f"sqlite+aiosqlite:///{bench.state / 'run.db'}", None
                    else:
                        database = f"{template}_run"
                        url = run.enter_context(database_copy(template, database))
                    pid = run.enter_context(node(bench, url, args.port, cwd))
                    result = bench.loadtest(
                        label,
                        [*shape, *local, "--server-pid", str(pid), *load_args(args)],
                    )
                    extra = {"node_cpu_s": round(cpu_seconds(pid), 2)}
                    if database is not None:
                        extra["postgres_cpu_s"] = round(backends_cpu(database), 2)
                if result:
                    runs.append(summarise(setup, result, extra))
                    bench.note(f"{label}: {runs[-1]}")
    return runs


def cluster(bench: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """`--nodes` nodes, one room, publishers on different nodes."""
    ports = [args.port + i for i in range(args.nodes)]
    urls = [arg for port in ports for arg in ("--url", f"http://127.0.0.1:{port}")]
    shape = ["--clients", str(args.clients), "--rooms", "1", "--publishers", str(args.nodes)]
    shape += ["--room-prefix", "one", "--prefix", PREFIX, "--accounts", str(args.clients)]
    shape += ["--register-concurrency", "32"]
    tokens = bench.state / "tokens.json"
    prepared = bench.state / "prepared.db"
    subprocess.run(
        [PY, "-m", "chatserver", "migrate"],
        cwd=ROOT,
        env={**os.environ, "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{prepared}"},
        check=True,
    )
    seed_sqlite_accounts(prepared, f"lt-{PREFIX}", args.clients, tokens)
    config = ClusterConfig(redis_port=args.redis_port)
    with ExitStack() as stack:
        name = f"chat_bench_pg_cluster_{os.getpid()}"
        url = stack.enter_context(fresh_database(bench, ADMIN, name))
        copy_accounts(bench, url, prepared)
        redis_url, redis_pid = stack.enter_context(private_redis(bench, config, "pg-cluster"))
        here = Path(args.checkout).resolve() if args.checkout else ROOT
        pids = [
            stack.enter_context(node(bench, url, port, here, env={"CHAT_REDIS_URL": redis_url}))
            for port in ports
        ]
        watched = [arg for pid in (*pids, redis_pid) for arg in ("--server-pid", str(pid))]
        result = bench.loadtest(
            f"cluster-{args.nodes}nodes",
            [*shape, *urls, "--token-cache", str(tokens), *watched, *load_args(args)],
        )
        extra = {"postgres_cpu_s": round(backends_cpu(name), 2)}
        extra["node_cpu_s"] = round(sum(cpu_seconds(pid) for pid in pids), 2)
    return [summarise(f"{args.nodes} nodes, one room", result, extra)] if result else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cluster", action="store_true", help="nodes writing into one room")
    parser.add_argument("--nodes", type=int, default=3, help="--cluster: nodes")
    parser.add_argument("--redis-port", type=int, default=6391, help="--cluster: private Redis")
    parser.add_argument("--clients", type=int, help="default 2,000 (workshops), 300 (cluster)")
    parser.add_argument("--rooms", type=int, default=200, help="workshops: rooms")
    parser.add_argument("--rate", type=float, default=600.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a fixed run")
    parser.add_argument("--step", action="store_true", help="raise the rate until p99 > 250 ms")
    parser.add_argument("--step-factor", type=float, default=1.25)
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2, help="workshops: runs of each setup")
    parser.add_argument("--before", help="workshops: also PostgreSQL from this checkout")
    parser.add_argument("--checkout", help="serve from this checkout, not this one")
    parser.add_argument("--port", type=int, default=OURS_PORT, help="first node's port")
    parser.add_argument("--nice", type=int, default=0, help="niceness (e.g. -10, as root)")
    parser.add_argument("--out", type=Path, help="results folder")
    args = parser.parse_args()
    if args.clients is None:
        args.clients = 300 if args.cluster else 2000
    out = args.out or ROOT / "bench-results" / time.strftime("postgres-%Y%m%d-%H%M%S")
    state = out / "state"
    state.mkdir(parents=True, exist_ok=True)
    bench = Bench(out, state, args.nice)
    runs = cluster(bench, args) if args.cluster else workshops(bench, args)
    (out / "summary.json").write_text(json.dumps(runs, indent=2) + "\n")
    for run in runs:
        print(json.dumps(run))


if __name__ == "__main__":
    main()
