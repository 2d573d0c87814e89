"""The `ready` frame's state, read in one statement (plus the pins of rooms that have any).

Every `hello` runs this, and a restart brings thousands of them at once. Through
SQLAlchemy each statement costs more CPU than SQLite spends executing it, and so does
reading a row's columns by name: so the user, their notification default and inbox
counters, their rooms, seats, unread and mention counts come back as positional rows
of one statement, where they took seven statements before, and that statement is run
straight through the driver (`store/driver.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Level, Membership, Room, User
from chatserver.store.accounts import USER_COLUMNS
from chatserver.store.driver import Prepared, Row
from chatserver.store.notifications import room_visible
from chatserver.store.rooms import ROOM_COLUMNS, SEAT_COLUMNS, pins_of
from chatserver.store.tables import messages, notifications, room_members, rooms, users


class ReadyRoom(NamedTuple):
    """A room of the user's (pins filled), their seat in it, and its unread counts."""

    room: Room
    seat: Membership
    unread: int
    mentions_unread: int


@dataclass(frozen=True, slots=True)
class ReadyState:
    user: User
    notify_default: Level
    notifications_unread: int
    notification_mark: int
    """The highest notification id in the database when the counters were read, in the
    same statement: a `notification` event with a higher id came after them, one with a
    lower or equal id is already counted in `notifications_unread`. That holds because
    ids follow commit order: on SQLite, whose writers take turns, always; on PostgreSQL,
    two sends committing at once may take their ids in the opposite order, and one of
    them committed just after the read, for this very user, during their handshake,
    would go uncounted until the next `ready`."""
    rooms: list[ReadyRoom]


_USER: BindParameter[int] = bindparam("user_id")
_PENDING = (
    select(func.count())
    .select_from(notifications)
    .where(notifications.c.user_id == _USER, notifications.c.read.is_(False), room_visible(_USER))
    .scalar_subquery()
)
_MARK = select(func.coalesce(func.max(notifications.c.id), 0)).scalar_subquery()
_UNREAD = (
    select(func.count())
    .select_from(messages)
    .where(
        messages.c.room_id == rooms.c.id,
        messages.c.seq > room_members.c.last_read_seq,
        messages.c.author_id != _USER,
        messages.c.deleted.is_(False),
    )
    .scalar_subquery()
)
_MENTIONS = (
    select(notifications.c.room_id, func.count().label("n"))
    .where(
        notifications.c.user_id == _USER,
        notifications.c.read.is_(False),
        notifications.c.reason == "mention",
    )
    .group_by(notifications.c.room_id)
    .subquery()
)
_HAS_PINS = (
    select(messages.c.id)
    .where(messages.c.room_id == rooms.c.id, messages.c.pinned_at_ms.is_not(None))
    .exists()
)
_READY = Prepared(
    select(
        *USER_COLUMNS,
        users.c.notify_default,
        _PENDING,
        _MARK,
        *ROOM_COLUMNS,
        *SEAT_COLUMNS,
        _UNREAD,
        func.coalesce(_MENTIONS.c.n, 0),
        _HAS_PINS,
    )
    .select_from(
        users.outerjoin(room_members, room_members.c.user_id == users.c.id)
        .outerjoin(rooms, rooms.c.id == room_members.c.room_id)
        .outerjoin(_MENTIONS, _MENTIONS.c.room_id == rooms.c.id)
    )
    .where(users.c.id == _USER)
    .order_by(rooms.c.id)
)
"""One row per room (one row of NULL rooms for a user in none); the user's columns and
the scalar subqueries, which depend on the user alone, are computed once."""

_ROOM_AT = len(USER_COLUMNS) + 3
_SEAT_AT = _ROOM_AT + len(ROOM_COLUMNS)
_COUNTS_AT = _SEAT_AT + len(SEAT_COLUMNS)
_HAS_PINS_AT = _COUNTS_AT + 2


def _room(row: Row, pinned: tuple[int, ...]) -> Room:
    """The Room of a `_READY` row, by position (ROOM_COLUMNS' order)."""
    at = _ROOM_AT
    return Room(
        id=row[at],
        slug=row[at + 1],
        name=row[at + 2],
        kind=row[at + 3],
        visibility=row[at + 4],
        topic=row[at + 5],
        member_count=row[at + 6],
        last_seq=row[at + 7],
        created_by=row[at + 8],
        posting=row[at + 9],
        slow_mode=row[at + 10],
        guests_allowed=bool(row[at + 11]),
        archived=bool(row[at + 12]),
        workshop_ends_ms=row[at + 13],
        pinned=pinned,
    )


async def ready_state(conn: AsyncConnection, user_id: int) -> ReadyState | None:
    """The user and the state their `ready` frame describes; None for no such user."""
    rows = await _READY.rows(conn, user_id=user_id)
    if not rows:
        return None
    first = rows[0]
    pinned = [row[_ROOM_AT] for row in rows if row[_HAS_PINS_AT]]
    pins = await pins_of(conn, pinned) if pinned else {}
    return ReadyState(
        user=User(*first[: len(USER_COLUMNS)]),
        notify_default=first[len(USER_COLUMNS)],
        notifications_unread=int(first[len(USER_COLUMNS) + 1]),
        notification_mark=int(first[len(USER_COLUMNS) + 2]),
        rooms=[
            ReadyRoom(
                _room(row, pins.get(row[_ROOM_AT], ())),
                Membership(row[_ROOM_AT], user_id, *row[_SEAT_AT:_COUNTS_AT]),
                int(row[_COUNTS_AT]),
                int(row[_COUNTS_AT + 1]),
            )
            for row in rows
            if row[_ROOM_AT] is not None  # else the user is in no room
        ],
    )
