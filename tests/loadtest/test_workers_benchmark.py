"""The workers benchmark (`benchmarks/workers.py`) measures what it claims.

Small and real: one worker and two behind one port, Redis and PostgreSQL, the Node load
client. The figure it exists for — server CPU per delivery — is only meaningful if every
worker's CPU is counted, the clients really were spread over the workers, the deliveries
divided by are the ones the client counted (all of them, nothing lost), and each ratio
compares the same rate in the same round.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.services import postgres_database, redis_process, unavailable

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CLIENTS = 60
SECONDS = 3.0


def _workers_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("workers_benchmark", BENCHMARKS / "workers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_cpu_per_delivery_counts_every_worker_over_every_delivery(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (BENCHMARKS / "node" / "node_modules").exists():
        unavailable("the Node load client needs node and `npm ci` in benchmarks/node")
    bench = _workers_benchmark()
    cfg = bench.Config(
        clients=CLIENTS,
        rates=(5.0, 10.0),
        seconds=SECONDS,
        warmup=1.0,
        rounds=1,
        workers=(1, 2),
        server_cpus=None,
        client_cpu=None,
    )
    with redis_process(tmp_path) as redis, postgres_database() as database_url:
        assert redis.process is not None
        result = bench.run(cfg, database_url, redis.url, redis.process.pid, tmp_path)

    setups = {s["workers"]: s for s in result["setups"]}
    assert sorted(setups) == [1, 2]
    for workers, setup in setups.items():
        assert setup["connect_failed"] == 0
        assert [step["rate"] for step in setup["steps"]] == [5.0, 10.0]
        for step in setup["steps"]:
            assert step["sent"] == step["rate"] * SECONDS
            assert step["deliveries"] == step["expected"] == step["sent"] * CLIENTS, step
            assert (step["lost"], step["duplicates"], step["unacked"]) == (0, 0, 0)
            # From the first send to the last delivery: the last send is due 1/rate early.
            assert step["wall_s"] >= SECONDS - 1 / step["rate"]
            assert len(step["worker_cpu_s"]) == len(step["worker_connections"]) == workers
            # The kernel spread the clients over every worker of the shared port.
            assert sum(step["worker_connections"]) == CLIENTS
            assert all(n > 0 for n in step["worker_connections"]), step
            spent = sum(step["worker_cpu_s"]) + step["supervisor_cpu_s"]
            assert spent > 0
            assert step["server_us_per_delivery"] == pytest.approx(
                spent * 1e6 / step["deliveries"], rel=0.02, abs=0.01
            )
            assert step["redis_cpu_s"] >= 0
            # Kept up: nothing left undelivered (checked above), and the p99 within a second.
            assert step["kept_up"] == (step["p99_ms"] <= bench.KEPT_UP_P99_MS)
    # One worker has no supervisor; two have one, whose CPU is part of the figure.
    assert all(step["supervisor_cpu_s"] == 0 for step in setups[1]["steps"])

    # The summary keeps the steps in which the server kept up, and only those.
    kept = {
        (step["rate"], workers): step["server_us_per_delivery"]
        for workers, setup in setups.items()
        for step in setup["steps"]
        if step["kept_up"]
    }
    rows = {(row["rate"], row["workers"]): row for row in result["summary"]}
    assert sorted(rows) == [(5.0, 1), (5.0, 2), (10.0, 1), (10.0, 2)]
    for (rate, workers), row in rows.items():
        assert row["server_us_per_delivery"] == (
            [kept[(rate, workers)]] if (rate, workers) in kept else []
        )
        if (rate, workers) in kept and (rate, 1) in kept:
            expected = kept[(rate, workers)] / kept[(rate, 1)]
            assert row["median_ratio"] == pytest.approx(expected, rel=0.01)
        else:
            assert row["median_ratio"] is None
