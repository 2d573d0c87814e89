"""`chatserver serve --workers N`: N server processes on one machine, one port.

A Python process runs its event loop on one core, so a school's 8-core server would leave
seven idle. Each worker here is a whole node — its own event loop, database pool and
broker connection — listening on the same address with `SO_REUSEPORT`, so the kernel
spreads new connections across the workers' accept queues evenly (a shared listening
socket would wake every worker for each connection and let the busiest one win most of
them). Workers know nothing of each other: they meet in Redis and PostgreSQL exactly as
separate machines do, which is why more than one worker needs both.

The supervisor (the parent process) migrates once, starts the workers, forwards SIGTERM
and SIGINT to each of them by PID so they close their sockets with 1001 as a single
node does, and starts a worker again if one dies on its own (a crash, the kernel's OOM
killer), backing off if it keeps dying at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0
"""How long a stopping worker gets to close its sockets before it is killed."""
RESTART_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Waits before restarting a worker that died within `STABLE_SECONDS` of its start,
one step further each time it does so again in a row."""
STABLE_SECONDS = 30.0
"""A worker that ran this long before dying is restarted at once, its backoff reset."""
BACKLOG = 2048
"""Each worker's accept queue: an open day's hall arrives at once."""


def requirements_error(workers: int, redis_url: str | None, database_url: str) -> str | None:
    """Why `workers` processes cannot run with this configuration, or None if they can."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    if not redis_url:
        return (
            f"--workers {workers} needs CHAT_REDIS_URL: each worker is a separate node, and "
            "nodes share rooms' events, presence and rate limits through Redis (without it, "
            "a message sent to one worker would never reach clients of another)"
        )
    if database_url.startswith("sqlite"):
        return (
            f"--workers {workers} needs PostgreSQL (CHAT_DATABASE_URL=postgresql+asyncpg://...): "
            "SQLite lets one process write at a time, and each worker writes on its event loop"
        )
    return None


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other workers may bind to the same address too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass
class _Slot:
    """One worker's place: its current process and how it has been dying."""

    index: int
    process: BaseProcess
    started: float = field(default_factory=time.monotonic)
    quick_deaths: int = 0


class Supervisor:
    """Runs `target(index)` in `count` processes until told to stop."""

    def __init__(self, count: int, target: Callable[[int], None]) -> None:
        self._count = count
        self._target = target
        self._context = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []
        self._stopping = False

    def run(self) -> int:
        """Start every worker, keep them running, return once they have all stopped."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._slots = [_Slot(index, self._start(index)) for index in range(self._count)]
            while not self._stopping:
                self._reap()
                time.sleep(0.2)
            return self._stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def pids(self) -> list[int]:
        return [slot.process.pid for slot in self._slots if slot.process.pid is not None]

    def _start(self, index: int) -> BaseProcess:
        process = self._context.Process(
            target=self._target, args=(index,), name=f"chatserver-worker-{index}"
        )
        process.start()
        log.info("worker %d started (pid %s)", index, process.pid)
        return process

    def _reap(self) -> None:
        """Restart workers that died while the supervisor was not stopping them."""
        now = time.monotonic()
        for slot in self._slots:
            if slot.process.is_alive() or self._stopping:
                continue
            code = slot.process.exitcode
            lived = now - slot.started
            slot.quick_deaths = 0 if lived >= STABLE_SECONDS else slot.quick_deaths + 1
            wait = (
                RESTART_BACKOFF_SECONDS[min(slot.quick_deaths, len(RESTART_BACKOFF_SECONDS)) - 1]
                if slot.quick_deaths
                else 0.0
            )
            log.warning(
                "worker %d (pid %s) exited with %s after %.1f s; restarting it in %.1f s",
                slot.index,
                slot.process.pid,
                code,
                lived,
                wait,
            )
            if wait and self._sleep_unless_stopping(wait):
                return
            slot.process = self._start(slot.index)
            slot.started = time.monotonic()

    def _sleep_unless_stopping(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stopping:
                return True
            time.sleep(0.1)
        return self._stopping

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_all(self) -> int:
        """SIGTERM each worker by PID, wait for them, kill those that outstay the grace."""
        for slot in self._slots:
            if slot.process.is_alive():
                slot.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                log.warning("worker %d did not stop in time; killing it", slot.index)
                slot.process.kill()
                slot.process.join()
        log.info("all %d workers stopped", len(self._slots))
        return 0
