"""A soak of a real server process: fifty clients in five rooms for half a minute (longer
with CHAT_SOAK_SECONDS), chatting, reacting, editing, asking and voting on questions,
searching and sending images while the rooms' owners pin and unpin, and some clients keep
dropping off and resuming with `since`.

Nothing acknowledged may be lost, nothing delivered twice, every client ends with the
same view as the server's history, and the server's memory and file descriptors stay
flat once warm: a leak per message, per reaction or per reconnect shows here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.server import ServerProcess
from tests.support.soak import Probe, SoakPlan, Usage, soak

SECONDS = float(os.environ.get("CHAT_SOAK_SECONDS", "30"))
RSS_TOLERANCE = 8 * 2**20
"""Growth allowed from the warm footprint to the last: allocator noise, not a leak (a
leak of a kilobyte per message or reconnect outgrows it on a long soak)."""
FD_TOLERANCE = 3
"""Sockets and descriptors other than the database's may not grow by more (the database's
follow its connection pool, which grows to its bound under bursts)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Rate limits scaled out of the way: fifty clients on one address send a lot."""
    env = {"CHAT_RATE_LIMIT_SCALE": "1000"}
    with ServerProcess(tmp_path_factory.mktemp("soak"), env=env) as process:
        yield process


def usage_of(server: ServerProcess) -> Probe:
    """The server's memory and descriptors, read from /proc (Linux)."""
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    fd_dir = Path(f"/proc/{server.process.pid}/fd")
    database = str(server.workdir / "chat.db")  # and its -wal and -shm files

    def probe() -> Usage:
        targets = []
        for fd in fd_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):  # closed while we looked
                targets.append(os.readlink(fd))
        sockets = sum(1 for target in targets if target.startswith("socket:"))
        files = sum(1 for target in targets if target.startswith(database))
        return Usage(process.memory_info().rss, len(targets), sockets, files)

    return probe


async def test_a_soak_loses_nothing_and_leaks_nothing(server: ServerProcess) -> None:
    plan = SoakPlan(seconds=SECONDS, warmup=min(60.0, SECONDS / 3))
    report = await soak(server.base_url, plan, usage_of(server))
    print(report.summary())

    assert report.acked > SECONDS * plan.rate * 0.3  # the traffic really ran
    assert report.reconnects >= SECONDS / plan.churn_every
    # The open day's other traffic ran too, and every search found the room's messages.
    assert min(report.questions, report.votes, report.searches, report.uploads) > 0
    assert report.pins >= 2 * plan.rooms  # the owners pinned and unpinned along the way
    assert report.search_misses == 0
    # The event loop kept up: stalls of a tenth of a second stay rare (the 20-ms figure
    # of a long soak on a quiet machine is in docs/benchmarks.md).
    assert report.lag is not None
    assert report.lag.samples >= (SECONDS - plan.warmup) * 5
    assert report.lag.over(0.1) <= report.lag.samples * 0.01
    assert report.replayed > 0  # the reconnects did miss messages, and got them back
    assert report.errors == {} and report.timeouts == 0 and report.failed_reconnects == 0
    assert report.unsettled == 0
    assert (report.lost, report.duplicated, report.phantom, report.lost_acks) == (0, 0, 0, 0)
    assert (report.stale, report.gaps, report.resets) == (0, 0, 0)

    idle, warm, end, closed = (
        report.footprint(label) for label in ("idle", "warm", "end", "closed")
    )
    assert warm.connected == end.connected == plan.clients
    growth = end.usage.rss_bytes - warm.usage.rss_bytes
    assert growth <= max(RSS_TOLERANCE, warm.usage.rss_bytes * 0.05)
    assert end.usage.sockets <= warm.usage.sockets + FD_TOLERANCE
    assert end.usage.other <= warm.usage.other + FD_TOLERANCE
    assert closed.usage.sockets <= idle.usage.sockets + FD_TOLERANCE
    assert closed.usage.other <= idle.usage.other + FD_TOLERANCE
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
