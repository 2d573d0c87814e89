"""(4) Cluster: one node against N nodes sharing Redis and PostgreSQL, at the same load.

Every setup gets a fresh PostgreSQL database (`chat_bench_cluster_<setup>`, dropped
afterwards) holding a copy of the accounts and login tokens of the runner's SQLite state
(so the cached tokens work and nobody waits for argon2), and, when it uses Redis, a
private `redis-server` on its own port: its `INFO commandstats` and a `MONITOR` capture
then count exactly the commands of this run, split into phases (preparing the room,
the load, after the clients left).

Nodes and Redis run on the server core (0), the Node load client and `redis-cli
MONITOR` on the client core (1). PostgreSQL is the machine's server and is not pinned.
With N nodes on one core this is a correctness and latency check (one more hop through
Redis, N processes sharing a core), not a capacity test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import asyncpg
import redis
from harness import CLIENT_CORE, OURS_PORT, PY, ROOT, SERVER_CORE, Bench, pin_all_threads

PRESENCE_GRACE = 5.0  # the server's default CHAT_PRESENCE_GRACE: offline comes this late


@dataclass(frozen=True)
class ClusterConfig:
    nodes: int = 3
    clients: int = 600
    publishers: int = 4
    rates: tuple[float, ...] = (20.0, 50.0)  # fixed rates, in one connection wave
    seconds: float = 20.0  # per fixed rate
    step_from: float = 20.0
    step_factor: float = 1.5
    step_seconds: float = 10.0
    max_rate: float = 700.0
    postgres: str = "postgresql://postgres@127.0.0.1:5432"  # a role that may CREATE DATABASE
    redis_server: str = "redis-server"
    redis_port: int = 6390
    modes: tuple[str, ...] = ("fixed", "step")


def run(bench: Bench, cfg: ClusterConfig) -> None:
    """Fixed rates on 1 node, 1 node + Redis and N nodes; then step mode on 1 and N."""
    n = cfg.nodes
    for label, nodes, with_redis, mode in (
        ("cluster-1node-fixed", 1, False, "fixed"),
        ("cluster-1node-redis-fixed", 1, True, "fixed"),
        (f"cluster-{n}nodes-fixed", n, True, "fixed"),
        ("cluster-1node-step", 1, False, "step"),
        (f"cluster-{n}nodes-step", n, True, "step"),
    ):
        if mode not in cfg.modes:
            continue
        bench.note(f"== {label}")
        try:
            one_setup(bench, cfg, label, nodes, with_redis, mode)
        except Exception as error:  # one broken setup must not cost the others
            bench.note(f"{label} failed: {type(error).__name__}: {error}")


def one_setup(
    bench: Bench, cfg: ClusterConfig, label: str, nodes: int, with_redis: bool, mode: str
) -> None:
    ports = [OURS_PORT + 10 + i for i in range(nodes)]
    urls = [arg for port in ports for arg in ("--url", f"http://127.0.0.1:{port}")]
    shape = ["--clients", str(cfg.clients), "--rooms", "1", "--publishers", str(cfg.publishers)]
    tokens = bench.out / "tokens-cluster.json"  # a copy: the state's cache stays untouched
    if not tokens.exists():
        shutil.copyfile(bench.state / "tokens.json", tokens)
    db_name = "chat_bench_" + label.replace("-", "_")
    with ExitStack() as stack:
        db_url = stack.enter_context(fresh_database(bench, cfg.postgres, db_name))
        copy_accounts(bench, db_url, bench.state / "chat.db")
        env = {"CHAT_DATABASE_URL": db_url}
        server_pids: list[int] = []  # the nodes, then Redis: CPU and RSS are summed
        watch: RedisWatch | None = None
        if with_redis:
            redis_url, redis_pid = stack.enter_context(private_redis(bench, cfg, label))
            env["CHAT_REDIS_URL"] = redis_url
            # MONITOR costs Redis a little per command: not while looking for the ceiling.
            watch = stack.enter_context(
                RedisWatch.started(bench, cfg.redis_port, label, monitor=mode == "fixed")
            )
        for port in ports:
            pid = stack.enter_context(bench.ours(port, env))
            pin_all_threads(pid)
            server_pids.append(pid)
        if with_redis:
            server_pids.append(redis_pid)
        plan = bench.out / f"plan-{label}.json"
        if watch:
            watch.mark("prepare")
        bench.loadtest(
            f"{label}-prepare",
            [
                *urls,
                "--prefix",
                "bench",
                "--token-cache",
                str(tokens),
                *shape,
                "--room-prefix",
                "cluster",
                "--prepare-only",
                "--plan",
                str(plan),
            ],
            timeout=600,
        )
        if watch:
            watch.mark("load")
        if mode == "fixed":
            rates = [f"{r:g}" for r in cfg.rates]
            extra = ["--rate", rates[0], "--duration", f"{cfg.seconds:g}"]
            if rates[1:]:
                extra += ["--also-rates", ",".join(rates[1:])]
        else:
            extra = [
                "--step",
                "--rate",
                f"{cfg.step_from:g}",
                "--step-factor",
                f"{cfg.step_factor:g}",
                "--step-seconds",
                f"{cfg.step_seconds:g}",
                "--p99-bound-ms",
                "250",
                "--max-rate",
                f"{cfg.max_rate:g}",
            ]
        pid_args = [arg for pid in server_pids for arg in ("--server-pid", str(pid))]
        common = ["--target", "chat", "--plan", str(plan), *urls, *pid_args, *shape]
        result = bench.node(label, [*common, "--warmup", "5", *extra], timeout=900)
        if watch:
            watch.mark("after")
            time.sleep(PRESENCE_GRACE + 2)  # offline announcements, if any, fall in here
            watch.mark("end")
            watch.write(result, nodes)


# -- PostgreSQL ---------------------------------------------------------------------------


@contextmanager
def fresh_database(bench: Bench, admin: str, name: str) -> Iterator[str]:
    """CREATE DATABASE `name` (dropping a leftover first); DROP it on the way out."""

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(f"{admin}/postgres")
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    bench.note(f"database {name} created")
    try:
        yield admin.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        bench.note(f"database {name} dropped")


def copy_accounts(bench: Bench, db_url: str, sqlite_path: Path) -> None:
    """Migrate the new database, then copy `users` and `tokens` from the SQLite state:
    the token cache's tokens are valid there too (only their hashes are stored)."""
    subprocess.run(
        [PY, "-m", "chatserver", "migrate"],
        cwd=ROOT,
        env={**os.environ, "CHAT_DATABASE_URL": db_url},
        check=True,
        timeout=120,
    )
    source = sqlite3.connect(sqlite_path)
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for table in ("users", "tokens"):
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
        rows = source.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        tables[table] = (columns, rows)
    source.close()

    async def copy() -> None:
        conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            for table, (columns, rows) in tables.items():
                await conn.copy_records_to_table(table, records=rows, columns=columns)
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        finally:
            await conn.close()

    asyncio.run(copy())
    bench.note(f"copied {len(tables['users'][1])} accounts and their tokens from {sqlite_path}")


# -- Redis --------------------------------------------------------------------------------


@contextmanager
def private_redis(bench: Bench, cfg: ClusterConfig, label: str) -> Iterator[tuple[str, int]]:
    """A throwaway `redis-server` on the server core: no persistence, nobody else's traffic."""
    client = redis.Redis(port=cfg.redis_port, socket_connect_timeout=0.5)
    try:
        client.ping()
        raise RuntimeError(f"port {cfg.redis_port} is taken: pick another --redis-port")
    except redis.ConnectionError:
        pass
    log = (bench.out / f"redis-{label}.log").open("ab")
    proc = subprocess.Popen(
        [
            *bench.prefix,
            "taskset",
            "-c",
            SERVER_CORE,
            cfg.redis_server,
            "--port",
            str(cfg.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        pin_all_threads(proc.pid)
        yield f"redis://127.0.0.1:{cfg.redis_port}/0", proc.pid
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


_EVENT = re.compile(r'\\"(?:type|kind)\\":\\"([^"\\]+)\\"')  # in MONITOR's escaped payload
_MONITOR = re.compile(r'^(\d+\.\d+) \[\d+ ([^\]]+)\] "([^"]+)"(?: "((?:[^"\\]|\\.)*)")?')


class RedisWatch:
    """`INFO commandstats`/`cpu` at each phase mark, and a `MONITOR` capture to split the
    PUBLISH commands by channel (room, user, control) and by phase."""

    def __init__(self, bench: Bench, port: int, label: str, monitor: bool) -> None:
        self.bench, self.label = bench, label
        self.client = redis.Redis(port=port)
        self.marks: list[tuple[str, float, dict[str, Any]]] = []
        self.path = bench.out / f"{label}-monitor.txt"
        self._file = self.path.open("wb")
        self.proc = (
            subprocess.Popen(
                ["taskset", "-c", CLIENT_CORE, "redis-cli", "-p", str(port), "monitor"],
                stdout=self._file,
                stderr=subprocess.STDOUT,
            )
            if monitor
            else None
        )

    @classmethod
    @contextmanager
    def started(
        cls, bench: Bench, port: int, label: str, monitor: bool = True
    ) -> Iterator[RedisWatch]:
        watch = cls(bench, port, label, monitor)
        try:
            time.sleep(0.3)  # MONITOR is on before the first mark
            yield watch
        finally:
            if watch.proc is not None:
                watch.proc.terminate()
                try:
                    watch.proc.wait(10)
                except subprocess.TimeoutExpired:
                    watch.proc.kill()
                    watch.proc.wait()
            watch._file.close()
            watch.client.close()

    def mark(self, phase: str) -> None:
        stats = self.client.info("commandstats")
        cpu = self.client.info("cpu")
        snapshot = {
            "calls": {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()},
            "cpu_s": float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
        }
        self.marks.append((phase, time.time(), snapshot))

    def write(self, result: dict[str, Any], nodes: int) -> None:
        """{label}-redis.json: per phase, commandstats deltas and MONITOR's PUBLISH split."""
        self._file.flush()
        time.sleep(0.5)
        bounds = [(name, at) for name, at, _ in self.marks]
        publishes: dict[str, Counter[str]] = {name: Counter() for name, _ in bounds[:-1]}
        commands: dict[str, Counter[str]] = {name: Counter() for name, _ in bounds[:-1]}
        with self.path.open("rb") as capture:
            for raw in capture:
                match = _MONITOR.match(raw.decode("latin1"))
                if not match:
                    continue
                at, source, command = float(match[1]), match[2], match[3].upper()
                phase = next(
                    (name for (name, start), (_, stop) in pairwise(bounds) if start <= at < stop),
                    None,
                )
                if phase is None:
                    continue
                commands[phase][("lua:" if source == "lua" else "") + command] += 1
                if command in ("PUBLISH", "SPUBLISH") and source != "lua":
                    channel = (match[4] or "").split(":", 1)[0]
                    event = _EVENT.search(raw.decode("latin1"), match.end())
                    publishes[phase][f"{channel} {event[1] if event else '?'}"] += 1
        phases = []
        for (name, _, before), (_, _, after) in pairwise(self.marks):
            calls = {
                k: v - before["calls"].get(k, 0)
                for k, v in after["calls"].items()
                if v - before["calls"].get(k, 0)
            }
            phases.append(
                {
                    "phase": name,
                    "commandstats": calls,
                    "publish_calls": calls.get("publish", 0) + calls.get("spublish", 0),
                    "monitor_publish_by_channel": dict(publishes[name]),
                    "monitor_commands": dict(commands[name].most_common()),
                    "redis_cpu_s": round(after["cpu_s"] - before["cpu_s"], 3),
                }
            )
        runs = [*result.get("steps", []), *result.get("fixed", [])]
        summary = {
            "nodes": nodes,
            "monitor": self.proc is not None,
            "messages_sent": sum(s["sent"] for s in runs),
            "messages_acked": sum(s["acked"] for s in runs),
            "phases": phases,
        }
        out = self.bench.out / f"{self.label}-redis.json"
        out.write_text(json.dumps(summary, indent=2) + "\n")
        load = next(p for p in phases if p["phase"] == "load")
        self.bench.note(
            f"{self.label}: {summary['messages_sent']} messages sent, "
            f"{summary['messages_acked']} acked; PUBLISH during the load: "
            f"{load['publish_calls']} {load['monitor_publish_by_channel']}"
        )
