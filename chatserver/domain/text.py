"""Text rules: field limits, message bodies (shortcodes outside code) and @mentions."""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from typing import Literal

from chatserver.domain.emojis import emojize_shortcodes
from chatserver.domain.errors import BadRequest, TooLarge

USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
SLUG_MIN, SLUG_MAX = 2, 32
DISPLAY_NAME_MAX = 64
ROOM_NAME_MAX = 80
TOPIC_MAX = 500
REGION_MAX = 64
MAX_BODY_CHARS = 4000
# Mentions beyond this many distinct @names in one message are ignored: it keeps the
# member lookup small, and nobody is meaningfully addressed in a list of fifty.
MAX_MENTIONS = 50

_USERNAME = re.compile(r"[a-zA-Z0-9_.\-]+", re.ASCII)
_SLUG = re.compile(r"[a-z0-9\-]+", re.ASCII)
# `\w` is Unicode-aware, so `é@bob` is not a mention either; tokens are ASCII because
# usernames are.
_MENTION = re.compile(r"(?<!\w)@([a-zA-Z0-9_.\-]+)")
_BACKTICKS = re.compile(r"`+")
# Lone surrogates cannot be encoded as UTF-8 and NUL cannot be stored in a PostgreSQL
# text column: both would fail far from the request that sent them.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# One-line fields are shown inline in lists and headers: control characters, line
# separators and bidi overrides there would break or disguise the text around them.
_NOT_IN_LINE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def normalize_username(raw: object) -> str:
    """The canonical (lower case) username, so `Alice` registers and logs in as `alice`.

    Non-ASCII input is refused before folding: `str.lower` maps some non-ASCII letters
    (the Kelvin sign) onto ASCII ones, which would make look-alike names valid.
    """
    if not isinstance(raw, str):
        raise BadRequest("username must be a string")
    if not USERNAME_MIN <= len(raw) <= USERNAME_MAX or not _USERNAME.fullmatch(raw):
        raise BadRequest(
            f"username must be {USERNAME_MIN}-{USERNAME_MAX} characters of a-z, 0-9, _ . -"
        )
    return raw.lower()


def validate_password(raw: object) -> str:
    """The password as typed (never trimmed: every character counts)."""
    if not isinstance(raw, str):
        raise BadRequest("password must be a string")
    if len(raw) > PASSWORD_MAX:
        # Hashing cost grows with the input; an unbounded password is a cheap way to burn CPU.
        raise TooLarge(f"password is longer than {PASSWORD_MAX} characters")
    if len(raw) < PASSWORD_MIN:
        raise BadRequest(f"password must be at least {PASSWORD_MIN} characters")
    if _SURROGATES.search(raw):
        raise BadRequest("password is not valid Unicode text")
    return raw


def validate_slug(raw: object) -> str:
    """A room slug as given: slugs appear in links, so `Rust` is refused rather than renamed."""
    if not isinstance(raw, str):
        raise BadRequest("slug must be a string")
    if not SLUG_MIN <= len(raw) <= SLUG_MAX or not _SLUG.fullmatch(raw):
        raise BadRequest(f"slug must be {SLUG_MIN}-{SLUG_MAX} characters of a-z, 0-9 and -")
    return raw


def _line(raw: str, field: str, limit: int) -> str:
    """Trimmed one-line text of at most `limit` characters; may be empty."""
    text = raw.strip()
    if len(text) > limit:
        raise TooLarge(f"{field} is longer than {limit} characters")
    if _NOT_IN_LINE.search(text):
        raise BadRequest(f"{field} must be one line without control characters")
    return text


def validate_display_name(raw: object, fallback: str) -> str:
    """The name shown beside messages; None (not given) means `fallback`, usually the username."""
    if raw is None:
        return fallback
    if not isinstance(raw, str):
        raise BadRequest("display_name must be a string")
    text = _line(raw, "display_name", DISPLAY_NAME_MAX)
    if not text:
        raise BadRequest("display_name is empty")
    return text


def validate_room_name(raw: object) -> str:
    """A room's title, trimmed, 1-80 characters."""
    if not isinstance(raw, str):
        raise BadRequest("name must be a string")
    text = _line(raw, "name", ROOM_NAME_MAX)
    if not text:
        raise BadRequest("name is empty")
    return text


def validate_topic(raw: object) -> str | None:
    """A room's topic, trimmed; None or empty means no topic, so `""` clears it."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("topic must be a string or null")
    return _line(raw, "topic", TOPIC_MAX) or None


def validate_region(raw: object) -> str | None:
    """A user's free region label, trimmed; None or empty means no region."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("region must be a string or null")
    return _line(raw, "region", REGION_MAX) or None


def _split_code(body: str) -> list[tuple[str, bool]]:
    """Cut `body` into (text, is_code) pieces, following Markdown closely enough for chat.

    A run of one or two backticks opens inline code closed by the next run of the same
    length; unclosed, the backticks are literal. A run of three or more opens a fence
    closed by the next run at least as long; unclosed, the fence runs to the end (as a
    Markdown fence does). Fences may start mid-line, as chat apps allow.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(body)]
    if len(runs) < 2 and not (runs and runs[0][1] - runs[0][0] >= 3):
        return [(body, False)]
    # Starts of the runs of each length, so finding a closer is a bisect, not a rescan:
    # a message of many unmatched backticks stays linear.
    by_length: dict[int, list[int]] = {}
    for start, end in runs:
        by_length.setdefault(end - start, []).append(start)
    pieces: list[tuple[str, bool]] = []
    done = 0  # body[:done] is already in pieces
    for start, end in runs:
        if start < done:
            continue  # inside a span already closed
        length = end - start
        closer = _closer(by_length, length, end)
        if closer is None and length < 3:
            continue
        close_end = len(body) if closer is None else closer + _run_length(body, closer)
        if start > done:
            pieces.append((body[done:start], False))
        pieces.append((body[start:close_end], True))
        done = close_end
        if closer is None:
            break
    if done < len(body):
        pieces.append((body[done:], False))
    return pieces


def _closer(by_length: dict[int, list[int]], length: int, after: int) -> int | None:
    """Start of the first run closing a span of `length` backticks that opened before `after`."""
    lengths = [length] if length < 3 else [n for n in by_length if n >= length]
    found: int | None = None
    for n in lengths:
        starts = by_length[n]
        i = bisect.bisect_left(starts, after)
        if i < len(starts) and (found is None or starts[i] < found):
            found = starts[i]
    return found


def _run_length(body: str, start: int) -> int:
    match = _BACKTICKS.match(body, start)
    return 0 if match is None else match.end() - start


def prepare_body(raw: object) -> str:
    """The message body to store: as sent, with `:shortcodes:` outside code turned into emoji.

    The limit applies to the trimmed text as typed (clients count what the user sees in
    the box); turning shortcodes into emoji only ever shortens it.
    """
    if not isinstance(raw, str):
        raise BadRequest("body must be a string")
    stripped = raw.strip()
    if not stripped:
        raise BadRequest("body is empty")
    if len(stripped) > MAX_BODY_CHARS:
        raise TooLarge(f"body is longer than {MAX_BODY_CHARS} characters")
    if _UNSTORABLE.search(raw):
        raise BadRequest("body contains a NUL character or invalid Unicode")
    if ":" not in raw:
        return raw
    return "".join(
        text if is_code else emojize_shortcodes(text) for text, is_code in _split_code(raw)
    )


def _mention_tokens(body: str) -> list[str]:
    """Distinct lower-cased @tokens outside code, in first-seen order, at most MAX_MENTIONS."""
    tokens: dict[str, None] = {}
    for text, is_code in _split_code(body):
        if is_code or "@" not in text:
            continue
        for match in _MENTION.finditer(text):
            token = match.group(1).lower()
            if len(token) >= USERNAME_MIN:
                tokens[token] = None
                if len(tokens) == MAX_MENTIONS:
                    return list(tokens)
    return list(tokens)


RoomCall = Literal["room", "here"]


def room_call(body: str) -> RoomCall | None:
    """`room` when the body says `@room` outside code, else `here` for `@here`, else None.

    From one of the room's moderators these notify every member (`@here`: those online);
    from anyone else they are plain text. Trailing punctuation does not matter
    (`@here.`), more letters do (`@rooms`).
    """
    if "@" not in body:
        return None
    called = {token.rstrip("._-") for token in _mention_tokens(body)}
    if "room" in called:
        return "room"
    return "here" if "here" in called else None


def _prefixes(token: str) -> range:
    """Lengths of the prefixes of `token` that could be usernames, longest first.

    Every prefix is a candidate because a mention is often followed by punctuation that
    usernames may contain: `@alice.` ends a sentence, `@alice.smith` may be a user.
    """
    return range(min(len(token), USERNAME_MAX), USERNAME_MIN - 1, -1)


def mention_candidates(body: str) -> list[str]:
    """The usernames to look up among the room's members for the @mentions in `body`."""
    candidates: dict[str, None] = {}
    for token in _mention_tokens(body):
        for length in _prefixes(token):
            candidates[token[:length]] = None
    return list(candidates)


def resolve_mentions(body: str, members: Mapping[str, int]) -> list[int]:
    """User ids mentioned in `body`, in first-mention order, without duplicates.

    `members` maps username to id for the room's members (looked up from
    `mention_candidates`); for each @token the longest member username that is a prefix
    of it wins, so `@alice.smith` is alice.smith when she exists and alice otherwise.
    """
    mentioned: dict[int, None] = {}
    for token in _mention_tokens(body):
        for length in _prefixes(token):
            user_id = members.get(token[:length])
            if user_id is not None:
                mentioned[user_id] = None
                break
    return list(mentioned)
