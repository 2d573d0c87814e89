"""Meetups: a message's meetup, its RSVPs (one row per person, the counts kept in step
under the meetup row's lock), the waitlist in the order people joined it, the upcoming
meetups across rooms and the reminders already sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.meetups import Answer, MeetupSpec
from chatserver.domain.models import Meetup, Message, RsvpStatus, User
from chatserver.store.accounts import USER_COLUMNS, user_from_row
from chatserver.store.tables import (
    AnyRow,
    friendships,
    meetup_reminders,
    meetup_rsvps,
    meetups,
    messages,
    room_members,
    rooms,
    users,
)
from chatserver.store.unique import insert_unique

MEETUP_COLUMNS = (
    meetups.c.title.label("m_title"),
    meetups.c.starts_at_ms.label("m_starts_at_ms"),
    meetups.c.ends_at_ms.label("m_ends_at_ms"),
    meetups.c.place.label("m_place"),
    meetups.c.capacity.label("m_capacity"),
    meetups.c.going.label("m_going"),
    meetups.c.maybe.label("m_maybe"),
    meetups.c.waitlist.label("m_waitlist"),
    meetups.c.cancelled.label("m_cancelled"),
)
"""Selected beside a message (outer join on its id): its meetup, or all null."""


def meetup_from_row(row: AnyRow) -> Meetup | None:
    """The meetup of a row that selected MEETUP_COLUMNS; None for a plain message."""
    if row.m_title is None:
        return None
    return Meetup(
        title=row.m_title,
        starts_at_ms=row.m_starts_at_ms,
        ends_at_ms=row.m_ends_at_ms,
        place=row.m_place,
        capacity=row.m_capacity,
        going=row.m_going,
        maybe=row.m_maybe,
        waitlist=row.m_waitlist,
        cancelled=bool(row.m_cancelled),
    )


async def create(
    conn: AsyncConnection, message_id: int, room_id: int, spec: MeetupSpec, now: int
) -> Meetup:
    await conn.execute(
        insert(meetups).values(
            message_id=message_id,
            room_id=room_id,
            title=spec.title,
            starts_at_ms=spec.starts_at_ms,
            ends_at_ms=spec.ends_at_ms,
            place=spec.place,
            capacity=spec.capacity,
            going=0,
            maybe=0,
            waitlist=0,
            next_position=0,
            cancelled=False,
            scheduled_at_ms=now,
        )
    )
    return Meetup(
        spec.title, spec.starts_at_ms, spec.ends_at_ms, spec.place, spec.capacity, 0, 0, 0, False
    )


@dataclass(frozen=True, slots=True)
class Locked:
    """A meetup's row as read under its lock: what an RSVP or a change decides from."""

    message_id: int
    room_id: int
    starts_at_ms: int
    ends_at_ms: int | None
    capacity: int | None
    going: int
    maybe: int
    waitlist: int
    next_position: int
    cancelled: bool


async def lock(conn: AsyncConnection, message_id: int) -> Locked | None:
    """Read the meetup and hold its row until commit (PostgreSQL `FOR UPDATE`; SQLite
    has one writer at a time), so its RSVPs are decided one after another."""
    row = (
        await conn.execute(
            select(
                meetups.c.message_id,
                meetups.c.room_id,
                meetups.c.starts_at_ms,
                meetups.c.ends_at_ms,
                meetups.c.capacity,
                meetups.c.going,
                meetups.c.maybe,
                meetups.c.waitlist,
                meetups.c.next_position,
                meetups.c.cancelled,
            )
            .where(meetups.c.message_id == message_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    return Locked(
        message_id=row.message_id,
        room_id=row.room_id,
        starts_at_ms=row.starts_at_ms,
        ends_at_ms=row.ends_at_ms,
        capacity=row.capacity,
        going=row.going,
        maybe=row.maybe,
        waitlist=row.waitlist,
        next_position=row.next_position,
        cancelled=bool(row.cancelled),
    )


@dataclass(slots=True)
class _Counts:
    going: int
    maybe: int
    waitlist: int
    next_position: int

    def add(self, status: str, delta: int) -> None:
        if status == "going":
            self.going += delta
        elif status == "maybe":
            self.maybe += delta
        else:
            self.waitlist += delta


async def _status_of(conn: AsyncConnection, message_id: int, user_id: int) -> str | None:
    row = (
        await conn.execute(
            select(meetup_rsvps.c.status).where(
                meetup_rsvps.c.message_id == message_id, meetup_rsvps.c.user_id == user_id
            )
        )
    ).first()
    return None if row is None else str(row[0])


async def _promote(conn: AsyncConnection, meetup: Locked, counts: _Counts, now: int) -> list[int]:
    """Give the free places to the first of the waitlist, in order; their ids."""
    promoted: list[int] = []
    while counts.waitlist > 0 and (meetup.capacity is None or counts.going < meetup.capacity):
        free = meetup.capacity - counts.going if meetup.capacity is not None else counts.waitlist
        rows = await conn.execute(
            select(meetup_rsvps.c.user_id)
            .where(
                meetup_rsvps.c.message_id == meetup.message_id,
                meetup_rsvps.c.status == "waitlisted",
            )
            .order_by(meetup_rsvps.c.position)
            .limit(min(free, counts.waitlist))
        )
        first = [row[0] for row in rows]
        if not first:
            counts.waitlist = 0  # the count had drifted; the rows are the truth
            break
        await conn.execute(
            update(meetup_rsvps)
            .where(
                meetup_rsvps.c.message_id == meetup.message_id,
                meetup_rsvps.c.user_id.in_(first),
            )
            .values(status="going", position=None, updated_at_ms=now)
        )
        counts.going += len(first)
        counts.waitlist -= len(first)
        promoted += first
    return promoted


async def _save_counts(conn: AsyncConnection, message_id: int, counts: _Counts) -> None:
    await conn.execute(
        update(meetups)
        .where(meetups.c.message_id == message_id)
        .values(
            going=counts.going,
            maybe=counts.maybe,
            waitlist=counts.waitlist,
            next_position=counts.next_position,
        )
    )


async def set_rsvp(
    conn: AsyncConnection, meetup: Locked, user_id: int, answer: Answer, now: int
) -> tuple[bool, list[int]]:
    """Apply one person's answer to a meetup held by `lock`: `going` beyond the capacity
    joins the end of the waitlist, and a place freed goes to the first of it.

    Returns whether anything changed, and who moved up from the waitlist. `going` from
    someone already going or waitlisted changes nothing (their place in line is kept).
    """
    message_id = meetup.message_id
    counts = _Counts(meetup.going, meetup.maybe, meetup.waitlist, meetup.next_position)
    current = await _status_of(conn, message_id, user_id)
    target: str | None
    position: int | None = None
    if answer == "no":
        target = None
    elif answer == "maybe":
        target = "maybe"
    else:
        if current in ("going", "waitlisted"):
            return False, []
        if meetup.capacity is None or counts.going < meetup.capacity:
            target = "going"
        else:
            target = "waitlisted"
            counts.next_position += 1
            position = counts.next_position
    if current == target:
        return False, []
    if current is not None:
        counts.add(current, -1)
    where = and_(meetup_rsvps.c.message_id == message_id, meetup_rsvps.c.user_id == user_id)
    if target is None:
        await conn.execute(delete(meetup_rsvps).where(where))
    elif current is None:
        await conn.execute(
            insert(meetup_rsvps).values(
                message_id=message_id,
                user_id=user_id,
                status=target,
                position=position,
                updated_at_ms=now,
            )
        )
    else:
        await conn.execute(
            update(meetup_rsvps)
            .where(where)
            .values(status=target, position=position, updated_at_ms=now)
        )
    if target is not None:
        counts.add(target, 1)
    promoted = await _promote(conn, meetup, counts, now) if current == "going" else []
    await _save_counts(conn, message_id, counts)
    return True, promoted


async def change(
    conn: AsyncConnection, meetup: Locked, spec: MeetupSpec, moved: bool, now: int
) -> list[int]:
    """Give a held meetup new fields (a larger capacity moves the first of the waitlist
    up); a move (`moved`) schedules its reminders afresh. Who moved up."""
    values: dict[str, object] = {
        "title": spec.title,
        "starts_at_ms": spec.starts_at_ms,
        "ends_at_ms": spec.ends_at_ms,
        "place": spec.place,
        "capacity": spec.capacity,
    }
    if moved:
        values["scheduled_at_ms"] = now
    await conn.execute(
        update(meetups).where(meetups.c.message_id == meetup.message_id).values(**values)
    )
    counts = _Counts(meetup.going, meetup.maybe, meetup.waitlist, meetup.next_position)
    grown = replace(meetup, capacity=spec.capacity)
    promoted = await _promote(conn, grown, counts, now)
    if promoted:
        await _save_counts(conn, meetup.message_id, counts)
    return promoted


async def cancel(conn: AsyncConnection, message_id: int) -> bool:
    """Cancel a meetup; False when it already was."""
    result = await conn.execute(
        update(meetups)
        .where(meetups.c.message_id == message_id, meetups.c.cancelled.is_(False))
        .values(cancelled=True)
    )
    return bool(result.rowcount)


async def spec_of(conn: AsyncConnection, message_id: int) -> MeetupSpec | None:
    row = (
        await conn.execute(
            select(
                meetups.c.title,
                meetups.c.starts_at_ms,
                meetups.c.ends_at_ms,
                meetups.c.place,
                meetups.c.capacity,
            ).where(meetups.c.message_id == message_id)
        )
    ).first()
    if row is None:
        return None
    return MeetupSpec(row.title, row.starts_at_ms, row.ends_at_ms, row.place, row.capacity)


async def attendees(conn: AsyncConnection, message_id: int) -> list[int]:
    """Who is going or maybe (whom a change, a cancellation or a reminder alerts)."""
    rows = await conn.execute(
        select(meetup_rsvps.c.user_id).where(
            meetup_rsvps.c.message_id == message_id,
            meetup_rsvps.c.status.in_(("going", "maybe")),
        )
    )
    return [row[0] for row in rows]


async def waitlist(conn: AsyncConnection, message_id: int) -> list[int]:
    """The waitlist, first in line first."""
    rows = await conn.execute(
        select(meetup_rsvps.c.user_id)
        .where(meetup_rsvps.c.message_id == message_id, meetup_rsvps.c.status == "waitlisted")
        .order_by(meetup_rsvps.c.position)
    )
    return [row[0] for row in rows]


async def statuses(conn: AsyncConnection, message_id: int) -> dict[int, str]:
    """Everyone's answer to a meetup (tests and the load tester's check)."""
    rows = await conn.execute(
        select(meetup_rsvps.c.user_id, meetup_rsvps.c.status).where(
            meetup_rsvps.c.message_id == message_id
        )
    )
    return {row[0]: str(row[1]) for row in rows}


# -- the viewer's side --------------------------------------------------------------------


async def with_my_rsvps(
    conn: AsyncConnection, page: Sequence[Message], viewer_id: int
) -> list[Message]:
    """The viewer's answer on each live meetup of a page (one query), and their place on
    the waitlist where they wait (one more query per such meetup: rare)."""
    ids = [m.id for m in page if m.meetup is not None and not m.deleted]
    if not ids or not viewer_id:
        return list(page)
    rows = await conn.execute(
        select(meetup_rsvps.c.message_id, meetup_rsvps.c.status, meetup_rsvps.c.position).where(
            meetup_rsvps.c.user_id == viewer_id, meetup_rsvps.c.message_id.in_(ids)
        )
    )
    mine: dict[int, tuple[RsvpStatus, int | None]] = {}
    for message_id, status, position in rows:
        place = None
        if status == "waitlisted" and position is not None:
            place = await _waitlist_place(conn, message_id, position)
        mine[message_id] = (status, place)
    out: list[Message] = []
    for message in page:
        if message.id in mine and message.meetup is not None:
            status, place = mine[message.id]
            meetup = replace(message.meetup, my_rsvp=status, my_position=place)
            message = replace(message, meetup=meetup)
        out.append(message)
    return out


async def _waitlist_place(conn: AsyncConnection, message_id: int, position: int) -> int:
    count = await conn.execute(
        select(func.count()).where(
            meetup_rsvps.c.message_id == message_id,
            meetup_rsvps.c.status == "waitlisted",
            meetup_rsvps.c.position <= position,
        )
    )
    return int(count.scalar_one())


async def friends_going(
    conn: AsyncConnection, message_ids: Sequence[int], viewer_id: int
) -> dict[int, list[User]]:
    """For each meetup, the viewer's friends who are going (by display name)."""
    if not message_ids:
        return {}
    rows = await conn.execute(
        select(meetup_rsvps.c.message_id, *USER_COLUMNS)
        .join(users, users.c.id == meetup_rsvps.c.user_id)
        .join(
            friendships,
            and_(
                friendships.c.user_id == viewer_id,
                friendships.c.friend_id == meetup_rsvps.c.user_id,
            ),
        )
        .where(meetup_rsvps.c.message_id.in_(message_ids), meetup_rsvps.c.status == "going")
        .order_by(users.c.display_name, users.c.id)
    )
    found: dict[int, list[User]] = defaultdict(list)
    for row in rows:
        found[row.message_id].append(user_from_row(row))
    return found


async def listed(
    conn: AsyncConnection,
    viewer_id: int,
    *,
    after_ms: int | None,
    region: str | None,
    limit: int,
) -> list[int]:
    """Meetup ids in rooms the viewer may read (public rooms and their own), soonest
    first; `after_ms` keeps those not over by then, `region` those of region rooms whose
    name or slug is that region (any case). Deleted messages are left out."""
    member = exists().where(
        room_members.c.room_id == meetups.c.room_id, room_members.c.user_id == viewer_id
    )
    stmt = (
        select(meetups.c.message_id)
        .join(rooms, rooms.c.id == meetups.c.room_id)
        .join(messages, messages.c.id == meetups.c.message_id)
        .where(
            messages.c.deleted.is_(False),
            rooms.c.kind != "dm",
            or_(rooms.c.visibility == "public", member),
        )
    )
    if after_ms is not None:
        stmt = stmt.where(
            or_(
                meetups.c.starts_at_ms >= after_ms,
                and_(meetups.c.ends_at_ms.is_not(None), meetups.c.ends_at_ms >= after_ms),
            )
        )
    if region is not None:
        label = region.strip().lower()
        stmt = stmt.where(
            rooms.c.kind == "region",
            or_(func.lower(rooms.c.name) == label, rooms.c.slug == label),
        )
    stmt = stmt.order_by(meetups.c.starts_at_ms, meetups.c.message_id).limit(limit)
    return [row[0] for row in await conn.execute(stmt)]


# -- reminders -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    message_id: int
    room_id: int
    offset_s: int
    starts_at_ms: int


async def due(conn: AsyncConnection, offsets: Sequence[int], now: int, limit: int) -> list[Due]:
    """Reminders whose time has come and that no node sent yet: for each offset, live
    meetups starting within it (a range of `ix_meetups_starts`), scheduled before the
    reminder's time, not cancelled, and without a sent row for that start."""
    found: list[Due] = []
    for offset in offsets:
        ahead = offset * 1000
        sent = exists().where(
            meetup_reminders.c.message_id == meetups.c.message_id,
            meetup_reminders.c.offset_s == offset,
            meetup_reminders.c.starts_at_ms == meetups.c.starts_at_ms,
        )
        rows = await conn.execute(
            select(meetups.c.message_id, meetups.c.room_id, meetups.c.starts_at_ms)
            .join(messages, messages.c.id == meetups.c.message_id)
            .where(
                meetups.c.starts_at_ms > now,
                meetups.c.starts_at_ms <= now + ahead,
                meetups.c.scheduled_at_ms < meetups.c.starts_at_ms - ahead,
                meetups.c.cancelled.is_(False),
                messages.c.deleted.is_(False),
                ~sent,
            )
            .order_by(meetups.c.starts_at_ms)
            .limit(limit)
        )
        found += [Due(r.message_id, r.room_id, offset, r.starts_at_ms) for r in rows]
    return found


async def claim_reminder(conn: AsyncConnection, due: Due, now: int) -> bool:
    """Claim a reminder for this transaction: the insert of its row succeeds on one
    node only (the primary key), and rolls back with the transaction if it fails."""
    added = insert(meetup_reminders).values(
        message_id=due.message_id,
        offset_s=due.offset_s,
        starts_at_ms=due.starts_at_ms,
        sent_at_ms=now,
    )
    if await insert_unique(conn, added) is None:
        return False
    # Still the same meetup (not moved or cancelled since it was found)?
    row = (
        await conn.execute(
            select(meetups.c.message_id).where(
                meetups.c.message_id == due.message_id,
                meetups.c.starts_at_ms == due.starts_at_ms,
                meetups.c.cancelled.is_(False),
            )
        )
    ).first()
    return row is not None


async def reminders_sent(conn: AsyncConnection, message_id: int) -> list[tuple[int, int]]:
    """(offset, start) of the reminders sent for a meetup."""
    rows = await conn.execute(
        select(meetup_reminders.c.offset_s, meetup_reminders.c.starts_at_ms).where(
            meetup_reminders.c.message_id == message_id
        )
    )
    return [(int(a), int(b)) for a, b in rows]
