"""What a shared replay needs besides the messages: who may replay which rooms up to
which seq, and who would see a page of messages differently from everyone else.

A replay read once for a room is sent to every member resuming from the same seq
(`services/replay_cache.py`). Two reads make that safe: the member's own rooms and their
last seqs (authorization, and the snapshot the shared copy must match), and the members
holding their own state on the replayed messages (a reaction's `me`, a question's or a
poll's `my_vote`, a meetup's `my_rsvp`), who get a replay read for themselves instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, bindparam, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Message
from chatserver.store.polls import voter_key
from chatserver.store.tables import (
    meetup_rsvps,
    poll_votes,
    question_votes,
    reactions,
    room_members,
    rooms,
)

_MEMBER_LAST_SEQS = (
    select(rooms.c.id, rooms.c.last_seq)
    .join(room_members, room_members.c.room_id == rooms.c.id)
    .where(
        room_members.c.user_id == bindparam("user_id"),
        rooms.c.id.in_(bindparam("room_ids", expanding=True)),
    )
)


async def member_last_seqs(
    conn: AsyncConnection, user_id: int, room_ids: Iterable[int]
) -> dict[int, int]:
    """Each of these rooms the user is a member of, with its last seq; the others are
    left out (the caller refuses them). One indexed read of a few rows: the membership
    check that comes before any shared replay is handed over."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = await conn.execute(_MEMBER_LAST_SEQS, {"user_id": user_id, "room_ids": ids})
    return {int(row[0]): int(row[1]) for row in rows}


@dataclass(frozen=True, slots=True)
class Personal:
    """The members whose view of a page differs from everyone else's: users with a
    reaction, a question vote or a meetup answer on one of its messages, and each poll's
    voters, named as the poll names them (HMAC under its salt, since anonymous polls keep
    no user id)."""

    users: frozenset[int]
    poll_voters: tuple[tuple[str, frozenset[str]], ...]

    def includes(self, user_id: int) -> bool:
        if user_id in self.users:
            return True
        return any(voter_key(salt, user_id) in voters for salt, voters in self.poll_voters)

    @property
    def size(self) -> int:
        """Roughly the bytes it holds, for a cache bounded by bytes."""
        return 64 * len(self.users) + sum(96 * len(voters) for _, voters in self.poll_voters)


NOT_PERSONAL = Personal(frozenset(), ())


def _holders(ids: list[int]) -> CompoundSelect[int, int]:
    return union_all(
        select(reactions.c.message_id, reactions.c.user_id).where(reactions.c.message_id.in_(ids)),
        select(question_votes.c.message_id, question_votes.c.user_id).where(
            question_votes.c.message_id.in_(ids)
        ),
        select(meetup_rsvps.c.message_id, meetup_rsvps.c.user_id).where(
            meetup_rsvps.c.message_id.in_(ids)
        ),
    )


async def personal_by_room(conn: AsyncConnection, page: Sequence[Message]) -> dict[int, Personal]:
    """Who holds their own state on the page's live messages, per room: one read for
    reactions, question votes and meetup answers together, and one for poll votes when
    the page holds a poll. Rooms nobody is personal in are left out."""
    live = {m.id: m for m in page if not m.deleted}
    if not live:
        return {}
    users: dict[int, set[int]] = defaultdict(set)
    rows = await conn.execute(_holders(list(live)))
    for message_id, user_id in rows:
        if user_id is not None:
            users[live[message_id].room_id].add(int(user_id))
    polls = {i: m for i, m in live.items() if m.poll is not None}
    voters: dict[int, list[tuple[str, frozenset[str]]]] = defaultdict(list)
    if polls:
        keys: dict[int, set[str]] = defaultdict(set)
        chosen = await conn.execute(
            select(poll_votes.c.message_id, poll_votes.c.voter).where(
                poll_votes.c.message_id.in_(list(polls))
            )
        )
        for message_id, voter in chosen:
            keys[message_id].add(str(voter))
        for message_id, named in keys.items():
            message = polls[message_id]
            assert message.poll is not None
            voters[message.room_id].append((message.poll.salt, frozenset(named)))
    return {
        room_id: Personal(frozenset(users.get(room_id, ())), tuple(voters.get(room_id, ())))
        for room_id in users.keys() | voters.keys()
    }
