"""Polls' rules on input: what a new poll may hold and what a vote may choose."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chatserver.domain.errors import BadRequest, Conflict, TooLarge

MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_QUESTION_CHARS = 300
MAX_OPTION_CHARS = 100


@dataclass(frozen=True, slots=True)
class PollDraft:
    """A poll to store with a new message: trimmed, checked text."""

    question: str
    options: tuple[str, ...]
    multiple: bool = False
    anonymous: bool = False


def _clean(raw: str, what: str, limit: int) -> str:
    text = raw.strip()
    if not text:
        raise BadRequest(f"{what} is empty")
    if len(text) > limit:
        raise TooLarge(f"{what} is longer than {limit} characters")
    if "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise BadRequest(f"{what} contains a NUL character or invalid Unicode")
    return text


def _same(text: str) -> str:
    """What makes two options the same: case, accents' encoding and inner spaces aside."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def draft_poll(
    question: str, options: Sequence[str], *, multiple: bool = False, anonymous: bool = False
) -> PollDraft:
    """A new poll's question (1-300 characters) and 2-10 distinct non-blank options
    (1-100 characters each), or the refusal: bad_request, too_large for a long text."""
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise BadRequest(f"a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options")
    cleaned = tuple(
        _clean(o, f"option {i}", MAX_OPTION_CHARS) for i, o in enumerate(options, start=1)
    )
    if len({_same(o) for o in cleaned}) != len(cleaned):
        raise BadRequest("a poll's options must all differ")
    return PollDraft(
        _clean(question, "the poll's question", MAX_QUESTION_CHARS),
        cleaned,
        multiple=multiple,
        anonymous=anonymous,
    )


def check_vote(
    chosen: Sequence[int], option_ids: Collection[int], *, multiple: bool, closed: bool
) -> frozenset[int]:
    """The options a vote sets (empty: withdraw), or the refusal: a closed poll is a
    `conflict`; an unknown option, an option twice, or several in a single-choice poll
    are `bad_request`."""
    if closed:
        raise Conflict("the poll is closed")
    picked = frozenset(chosen)
    if len(picked) != len(chosen):
        raise BadRequest("an option is chosen twice")
    unknown = sorted(picked - set(option_ids))
    if unknown:
        raise BadRequest(f"no such option in this poll: {unknown[0]}")
    if len(picked) > 1 and not multiple:
        raise BadRequest("this poll takes one option")
    return picked
