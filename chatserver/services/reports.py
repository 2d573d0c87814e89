"""Reports: anyone who can read a message reports it to staff; mentors and admins list the
reports and resolve them, by dismissing or by deleting the message as a moderator.

Reports are the one way staff reach a DM's message: a DM has no moderators, so only its
author deletes there directly, and staff act through a report.
"""

from __future__ import annotations

import re
from dataclasses import replace

from chatserver.domain import rules
from chatserver.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from chatserver.domain.models import (
    Report,
    ReportAction,
    ReportState,
    Room,
    User,
    now_ms,
)
from chatserver.protocol.wire import snapshot_of
from chatserver.services.erasure import audit_on_message, erase
from chatserver.services.messages import message_in_view
from chatserver.services.notifications import NotificationService
from chatserver.services.room_events import RoomEvents
from chatserver.store import accounts as account_store
from chatserver.store import messages as message_store
from chatserver.store import notifications as notification_store
from chatserver.store import reports as store
from chatserver.store.engine import Database

REASON_MAX = 500
# NUL cannot be stored in a PostgreSQL text column and lone surrogates in no UTF-8 text;
# other control characters (but tabs and line breaks) would garble the staff's list.
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def checked_reason(raw: str) -> str:
    """The reason as stored: trimmed, 1-500 characters (out of range is `bad_request`)."""
    reason = raw.strip()
    if not 1 <= len(reason) <= REASON_MAX:
        raise BadRequest(f"reason must be 1-{REASON_MAX} characters")
    if _REFUSED.search(reason):
        raise BadRequest("reason contains control characters or invalid Unicode")
    return reason


def _check_staff(user: User) -> None:
    if not rules.is_staff(user):
        raise Forbidden("only mentors and admins handle reports")


class ReportService:
    def __init__(
        self, db: Database, events: RoomEvents, notifications: NotificationService
    ) -> None:
        self._db = db
        self._events = events
        self._notifications = notifications

    async def report(self, user: User, message_id: int, reason: str) -> None:
        """File a report with a snapshot of the message and alert staff. A second report
        of the same message by the same user, while the first is open, changes nothing."""
        text = checked_reason(reason)
        now = now_ms()
        async with self._db.write() as conn:
            message, _, _ = await message_in_view(conn, user, message_id)
            if await store.open_by(conn, message.id, user.id) is not None:
                return
            await store.file(
                conn,
                message_id=message.id,
                room_id=message.room_id,
                reporter_id=user.id,
                reason=text,
                snapshot=snapshot_of(message),
                now=now,
            )
            pending = await self._notifications.record_report(conn, message, user.id, now)
        # The reporter's own reactions are not the recipients': `me` is false for all.
        neutral = tuple(replace(r, me=False) for r in message.reactions)
        await self._notifications.push(replace(message, reactions=neutral), pending, at=now)

    async def reports(
        self, user: User, state: ReportState, before: int | None, limit: int
    ) -> list[tuple[Report, Room, dict[int, User]]]:
        """A page of reports, newest first, each with its room and the users it names."""
        _check_staff(user)
        async with self._db.read() as conn:
            found = await store.page(conn, state, before, limit)
            named = {r.reporter_id for r in found} | {
                r.resolved_by for r in found if r.resolved_by is not None
            }
            users = await account_store.get_users(conn, named)
            rooms = await store.rooms_of(conn, found)
        # A room's reports go with it (cascade): every report's room is there.
        return [(report, rooms[report.room_id], users) for report in found]

    async def resolve(self, user: User, report_id: int, action: ReportAction) -> None:
        """Dismiss the report, or delete its message as a moderator (which resolves every
        open report of that message); either way the snapshot is forgotten."""
        _check_staff(user)
        try:
            await self._resolve(user, report_id, action)
        except _Raced:
            # The message was deleted between our read and the room's lock: resolve again,
            # now finding it gone.
            await self._resolve(user, report_id, action)

    async def _resolve(self, user: User, report_id: int, action: ReportAction) -> None:
        async with self._events.write() as outbox:
            conn = outbox.conn
            report = await store.get(conn, report_id)
            if report is None:
                raise NotFound("no such report")
            if report.state != "open":
                raise Conflict("the report is already resolved")
            message = await message_store.get_message(conn, report.message_id)
            assert message is not None  # a message's reports go with it (cascade)
            if action == "delete" and not message.deleted:
                try:
                    # Resolves (and audits) this report with the message's other ones.
                    await erase(outbox, user, message, "moderator")
                except NotFound:
                    raise _Raced from None
                return
            now = now_ms()
            if not await store.resolve(conn, report.id, action, user.id, now):
                raise Conflict("the report is already resolved")
            if not await store.any_open_for_message(conn, message.id):
                await notification_store.delete_reports_for_message(conn, message.id)
            details = {"report": report.id, "action": action}
            await audit_on_message(conn, "report.resolve", user, message, now, details)


class _Raced(Exception):
    """A concurrent delete got to the message first; the transaction rolled back."""
