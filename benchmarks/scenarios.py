"""The scenarios of docs/benchmarks.md, each a function of the harness (the cluster
scenario, which needs PostgreSQL and Redis, is in cluster.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness import (
    CLIENT_CORE,
    IDLE_POOL,
    OURS_PORT,
    PY,
    REFERENCES,
    Bench,
    chat_args,
    pin_all_threads,
)

STEP = ["--step", "--step-seconds", "5", "--step-factor", "1.5", "--p99-bound-ms", "250"]
OPEN_DAY = ["--clients", "2000", "--rooms", "1", "--publishers", "4"]


class Profiler:
    """py-spy on our server during the fixed 50 msg/s run (the open-day rate, where the
    server is saturated), started when the load client announces that run, so the profile
    shows the message path and not the connection storm before it."""

    def __init__(self, bench: Bench, pid: int, seconds: int) -> None:
        self.bench, self.pid, self.seconds = bench, pid, seconds
        self.proc: subprocess.Popen[bytes] | None = None

    def on_line(self, line: str) -> None:
        if self.proc is None and line.startswith("-- fixed:") and "(50)" in line:
            spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
            self.bench.note(f"profiling pid {self.pid} for {self.seconds}s")
            self.proc = subprocess.Popen(
                [
                    "taskset",
                    "-c",
                    CLIENT_CORE,
                    spy,
                    "record",
                    "--pid",
                    str(self.pid),
                    "--duration",
                    str(self.seconds),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    str(self.bench.out / "profile-ours.txt"),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )

    def wait(self) -> None:
        if self.proc is not None:
            self.proc.wait(self.seconds + 30)


def open_day(bench: Bench) -> None:
    """(1) 1 room × 2,000 clients: the highest sustained rate, then fixed rates (half and
    90 % of it, and the 50 msg/s of the scenario), ours and the references.

    Our server is driven by the Node client in one connection wave (connecting 2,000
    clients to one room costs minutes, see docs/benchmarks.md), profiled at 50 msg/s."""
    plan = bench.out / "plan-openday.json"
    with bench.ours() as pid:
        pin_all_threads(pid)
        bench.loadtest(
            "open-day-prepare",
            [
                *chat_args(bench, pid),
                *OPEN_DAY,
                "--prepare-only",
                "--room-prefix",
                "openday",
                "--plan",
                str(plan),
            ],
        )
        profiler = Profiler(bench, pid, 10)
        bench.node(
            "open-day-ours-node",
            [
                "--target",
                "chat",
                "--plan",
                str(plan),
                "--url",
                f"http://127.0.0.1:{OURS_PORT}",
                "--server-pid",
                str(pid),
                *OPEN_DAY,
                *STEP,
                "--rate",
                "1",
                "--max-rate",
                "200",
                "--duration",
                "10",
                "--also-rates",
                "0.5x,0.9x,50",
                "--warmup",
                "15",
            ],
            timeout=1500,
            on_line=profiler.on_line,
        )
        profiler.wait()
        bench.loadtest(
            "open-day-ours-python",
            [
                *chat_args(bench, pid),
                *OPEN_DAY,
                "--room-prefix",
                "openday",
                *STEP,
                "--warmup",
                "15",
                "--rate",
                "1",
                "--max-rate",
                "200",
            ],
            timeout=1500,
        )
    for name, (command, port, target) in REFERENCES.items():
        with bench.server(name, [*command, "--port", str(port)], port) as pid:
            args = [
                "--target",
                target,
                "--url",
                f"http://127.0.0.1:{port}",
                *OPEN_DAY,
                "--server-pid",
                str(pid),
            ]
            bench.node(
                f"open-day-{name}-node",
                [
                    *args,
                    *STEP,
                    "--rate",
                    "10",
                    "--max-rate",
                    "200",
                    "--duration",
                    "10",
                    "--also-rates",
                    "50",
                ],
            )
            if name == "websockets":  # where the Python tester itself saturates
                bench.loadtest(
                    f"open-day-{name}-python", [*args, *STEP, "--rate", "10", "--max-rate", "200"]
                )


def workshops(bench: Bench) -> None:
    """(2) 200 rooms × 10 clients, 5 msg/s in each room (1,000 msg/s, 10,000 deliveries/s),
    then the highest total rate our server sustains in that shape (every message is a
    database write, so this measures the write path more than the fan-out)."""
    shape = ["--clients", "2000", "--rooms", "200", "--publishers", "2"]
    fixed = ["--rate", "1000", "--duration", "10"]
    with bench.ours() as pid:
        pin_all_threads(pid)
        chat = [*chat_args(bench, pid), *shape, "--room-prefix", "ws"]
        bench.loadtest("workshops-ours-python", [*chat, *fixed])
        bench.loadtest("workshops-ours-python-step", [*chat, *STEP, "--rate", "50"])
    command, port, target = REFERENCES["websockets"]
    with bench.server("websockets", [*command, "--port", str(port)], port) as pid:
        url = f"http://127.0.0.1:{port}"
        bench.loadtest(
            "workshops-websockets-python",
            ["--target", target, "--url", url, "--server-pid", str(pid), *shape, *fixed],
        )


def idle(bench: Bench) -> None:
    """(3) 10,000 authenticated idle connections: server RSS per connection, with and
    without a permessage-deflate offer. Our connections use the `idle` pool (500 accounts,
    20 connections each, in no room), so no presence fan-out runs while they connect."""
    shape = ["--idle", "--clients", "10000", "--idle-hold", "5", "--connect-concurrency", "200"]
    for deflate in ([], ["--deflate"]):  # a fresh server each: freed memory is not returned
        with bench.ours() as pid:
            pin_all_threads(pid)
            label = "idle-ours" + ("-deflate" if deflate else "")
            bench.loadtest(
                label,
                [*chat_args(bench, pid, pool=IDLE_POOL), *shape, "--rooms", "0", *deflate],
                timeout=1200,
            )
    for name, (command, port, target) in REFERENCES.items():
        for deflate in ([], ["--deflate"]):
            with bench.server(name, [*command, "--port", str(port)], port) as pid:
                label = f"idle-{name}" + ("-deflate" if deflate else "")
                bench.loadtest(
                    label,
                    [
                        "--target",
                        target,
                        "--url",
                        f"http://127.0.0.1:{port}",
                        "--server-pid",
                        str(pid),
                        *shape,
                        *deflate,
                    ],
                )


def reactions(bench: Bench) -> None:
    """(5) 500 clients react to one message within one second."""
    with bench.ours() as pid:
        pin_all_threads(pid)
        bench.loadtest(
            "reactions-ours",
            [
                *chat_args(bench, pid),
                "--reactions",
                "--clients",
                "500",
                "--duration",
                "1",
                "--drain",
                "30",
                "--room-prefix",
                "react",
            ],
        )


def slow_consumer(bench: Bench) -> None:
    """(6) one client stops reading: the others' p99 with and without it; is it cut off?

    4 KB messages for 45 s send it about 18 MB: more than the kernel's socket buffers and
    the server's per-connection queue (CHAT_SEND_QUEUE_FRAMES, 2,000 frames) can hold."""
    shape = [
        "--clients",
        "200",
        "--rooms",
        "1",
        "--rate",
        "100",
        "--duration",
        "45",
        "--body-bytes",
        "3900",
        "--room-prefix",
        "slow",
    ]
    with bench.ours() as pid:
        pin_all_threads(pid)
        bench.loadtest("slow-ours-baseline", [*chat_args(bench, pid), *shape])
        bench.loadtest(
            "slow-ours-one-slow", [*chat_args(bench, pid), *shape, "--slow-clients", "1"]
        )


def storm(bench: Bench) -> None:
    """(7) 1,000 clients drop and resume with `since` within 5 s, while messages flow."""
    with bench.ours() as pid:
        pin_all_threads(pid)
        bench.loadtest(
            "storm-ours",
            [
                *chat_args(bench, pid),
                "--storm",
                "--clients",
                "1000",
                "--rooms",
                "10",
                "--rate",
                "20",
                "--duration",
                "15",
                "--storm-at",
                "3",
                "--storm-spread",
                "5",
                "--room-prefix",
                "storm",
                "--drain",
                "20",
            ],
        )
