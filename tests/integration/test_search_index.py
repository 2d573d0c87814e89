"""The search index holds exactly the live messages' terms, whatever happened to them.

Rows are written in the message's own transaction (on SQLite at its end, all of
its rows at once): a send rolled back after its message was stored leaves no row, a
batch of sends shares one transaction and a failure in it reruns the others alone
without indexing them twice, a savepoint rolled back takes only its own rows, and edits
and deletes change the row with the message. Checked by reading the index itself, and
by searching, on both databases.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import search_query as sq
from chatserver.domain.errors import NotFound
from chatserver.domain.models import User, now_ms
from chatserver.protocol.requests import NewRoom
from chatserver.services.container import Services
from chatserver.store import messages as message_store
from chatserver.store.engine import Database
from tests.integration.conftest import World

MISSING_UPLOAD = 987_654
"""An upload nobody made: a send attaching it fails after its message is written."""


async def _index(db: Database) -> dict[int, set[str]]:
    """The index as stored: each row's message id and tokens."""
    sqlite = db.is_sqlite
    query = (
        "SELECT rowid, terms FROM message_search"
        if sqlite
        else "SELECT message_id, CAST(terms AS text) FROM message_search"
    )
    async with db.read() as conn:
        rows = (await conn.execute(text(query))).all()
    return {
        int(key): {t.strip("'") for t in terms.split()} if not sqlite else set(terms.split())
        for key, terms in rows
    }


async def _expected(db: Database) -> dict[int, set[str]]:
    """What the index should hold: every live message's tokens."""
    async with db.read() as conn:
        rows = await conn.execute(
            text("SELECT id, room_id, author_id, body FROM messages WHERE deleted = :no"),
            {"no": False},
        )
        return {int(i): set(sq.indexed_terms(body, room, author)) for i, room, author, body in rows}


async def _found(services: Services, user: User, q: str) -> list[str]:
    return [hit.message.body for hit in (await services.search.search(user, q, limit=50)).hits]


async def test_sends_rolled_back_after_writing_leave_no_row_and_the_others_one_each(
    world: World,
) -> None:
    db, services = world.db, world.s
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await services.rooms.create(alice, NewRoom(slug="ix", name="Ix", kind="topic"))
    await services.rooms.join(bob, room.id)
    sends = []
    for i in range(40):
        author = (alice, bob)[i % 2]
        if i % 7 == 3:  # fails after its message and index row are written
            missing = [MISSING_UPLOAD]
            sends.append(services.messages.send(author, room.id, "contrat", attachments=missing))
        else:
            sends.append(services.messages.send(author, room.id, f"kept{i} réponses"))
    results = await asyncio.gather(*sends, return_exceptions=True)

    failed = [r for i, r in enumerate(results) if i % 7 == 3]
    assert failed and all(isinstance(r, NotFound) for r in failed)
    index = await _index(db)
    assert index == await _expected(db)
    assert len(index) == 40 - len(failed)
    assert await _found(services, bob, "contrat") == []
    assert len(await _found(services, bob, "réponse")) == len(index)
    assert await _found(services, alice, "kept12") == ["kept12 réponses"]


async def test_edits_and_deletes_change_the_row_with_the_message(world: World) -> None:
    db, services = world.db, world.s
    alice = await world.user("alice")
    room = await services.rooms.create(alice, NewRoom(slug="ix", name="Ix", kind="topic"))
    first = await services.messages.send(alice, room.id, "rendez-vous à Bruxelles")
    second = await services.messages.send(alice, room.id, "meetups in July")

    await services.messages.edit(alice, first.id, "rendez-vous à Lyon")
    assert await _index(db) == await _expected(db)
    assert await _found(services, alice, "bruxelles") == []
    assert await _found(services, alice, "lyon") == ["rendez-vous à Lyon"]

    await services.messages.delete(alice, second.id)
    index = await _index(db)
    assert set(index) == {first.id}
    assert index == await _expected(db)
    assert await _found(services, alice, "meetup") == []


async def test_a_savepoint_rolled_back_takes_its_rows_and_only_its_rows(world: World) -> None:
    db, services = world.db, world.s
    alice = await world.user("alice")
    room = await services.rooms.create(alice, NewRoom(slug="ix", name="Ix", kind="topic"))

    async def insert(conn: AsyncConnection, seq: int, body: str) -> int:
        message = await message_store.insert_message(
            conn,
            room_id=room.id,
            seq=seq,
            author=alice,
            body=body,
            reply_to=None,
            mentions=(),
            nonce=None,
            now=now_ms(),
        )
        return message.id

    async with db.write() as conn:
        kept = await insert(conn, 1000, "avant le savepoint")
        savepoint = await conn.begin_nested()
        await insert(conn, 1001, "dans le savepoint annulé")
        await savepoint.rollback()

    index = await _index(db)
    assert set(index) == {kept}
    assert index == await _expected(db)
    assert await _found(services, alice, "annulé") == []
    assert await _found(services, alice, "savepoint") == ["avant le savepoint"]
