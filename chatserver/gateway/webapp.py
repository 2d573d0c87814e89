"""The installable web app: the service worker, served at `/sw.js` with the shell it keeps.

The worker (`client/sw.js`) caches the client's shell only. Its bytes must change whenever
the shell does, or browsers keep the old one: so the response starts with
`self.__SHELL__ = {"build": ..., "files": [...]}`, where `build` hashes the server's
version and every shell file, and `files` lists the shell's paths. A release, or any
edit of a client file, gives a new build, a new worker and a new cache; the old cache
is dropped when the new worker activates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

# What a page of the client loads; data files, tests, docs and tooling stay out.
SHELL_SUFFIXES = frozenset({".html", ".js", ".css", ".svg", ".png", ".webmanifest"})
_LEFT_OUT_DIRS = frozenset({"tests", "vendor", "node_modules", "__pycache__"})
_LEFT_OUT_FILES = frozenset({"sw.js"})


@dataclass(frozen=True, slots=True)
class Shell:
    build: str
    files: tuple[str, ...]  # URL paths: "/", "/index.html", "/app.js", ...


def server_version() -> str:
    try:
        return metadata.version("chatserver")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def shell_files(client: Path) -> list[Path]:
    """The files of the client's shell, sorted (so the build does not depend on listing order)."""
    found = []
    for path in client.rglob("*"):
        rel = path.relative_to(client)
        if (
            path.is_file()
            and path.suffix in SHELL_SUFFIXES
            and path.name not in _LEFT_OUT_FILES
            and not _LEFT_OUT_DIRS.intersection(rel.parts[:-1])
            and not any(part.startswith(".") for part in rel.parts)
        ):
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(client).as_posix())


def describe_shell(client: Path, version: str | None = None) -> Shell:
    digest = hashlib.sha256((version or server_version()).encode())
    paths = ["/"]
    for path in shell_files(client):
        rel = path.relative_to(client).as_posix()
        digest.update(b"\0" + rel.encode() + b"\0")
        digest.update(path.read_bytes())
        paths.append("/" + rel)
    return Shell(digest.hexdigest()[:16], tuple(paths))


def service_worker_body(client: Path, shell: Shell) -> bytes:
    header = json.dumps({"build": shell.build, "files": list(shell.files)}, separators=(",", ":"))
    return f"self.__SHELL__ = {header};\n".encode() + (client / "sw.js").read_bytes()


def service_worker(client: Path) -> Callable[[Request], Awaitable[Response]]:
    """`GET /sw.js`: at the root, so its scope covers the whole app; `no-cache` so browsers
    check for a new release each time the app starts. Rebuilt only when a shell file's
    size or time changes (a stat of each, about 0.2 ms), so an edited client shows up
    without a restart."""
    cached: dict[str, object] = {}

    async def endpoint(request: Request) -> Response:
        try:
            stats = [(p, p.stat()) for p in [*shell_files(client), client / "sw.js"]]
            stamp: object = tuple((str(p), st.st_mtime_ns, st.st_size) for p, st in stats)
        except OSError:  # a file replaced while listing: build afresh
            stamp = None
        if stamp is None or cached.get("stamp") != stamp:
            cached["body"] = service_worker_body(client, describe_shell(client))
            cached["stamp"] = stamp
        body = cached["body"]
        assert isinstance(body, bytes)
        return Response(
            body,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    return endpoint
