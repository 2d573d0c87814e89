"""Durability against cost: message sends with SQLite's synchronous=FULL and NORMAL.

    .venv/bin/python benchmarks/durability.py [--rate 1000] [--seconds 20] [--repeat 2]
    .venv/bin/python benchmarks/durability.py --sends-only

First, in process: 2,000 sends into one room, one at a time (each commit its own, so
FULL syncs once per message) and then 20 at a time (group commit: one sync per batch),
with NORMAL, with FULL as the server runs it (the commit, which waits for the disk, on a
helper thread) and with FULL committing on the event loop. Each gives the wall clock and
the CPU per send, and how long the loop was held per send: a 1-ms timer runs meanwhile,
and the sum of its lateness is time every other socket would have waited.

Then the workshops scenario. The database is prepared once: 2,000 accounts and their
tokens written straight into it (registering them would hash 2,000 passwords with
argon2, minutes of CPU), then 200 rooms of 10 members made through the API. Each run
starts the server on a fresh copy of it, on core 0, with CHAT_SQLITE_SYNCHRONOUS set,
and sends the workshops load (200 rooms × 10 clients, 2 publishers a room; every
message a database write) at a fixed rate from core 1. The modes alternate, so that
other work on a shared machine falls on both. Results go to
bench-results/durability-<time>/ (JSON per run, and a summary).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import uvloop
from harness import PY, ROOT, Bench, chat_args, pin_all_threads, seed_sqlite_accounts

from chatserver.app import build_services
from chatserver.broker.memory import MemoryBroker
from chatserver.protocol.requests import NewRoom
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store import inloop_sqlite
from chatserver.store.engine import Database, Synchronous
from chatserver.store.migrate import upgrade

PREFIX, ACCOUNTS = "dur", 2000
SHAPE = ["--clients", "2000", "--rooms", "200", "--publishers", "2", "--room-prefix", "dur"]


def sync_latency_ms(folder: Path, samples: int = 100) -> float:
    """The disk's median fdatasync of a 4 KiB append right now: a shared machine's other
    work makes it vary tenfold, so every measurement is read next to it."""
    path = folder / "sync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    took = []
    try:
        for _ in range(samples):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fdatasync(fd)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(took)


async def _lag(stalls: list[float], stop: asyncio.Event) -> None:
    """How late a 1-ms timer fires, again and again: what every other socket waits."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        stalls.append((time.perf_counter() - started) * 1000 - 1)


@contextmanager
def commits_on_the_loop(wanted: bool) -> Iterator[None]:
    """The server commits a FULL transaction on a helper thread; this undoes that, to
    measure what the thread saves."""
    if not wanted:
        yield
        return
    original = inloop_sqlite.creator
    with mock.patch.object(inloop_sqlite, "creator", lambda url, _off: original(url, False)):
        yield


async def send_cost(
    mode: Synchronous, on_loop: bool, sends: int = 2000, together: int = 20
) -> dict[str, float]:
    """µs of wall clock, of CPU and of loop held per send, alone and `together` at a
    time, and the loop's longest stall (ms)."""
    with tempfile.TemporaryDirectory(dir=ROOT / "bench-results") as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/sends.db"
        await upgrade(url)
        with commits_on_the_loop(on_loop):
            db = Database(url, synchronous=mode)
        services, _ = build_services(Settings(database_url=url), db, MemoryBroker())
        try:
            async with db.write() as conn:
                people = [
                    await account_store.create_user(
                        conn,
                        username=f"u{i}",
                        display_name=f"u{i}",
                        password_hash="unused",
                        role="mentor",
                        now=0,
                    )
                    for i in range(10)
                ]
            room = await services.rooms.create(
                people[0], NewRoom(slug="rr", name="r", kind="topic")
            )
            for person in people[1:]:
                await services.rooms.join(person, room.id)
            out: dict[str, float] = {"fdatasync_ms": sync_latency_ms(Path(scratch))}
            for label, width in (("alone", 1), ("together", together)):
                stalls: list[float] = []
                stop = asyncio.Event()
                ticker = asyncio.create_task(_lag(stalls, stop))
                wall, cpu = time.perf_counter(), time.process_time()
                for start in range(0, sends, width):
                    await asyncio.gather(
                        *(
                            services.messages.send(people[i % 10], room.id, f"message {i}")
                            for i in range(start, start + width)
                        )
                    )
                out[f"{label}_wall_us"] = (time.perf_counter() - wall) / sends * 1e6
                out[f"{label}_cpu_us"] = (time.process_time() - cpu) / sends * 1e6
                stop.set()
                await ticker
                out[f"{label}_loop_held_us"] = sum(stalls) / sends * 1000
                out[f"{label}_stall_max_ms"] = max(stalls)
                await db.checkpoint()
            return out
        finally:
            await db.close()


def fresh_copy(prepared: Path, state: Path) -> None:
    """The prepared database as the next run's, without the last run's log files."""
    for suffix in ("", "-wal", "-shm"):
        (state / f"chat.db{suffix}").unlink(missing_ok=True)
    shutil.copyfile(prepared, state / "chat.db")


def summarise(mode: str, result: dict[str, Any]) -> dict[str, Any]:
    step = result["steps"][0]
    cpu_ms = step["server_cpu_pct"] / 100 * step["seconds"] * 1000
    return {
        "mode": mode,
        "rate": step["rate"],
        "acked": step["acked"],
        "lost": step["lost"],
        "p50_ms": step["latency_ms"]["p50"],
        "p99_ms": step["latency_ms"]["p99"],
        "server_cpu_pct": step["server_cpu_pct"],
        "server_ms_per_message": round(cpu_ms / max(step["acked"], 1), 3),
        "loadavg_after": result.get("loadavg_after"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each mode")
    parser.add_argument("--nice", type=int, default=0, help="niceness (e.g. -10, as root)")
    parser.add_argument("--sends-only", action="store_true", help="skip the workshops scenario")
    args = parser.parse_args()

    out = ROOT / "bench-results" / time.strftime("durability-%Y%m%d-%H%M%S")
    state = out / "state"
    state.mkdir(parents=True)
    costs = []
    for _ in range(args.repeat):
        setups: tuple[tuple[Synchronous, bool], ...] = (
            ("normal", False),
            ("full", False),
            ("full", True),
        )
        for mode, on_loop in setups:
            label = f"{mode}{', commit on the loop' if on_loop else ''}"
            costs.append({"mode": label, **uvloop.run(send_cost(mode, on_loop))})
            print(
                " ".join(
                    f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in costs[-1].items()
                ),
                flush=True,
            )
    (out / "sends.json").write_text(json.dumps(costs, indent=2) + "\n")
    if args.sends_only:
        return
    bench = Bench(out, state, args.nice)
    prepared = out / "prepared.db"
    url = f"sqlite+aiosqlite:///{prepared}"
    env = {**os.environ, "CHAT_DATABASE_URL": url}
    subprocess.run([PY, "-m", "chatserver", "migrate"], cwd=ROOT, env=env, check=True)
    seed_sqlite_accounts(prepared, f"lt-{PREFIX}", ACCOUNTS, state / "tokens.json")
    fresh_copy(prepared, state)
    with bench.ours() as pid:
        bench.loadtest(
            "prepare", [*chat_args(bench, pid, (PREFIX, ACCOUNTS)), *SHAPE, "--prepare-only"]
        )
    # The backup API reads through the write-ahead log: the copy has every room in it.
    source, target = sqlite3.connect(state / "chat.db"), sqlite3.connect(prepared)
    source.backup(target)
    source.close()
    target.close()

    runs = []
    load = ["--rate", str(args.rate), "--duration", str(args.seconds), "--warmup", "3"]
    for round_ in range(args.repeat):
        for mode in ("normal", "full"):
            fresh_copy(prepared, state)
            with bench.ours(extra_env={"CHAT_SQLITE_SYNCHRONOUS": mode}) as pid:
                pin_all_threads(pid)
                label = f"workshops-{mode}-{round_ + 1}"
                result = bench.loadtest(
                    label, [*chat_args(bench, pid, (PREFIX, ACCOUNTS)), *SHAPE, *load]
                )
            if result.get("steps"):
                runs.append(summarise(mode, result))
                bench.note(f"{label}: {runs[-1]}")
    (out / "summary.json").write_text(json.dumps(runs, indent=2) + "\n")
    print(
        f"{'mode':<8} {'msg/s':>7} {'acked':>7} {'lost':>5} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'srv cpu':>8} {'ms/msg':>7}"
    )
    for run in runs:
        print(
            f"{run['mode']:<8} {run['rate']:>7.0f} {run['acked']:>7} {run['lost']:>5} "
            f"{run['p50_ms']:>7.1f} {run['p99_ms']:>7.1f} {run['server_cpu_pct']:>7.0f}% "
            f"{run['server_ms_per_message']:>7.3f}"
        )


if __name__ == "__main__":
    main()
