"""Questions: a message's question state, its votes (one row per voter, the count kept in
step) and each room's queue, read as a range of one index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Question, QuestionState
from chatserver.store.tables import AnyRow, messages, question_votes, questions
from chatserver.store.unique import insert_unique

QuestionSort = Literal["votes", "oldest"]

QUESTION_COLUMNS = (
    questions.c.state.label("q_state"),
    questions.c.votes.label("q_votes"),
    questions.c.claimed_by.label("q_claimed_by"),
    questions.c.answered_by.label("q_answered_by"),
    questions.c.answer_id.label("q_answer"),
    questions.c.asked_at_ms.label("q_asked_at_ms"),
)
"""Selected beside a message (outer join on its id): its question, or all null."""


def question_from_row(row: AnyRow) -> Question | None:
    """The question of a row that selected QUESTION_COLUMNS; None for a plain message."""
    if row.q_state is None:
        return None
    return Question(
        state=row.q_state,
        votes=row.q_votes,
        claimed_by=row.q_claimed_by,
        answered_by=row.q_answered_by,
        answer=row.q_answer,
        asked_at_ms=row.q_asked_at_ms,
    )


async def ask(conn: AsyncConnection, message_id: int, room_id: int, now: int) -> bool:
    """Make the message an open question; False when it already is a question."""
    added = insert(questions).values(
        message_id=message_id, room_id=room_id, state="open", votes=0, asked_at_ms=now
    )
    return await insert_unique(conn, added) is not None


async def set_state(
    conn: AsyncConnection,
    message_id: int,
    state: QuestionState,
    answered_by: int | None,
    answer: int | None,
) -> None:
    await conn.execute(
        update(questions)
        .where(questions.c.message_id == message_id)
        .values(state=state, answered_by=answered_by, answer_id=answer)
    )


async def set_claim(conn: AsyncConnection, message_id: int, claimed_by: int | None) -> None:
    await conn.execute(
        update(questions).where(questions.c.message_id == message_id).values(claimed_by=claimed_by)
    )


async def vote(conn: AsyncConnection, message_id: int, user_id: int, now: int) -> bool:
    """Add the user's vote and count it, in the caller's transaction; False (nothing
    counted) when they had already voted, so a count never drifts from its rows."""
    added = insert(question_votes).values(message_id=message_id, user_id=user_id, created_at_ms=now)
    if await insert_unique(conn, added) is None:
        return False
    await _bump(conn, message_id, 1)
    return True


async def unvote(conn: AsyncConnection, message_id: int, user_id: int) -> bool:
    """Take the user's vote back; False when there was none."""
    result = await conn.execute(
        delete(question_votes).where(
            question_votes.c.message_id == message_id, question_votes.c.user_id == user_id
        )
    )
    if not result.rowcount:
        return False
    await _bump(conn, message_id, -1)
    return True


async def _bump(conn: AsyncConnection, message_id: int, delta: int) -> None:
    await conn.execute(
        update(questions)
        .where(questions.c.message_id == message_id)
        .values(votes=questions.c.votes + delta)
    )


async def my_votes(conn: AsyncConnection, message_ids: Sequence[int], viewer_id: int) -> set[int]:
    """Which of these questions the viewer voted for: one query on the votes' key."""
    if not message_ids:
        return set()
    rows = await conn.execute(
        select(question_votes.c.message_id).where(
            question_votes.c.user_id == viewer_id,
            question_votes.c.message_id.in_(message_ids),
        )
    )
    return {row[0] for row in rows}


async def queue(
    conn: AsyncConnection, room_id: int, state: QuestionState, sort: QuestionSort, limit: int
) -> list[int]:
    """Question ids of a room in queue order: most votes then oldest, or oldest first.

    Both orders walk `ix_questions_queue` from its (room, state) prefix: no sort of
    the room's questions, however many. Deleted messages are skipped.
    """
    stmt = (
        select(questions.c.message_id)
        .join(messages, messages.c.id == questions.c.message_id)
        .where(
            questions.c.room_id == room_id,
            questions.c.state == state,
            messages.c.deleted.is_(False),
        )
    )
    if sort == "votes":
        stmt = stmt.order_by(questions.c.votes.desc(), questions.c.message_id)
    else:
        stmt = stmt.order_by(questions.c.message_id)
    return [row[0] for row in await conn.execute(stmt.limit(limit))]


async def tally(
    conn: AsyncConnection, room_id: int, since_ms: int, until_ms: int, top: int
) -> tuple[int, int, list[int]]:
    """Questions asked in a room between two times: how many, how many answered, and
    the ids of the `top` most voted (then oldest)."""
    asked = (
        questions.c.room_id == room_id,
        questions.c.asked_at_ms >= since_ms,
        questions.c.asked_at_ms <= until_ms,
        messages.c.deleted.is_(False),
    )
    base = select(questions.c.state, func.count()).join(
        messages, messages.c.id == questions.c.message_id
    )
    rows = await conn.execute(base.where(*asked).group_by(questions.c.state))
    counts: dict[str, int] = {str(state): int(n) for state, n in rows.tuples()}
    best = await conn.execute(
        select(questions.c.message_id)
        .join(messages, messages.c.id == questions.c.message_id)
        .where(*asked)
        .order_by(questions.c.votes.desc(), questions.c.message_id)
        .limit(top)
    )
    return sum(counts.values()), counts.get("answered", 0), [row[0] for row in best]
