"""Password hashing on a few threads of its own, so that logins cannot exhaust memory.

Each argon2id hash or verification holds 64 MiB for a fraction of a second. On the
shared default thread pool, sixty logins at once ran six at a time and took the process
past 450 MiB, and filled the threads other work needs. Here at most `concurrency`
hashes run at once in the whole process (the memory is the process's, so the bound is
too), and logins waiting beyond `WAITING_PER_THREAD` per thread are refused with
`unavailable`, which clients retry, rather than queued for longer than they would wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from chatserver.domain.errors import Unavailable

T = TypeVar("T")

WAITING_PER_THREAD = 32


class HashingPool:
    """A bounded number of threads for hashing, and a bounded queue in front of them."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="password-hash")
        self._admitted = 0
        self._limit = concurrency * (1 + WAITING_PER_THREAD)

    async def run(self, work: Callable[..., T], *args: object) -> T:
        if self._admitted >= self._limit:
            raise Unavailable("too many logins at once; retry shortly")
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_pool = HashingPool(2)


def configure(concurrency: int) -> None:
    """Size the process's pool (CHAT_HASH_CONCURRENCY); hashes already running finish."""
    global _pool
    if concurrency != _pool.concurrency:
        old, _pool = _pool, HashingPool(concurrency)
        old.close()


async def run(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` on the hashing threads (an argon2 hash or verification)."""
    return await _pool.run(work, *args)
