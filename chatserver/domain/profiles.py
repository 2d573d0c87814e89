"""Profiles: the limits of a bio and pronouns, and who may see a user's profile."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatserver.domain.errors import BadRequest, TooLarge
from chatserver.domain.models import User

BIO_MAX = 300
"""Characters of a bio, after trimming: a few sentences, not a page."""
BIO_MAX_LINES = 6
PRONOUNS_MAX = 32

# A bio may have line breaks (a short list of interests); nothing else invisible: other
# control characters, line separators and bidi overrides would disguise the text around
# them. Pronouns are one line, like a display name.
_NOT_IN_BIO = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NOT_IN_LINE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def validate_bio(raw: object) -> str | None:
    """A bio, trimmed, with Windows line ends folded; None or empty means no bio."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("bio must be a string or null")
    text = raw.replace("\r\n", "\n").strip()
    if len(text) > BIO_MAX:
        raise TooLarge(f"bio is longer than {BIO_MAX} characters")
    if _NOT_IN_BIO.search(text):
        raise BadRequest("bio must not contain control characters")
    if text.count("\n") >= BIO_MAX_LINES:
        raise BadRequest(f"bio has more than {BIO_MAX_LINES} lines")
    return text or None


def validate_pronouns(raw: object) -> str | None:
    """Pronouns as the user writes them (`elle`, `she/her`, `iel`); None or empty: none."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("pronouns must be a string or null")
    text = raw.strip()
    if len(text) > PRONOUNS_MAX:
        raise TooLarge(f"pronouns are longer than {PRONOUNS_MAX} characters")
    if _NOT_IN_LINE.search(text):
        raise BadRequest("pronouns must be one line without control characters")
    return text or None


@dataclass(frozen=True, slots=True)
class Relation:
    """What ties a viewer to a user, as far as seeing their profile goes."""

    shares_room: bool
    friends: bool
    blocked_by_them: bool
    """The user blocked the viewer."""


def may_see(viewer: User, subject: User, relation: Relation) -> bool:
    """Whether `viewer` may see `subject`'s profile.

    One's own, always. Otherwise the two must share a room or be friends (guests cannot
    be friends, so a guest sees, and is seen by, the people of their rooms only), and
    the subject must not have blocked the viewer. Admins see everyone's, as they answer
    reports about anyone. Everyone else gets `not_found`, so that a profile's existence
    does not leak.
    """
    if viewer.id == subject.id or viewer.role == "admin":
        return True
    if relation.blocked_by_them:
        return False
    return relation.shares_room or relation.friends


@dataclass(frozen=True, slots=True)
class Profile:
    """A user with what only their profile shows."""

    user: User
    bio: str | None
    pronouns: str | None
