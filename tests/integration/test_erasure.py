"""A deleted message's text is gone from the database itself, not just hidden.

Each test puts a unique marker in a message, lets it spread to every place the server
keeps text (the message row, the event log's frames of its creation, edit and pin,
notifications, a report's snapshot), deletes it, then reads every column of every
table in the database and finds the marker nowhere. Driven through the services, in
process, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import inspect, text

from chatserver.protocol.requests import NewRoom
from chatserver.store import audit
from chatserver.store.engine import Database
from tests.integration.conftest import World
from tests.support.inprocess import Node


async def places_holding(db: Database, marker: str) -> set[str]:
    """`table.column` of every stored value, in any table, that contains `marker`."""
    found: set[str] = set()
    async with db.read() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            result = await conn.execute(text(f'SELECT * FROM "{name}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    if isinstance(value, str) and marker in value:
                        found.add(f"{name}.{column}")
    return found


def marker() -> str:
    return f"marker{uuid.uuid4().hex}"


async def test_a_moderators_delete_leaves_the_text_nowhere(world: World) -> None:
    s = world.s
    owner, author = await world.user("owner"), await world.user("author")
    mentor = await world.user("mentor", "mentor")
    await world.user("admin", "admin")  # reports alert every mentor and admin
    room = await s.rooms.create(owner, NewRoom(slug="erase", name="Erase", kind="topic"))
    for user in (author, mentor):
        await s.rooms.join(user, room.id)
    first, second = marker(), marker()
    message = await s.messages.send(author, room.id, f"{first} @{owner.username}")
    await s.messages.edit(author, message.id, f"{second} @{owner.username} edited")
    await s.reactions.react(owner, message.id, "👍")
    await s.pins.pin(mentor, room.id, message.id)
    await s.reports.report(owner, message.id, "not nice")
    held = await places_holding(world.db, second)
    # The test can fail: the text really was in each of these places before the delete.
    assert {"messages.body", "room_events.payload", "reports.snapshot"} <= held
    assert "room_events.payload" in await places_holding(world.db, first)
    assert len(await s.notifications.inbox(owner, False)) == 1  # the mention

    await s.messages.delete(mentor, message.id)

    assert await places_holding(world.db, first) == set()
    assert await places_holding(world.db, second) == set()
    [tombstone] = await s.messages.history(owner, room.id, None, None, 10)
    assert (tombstone.deleted, tombstone.deleted_by, tombstone.pinned) == (True, "moderator", False)
    assert await s.notifications.inbox(owner, False) == []
    [report] = await s.reports.reports(mentor, "resolved", None, 10)
    assert (report[0].state, report[0].action, report[0].snapshot) == ("resolved", "delete", None)
    async with world.db.read() as conn:
        entries = await audit.page(conn, room_id=room.id, before=None, limit=10)
    assert [e.action for e in entries][:3] == ["report.resolve", "message.delete", "message.pin"]
    assert {e.target_message_id for e in entries} == {message.id}


async def test_a_dm_message_resolved_by_delete_leaves_the_text_nowhere(world: World) -> None:
    s = world.s
    sender, receiver = await world.user("sender"), await world.user("receiver")
    admin = await world.user("admin", "admin")
    dm = await s.social.open_dm(sender, [receiver.username])
    secret = marker()
    message = await s.messages.send(sender, dm.id, f"psst {secret}")
    await s.reports.report(receiver, message.id, "harassment")
    assert {"messages.body", "room_events.payload", "reports.snapshot"} <= (
        await places_holding(world.db, secret)
    )
    [(report, _, _)] = await s.reports.reports(admin, "open", None, 10)

    await s.reports.resolve(admin, report.id, "delete")

    assert await places_holding(world.db, secret) == set()
    [tombstone] = await s.messages.history(receiver, dm.id, None, None, 10)
    assert (tombstone.deleted, tombstone.deleted_by) == (True, "moderator")


async def test_an_authors_delete_keeps_only_an_open_reports_snapshot(world: World) -> None:
    """The one exception: a report keeps its snapshot until it is resolved, so staff can
    still judge a message its author deleted."""
    s = world.s
    author, reader = await world.user("author"), await world.user("reader")
    mentor = await world.user("mentor", "mentor")
    room = await s.rooms.create(author, NewRoom(slug="own", name="Own", kind="topic"))
    await s.rooms.join(reader, room.id)
    secret = marker()
    message = await s.messages.send(author, room.id, secret)
    await s.reports.report(reader, message.id, "spam")

    await s.messages.delete(author, message.id)

    assert await places_holding(world.db, secret) == {"reports.snapshot"}
    [(report, _, _)] = await s.reports.reports(mentor, "open", None, 10)
    await s.reports.resolve(mentor, report.id, "dismiss")
    assert await places_holding(world.db, secret) == set()
    [tombstone] = await s.messages.history(reader, room.id, None, None, 10)
    assert tombstone.deleted_by == "author"


async def test_a_gap_over_a_deleted_message_is_filled_with_its_tombstone(tmp_path: Path) -> None:
    """The log's rows stay, rewritten: a node that lost the creation still gets a frame
    for every seq, and none carries the text."""
    node = await Node.start(tmp_path)
    try:
        author, reader = await node.user("author"), await node.user("reader")
        room = await node.services.rooms.create(
            author, NewRoom(slug="gaps", name="Gaps", kind="topic")
        )
        await node.services.rooms.join(reader, room.id)
        watcher = await node.watch(reader, room.id)
        secret = marker()
        node.broker.rule = lambda _channel, event: event.get("type") == "message.created"
        message = await node.services.messages.send(author, room.id, secret)
        node.broker.rule = None
        await node.services.messages.delete(author, message.id)  # reveals the gap
        await watcher.wait_for(lambda: message.seq + 1 in watcher.seqs(room.id))
        seqs = watcher.seqs(room.id)
        assert seqs == list(range(seqs[0], message.seq + 2)), "every seq once, in order"
        created = next(f for f in watcher.frames if f.get("type") == "message.created")
        assert created["message"]["id"] == message.id
        assert (created["message"]["deleted"], created["message"]["body"]) == (True, "")
        assert all(secret not in str(frame) for frame in watcher.frames)
    finally:
        await node.close()
