"""Results out: the summary table on stdout, the JSON file, and the latency plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chatserver.loadtest.metrics import Recorder, StepResult

_COLUMNS = (
    ("rate/s", 8),
    ("sent", 7),
    ("deliv/s", 9),
    ("p50 ms", 8),
    ("p95 ms", 8),
    ("p99 ms", 8),
    ("max ms", 8),
    ("lost", 6),
    ("dup", 5),
    ("unacked", 8),
    ("errors", 7),
    ("late p99", 9),
    ("cli cpu", 8),
    ("srv cpu", 8),
    ("srv MB", 7),
)


def _row(step: StepResult) -> list[str]:
    lat = step.latency_ms
    return [
        f"{step.rate:g}",
        str(step.sent),
        f"{step.deliveries_per_s:.0f}",
        f"{lat.p50:.1f}",
        f"{lat.p95:.1f}",
        f"{lat.p99:.1f}",
        f"{lat.max:.1f}",
        str(step.lost),
        str(step.duplicates),
        str(step.unacked),
        str(sum(step.errors.values())),
        f"{step.send_late_ms_p99:.1f}",
        f"{step.client_cpu_pct:.0f}%" + ("!" if step.client_bound else ""),
        "-" if step.server_cpu_pct is None else f"{step.server_cpu_pct:.0f}%",
        "-" if step.server_rss_mb is None else f"{step.server_rss_mb:.0f}",
    ]


def table(steps: list[StepResult]) -> str:
    """A fixed-width table, one line per step; `!` marks a figure bound by the tester."""
    lines = ["".join(name.rjust(width) for name, width in _COLUMNS)]
    for step in steps:
        cells = _row(step)
        lines.append("".join(c.rjust(w) for c, (_, w) in zip(cells, _COLUMNS, strict=True)))
    if any(step.client_bound for step in steps):
        lines.append("! the load tester used >= 90% of its core: that figure is client-bound")
    return "\n".join(lines)


def print_summary(title: str, body: str) -> None:
    print(f"\n== {title}\n{body}", file=sys.stdout, flush=True)


def write_json(path: str, result: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")


def plot(path: str, recorder: Recorder, title: str) -> bool:
    """Latency over time (p50, p99, max per second); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install 'chatserver[bench]'", file=sys.stderr)
        return False
    series = [point for point in recorder.series if point[1] > 0]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if series:
        seconds = [p[0] for p in series]
        for index, label in ((2, "p50"), (3, "p99"), (4, "max")):
            ax.plot(seconds, [p[index] for p in series], label=label)
        ax.set_yscale("log")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("end-to-end latency, ms (log)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
