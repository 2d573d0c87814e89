"""The documented nginx configuration proxies HTTP and WebSockets to several nodes."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess, free_port
from tests.support.services import postgres_database, redis_process, unavailable

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

CONFIG = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx.conf"


def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        unavailable("nginx is not installed")
    return binary


class Proxy:
    """nginx with the documented site configuration, proxying to `upstream_ports`."""

    def __init__(self, binary: str, workdir: Path, upstream_ports: list[int]) -> None:
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        site = CONFIG.read_text()
        servers = "\n".join(
            f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstream_ports
        )
        site = re.sub(r"(    server 127\.0\.0\.1:800\d[^\n]*\n)+", servers + "\n", site)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        (workdir / "nginx.conf").write_text(
            "daemon off;\npid nginx.pid;\nerror_log error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n"
            "  client_body_temp_path tmp; proxy_temp_path tmp;\n" + site + "\n}\n"
        )
        (workdir / "tmp").mkdir(exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError((self.workdir / "error.log").read_text())

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> Proxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Proxy, list[ServerProcess]]]:
    # Looked up before anything starts, so that a machine without nginx skips with
    # nothing left running; the stack stops whatever did start, in reverse order.
    binary = nginx_binary()
    with contextlib.ExitStack() as started:
        redis = started.enter_context(redis_process(tmp_path))
        database_url = started.enter_context(postgres_database())
        nodes = [
            started.enter_context(
                ServerProcess(
                    tmp_path, env={"CHAT_REDIS_URL": redis.url}, database_url=database_url
                )
            )
            for _ in range(2)
        ]
        proxy = started.enter_context(Proxy(binary, tmp_path, [n.port for n in nodes]))
        yield proxy, nodes


async def test_chat_through_nginx_survives_losing_a_node(
    proxied: tuple[Proxy, list[ServerProcess]],
) -> None:
    proxy, nodes = proxied
    # A browser on the proxy's origin passes the Origin check through the proxy.
    alice = ChatClient(proxy.base_url, origin=proxy.base_url)
    bob = ChatClient(proxy.base_url, origin=proxy.base_url)
    await alice.register(f"alice{uuid.uuid4().hex[:8]}", "correct horse battery")
    await bob.register(f"bob{uuid.uuid4().hex[:8]}", "correct horse battery")
    room = await alice.create_room(f"n-{uuid.uuid4().hex[:10]}", "Proxy", "topic")
    await bob.join(room["id"])
    await alice.connect()
    await bob.connect()
    first = await alice.send(room["id"], "through the proxy")
    assert (await bob.next_event("message.created", room=room["id"]))["message"]["id"] == first[
        "id"
    ]

    nodes[0].kill()
    second = await alice.post_message(room["id"], "one node is gone")
    seen = []
    async with asyncio.timeout(30):
        while second["id"] not in seen:
            event = await bob.next_event("message.created", room=room["id"], timeout=30)
            seen.append(event["message"]["id"])
    assert seen.count(second["id"]) == 1
    await alice.close()
    await bob.close()
