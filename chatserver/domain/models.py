"""The domain vocabulary: users, rooms, messages and friends, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

Role = Literal["student", "mentor", "admin", "guest"]
AssignableRole = Literal["student", "mentor", "admin"]
"""The roles an admin or the operator gives; `guest` comes only from POST /api/auth/guest."""
RoomKind = Literal["cohort", "region", "topic", "dm"]
Visibility = Literal["public", "private"]
Level = Literal["all", "friends", "mentions", "none"]
Reason = Literal["mention", "dm", "room_mention", "answered", "friend", "all", "report", "event"]
RoomRole = Literal["owner", "moderator", "member"]
Posting = Literal["everyone", "moderators"]
DeletedBy = Literal["author", "moderator"]
AuditAction = Literal[
    "message.delete",
    "member.add",
    "member.remove",
    "member.ban",
    "member.unban",
    "member.mute",
    "member.unmute",
    "member.role",
    "room.update",
    "message.pin",
    "message.unpin",
    "invite.create",
    "invite.revoke",
    "report.resolve",
    "user.role",
    "workshop.start",
    "workshop.end",
]
DmPolicy = Literal["everyone", "friends"]
Nonce = str | int | None

ROLES: tuple[AssignableRole, ...] = get_args(AssignableRole)
ROOM_KINDS: tuple[RoomKind, ...] = get_args(RoomKind)
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)
LEVELS: tuple[Level, ...] = get_args(Level)
DM_POLICIES: tuple[DmPolicy, ...] = get_args(DmPolicy)
POSTINGS: tuple[Posting, ...] = get_args(Posting)
ROOM_ROLES: tuple[RoomRole, ...] = get_args(RoomRole)
DEFAULT_LEVEL: Level = "mentions"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    region: str | None = None
    dm_policy: DmPolicy = "everyone"
    expires_at_ms: int | None = None
    """When a guest account ends (None for every other account)."""
    avatar: str | None = None
    """The stored avatar's key (None: no avatar); its URL is derived from it."""


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    slug: str
    name: str
    kind: RoomKind
    visibility: Visibility
    topic: str | None
    member_count: int
    last_seq: int
    created_by: int | None
    posting: Posting = "everyone"
    slow_mode: int = 0
    """Seconds a non-moderator waits between two messages here; 0 is off."""
    guests_allowed: bool = False
    archived: bool = False
    pinned: tuple[int, ...] = ()
    """Pinned message ids, oldest pin first; filled by the room reads that clients see."""
    workshop_ends_ms: int | None = None
    """Set while a workshop runs: its end (question mode is on until then)."""

    def question_mode(self, now: int) -> bool:
        """Whether new messages that are not replies are questions (a workshop runs)."""
        return self.workshop_ends_ms is not None and self.workshop_ends_ms > now

    @property
    def is_private(self) -> bool:
        return self.visibility == "private"


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's seat in a room: their read marker, notification override, room role,
    mute and when they last posted (slow mode)."""

    room_id: int
    user_id: int
    last_read_seq: int
    notify_level: Level | None
    room_role: RoomRole = "member"
    muted_until_ms: int | None = None
    last_post_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    emoji: str
    count: int
    me: bool


QuestionState = Literal["open", "answered"]


@dataclass(frozen=True, slots=True)
class Question:
    """A message's question state (PROTOCOL-COMMUNITY section 4); `my_vote` is the
    viewer's, false when read for no one."""

    state: QuestionState
    votes: int
    claimed_by: int | None
    answered_by: int | None
    answer: int | None
    asked_at_ms: int
    my_vote: bool = False


RsvpStatus = Literal["going", "maybe", "waitlisted"]


@dataclass(frozen=True, slots=True)
class Meetup:
    """A message's meetup (PROTOCOL-COMMUNITY section 7): counts kept in step with the
    RSVPs; `my_rsvp` and `my_position` (1-based, on the waitlist) are the viewer's,
    None when read for no one."""

    title: str
    starts_at_ms: int
    ends_at_ms: int | None
    place: str | None
    capacity: int | None
    going: int
    maybe: int
    waitlist: int
    cancelled: bool
    my_rsvp: RsvpStatus | None = None
    my_position: int | None = None


@dataclass(frozen=True, slots=True)
class PollOption:
    id: int
    text: str
    votes: int


@dataclass(frozen=True, slots=True)
class Poll:
    """A message's poll (PROTOCOL-COMMUNITY section 7). `voters` counts distinct voters;
    `my_vote` is the viewer's chosen option ids (empty: not voted), None when read for
    no one (a broadcast). `salt` keys the hashed voter ids (store/polls.py)."""

    question: str
    options: tuple[PollOption, ...]
    multiple: bool
    anonymous: bool
    closed: bool
    voters: int
    salt: str
    my_vote: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded file (PROTOCOL-COMMUNITY section 6): its bytes are in the file store
    under `file_key` (and its thumbnail's, for images, under `thumbnail_key`); attached to
    at most one message."""

    id: int
    owner_id: int
    name: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    file_key: str
    thumbnail_key: str | None
    created_at_ms: int
    message_id: int | None = None

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    room_id: int
    seq: int
    author: User
    body: str
    created_at_ms: int
    edited_at_ms: int | None
    deleted: bool
    reply_to: int | None
    mentions: tuple[int, ...]
    nonce: Nonce
    updated_seq: int
    reactions: tuple[Reaction, ...] = field(default=())
    pinned_at_ms: int | None = None
    deleted_by: DeletedBy | None = None
    question: Question | None = None
    meetup: Meetup | None = None
    poll: Poll | None = None
    attachments: tuple[Upload, ...] = ()

    @property
    def pinned(self) -> bool:
        return self.pinned_at_ms is not None


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    reason: Reason
    message: Message
    created_at_ms: int
    read: bool


ReportState = Literal["open", "resolved"]
ReportAction = Literal["dismiss", "delete"]


@dataclass(frozen=True, slots=True)
class Report:
    """A report of a message to staff. `snapshot` is the message as it was reported (its
    wire JSON), kept only while the report is open."""

    id: int
    message_id: int
    room_id: int
    reporter_id: int
    reason: str
    state: ReportState
    snapshot: str | None
    action: ReportAction | None
    resolved_by: int | None
    resolved_at_ms: int | None
    created_at_ms: int


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch: how every timestamp is stored."""
    return int(datetime.now(UTC).timestamp() * 1000)


def iso_ms(ms: int) -> str:
    """The protocol's time format: ISO 8601 UTC with milliseconds and Z."""
    seconds, millis = divmod(ms, 1000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"
