"""Meetups' rules: what a meetup may say (title, times, place, capacity), where it may be
posted, and the RSVP statuses; pure functions of their inputs and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from chatserver.domain.errors import BadRequest, TooLarge
from chatserver.domain.models import RoomKind
from chatserver.domain.text import _line

TITLE_MAX = 200
PLACE_MAX = 200
CAPACITY_MAX = 10_000
"""Places a meetup may offer: a school's biggest gathering, not a stadium."""
AHEAD_MAX_MS = 2 * 366 * 86_400_000
"""How far ahead a meetup may be planned."""
LENGTH_MAX_MS = 31 * 86_400_000
"""The longest a meetup may last (a summer camp)."""
MEETUP_KINDS: frozenset[RoomKind] = frozenset({"region", "cohort", "topic"})

Answer = Literal["going", "maybe", "no"]
ANSWERS: tuple[Answer, ...] = get_args(Answer)


@dataclass(frozen=True, slots=True)
class MeetupSpec:
    """A meetup as posted or changed, validated."""

    title: str
    starts_at_ms: int
    ends_at_ms: int | None
    place: str | None
    capacity: int | None


def parse_time(raw: object, field: str) -> int:
    """An ISO 8601 time with its offset (`Z` or `+02:00`) as epoch milliseconds."""
    if not isinstance(raw, str) or not raw or len(raw) > 40:
        raise BadRequest(f"{field} must be an ISO 8601 time, e.g. 2026-03-24T18:30:00.000Z")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"{field} must be an ISO 8601 time, e.g. 2026-03-24T18:30:00.000Z"
        ) from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{field} needs a time zone: end it with Z or an offset like +02:00")
    return int(parsed.timestamp() * 1000)


def check_title(raw: object) -> str:
    if not isinstance(raw, str):
        raise BadRequest("title must be a string")
    title = _line(raw, "title", TITLE_MAX)
    if not title:
        raise BadRequest("title is empty")
    return title


def check_place(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("place must be a string or null")
    return _line(raw, "place", PLACE_MAX) or None


def check_capacity(raw: object) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise BadRequest("capacity must be a whole number or null")
    if raw < 1:
        raise BadRequest("capacity must be at least 1 (null: no limit)")
    if raw > CAPACITY_MAX:
        raise TooLarge(f"capacity is at most {CAPACITY_MAX}")
    return raw


def check_times(starts_at_ms: int, ends_at_ms: int | None, now: int) -> None:
    """A meetup starts in the future, within two years, and ends after it starts."""
    if starts_at_ms <= now:
        raise BadRequest("starts_at is in the past: a meetup is planned ahead")
    if starts_at_ms > now + AHEAD_MAX_MS:
        raise BadRequest("starts_at is more than two years ahead")
    if ends_at_ms is not None:
        if ends_at_ms <= starts_at_ms:
            raise BadRequest("ends_at must be after starts_at")
        if ends_at_ms - starts_at_ms > LENGTH_MAX_MS:
            raise BadRequest("a meetup lasts at most 31 days")


def check_room_kind(kind: RoomKind) -> None:
    if kind not in MEETUP_KINDS:
        raise BadRequest("meetups are posted in region, cohort and topic rooms, not in DMs")


def new_spec(
    title: object,
    starts_at: object,
    ends_at: object,
    place: object,
    capacity: object,
    now: int,
) -> MeetupSpec:
    """A new meetup's fields, checked; every refusal names the field."""
    checked_title = check_title(title)
    starts = parse_time(starts_at, "starts_at")
    ends = None if ends_at is None else parse_time(ends_at, "ends_at")
    check_times(starts, ends, now)
    return MeetupSpec(checked_title, starts, ends, check_place(place), check_capacity(capacity))
