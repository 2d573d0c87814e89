"""Polls: a message's question and options, its votes (one row per voter and option, the
counts kept in step) and the voters list.

A voter is named in `poll_votes` by an HMAC of their user id keyed by the poll's own
random salt, so a vote is found again for its voter (to change it, to show `my_vote`)
without the row holding the user id. Only polls that are not anonymous also keep the
user id, for the voters list; no time is kept with a vote.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Poll, PollOption
from chatserver.store.tables import AnyRow, poll_options, poll_votes, polls

POLL_COLUMNS = (
    polls.c.question.label("p_question"),
    polls.c.multiple.label("p_multiple"),
    polls.c.anonymous.label("p_anonymous"),
    polls.c.closed.label("p_closed"),
    polls.c.voters.label("p_voters"),
    polls.c.salt.label("p_salt"),
)
"""Selected beside a message (outer join on its id): its poll's head, or all null."""


def poll_from_row(row: AnyRow) -> Poll | None:
    """The poll of a row that selected POLL_COLUMNS, without its options (`with_options`
    adds them); None for a message that is not a poll."""
    if row.p_question is None:
        return None
    return Poll(
        question=row.p_question,
        options=(),
        multiple=bool(row.p_multiple),
        anonymous=bool(row.p_anonymous),
        closed=bool(row.p_closed),
        voters=row.p_voters,
        salt=row.p_salt,
    )


def voter_key(salt: str, user_id: int) -> str:
    """How a poll names one voter: HMAC-SHA256 of the user id under the poll's salt."""
    return hmac.new(salt.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()


async def create(
    conn: AsyncConnection,
    message_id: int,
    question: str,
    options: Sequence[str],
    multiple: bool,
    anonymous: bool,
    now: int,
) -> Poll:
    """Store a new poll on a message just inserted; options are numbered from 1."""
    salt = secrets.token_hex(16)
    await conn.execute(
        insert(polls).values(
            message_id=message_id,
            question=question,
            multiple=multiple,
            anonymous=anonymous,
            closed=False,
            voters=0,
            salt=salt,
            created_at_ms=now,
        )
    )
    numbered = tuple(PollOption(i, text, 0) for i, text in enumerate(options, start=1))
    await conn.execute(
        insert(poll_options),
        [
            {"message_id": message_id, "option_id": o.id, "text": o.text, "votes": 0}
            for o in numbered
        ],
    )
    return Poll(question, numbered, multiple, anonymous, False, 0, salt, my_vote=())


@dataclass(frozen=True, slots=True)
class Locked:
    """A poll's state read under its row lock: every vote and close of one poll queues
    on it, so what a writer reads after it stays true until its commit."""

    multiple: bool
    anonymous: bool
    closed: bool
    salt: str


async def lock(conn: AsyncConnection, message_id: int) -> Locked | None:
    """Lock the poll's row for this transaction (PostgreSQL: FOR UPDATE; SQLite writers
    are already one at a time) and read it; None when the message has no poll."""
    row = (
        await conn.execute(
            select(polls.c.multiple, polls.c.anonymous, polls.c.closed, polls.c.salt)
            .where(polls.c.message_id == message_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    return Locked(bool(row.multiple), bool(row.anonymous), bool(row.closed), row.salt)


async def ballot(conn: AsyncConnection, message_id: int, voter: str) -> frozenset[int]:
    """The options one voter chose (empty: no vote)."""
    rows = await conn.execute(
        select(poll_votes.c.option_id).where(
            poll_votes.c.message_id == message_id, poll_votes.c.voter == voter
        )
    )
    return frozenset(int(i) for i in rows.scalars())


async def set_vote(
    conn: AsyncConnection,
    message_id: int,
    voter: str,
    user_id: int | None,
    before: frozenset[int],
    after: frozenset[int],
) -> None:
    """Replace a voter's choices `before` by `after` (the caller holds the poll's lock):
    rows go and come, and each count moves by exactly the rows that did."""
    dropped = sorted(before - after)
    added = sorted(after - before)
    if dropped:
        await conn.execute(
            delete(poll_votes).where(
                poll_votes.c.message_id == message_id,
                poll_votes.c.voter == voter,
                poll_votes.c.option_id.in_(dropped),
            )
        )
    if added:
        await conn.execute(
            insert(poll_votes),
            [
                {"message_id": message_id, "voter": voter, "option_id": o, "user_id": user_id}
                for o in added
            ],
        )
    for option_id, delta in [*((o, -1) for o in dropped), *((o, 1) for o in added)]:
        await conn.execute(
            update(poll_options)
            .where(poll_options.c.message_id == message_id, poll_options.c.option_id == option_id)
            .values(votes=poll_options.c.votes + delta)
        )
    voters_delta = int(bool(after)) - int(bool(before))
    if voters_delta:
        await conn.execute(
            update(polls)
            .where(polls.c.message_id == message_id)
            .values(voters=polls.c.voters + voters_delta)
        )


async def close(conn: AsyncConnection, message_id: int, user_id: int, now: int) -> bool:
    """Close an open poll; False when it already was closed."""
    result = await conn.execute(
        update(polls)
        .where(polls.c.message_id == message_id, polls.c.closed.is_(False))
        .values(closed=True, closed_by=user_id, closed_at_ms=now)
    )
    return bool(result.rowcount)


async def with_options(
    conn: AsyncConnection, heads: Mapping[int, Poll], viewer_id: int | None
) -> dict[int, Poll]:
    """The polls of these messages with their options and, for a viewer, `my_vote`: two
    queries for a whole page, however many polls it holds."""
    if not heads:
        return {}
    ids = list(heads)
    rows = await conn.execute(
        select(
            poll_options.c.message_id,
            poll_options.c.option_id,
            poll_options.c.text,
            poll_options.c.votes,
        )
        .where(poll_options.c.message_id.in_(ids))
        .order_by(poll_options.c.message_id, poll_options.c.option_id)
    )
    options: dict[int, list[PollOption]] = {i: [] for i in ids}
    for message_id, option_id, text, votes in rows:
        options[message_id].append(PollOption(option_id, text, votes))
    mine: dict[int, list[int]] = {i: [] for i in ids}
    if viewer_id is not None:
        keys = {i: voter_key(head.salt, viewer_id) for i, head in heads.items()}
        chosen = await conn.execute(
            select(poll_votes.c.message_id, poll_votes.c.option_id).where(
                or_(
                    *(
                        and_(poll_votes.c.message_id == i, poll_votes.c.voter == key)
                        for i, key in keys.items()
                    )
                )
            )
        )
        for message_id, option_id in chosen:
            mine[message_id].append(option_id)
    return {
        i: replace(
            head,
            options=tuple(options[i]),
            my_vote=None if viewer_id is None else tuple(sorted(mine[i])),
        )
        for i, head in heads.items()
    }


async def voters(conn: AsyncConnection, message_id: int) -> list[tuple[int, int]]:
    """(user id, option id) of every vote of a poll that keeps its voters, by option."""
    rows = await conn.execute(
        select(poll_votes.c.user_id, poll_votes.c.option_id)
        .where(poll_votes.c.message_id == message_id, poll_votes.c.user_id.is_not(None))
        .order_by(poll_votes.c.option_id, poll_votes.c.user_id)
    )
    return [(int(u), int(o)) for u, o in rows]
