"""A real S3-compatible server for tests: moto in server mode, as a process of its own.

Started on a free loopback port, reached over HTTP like any S3 endpoint (no mock object
inside the test's process), stopped by the handle that started it. Skipped with the
reason when moto is not installed, and a failure under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def s3_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def settings_env(self, bucket: str) -> dict[str, str]:
        """The server's environment for a node that keeps its files in `bucket`."""
        return {
            "CHAT_FILES_BACKEND": "s3",
            "CHAT_S3_ENDPOINT": self.endpoint,
            "CHAT_S3_BUCKET": bucket,
            "CHAT_S3_REGION": REGION,
            "CHAT_S3_ACCESS_KEY": ACCESS_KEY,
            "CHAT_S3_SECRET_KEY": SECRET_KEY,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_s3_server() -> S3Server:
    """moto's S3 server on a free port, once it answers; skips (or fails in CI) without it."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        s3_unavailable("moto[server] is not installed (pip install -e '.[dev]')")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            s3_unavailable(f"moto's server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    s3_unavailable("moto's server did not answer within 30 s")
    raise AssertionError("unreachable")


def new_bucket() -> str:
    return f"chat-{uuid.uuid4().hex[:16]}"
