"""The file store contract (`chatserver.files.base.FileStore`), run against every backend:
a local directory, and an S3-compatible bucket on a real S3 server (moto in server mode,
a process of its own, reached over HTTP)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatserver.files.base import FileMissing, FileStore
from chatserver.files.local import LocalFileStore
from chatserver.files.s3 import S3FileStore
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, new_bucket, start_s3_server


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()


def s3_store(server: S3Server, bucket: str, prefix: str = "") -> S3FileStore:
    return S3FileStore(
        bucket=bucket,
        endpoint=server.endpoint,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        prefix=prefix,
        create_bucket=True,
    )


@pytest.fixture(params=["local", "s3", "s3-prefixed"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    made: FileStore
    if request.param == "local":
        made = LocalFileStore(tmp_path / "files")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        prefix = "node-files/" if request.param == "s3-prefixed" else ""
        made = s3_store(server, new_bucket(), prefix)
    await made.start()
    try:
        yield made
    finally:
        await made.close()


async def test_put_then_get_exists_and_size(store: FileStore) -> None:
    assert not await store.exists("uploads/1/a.png")
    assert await store.size("uploads/1/a.png") is None
    await store.put("uploads/1/a.png", b"\x89PNG bytes", "image/png")
    assert await store.get("uploads/1/a.png") == b"\x89PNG bytes"
    assert await store.exists("uploads/1/a.png")
    assert await store.size("uploads/1/a.png") == 10


async def test_empty_file(store: FileStore) -> None:
    await store.put("empty", b"", "text/plain")
    assert await store.get("empty") == b""
    assert await store.size("empty") == 0
    assert [chunk async for chunk in store.stream("empty")] == []


async def test_put_replaces(store: FileStore) -> None:
    await store.put("k", b"first", "text/plain")
    await store.put("k", b"second, longer", "text/plain")
    assert await store.get("k") == b"second, longer"
    assert await store.keys() == ["k"]


async def test_missing_key(store: FileStore) -> None:
    with pytest.raises(FileMissing):
        await store.get("nope/never")
    with pytest.raises(FileMissing):
        async for _ in store.stream("nope/never"):
            pass


async def test_stream_in_order_in_bounded_chunks(store: FileStore) -> None:
    data = os.urandom(1_000_003)
    await store.put("big.bin", data, "application/octet-stream")
    chunks = [chunk async for chunk in store.stream("big.bin", chunk_size=65_536)]
    assert all(0 < len(chunk) <= 65_536 for chunk in chunks)
    assert b"".join(chunks) == data


async def test_stream_closed_early_releases(store: FileStore) -> None:
    await store.put("big.bin", os.urandom(600_000), "application/octet-stream")
    for _ in range(20):  # would exhaust handles or pool connections if they leaked
        stream = store.stream("big.bin", chunk_size=1024)
        async for _chunk in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
    assert await store.size("big.bin") == 600_000


async def test_delete_is_idempotent(store: FileStore) -> None:
    await store.put("a/b", b"x", "text/plain")
    await store.delete("a/b")
    await store.delete("a/b")
    await store.delete("never/was")
    assert not await store.exists("a/b")
    assert await store.keys() == []


async def test_keys_by_prefix_sorted(store: FileStore) -> None:
    for key in ("uploads/2/b", "uploads/1/a", "avatars/7/x.webp", "uploads/10/c"):
        await store.put(key, b"1", "text/plain")
    assert await store.keys("uploads/") == ["uploads/1/a", "uploads/10/c", "uploads/2/b"]
    assert await store.keys("avatars/") == ["avatars/7/x.webp"]
    assert len(await store.keys()) == 4
    assert await store.keys("none/") == []


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../etc/passwd",
        "a/../../b",
        "/abs",
        "a//b",
        "a/./b",
        ".hidden",
        "a\\b",
        "a\nb",
        "a\x00b",
        "é",
        "x" * 201,
        "a/",
    ],
)
async def test_invalid_keys_refused_before_io(store: FileStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    assert await store.keys() == []


async def test_readers_never_see_a_partial_file(store: FileStore) -> None:
    """While a large put runs, the key is absent or whole; never a prefix of the data."""
    data = os.urandom(8 * 1024 * 1024)
    seen: list[int] = []
    done = asyncio.Event()

    async def reader() -> None:
        while not done.is_set():
            try:
                got = await store.get("race.bin")
            except FileMissing:
                seen.append(0)
            else:
                assert got == data
                seen.append(len(got))
            await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await store.put("race.bin", data, "application/octet-stream")
    await asyncio.sleep(0.05)
    done.set()
    await task
    assert seen and seen[-1] == len(data)
    assert set(seen) <= {0, len(data)}


async def test_loop_keeps_running_during_large_io(store: FileStore) -> None:
    """Puts and gets of 8 MiB run off the event loop: a 5 ms ticker is never late by
    more than a few tens of milliseconds."""
    data = os.urandom(8 * 1024 * 1024)
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    task = asyncio.create_task(ticker())
    for i in range(3):
        await store.put(f"lag/{i}", data, "application/octet-stream")
        assert await store.get(f"lag/{i}") == data
    stop.set()
    await task
    assert worst < 0.1, f"the loop stalled {worst * 1000:.0f} ms"


async def test_ping(store: FileStore) -> None:
    assert await store.ping()


async def test_local_start_removes_interrupted_puts(tmp_path: Path) -> None:
    """A put interrupted by a crash leaves a temporary file only, which start removes."""
    root = tmp_path / "files"
    first = LocalFileStore(root)
    await first.start()
    await first.put("kept", b"whole", "text/plain")
    (root / ".tmp" / "deadbeef").write_bytes(b"half a fil")
    assert await first.keys() == ["kept"]  # never listed
    await first.close()
    second = LocalFileStore(root)
    await second.start()
    assert list((root / ".tmp").iterdir()) == []
    assert await second.keys() == ["kept"]
    await second.close()


async def test_s3_bucket_must_exist_unless_created(s3_server: S3Server) -> None:
    store = S3FileStore(
        bucket=new_bucket(),
        endpoint=s3_server.endpoint,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    try:
        with pytest.raises(Exception, match=r"404|Not Found|NoSuchBucket"):
            await store.start()
        assert not await store.ping()
    finally:
        await store.close()


async def test_s3_prefix_isolates_nodes_sharing_a_bucket(s3_server: S3Server) -> None:
    bucket = new_bucket()
    one, two = s3_store(s3_server, bucket, "one/"), s3_store(s3_server, bucket, "two/")
    await one.start()
    await two.start()
    try:
        await one.put("k", b"1", "text/plain")
        await two.put("k", b"2", "text/plain")
        assert (await one.get("k"), await two.get("k")) == (b"1", b"2")
        assert await one.keys() == ["k"]
    finally:
        await one.close()
        await two.close()
