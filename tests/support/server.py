"""ServerProcess: a real `chatserver serve` in a child process, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

START_TIMEOUT_S = 90.0
"""How long a server may take to migrate and answer: seconds when the machine is idle,
but a busy shared one can stall a fresh process's imports and first migration for a
minute. A server that never answers still fails the test, only later."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """Starts the server exactly as an operator would, with its database in `workdir`.

    `restart()` keeps the port and the database, so clients can reconnect to the
    same address and find everything that was acknowledged before.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
        database_url: str | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.args = args
        """Extra arguments to `chatserver serve` (e.g. `--workers 2`)."""
        self.port = port or free_port()
        self.database_url = database_url or f"sqlite+aiosqlite:///{self.workdir / 'chat.db'}"
        self.env = {
            **os.environ,
            "CHAT_DATABASE_URL": self.database_url,
            "CHAT_LOG_LEVEL": "warning",
            "CHAT_RATE_LIMIT_SCALE": "50",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / f"server-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Spawn and wait until it answers; a process that never does is stopped, not leaked."""
        self.spawn()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise

    def spawn(self) -> None:
        """Start the process without waiting (to start several nodes at once)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatserver", "serve", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        log.close()

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
