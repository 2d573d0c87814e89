"""The file store interface: named blobs, written whole or not at all.

Contract, shared by every implementation (and checked by one test suite,
`tests/integration/test_file_store_contract.py`):

* Keys are 1–200 characters of `A-Z a-z 0-9 - _ . /`, not starting with `/` or `.`,
  with no empty, `.` or `..` segment: a key never names a path outside the store.
  Anything else raises `ValueError` before any I/O.
* `put` is atomic: until it returns, `get`, `exists` and `keys` do not see the new
  bytes (a crash or cancellation leaves the old state or nothing, never half a file);
  a second `put` to the same key replaces the first.
* `get` and `stream` raise `FileMissing` for an absent key; `stream` yields the bytes
  in order in chunks of at most `chunk_size` bytes.
* `delete` is idempotent: deleting an absent key is not an error.
* Every call is a coroutine that never blocks the event loop: blocking I/O (the
  filesystem, an S3 client) runs on the store's own threads.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Protocol

KEY_MAX = 200
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_./-]{0,199}", re.ASCII)
DEFAULT_CHUNK = 256 * 1024


class FileMissing(KeyError):
    """The key names no stored file."""


def check_key(key: str) -> str:
    """`key` when it is a valid store key, else ValueError (see the contract)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"invalid file key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid file key {key!r}")
    return key


class FileStore(Protocol):
    """Blobs by key (see the module's contract)."""

    name: str
    """`local` or `s3`: for logs and /readyz."""

    async def start(self) -> None:
        """Prepare the backend (make the directory, check the bucket); raises if unusable."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, atomically (replacing any earlier file)."""

    async def get(self, key: str) -> bytes:
        """The whole file; FileMissing when absent."""

    def stream(self, key: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        """The file in chunks; FileMissing (on the first iteration) when absent."""

    async def size(self, key: str) -> int | None:
        """The file's size in bytes, or None when absent."""

    async def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""

    async def delete(self, key: str) -> None:
        """Remove the file; nothing happens when it is absent."""

    async def keys(self, prefix: str = "") -> list[str]:
        """Every stored key starting with `prefix`, sorted (for sweeps and tests)."""

    async def ping(self) -> bool:
        """True when the backend answers (for /readyz)."""

    async def close(self) -> None:
        """Release threads and connections."""
