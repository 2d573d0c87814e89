"""The web client's own tests (`client/tests`, run by Node's test runner) pass.

They run from here so that the one test command, `python -m pytest`, covers the client
too; without Node they are skipped locally and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from tests.support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
CLIENT_TESTS = ROOT / "client" / "tests"


def test_the_web_clients_own_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed: the web client's tests (client/tests) need it")
    assert node is not None
    # Files, not the directory: Node's runner reads its arguments differently across versions.
    files = sorted(str(path.relative_to(ROOT)) for path in CLIENT_TESTS.glob("*.test.mjs"))
    assert files, f"no *.test.mjs in {CLIENT_TESTS}"
    # A session of its own, so that a hung run is stopped with every file's child process.
    process = subprocess.Popen(
        [node, "--test", *files],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-8000:]
    assert "# fail 0" in report
