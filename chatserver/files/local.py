"""A file store in a local directory: one node, or several sharing a network filesystem.

A put writes a hidden temporary file in the store's `.tmp/` directory, syncs it and
renames it into place, so a reader sees the old file or the whole new one, never a
part; a crash leaves at most a temporary file, which `start` removes. Every system call
runs on the store's own threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, TypeVar

from chatserver.files.base import DEFAULT_CHUNK, FileMissing, check_key

T = TypeVar("T")
_TMP = ".tmp"


class LocalFileStore:
    name = "local"

    def __init__(self, root: str | os.PathLike[str], threads: int = 4) -> None:
        self._root = Path(root).resolve()
        self._tmp = self._root / _TMP
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="files")

    @property
    def root(self) -> Path:
        return self._root

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def _path(self, key: str) -> Path:
        return self._root / check_key(key)

    async def start(self) -> None:
        def prepare() -> None:
            self._root.mkdir(parents=True, exist_ok=True)
            # Temporary files of puts that a crash interrupted.
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp.mkdir(exist_ok=True)

        await self._run(prepare)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            self._tmp.mkdir(parents=True, exist_ok=True)
            tmp = self._tmp / secrets.token_hex(12)
            try:
                with open(tmp, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

        await self._run(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)

        def read() -> bytes:
            try:
                return path.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise FileMissing(key) from None

        return await self._run(read)

    async def stream(self, key: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        path = self._path(key)

        def open_it() -> BinaryIO:
            try:
                return open(path, "rb")
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise FileMissing(key) from None

        handle = await self._run(open_it)
        try:
            while True:
                chunk: bytes = await self._run(lambda: handle.read(chunk_size))
                if not chunk:
                    return
                yield chunk
        finally:
            handle.close()

    async def size(self, key: str) -> int | None:
        path = self._path(key)

        def stat() -> int | None:
            try:
                return path.stat().st_size if path.is_file() else None
            except FileNotFoundError:
                return None

        return await self._run(stat)

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def delete(self, key: str) -> None:
        path = self._path(key)

        def remove() -> None:
            try:
                path.unlink()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return

        await self._run(remove)

    async def keys(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            found: list[str] = []
            if not self._root.is_dir():
                return found
            for directory, dirs, files in os.walk(self._root):
                here = Path(directory)
                if here == self._root and _TMP in dirs:
                    dirs.remove(_TMP)
                for name in files:
                    key = (here / name).relative_to(self._root).as_posix()
                    if key.startswith(prefix):
                        found.append(key)
            return sorted(found)

        return await self._run(walk)

    async def ping(self) -> bool:
        return await self._run(lambda: os.access(self._root, os.W_OK))

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
