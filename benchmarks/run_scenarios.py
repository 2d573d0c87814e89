"""Run the benchmark scenarios of docs/benchmarks.md and write their JSON into one folder.

    .venv/bin/python benchmarks/run_scenarios.py                  # every scenario
    .venv/bin/python benchmarks/run_scenarios.py --only idle,storm
    .venv/bin/python benchmarks/run_scenarios.py --state bench-results/state --only cluster
    .venv/bin/python benchmarks/report.py bench-results/<run>     # the markdown tables

Every server runs on core 0 and every load client on core 1 (`taskset`), so the two never
compete for a core and each side's CPU% says which one bound a figure. Our server runs as
an operator would start it (`python -m chatserver serve`) with CHAT_RATE_LIMIT_SCALE=1000,
on a fresh SQLite database in --state (a temporary folder unless given: pass the same
--state again to reuse its accounts, since registering thousands of argon2 hashes takes
minutes). Every step is bounded in time, and every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cluster
import scenarios
from harness import ROOT, Bench, prepare_accounts

SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "open-day": scenarios.open_day,
    "idle": scenarios.idle,
    "reactions": scenarios.reactions,
    "storm": scenarios.storm,
    "slow-consumer": scenarios.slow_consumer,
    "workshops": scenarios.workshops,
}


def _git(*args: str) -> str:
    """Read-only: which code a run measured (the server changes between runs)."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def machine() -> dict[str, object]:
    model = ""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "node": node,
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_at_start": os.getloadavg(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_files": len(_git("status", "--porcelain").splitlines()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)},cluster")
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="results parent")
    parser.add_argument("--state", help="server database and token cache (default: a temp dir)")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of servers and clients (e.g. -10, as root)"
    )
    parser.add_argument(
        "--cluster-nodes",
        type=int,
        default=0,
        help="also run the cluster scenario (1 node against this many); `--only cluster` "
        "runs it alone, on 3 nodes unless given",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432",
        help="cluster: PostgreSQL server where a fresh database is created (and dropped) "
        "for each setup",
    )
    parser.add_argument(
        "--redis-port",
        type=int,
        default=6390,
        help="cluster: free port for the private redis-server each setup starts",
    )
    parser.add_argument(
        "--cluster-modes",
        default="fixed,step",
        help="cluster: fixed (20 and 50 msg/s on 1 node, 1 node + Redis, N nodes), "
        "step (1 node and N nodes)",
    )
    parser.add_argument(
        "--cluster-step",
        default="20,1.5",
        metavar="FROM,FACTOR",
        help="cluster: first rate and factor of the step runs",
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 10,000 sockets on each side
    if hard < 10_500:
        print(f"warning: `ulimit -Hn` is {hard}; the idle scenario needs 10,500", file=sys.stderr)
    out = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    state = Path(args.state) if args.state else Path(tempfile.mkdtemp(prefix="chat-bench-"))
    state.mkdir(parents=True, exist_ok=True)
    bench = Bench(out, state, args.nice)
    (out / "machine.json").write_text(json.dumps(machine(), indent=2) + "\n")
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    if "cluster" in chosen:
        chosen.remove("cluster")
        args.cluster_nodes = args.cluster_nodes or 3
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    prepare_accounts(bench)
    for name in chosen:
        bench.note(f"== scenario {name}")
        try:
            SCENARIOS[name](bench)
        except Exception as error:  # one broken scenario must not cost the others
            bench.note(f"scenario {name} failed: {type(error).__name__}: {error}")
    if args.cluster_nodes:
        bench.note("== scenario cluster")
        config = cluster.ClusterConfig(
            nodes=args.cluster_nodes,
            postgres=args.postgres,
            redis_port=args.redis_port,
            modes=tuple(args.cluster_modes.split(",")),
            step_from=float(args.cluster_step.split(",")[0]),
            step_factor=float(args.cluster_step.split(",")[1]),
        )
        cluster.run(bench, config)
    bench.note(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
