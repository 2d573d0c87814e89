"""The PostgreSQL benchmark (`benchmarks/postgres.py`) measures what it claims.

Small and real: the workshops shape on SQLite and on PostgreSQL, each node on a fresh
copy of its prepared database, and three nodes with Redis writing into one room. Every
acknowledged message must reach every member once, and the CPU of the PostgreSQL
backends must be counted next to the node's, or the comparison would favour PostgreSQL.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.server import free_port
from tests.support.services import postgres_database

pytestmark = pytest.mark.postgres

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _benchmark() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # it imports its siblings, as when run as a script
    try:
        spec = importlib.util.spec_from_file_location(
            "postgres_benchmark", BENCHMARKS / "postgres.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def _args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "clients": 40,
        "rooms": 4,
        "rate": 20.0,
        "seconds": 3.0,
        "step": False,
        "step_factor": 1.25,
        "step_seconds": 3.0,
        "repeat": 1,
        "before": None,
        "checkout": None,
        "nodes": 3,
        "redis_port": free_port(),
        "port": free_port(),
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def _delivered_everything(run: dict[str, Any], rate: float, seconds: float) -> None:
    assert run["acked"] == int(rate * seconds), run
    assert (run["unacked"], run["lost"], run["duplicates"]) == (0, 0, 0), run
    assert run["server_ms_per_message"] > 0


@pytest.fixture
def bench(tmp_path: Path) -> Any:
    with postgres_database():  # skipped (failed in CI) when PostgreSQL is not there
        pass
    module = _benchmark()
    state = tmp_path / "state"
    state.mkdir()
    return module, module.Bench(tmp_path, state)


def test_workshops_run_on_both_backends_and_count_postgres_cpu(bench: Any) -> None:
    module, runner = bench
    runs = module.workshops(runner, _args())
    assert [run["setup"] for run in runs] == ["sqlite", "postgres"]
    for run in runs:
        _delivered_everything(run, 20.0, 3.0)
        assert run["node_cpu_s"] > 0
    assert "postgres_cpu_s" not in runs[0]
    assert runs[1]["postgres_cpu_s"] > 0, "the PostgreSQL backends' work was not counted"


def test_three_nodes_write_into_one_room_and_lose_nothing(bench: Any) -> None:
    module, runner = bench
    [run] = module.cluster(runner, _args(clients=30))
    assert run["setup"] == "3 nodes, one room"
    _delivered_everything(run, 20.0, 3.0)
    assert run["postgres_cpu_s"] > 0
