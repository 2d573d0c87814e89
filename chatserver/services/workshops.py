"""Workshop mode: one moderator action turns on slow mode, question mode and optionally
guests for a set time; at the end (whichever node claims it first, after restarts too)
the settings go back and a summary is posted in the room."""

from __future__ import annotations

import logging

from chatserver.domain import rules
from chatserver.domain.errors import Conflict, Forbidden, NotFound
from chatserver.domain.models import Room, User, iso_ms, now_ms
from chatserver.protocol import wire
from chatserver.protocol.events import MessageCreated, RoomUpdated
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.services.rooms import moderated_room, visible_room
from chatserver.store import accounts as account_store
from chatserver.store import audit
from chatserver.store import messages as message_store
from chatserver.store import questions as question_store
from chatserver.store import rooms as room_store
from chatserver.store import workshops as store
from chatserver.store.engine import Database
from chatserver.store.workshops import Workshop

log = logging.getLogger(__name__)

TOP = 5
"""Most-voted questions a summary names."""


def summary_body(asked: int, answered: int, votes: list[int]) -> str:
    """The summary message's text: counts only, so no question's text outlives it."""
    text = f"Workshop over: {asked} questions asked, {answered} answered, {asked - answered} open."
    if votes:
        text += " Most voted: " + ", ".join(str(v) for v in votes) + " votes."
    return text


class WorkshopService:
    def __init__(self, db: Database, events: RoomEvents) -> None:
        self._db = db
        self._events = events

    async def start(
        self, actor: User, room_id: int, duration_s: int, slow_mode: int, guests: bool
    ) -> Room:
        """Turn workshop mode on for `duration_s` (the room's moderators); audit-logged."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, room_id)
            if room.archived:
                raise Forbidden("this room is archived: it is read-only")
            if room.workshop_ends_ms is not None:
                raise Conflict("a workshop is already running in this room")
            if guests:
                rules.check_guests_allowed(room)
            now = now_ms()
            ends = now + duration_s * 1000
            await store.start(
                conn,
                room_id=room.id,
                started_by=actor.id,
                now=now,
                ends_at_ms=ends,
                prev_slow_mode=room.slow_mode,
                prev_guests_allowed=room.guests_allowed,
            )
            changes: dict[str, object] = {"workshop_ends_ms": ends, "slow_mode": slow_mode}
            if guests:
                changes["guests_allowed"] = True
            updated = await self._change_room(outbox, room, changes)
            details = {"duration_s": duration_s, "slow_mode": slow_mode, "guests": guests}
            await audit.record(
                conn, "workshop.start", actor_id=actor.id, now=now, room_id=room.id, details=details
            )
        return updated

    async def stop(self, actor: User, room_id: int) -> wire.WorkshopSummaryOut:
        """End the room's workshop early (its moderators)."""
        async with self._events.write() as outbox:
            room, _ = await moderated_room(outbox.conn, actor, room_id)
            running = await store.running(outbox.conn, room.id)
            ended = (
                None
                if running is None
                else await store.claim_end(outbox.conn, running.id, now_ms())
            )
            if ended is None:
                raise NotFound("no workshop is running in this room")
            await self._finish(outbox, ended, actor.id)
        return await self.summary(actor, room_id)

    async def end_due(self) -> int:
        """End every workshop whose time is up; each is claimed by one node only."""
        async with self._db.read() as conn:
            due = await store.due(conn, now_ms(), 100)
        ended = 0
        for workshop_id in due:
            async with self._events.write() as outbox:
                claimed = await store.claim_end(outbox.conn, workshop_id, now_ms())
                if claimed is not None:
                    await self._finish(outbox, claimed, None)
                    ended += 1
        return ended

    async def summary(self, user: User, room_id: int) -> wire.WorkshopSummaryOut:
        """The room's latest finished workshop, for anyone who may read the room."""
        async with self._db.read() as conn:
            room, _ = await visible_room(conn, user, room_id)
            ended = await store.latest_ended(conn, room.id)
            if ended is None or ended.summary is None or ended.ended_at_ms is None:
                raise NotFound("no workshop has ended in this room")
            top_ids = [int(i) for i in ended.summary["top"]]
            found = await message_store.get_messages(conn, top_ids, user.id)
        top = [wire.message_out(found[i]) for i in top_ids if i in found and not found[i].deleted]
        return wire.WorkshopSummaryOut(
            room=room.id,
            started_at=iso_ms(ended.started_at_ms),
            ended_at=iso_ms(ended.ended_at_ms),
            asked=int(ended.summary["asked"]),
            answered=int(ended.summary["answered"]),
            open=int(ended.summary["open"]),
            top=top,
            message=ended.summary_message_id,
        )

    async def _finish(self, outbox: Outbox, workshop: Workshop, actor_id: int | None) -> None:
        """Give the settings back, post the summary and keep it, in the claim's transaction."""
        conn = outbox.conn
        now = workshop.ended_at_ms or now_ms()
        room = await room_store.get_room(conn, workshop.room_id)
        if room is None:
            return
        changes: dict[str, object] = {
            "workshop_ends_ms": None,
            "slow_mode": workshop.prev_slow_mode,
            "guests_allowed": workshop.prev_guests_allowed,
        }
        await self._change_room(outbox, room, changes)
        asked, answered, top = await question_store.tally(
            conn, room.id, workshop.started_at_ms, now, TOP
        )
        tops = await message_store.get_messages(conn, top, 0)
        votes = [q.votes for i in top if i in tops and (q := tops[i].question) is not None]
        message_id = None
        poster_id = workshop.started_by if workshop.started_by is not None else actor_id
        poster = None if poster_id is None else await account_store.get_user(conn, poster_id)
        if poster is not None:
            seq = await outbox.next_seq(room.id)
            message = await message_store.insert_message(
                conn,
                room_id=room.id,
                seq=seq,
                author=poster,
                body=summary_body(asked, answered, votes),
                reply_to=None,
                mentions=(),
                nonce=None,
                now=now,
            )
            await outbox.log(
                MessageCreated(room=room.id, seq=seq, message=wire.broadcast_out(message))
            )
            message_id = message.id
        summary = {"asked": asked, "answered": answered, "open": asked - answered, "top": top}
        await store.keep_summary(conn, workshop.id, summary, message_id)
        await audit.record(
            conn,
            "workshop.end",
            actor_id=actor_id,
            now=now,
            room_id=room.id,
            details={"asked": asked, "answered": answered, "open": asked - answered},
        )

    async def _change_room(self, outbox: Outbox, room: Room, changes: dict[str, object]) -> Room:
        """Apply settings and announce the room as it now is (`room.updated`)."""
        await room_store.update_room(outbox.conn, room.id, changes)
        seq = await outbox.next_seq(room.id)
        updated = await room_store.get_room(outbox.conn, room.id)
        assert updated is not None
        await outbox.log(RoomUpdated(room=wire.room_out(updated), seq=seq))
        return updated
