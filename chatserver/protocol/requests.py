"""What clients may send: every HTTP input and WebSocket op as a typed Struct, with its limits.

The constraints here are the contract's shape rules (ids are positive int64, seqs are
non-negative int64, enums are closed, some strings have a fixed form), so a request
that decodes is well-formed and services receive plain ints, Literals and Structs.
Rules that depend on meaning, such as trimming a message body before counting it,
stay in `chatserver.domain.text`. Unknown fields are ignored everywhere, as the
protocol promises; wrong types are never coerced.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from chatserver.domain import invites
from chatserver.domain.errors import BadRequest, ChatError, TooLarge
from chatserver.domain.invites import InviteRole
from chatserver.domain.models import (
    AssignableRole,
    DmPolicy,
    Level,
    Posting,
    QuestionState,
    ReportAction,
    ReportState,
    RoomKind,
    Visibility,
)

INT64_MAX = 2**63 - 1
MAX_JSON_DEPTH = 64
"""Nesting allowed in a request body or frame; the protocol's own shapes need three."""

Id = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX, description="a positive id")]
Seq = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX, description="a room sequence number")]
Ref = str | int | float | bool | None
Nonce = (
    Annotated[str, msgspec.Meta(max_length=128)]
    | Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]
    | None
)
Username = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-zA-Z0-9_.\-]{3,32}$",
        description="3-32 characters of a-z A-Z 0-9 _ . -, folded to lower case",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9\-]{2,32}$")]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=200)]
UsersLimit = Annotated[int, msgspec.Meta(ge=1, le=50)]
MembersLimit = Annotated[int, msgspec.Meta(ge=1, le=1000)]
InboxLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]
ModerationReason = Annotated[str, msgspec.Meta(max_length=500)]
SlowMode = Annotated[int, msgspec.Meta(ge=0, le=21_600, description="seconds, 0 is off")]
MuteSeconds = Annotated[
    int, msgspec.Meta(ge=60, le=28 * 86_400, description="seconds: 60 s to 28 days")
]
InviteCode = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=128, description="an invite's code (unknown: 404)"),
]
InviteUses = Annotated[int, msgspec.Meta(ge=1, le=invites.MAX_USES)]
InviteLifetime = Annotated[
    int,
    msgspec.Meta(
        ge=invites.MIN_EXPIRY_S, le=invites.MAX_EXPIRY_S, description="seconds: 60 s to 30 days"
    ),
]


# -- WebSocket ops (the ones shared with HTTP are the same types) ----------------------


class Command(msgspec.Struct, tag_field="op", kw_only=True):
    """Base of every WebSocket op; `ref` is echoed in the reply. Over HTTP it is unused."""

    ref: Ref = None


class Hello(Command, tag="hello"):
    token: str
    v: int = 1
    since: Annotated[dict[Id, Seq], msgspec.Meta(max_length=10_000)] | None = None


class Ping(Command, tag="ping"):
    pass


class Send(Command, tag="send"):
    room: Id
    body: str
    reply_to: Id | None = None
    nonce: Nonce = None
    question: bool = False
    poll: NewPoll | None = None
    event: NewEvent | None = None
    attachments: Annotated[
        list[Id], msgspec.Meta(max_length=10, description="up to 10 of the caller's upload ids")
    ] = msgspec.field(default_factory=list)


class Edit(Command, tag="edit"):
    message: Id
    body: str


class Delete(Command, tag="delete"):
    message: Id


class React(Command, tag="react"):
    message: Id
    emoji: str


class Unreact(Command, tag="unreact"):
    message: Id
    emoji: str


class Typing(Command, tag="typing"):
    room: Id


class Read(Command, tag="read"):
    room: Id
    seq: Seq


class History(Command, tag="history"):
    """`around` (a message id) is the page centred on that message: up to half the
    limit before it, the message, and the rest after it (a search result's context)."""

    room: Id
    before: Seq | None = None
    after: Seq | None = None
    limit: PageSize | None = None
    around: Id | None = None


class Sync(Command, tag="sync"):
    room: Id
    since: Seq


AnyCommand = Hello | Send | Edit | Delete | React | Unreact | Typing | Read | History | Sync | Ping
COMMANDS: tuple[type[Command], ...] = (
    Hello,
    Send,
    Edit,
    Delete,
    React,
    Unreact,
    Typing,
    Read,
    History,
    Sync,
    Ping,
)


def op_name(command: type[Command]) -> str:
    return str(command.__struct_config__.tag)


# -- HTTP-only inputs: path parameters, query strings and bodies in one Struct each ------


class Request(msgspec.Struct, kw_only=True):
    """Base of the HTTP-only inputs."""


class NoInput(Request):
    """An endpoint that takes nothing but the caller's token."""


class Register(Request):
    username: Username
    password: Password
    display_name: str | None = None
    invite: InviteCode | None = None


class GuestEntry(Request):
    """`POST /api/auth/guest`: a guest account for an open day, optionally joining an
    invite's room."""

    display_name: Annotated[str, msgspec.Meta(max_length=256)]
    invite: InviteCode | None = None


class Upgrade(Request):
    """`POST /api/auth/upgrade`: a guest becomes a student, same id, rooms and history."""

    username: Username
    password: Password
    invite: InviteCode | None = None


class Login(Request):
    username: str
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class ProfileChanges(Request):
    """`PATCH /api/me`: a field left out is unchanged; `null` resets it."""

    display_name: str | msgspec.UnsetType | None = msgspec.UNSET
    region: str | msgspec.UnsetType | None = msgspec.UNSET
    dm_policy: DmPolicy | msgspec.UnsetType = msgspec.UNSET
    bio: str | msgspec.UnsetType | None = msgspec.UNSET
    pronouns: str | msgspec.UnsetType | None = msgspec.UNSET


class UserSearch(Request):
    q: str = ""
    limit: UsersLimit = 20


class UserRef(Request):
    user: Id


class RoomSearch(Request):
    """`all=true` is the admins' door: every room but DMs (403 for anyone else)."""

    kind: RoomKind | None = None
    q: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    limit: PageSize = 200
    all: bool = False


class NewRoom(Request):
    slug: Slug
    name: str
    kind: RoomKind
    visibility: Visibility | None = None
    topic: str | None = None


class RoomRef(Request):
    room: Id


class RoomChanges(Request):
    """`PATCH /api/rooms/{room}`: a field left out is unchanged; only `topic` may be null."""

    room: Id
    name: str | msgspec.UnsetType = msgspec.UNSET
    topic: str | msgspec.UnsetType | None = msgspec.UNSET
    posting: Posting | msgspec.UnsetType = msgspec.UNSET
    slow_mode: SlowMode | msgspec.UnsetType = msgspec.UNSET
    guests_allowed: bool | msgspec.UnsetType = msgspec.UNSET
    archived: bool | msgspec.UnsetType = msgspec.UNSET


class AddMembers(Request):
    """`{user_id}` for one person, or `{usernames: [...]}` for up to 500."""

    room: Id
    user_id: Id | None = None
    usernames: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=500)]
        | None
    ) = None


class MemberRef(Request):
    room: Id
    user: Id


class MemberAction(Request):
    """A moderator's action on a member (remove, ban), with an optional reason."""

    room: Id
    user: Id
    reason: ModerationReason | None = None


class RoomRoleChange(Request):
    room: Id
    user: Id
    room_role: Literal["moderator", "member"]


class Mute(Request):
    room: Id
    user: Id
    duration_s: MuteSeconds
    reason: ModerationReason | None = None


class RoomAudit(Request):
    """A page of a room's audit log, newest first; `before` is an entry id (exclusive)."""

    room: Id
    before: Id | None = None
    limit: PageSize = 50


class ServerAudit(Request):
    before: Id | None = None
    limit: PageSize = 50


class MemberSearch(Request):
    room: Id
    q: str | None = None
    limit: MembersLimit = 500


class EmojiSearch(Request):
    q: str = ""
    lang: Literal["en", "fr"] = "en"
    limit: PageSize = 50


class UsernameRef(Request):
    username: str


class OpenDm(Request):
    """`{username}` for a two-person DM or `{usernames}` for a group; `usernames` wins."""

    username: str | None = None
    usernames: list[str] | None = None


class SettingsChanges(Request):
    """Room ids are JSON object keys, so strings of ASCII digits; a `null` level removes one."""

    default: Level | None = None
    rooms: Annotated[dict[Id, Level | None], msgspec.Meta(max_length=1000)] | None = None


class Inbox(Request):
    unread: str = ""
    limit: InboxLimit = 100


class MarkRead(Request):
    ids: Annotated[list[Id], msgspec.Meta(max_length=1000)] | None = None
    all: bool | None = None


class PasswordChange(Request):
    old_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Password


class PasswordCheck(Request):
    """`DELETE /api/me`: the password again, so a stolen token alone deletes nothing."""

    password: Annotated[str, msgspec.Meta(max_length=1024)]


class PasswordReset(Request):
    """`POST /api/auth/reset`: the token of a reset link and the new password."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    new_password: Password


class RoleChange(Request):
    user: Id
    role: AssignableRole


class NewInvite(Request):
    """`POST /api/rooms/{room}/invites`: `max_uses` null is no limit."""

    room: Id
    max_uses: InviteUses | None = None
    expires_in_s: InviteLifetime = invites.DEFAULT_EXPIRY_S
    role: InviteRole = "student"


class InviteRef(Request):
    code: InviteCode


class PinRef(Request):
    room: Id
    message: Id


class NewReport(Request):
    message: Id
    reason: Annotated[
        str, msgspec.Meta(description="1-500 characters after trimming (else bad_request)")
    ]


class ReportSearch(Request):
    state: ReportState = "open"
    before: Id | None = None
    limit: PageSize = 100


class Resolution(Request):
    report: Id
    action: ReportAction


class QuestionChange(Request):
    """`open` asks or reopens; `answered` answers, `answer` naming a message of the room."""

    message: Id
    state: QuestionState
    answer: Id | None = None


class MessageRef(Request):
    message: Id


class QuestionQueue(Request):
    room: Id
    state: QuestionState = "open"
    sort: Literal["votes", "oldest"] = "votes"
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class NewWorkshop(Request):
    room: Id
    duration_s: Annotated[int, msgspec.Meta(ge=1, le=86_400, description="seconds: 1 s to 24 h")]
    slow_mode: SlowMode = 30
    guests: bool = False


MAX_POLL_OPTIONS = 10
PollText = Annotated[str, msgspec.Meta(max_length=100, description="1-100 characters")]


class NewPoll(msgspec.Struct, kw_only=True):
    """A poll sent with a message: 2-10 distinct, non-blank options."""

    question: Annotated[str, msgspec.Meta(max_length=300, description="1-300 characters")]
    options: Annotated[list[PollText], msgspec.Meta(min_length=2, max_length=MAX_POLL_OPTIONS)]
    multiple: bool = False
    anonymous: bool = False


class PollVote(Request):
    """The caller's whole vote: option ids (one at most unless `multiple`; [] withdraws)."""

    message: Id
    options: Annotated[list[Id], msgspec.Meta(max_length=MAX_POLL_OPTIONS)]


# -- decoding helpers shared by both transports ----------------------------------------

_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
ASCII_INT = re.compile(r"-?[0-9]{1,19}")
"""How an integer is written in a query string: ASCII digits, in the int64 range's width."""


def nesting_ok(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects at most `limit` deep.

    Deep nesting makes a decoder recurse once per level, so it is refused before any
    loose decoding. Counting brackets is a pass in C that settles nearly every input;
    only text with more brackets than the limit is walked, skipping strings.
    """
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= limit:
            return True
        data = data.encode("utf-8", "surrogatepass")
    elif data.count(b"[") + data.count(b"{") <= limit:
        return True
    depth = 0
    for match in _TOKENS.finditer(data):
        first = data[match.start()]
        if first in b"[{":
            depth += 1
            if depth > limit:
                return False
        elif first in b"]}":
            depth -= 1
    return True


# -- meetups (PROTOCOL-COMMUNITY section 7) ---------------------------------------------

EventTime = Annotated[str, msgspec.Meta(max_length=40, description="ISO 8601 with Z or an offset")]


class NewEvent(msgspec.Struct, kw_only=True):
    """A meetup sent with a message; times are checked in `domain/meetups.py`."""

    title: str
    starts_at: EventTime
    ends_at: EventTime | None = None
    place: str | None = None
    capacity: int | None = None


class Rsvp(Request):
    message: Id
    status: Literal["going", "maybe", "no"]


class EventChanges(Request):
    """Fields of a meetup to change (its creator or the room's moderators); a changed
    time or place alerts those going and maybe."""

    message: Id
    title: str | msgspec.UnsetType = msgspec.UNSET
    starts_at: EventTime | msgspec.UnsetType = msgspec.UNSET
    ends_at: EventTime | msgspec.UnsetType | None = msgspec.UNSET
    place: str | msgspec.UnsetType | None = msgspec.UNSET
    capacity: int | msgspec.UnsetType | None = msgspec.UNSET


class EventSearch(Request):
    upcoming: bool = True
    region: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


def too_deep() -> BadRequest:
    return BadRequest(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")


def refusal(error: msgspec.ValidationError, *, lengths_too_large: bool) -> ChatError:
    """The protocol's error for input that does not fit its type.

    A string over its length limit in a body or frame is `too_large`, as the protocol
    says of fields over their limit; every other mismatch is `bad_request`.
    """
    message = str(error)
    if lengths_too_large and message.startswith("Expected `str` of length <="):
        return TooLarge(message)
    return BadRequest(message)


def int_fields(kind: type[msgspec.Struct]) -> frozenset[str]:
    """Fields of `kind` that may hold an integer (their query-string text must be digits)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    found = set()
    for field in info.fields:
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else ()
        for kind_ in (field.type, *kinds):
            while isinstance(kind_, msgspec.inspect.Metadata):
                kind_ = kind_.type
            if isinstance(kind_, msgspec.inspect.IntType):
                found.add(field.name)
    return frozenset(found)


# -- search (PROTOCOL-COMMUNITY section 5) ---------------------------------------------


class MessageSearch(Request):
    """`GET /api/search`: `q` is 1-200 characters (words; `-word` excludes), checked by
    `domain.search_query`; `before`/`after` are ISO 8601 times; `cursor` is the
    `next_cursor` of the previous page."""

    q: Annotated[str, msgspec.Meta(max_length=1000)]
    room: Id | None = None
    from_: Annotated[str, msgspec.Meta(max_length=64)] | None = msgspec.field(
        default=None, name="from"
    )
    has: Literal["question", "attachment", "link", "pin"] | None = None
    before: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    after: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20
    cursor: Annotated[str, msgspec.Meta(max_length=24)] | None = None
