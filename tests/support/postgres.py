"""A private PostgreSQL server on a free port, which a test may stop and start again."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import free_port
from tests.support.services import unavailable


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresProcess:
    """initdb'd into a fresh directory, trust authentication, user `postgres`.

    PostgreSQL refuses to run as root, so as root the cluster runs as the system's
    `postgres` account, in a directory that account owns.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._initdb = _binary("initdb")
        self._pg_ctl = _binary("pg_ctl")
        if self._initdb is None or self._pg_ctl is None:
            unavailable("PostgreSQL's initdb and pg_ctl are not installed")
        self._as: Callable[[], None] | None = None
        self.datadir = Path(tempfile.mkdtemp(prefix="chat-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.datadir)
                unavailable("running PostgreSQL as root needs a `postgres` account")
                raise
            os.chown(self.datadir, account.pw_uid, account.pw_gid)

            def drop_privileges() -> None:
                os.setgid(account.pw_gid)
                os.setuid(account.pw_uid)

            self._as = drop_privileges
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            args, preexec_fn=self._as, capture_output=True, cwd=self.datadir, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")

    def init(self) -> None:
        assert self._initdb is not None
        self._run(
            self._initdb,
            "-D",
            str(self.datadir / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        )

    def start(self) -> None:
        assert self._pg_ctl is not None
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
            "-c fsync=off -c max_connections=50"
        )
        self._run(
            self._pg_ctl,
            "-D",
            str(self.datadir / "data"),
            "-l",
            str(self.datadir / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        self.running = True

    def stop(self) -> None:
        assert self._pg_ctl is not None
        if self.running:
            self._run(self._pg_ctl, "-D", str(self.datadir / "data"), "-m", "fast", "-w", "stop")
            self.running = False

    def remove(self) -> None:
        shutil.rmtree(self.datadir, ignore_errors=True)


@contextmanager
def postgres_process() -> Iterator[PostgresProcess]:
    """Started and stopped (and its files removed) by the caller's `with`."""
    server = PostgresProcess()
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            server.remove()
