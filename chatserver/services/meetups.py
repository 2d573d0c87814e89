"""Meetups: RSVPs with a capacity and a waitlist, changes and cancellation by the creator
or the room's moderators, the upcoming meetups across rooms, iCalendar files, and the
reminders before a meetup starts. Every change to a meetup is a sequenced
`message.updated` carrying the whole message (see services/message_updates.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar
import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import meetups as meetup_rules
from chatserver.domain import rules
from chatserver.domain.errors import BadRequest, Conflict, Forbidden, NotFound, NotMember
from chatserver.domain.meetups import Answer, MeetupSpec
from chatserver.domain.models import Meetup, Membership, Message, Reason, Room, User, now_ms
from chatserver.protocol.requests import EventChanges, NewEvent
from chatserver.services.message_updates import update_message
from chatserver.services.messages import message_in_view
from chatserver.services.notifications import NotificationService, Pending
from chatserver.services.room_events import RoomEvents
from chatserver.store import meetups as store
from chatserver.store import messages as message_store
from chatserver.store import notifications as notification_store
from chatserver.store import rooms as room_store
from chatserver.store import social as social_store
from chatserver.store.engine import Database
from chatserver.store.meetups import Due, Locked

DEFAULT_REMINDERS = (86_400, 3_600)
"""Seconds before a meetup starts when those going and maybe are reminded: 24 h and 1 h."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A meetup as one caller sees it: the message, its room and their friends going."""

    message: Message
    room: Room
    friends_going: list[User]


def _meetup(message: Message) -> Meetup:
    if message.meetup is None:
        raise NotFound("this message is not a meetup")
    return message.meetup


def _check_organiser(user: User, message: Message, room: Room, seat: Membership | None) -> None:
    if message.author.id != user.id and not rules.moderates(user, room, seat):
        raise Forbidden("only the meetup's creator and the room's moderators change it")


class MeetupService:
    def __init__(
        self, db: Database, events: RoomEvents, notifications: NotificationService
    ) -> None:
        self._db = db
        self._events = events
        self._notifications = notifications

    @staticmethod
    def spec(event: NewEvent) -> MeetupSpec:
        """A meetup sent with a message, checked against the time now."""
        return meetup_rules.new_spec(
            event.title, event.starts_at, event.ends_at, event.place, event.capacity, now_ms()
        )

    # -- RSVPs -----------------------------------------------------------------------------

    async def rsvp(self, user: User, message_id: int, answer: Answer) -> Message:
        """`going` (the waitlist once the meetup is full), `maybe` or `no`, by a member of
        the room; a place freed goes to the first of the waitlist in the same transaction."""

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            _meetup(message)
            if seat is None:
                raise NotMember("join the room first")
            now = now_ms()
            rules.check_can_write(user, room, seat, now)
            held = await self._hold(conn, message.id)
            if held.cancelled:
                raise Conflict("this meetup is cancelled")
            if held.starts_at_ms <= now:
                raise Conflict("this meetup has already started")
            changed, _ = await store.set_rsvp(conn, held, user.id, answer, now)
            return changed

        return await update_message(self._events, user, message_id, change, shared=True)

    # -- the organiser's changes -----------------------------------------------------------

    async def update(self, user: User, changes: EventChanges) -> Message:
        """Change a meetup's title, time, place or capacity (its creator or the room's
        moderators). A new time or place alerts those going and maybe; a larger capacity
        lets the first of the waitlist in; a capacity below those going is refused."""
        pending: Pending = []

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            nonlocal pending
            _meetup(message)
            _check_organiser(user, message, room, seat)
            now = now_ms()
            if room.archived:
                raise Forbidden("this room is archived: it is read-only")
            held = await self._hold(conn, message.id)
            if held.cancelled:
                raise Conflict("this meetup is cancelled")
            current = await store.spec_of(conn, message.id)
            assert current is not None
            wanted = _changed(current, changes)
            if wanted == current:
                return False
            moved = (wanted.starts_at_ms, wanted.ends_at_ms) != (
                current.starts_at_ms,
                current.ends_at_ms,
            )
            if moved:
                meetup_rules.check_times(wanted.starts_at_ms, wanted.ends_at_ms, now)
            elif wanted.ends_at_ms is not None and wanted.ends_at_ms <= wanted.starts_at_ms:
                raise BadRequest("ends_at must be after starts_at")
            if wanted.capacity is not None and wanted.capacity < held.going:
                raise Conflict(
                    f"{held.going} people are going: the capacity cannot be less than that"
                )
            await store.change(conn, held, wanted, moved, now)
            if moved or wanted.place != current.place:
                pending = await self._alert(conn, room, message, user.id, now)
            return True

        updated = await update_message(self._events, user, changes.message, change)
        if pending:
            await self._notifications.push(updated, pending, now_ms())
        return updated

    async def cancel(self, user: User, message_id: int) -> Message:
        """Cancel a meetup (its creator or the room's moderators); those going and maybe
        are alerted. Cancelling it again changes nothing."""
        pending: Pending = []

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            nonlocal pending
            _meetup(message)
            _check_organiser(user, message, room, seat)
            await self._hold(conn, message.id)
            if not await store.cancel(conn, message.id):
                return False
            pending = await self._alert(conn, room, message, user.id, now_ms())
            return True

        updated = await update_message(self._events, user, message_id, change)
        if pending:
            await self._notifications.push(updated, pending, now_ms())
        return updated

    # -- reading -----------------------------------------------------------------------------

    async def view(self, user: User, message_id: int) -> Listed:
        """One meetup as the caller sees it (their answer, place in line, friends going)."""
        async with self._db.read() as conn:
            message, room, _ = await message_in_view(conn, user, message_id)
            _meetup(message)
            friends = await store.friends_going(conn, [message.id], user.id)
        return Listed(message, room, friends.get(message.id, []))

    async def listing(
        self, user: User, upcoming: bool, region: str | None, limit: int
    ) -> list[Listed]:
        """Meetups in the rooms the caller may read, soonest first: those not over yet
        (`upcoming`) or all; of one region's rooms when `region` is given."""
        async with self._db.read() as conn:
            ids = await store.listed(
                conn,
                user.id,
                after_ms=now_ms() if upcoming else None,
                region=region,
                limit=limit,
            )
            found = await message_store.get_messages(conn, ids, user.id)
            friends = await store.friends_going(conn, ids, user.id)
            rooms: dict[int, Room] = {}
            for message in found.values():
                if message.room_id not in rooms:
                    room = await room_store.get_room(conn, message.room_id)
                    if room is not None:
                        rooms[room.id] = room
        return [
            Listed(found[i], rooms[found[i].room_id], friends.get(i, []))
            for i in ids
            if i in found and found[i].room_id in rooms
        ]

    async def ics(self, user: User, message_id: int, host: str) -> bytes:
        """The meetup as an iCalendar file (RFC 5545): times in UTC, its place, and
        CANCELLED once it is."""
        listed = await self.view(user, message_id)
        return calendar_file(listed.message, listed.room, host)

    # -- reminders -----------------------------------------------------------------------------

    async def remind_due(self, offsets: Sequence[int], batch: int = 100) -> int:
        """Send the reminders whose time has come. Each is claimed by inserting its row
        in the transaction that stores its notifications, so with several nodes (and
        after restarts) each goes once; a node killed before its commit leaves it for
        the next round of any node."""
        async with self._db.read() as conn:
            due = await store.due(conn, offsets, now_ms(), batch)
        sent = 0
        for item in due:
            if await self._remind(item):
                sent += 1
        return sent

    async def _remind(self, item: Due) -> bool:
        now = now_ms()
        async with self._db.write() as conn:
            if not await store.claim_reminder(conn, item, now):
                return False
            room = await room_store.get_room(conn, item.room_id)
            message = await message_store.get_message(conn, item.message_id)
            if room is None or message is None or message.deleted:
                return False
            pending = await self._alert(conn, room, message, None, now)
        await self._notifications.push(message, pending, now)
        return True

    # -- helpers -------------------------------------------------------------------------------

    async def _hold(self, conn: AsyncConnection, message_id: int) -> Locked:
        held = await store.lock(conn, message_id)
        if held is None:
            raise NotFound("this message is not a meetup")
        return held

    async def _alert(
        self,
        conn: AsyncConnection,
        room: Room,
        message: Message,
        actor_id: int | None,
        now: int,
    ) -> Pending:
        """Store an `event` notification for each member going or maybe (not the one who
        made the change), unless their level for the room is `none` or a block stands
        between them and the one who made it."""
        who = await store.attendees(conn, message.id)
        members = await room_store.members_among(conn, room.id, who)
        members.discard(actor_id or 0)
        if not members:
            return []
        overrides = await room_store.overrides(conn, room.id)
        defaults = await notification_store.defaults_of(
            conn, [u for u in members if u not in overrides]
        )
        blocked: Collection[int] = ()
        if actor_id is not None:
            blocked = await social_store.blocked_either_way_among(conn, actor_id, members)
        rows: list[tuple[int, Reason]] = []
        for user_id in sorted(members):
            level = rules.effective_level(
                defaults.get(user_id, "mentions"), overrides.get(user_id), False
            )
            if user_id not in blocked and rules.alerts_for_event(level):
                rows.append((user_id, "event"))
        return await notification_store.insert_many(conn, rows, message.id, room.id, now)


def _changed(current: MeetupSpec, changes: EventChanges) -> MeetupSpec:
    """The meetup with the given fields changed, each checked like a new one's."""
    unset = msgspec.UNSET
    title = current.title
    if changes.title is not unset:
        title = meetup_rules.check_title(changes.title)
    starts = current.starts_at_ms
    if changes.starts_at is not unset:
        starts = meetup_rules.parse_time(changes.starts_at, "starts_at")
    ends = current.ends_at_ms
    if changes.ends_at is not unset:
        ends = (
            None if changes.ends_at is None else meetup_rules.parse_time(changes.ends_at, "ends_at")
        )
    place = current.place
    if changes.place is not unset:
        place = meetup_rules.check_place(changes.place)
    capacity = current.capacity
    if changes.capacity is not unset:
        capacity = meetup_rules.check_capacity(changes.capacity)
    return MeetupSpec(title, starts, ends, place, capacity)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def calendar_file(message: Message, room: Room, host: str) -> bytes:
    """One VEVENT in a VCALENDAR, made with the `icalendar` library (escaping, folding
    and line ends are its business)."""
    meetup = _meetup(message)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//chatserver//meetups//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"meetup-{message.id}@{host}")
    event.add("dtstamp", _utc(now_ms()))
    event.add("summary", meetup.title)
    event.add("dtstart", _utc(meetup.starts_at_ms))
    if meetup.ends_at_ms is not None:
        event.add("dtend", _utc(meetup.ends_at_ms))
    if meetup.place:
        event.add("location", meetup.place)
    if message.body and message.body != meetup.title:
        event.add("description", message.body)
    event.add("categories", [room.name])
    event.add("status", "CANCELLED" if meetup.cancelled else "CONFIRMED")
    event.add("sequence", message.updated_seq - message.seq)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
