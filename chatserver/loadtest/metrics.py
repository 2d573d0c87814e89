"""Measurements: latency samples, percentiles, and the CPU and memory of both sides."""

from __future__ import annotations

import math
import resource
import time
from array import array
from dataclasses import dataclass, field
from typing import Any


def percentile(ordered: list[int] | array[int], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when it is empty)."""
    if not ordered:
        return 0.0
    rank = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return float(ordered[rank])


@dataclass
class LatencySummary:
    """Milliseconds; `count` is the number of samples the figures come from."""

    count: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, samples_us: list[int] | array[int]) -> LatencySummary:
        ordered = sorted(samples_us)
        if not ordered:
            return cls()
        return cls(
            count=len(ordered),
            p50=percentile(ordered, 50) / 1000,
            p95=percentile(ordered, 95) / 1000,
            p99=percentile(ordered, 99) / 1000,
            max=ordered[-1] / 1000,
        )


class Recorder:
    """Where every receiver drops its latency samples (µs), in arrival order.

    One flat array shared by all connections keeps the hot path to a single append; the
    once-a-second progress task slices the new tail for its window, and steps remember
    where they started, so nothing else needs per-sample bookkeeping.
    """

    __slots__ = ("latencies", "lateness", "series", "t0")

    def __init__(self) -> None:
        self.latencies: array[int] = array("q")
        self.lateness: array[int] = array("q")  # how late each send left, µs
        self.series: list[tuple[float, int, float, float, float]] = []
        self.t0 = time.monotonic()

    def window(self, start: int) -> tuple[int, LatencySummary]:
        """Samples since index `start`: returns the new end and their summary."""
        end = len(self.latencies)
        return end, LatencySummary.of(self.latencies[start:end])

    def mark_second(self, summary: LatencySummary) -> None:
        """One point of the latency-over-time series (seconds since start, count, ms...)."""
        self.series.append(
            (
                round(time.monotonic() - self.t0, 2),
                summary.count,
                summary.p50,
                summary.p99,
                summary.max,
            )
        )


class CpuClock:
    """CPU% of this process between two readings (user + system, of one core)."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.monotonic(), _own_cpu()

    def percent(self, reset: bool = True) -> float:
        wall, cpu = time.monotonic(), _own_cpu()
        pct = 100.0 * (cpu - self._cpu) / max(wall - self._wall, 1e-6)
        if reset:
            self._wall, self._cpu = wall, cpu
        return round(pct, 1)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CoreClock:
    """Busy % of each core between two readings, from /proc/stat (Linux; else empty).

    Process CPU% alone can mislead on loopback: the kernel's receive work runs on the
    sending side's core in softirq context, partly outside either process's CPU time.
    """

    def __init__(self) -> None:
        self._last = _core_times()

    def percent(self) -> list[float]:
        now = _core_times()
        busy = []
        for (total0, idle0), (total1, idle1) in zip(self._last, now, strict=False):
            span = max(total1 - total0, 1)
            busy.append(round(100.0 * (1 - (idle1 - idle0) / span), 1))
        self._last = now
        return busy


def _core_times() -> list[tuple[int, int]]:
    try:
        with open("/proc/stat") as stat:
            lines = [line.split() for line in stat if line.startswith("cpu") and line[3] != " "]
    except OSError:
        return []
    # user nice system idle iowait irq softirq steal: idle and iowait are not busy
    return [(sum(map(int, f[1:9])), int(f[4]) + int(f[5])) for f in lines]


class ServerProbe:
    """CPU% and RSS of the server processes (each pid and its children), through psutil.

    psutil is an optional extra (`chatserver[bench]`): without pids nothing is imported.
    """

    def __init__(self, pids: tuple[int, ...]) -> None:
        self._procs: list[Any] = []
        if pids:
            try:
                import psutil
            except ImportError:
                raise SystemExit(
                    "--server-pid needs psutil: pip install 'chatserver[bench]'"
                ) from None
            for pid in pids:
                proc = psutil.Process(pid)
                self._procs.append(proc)
                self._procs.extend(proc.children(recursive=True))
        self._wall, self._cpu = time.monotonic(), self._cpu_total()

    @property
    def enabled(self) -> bool:
        return bool(self._procs)

    def _cpu_total(self) -> float:
        total = 0.0
        for proc in self._procs:
            try:
                times = proc.cpu_times()
            except Exception:  # a worker that exited: its time is gone with it
                continue
            total += times.user + times.system
        return total

    def percent(self, reset: bool = True) -> float | None:
        if not self._procs:
            return None
        wall, cpu = time.monotonic(), self._cpu_total()
        pct = 100.0 * (cpu - self._cpu) / max(wall - self._wall, 1e-6)
        if reset:
            self._wall, self._cpu = wall, cpu
        return round(pct, 1)

    def rss_bytes(self) -> int | None:
        if not self._procs:
            return None
        total = 0
        for proc in self._procs:
            try:
                total += int(proc.memory_info().rss)
            except Exception:
                continue
        return total


@dataclass
class StepResult:
    """One constant-rate run (a whole run, or one step of --step)."""

    rate: float
    seconds: float
    sent: int = 0
    acked: int = 0
    unacked: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    expected: int = 0
    deliveries: int = 0
    deliveries_per_s: float = 0.0
    lost: int = 0
    duplicates: int = 0
    latency_ms: LatencySummary = field(default_factory=LatencySummary)
    send_late_ms_p99: float = 0.0
    send_late_ms_max: float = 0.0
    client_cpu_pct: float = 0.0
    server_cpu_pct: float | None = None
    server_rss_mb: float | None = None
    cores_busy_pct: list[float] = field(default_factory=list)

    @property
    def client_bound(self) -> bool:
        """A figure measured with the tester at ≥ 90% of its core says more about the tester."""
        return self.client_cpu_pct >= 90.0

    def passed(self, p99_bound_ms: float) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.unacked == 0
            and not self.errors
            and self.latency_ms.p99 <= p99_bound_ms
        )
