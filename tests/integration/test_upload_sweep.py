"""The upload service against a real database (SQLite and PostgreSQL) and a real file
store: the sweep run by two nodes at once removes each file once, leftovers of a dead
node are collected, a store that fails mid-upload leaves nothing behind, and two uploads
racing for the last of a quota cannot both pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from chatserver.domain.errors import LimitReached
from chatserver.domain.models import User, now_ms
from chatserver.files.base import FileStore
from chatserver.files.local import LocalFileStore
from chatserver.services.images import ImageProcessor
from chatserver.services.uploads import UploadPolicy, UploadService
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade
from chatserver.store.tables import uploads, users
from tests.integration.conftest import user_row
from tests.support import media


@dataclass
class Node:
    db: Database
    files: LocalFileStore
    images: ImageProcessor
    uploads: UploadService


@pytest.fixture
async def nodes(database_url: str, tmp_path: Path) -> AsyncIterator[list[Node]]:
    """Two nodes: each its own connections (on PostgreSQL; SQLite serves one node, so
    there they share theirs), threads and store object, one database and one directory
    between them (as a shared volume would be)."""
    await upgrade(database_url)
    made: list[Node] = []
    for _ in range(2):
        sqlite = database_url.startswith("sqlite")
        db = made[0].db if made and sqlite else Database(database_url)
        files = LocalFileStore(tmp_path / "files")
        images = ImageProcessor()
        policy = UploadPolicy(quota_bytes=100_000, unattached_ms=60_000)
        made.append(Node(db, files, images, UploadService(db, files, images, policy)))
    await made[0].files.start()
    yield made
    for node in made:
        node.images.close()
        await node.files.close()
    for db in {id(node.db): node.db for node in made}.values():
        await db.close()


async def a_user(db: Database, name: str = "alice") -> User:
    async with db.write() as conn:
        result = await conn.execute(insert(users).values(**user_row(name)).returning(users.c.id))
        user_id = int(result.scalar_one())
    return User(user_id, name, name, "student")


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def rows(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(uploads)) or 0)


async def test_two_nodes_sweeping_at_once_remove_each_file_once(nodes: list[Node]) -> None:
    one, two = nodes
    alice = await a_user(one.db)
    made = [
        await one.uploads.receive(alice, f"f{i}.txt", "text/plain", None, body(b"x" * 20))
        for i in range(30)
    ]
    image = await one.uploads.receive(
        alice, "p.png", "image/png", None, body(media.png_with_text())
    )
    assert len(await one.files.keys()) == 32
    async with one.db.write() as conn:  # all but the last text file are past their time
        await conn.execute(
            update(uploads)
            .where(uploads.c.id != made[-1].id)
            .values(created_at_ms=now_ms() - 61_000)
        )
    removed = await asyncio.gather(one.uploads.sweep(), two.uploads.sweep())
    assert sum(removed) == 30  # 29 text files and the image, each by one node
    assert await one.files.keys() == [made[-1].file_key]
    assert await rows(one.db) == 1
    assert image.thumbnail_key is not None
    assert not await one.files.exists(image.thumbnail_key)
    assert await one.uploads.sweep() == 0


async def test_leftovers_of_a_node_that_died_writing_are_collected(nodes: list[Node]) -> None:
    one, _ = nodes
    alice = await a_user(one.db)
    # A row left pending (its node died between the row and the files) an hour ago, and
    # the one file it had written.
    async with one.db.write() as conn:
        await conn.execute(
            insert(uploads).values(
                owner_id=alice.id,
                name="half.txt",
                content_type="text/plain",
                size=4,
                file_key=f"uploads/{alice.id}/half",
                state="pending",
                created_at_ms=now_ms() - 3_700_000,
            )
        )
    await one.files.put(f"uploads/{alice.id}/half", b"half", "text/plain")
    assert await one.uploads.sweep() == 1
    assert await one.files.keys() == []
    assert await rows(one.db) == 0


class FailingSecondPut:
    """The real store, whose second write fails (a full disk, a bucket going away)."""

    def __init__(self, inner: FileStore) -> None:
        self.inner = inner
        self.puts = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.puts += 1
        if self.puts == 2:
            raise OSError(28, "No space left on device")
        await self.inner.put(key, data, content_type)


async def test_a_store_failing_midway_leaves_nothing(nodes: list[Node]) -> None:
    one, _ = nodes
    alice = await a_user(one.db)
    failing = FailingSecondPut(one.files)
    service = UploadService(one.db, failing, one.images, one.uploads.policy)  # type: ignore[arg-type]
    with pytest.raises(OSError):
        await service.receive(alice, "p.png", "image/png", None, body(media.png_with_text()))
    assert failing.puts == 2  # the file was written, its thumbnail failed
    assert await one.files.keys() == []
    assert await rows(one.db) == 0
    assert await one.uploads.used(alice) == 0


async def test_two_uploads_racing_for_the_last_of_a_quota(nodes: list[Node]) -> None:
    one, two = nodes
    alice = await a_user(one.db)
    results = await asyncio.gather(
        one.uploads.receive(alice, "a.txt", "text/plain", None, body(b"a" * 60_000)),
        two.uploads.receive(alice, "b.txt", "text/plain", None, body(b"b" * 60_000)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["LimitReached", "Upload"]
    assert any(isinstance(r, LimitReached) for r in results)
    assert await one.uploads.used(alice) == 60_000
    assert len(await one.files.keys()) == 1
