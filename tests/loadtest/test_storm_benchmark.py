"""The reconnect-storm benchmark (`benchmarks/storm.py`) measures what it claims.

Small and real: a loaded history, a server restarted between the clients' drop and
their return, and every client's replay checked against the messages written while it
was away. If the benchmark's own bookkeeping were wrong (a replay not waited for, the
wrong room followed, missed messages not counted), its figures would be meaningless.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

from tests.support.services import unavailable

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _storm() -> ModuleType:
    spec = importlib.util.spec_from_file_location("storm_benchmark", BENCHMARKS / "storm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_every_client_catches_up_on_exactly_what_it_missed_across_a_restart() -> None:
    storm = _storm()
    args = argparse.Namespace(
        db="sqlite",
        messages=3000,
        clients=60,
        missed=5,
        spread=0.5,
        server_cpu=None,
        profile=None,
    )
    result = await storm.run(args)
    assert result["clients"] == 60
    assert result["caught_up"] == 60, result
    assert (result["failed"], result["wrong_replays"], result["duplicated"]) == (0, 0, 0)
    assert 0 < result["seconds_to_all_caught_up"] < 60


async def test_the_node_client_checks_the_same_replays_and_reports_the_same_figures() -> None:
    if shutil.which("node") is None or not (BENCHMARKS / "node" / "node_modules").exists():
        unavailable("the Node storm client needs node and `npm ci` in benchmarks/node")
    storm = _storm()
    args = argparse.Namespace(
        db="sqlite",
        messages=500,
        clients=50,
        missed=5,
        spread=0.5,
        server_cpu=None,
        client_cpu=None,
        profile=None,
        client="node",
    )
    result = await storm.run(args)
    assert result["client"] == "node"
    assert result["clients"] == 50
    assert result["caught_up"] == 50, result
    assert (result["failed"], result["wrong_replays"], result["duplicated"]) == (0, 0, 0)
    assert 0 < result["seconds_to_all_caught_up"] < 60
    spans = result["resume_to_synced_ms"]
    assert 0 < spans["p50"] <= spans["p99"] <= spans["max"]
    assert 0 < result["last_reconnect_started_s"] < 5
    assert result["client_cpu_s"] > 0
