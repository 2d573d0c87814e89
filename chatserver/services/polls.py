"""Polls: votes, closing and the voters list; every change is a sequenced
`message.updated` carrying the message's full state (its `my_vote` null, as broadcast).

Every vote and close of one poll first locks the poll's row, so each reads the voter's
current choice and the poll's state after the previous writer committed: counts move by
exactly the rows added and removed, and nothing is counted on a poll closed meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules
from chatserver.domain.errors import Forbidden, NotFound, NotMember
from chatserver.domain.models import Membership, Message, PollOption, Room, User, now_ms
from chatserver.domain.polls import check_vote
from chatserver.services.message_updates import update_message
from chatserver.services.messages import message_in_view
from chatserver.services.room_events import RoomEvents
from chatserver.store import accounts as account_store
from chatserver.store import polls as store
from chatserver.store.engine import Database
from chatserver.store.polls import Locked


def _not_a_poll() -> NotFound:
    return NotFound("this message has no poll")


class PollService:
    def __init__(self, db: Database, events: RoomEvents) -> None:
        self._db = db
        self._events = events

    async def vote(self, user: User, message_id: int, options: Sequence[int]) -> Message:
        """Set the caller's whole vote (members of the room); `[]` withdraws it. A vote
        equal to the current one changes nothing and takes no seq."""

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            if message.poll is None:
                raise _not_a_poll()
            if seat is None:
                raise NotMember("join the room first")
            rules.check_can_write(user, room, seat, now_ms())
            poll = await _locked(conn, message)
            # Options never change once the poll is sent: the ones read with the message hold.
            known = [o.id for o in message.poll.options]
            chosen = check_vote(options, known, multiple=poll.multiple, closed=poll.closed)
            voter = store.voter_key(poll.salt, user.id)
            before = await store.ballot(conn, message.id, voter)
            if before == chosen:
                return False
            kept_id = None if poll.anonymous else user.id
            await store.set_vote(conn, message.id, voter, kept_id, before, chosen)
            return True

        return await update_message(self._events, user, message_id, change)

    async def close(self, user: User, message_id: int) -> Message:
        """Close the poll (its author and the room's moderators); closing a closed poll
        changes nothing."""

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            if message.poll is None:
                raise _not_a_poll()
            if message.author.id != user.id and not rules.moderates(user, room, seat):
                raise Forbidden("only the poll's author and the room's moderators close it")
            rules.check_can_write(user, room, seat, now_ms())
            await _locked(conn, message)
            return await store.close(conn, message.id, user.id, now_ms())

        return await update_message(self._events, user, message_id, change)

    async def voters(self, user: User, message_id: int) -> list[tuple[PollOption, list[User]]]:
        """Who chose what, option by option, for whoever may read the room; an anonymous
        poll's voters are refused to everyone, admins included (they are not stored)."""
        async with self._db.read() as conn:
            message, _, _ = await message_in_view(conn, user, message_id)
            if message.poll is None:
                raise _not_a_poll()
            if message.poll.anonymous:
                raise Forbidden("this poll is anonymous: its voters are not kept")
            votes = await store.voters(conn, message.id)
            users = await account_store.get_users(conn, {u for u, _ in votes})
        by_option: dict[int, list[User]] = {o.id: [] for o in message.poll.options}
        for user_id, option_id in votes:
            if user_id in users and option_id in by_option:
                by_option[option_id].append(users[user_id])
        return [(o, by_option[o.id]) for o in message.poll.options]


async def _locked(conn: AsyncConnection, message: Message) -> Locked:
    """The poll's row, locked until the write commits (see the module's docstring)."""
    poll = await store.lock(conn, message.id)
    if poll is None:  # deleted with its message since it was read
        raise _not_a_poll()
    return poll
