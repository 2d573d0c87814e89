"""What a request is answered with: the reply envelopes of HTTP and `ok` frames, and errors.

Each is a Struct so that replies are encoded without intermediate dicts and so that
the OpenAPI document describes exactly what is sent.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from chatserver.domain.errors import ChatError
from chatserver.domain.models import Level
from chatserver.protocol.events import ErrorFrame
from chatserver.protocol.wire import (
    AuditEntryOut,
    BanOut,
    InviteOut,
    InvitePreviewOut,
    MemberOut,
    MessageOut,
    NotificationOut,
    ProfileOut,
    ReactionOut,
    ReportOut,
    RoomOut,
    SelfOut,
    UploadOut,
    UserOut,
    WorkshopSummaryOut,
    encode,
)


class SessionReply(msgspec.Struct):
    """A new login: the caller's own User and their bearer token; a registration with an
    invite also carries the room it joined."""

    user: SelfOut
    token: str
    room: RoomOut | msgspec.UnsetType = msgspec.UNSET


class SelfReply(msgspec.Struct):
    user: SelfOut


class UpgradeReply(msgspec.Struct):
    """A guest turned student: their User (same id), and the invite's room if one came."""

    user: SelfOut
    room: RoomOut | msgspec.UnsetType = msgspec.UNSET


class UserReply(msgspec.Struct):
    user: UserOut


class UsersReply(msgspec.Struct):
    users: list[UserOut]


class ProfileReply(msgspec.Struct):
    """A user's profile, and how the caller stands with them: `friendship` is `none`,
    `friends`, `requested` (the caller asked) or `incoming` (they asked the caller);
    `blocked` is whether the caller blocked them."""

    user: ProfileOut
    friendship: str = "none"
    blocked: bool = False


class RoomReply(msgspec.Struct):
    room: RoomOut


class RoomsReply(msgspec.Struct):
    rooms: list[RoomOut]


class MembersReply(msgspec.Struct):
    members: list[MemberOut]


class MemberReply(msgspec.Struct):
    member: MemberOut


class AddedReply(msgspec.Struct):
    """`POST /api/rooms/{room}/members`: the ids added, the names nobody has, the ids
    that already were members, and the room after the add."""

    added: list[int]
    not_found: list[str]
    already: list[int]
    room: RoomOut


class MuteReply(msgspec.Struct):
    until: str


class BansReply(msgspec.Struct):
    bans: list[BanOut]


class AuditReply(msgspec.Struct):
    entries: list[AuditEntryOut]


class MessageReply(msgspec.Struct):
    message: MessageOut


class UploadReply(msgspec.Struct):
    upload: UploadOut


class PollOptionVoters(msgspec.Struct):
    id: int
    text: str
    voters: list[UserOut]


class PollVotersReply(msgspec.Struct):
    """Who chose what, option by option, in a poll that is not anonymous."""

    options: list[PollOptionVoters]


class MessagesReply(msgspec.Struct):
    messages: list[MessageOut]


class QuestionsReply(msgspec.Struct):
    questions: list[MessageOut]


class WorkshopSummaryReply(msgspec.Struct):
    summary: WorkshopSummaryOut


class MeetupOut(msgspec.Struct):
    """A meetup as listed for the caller: its message (with `event`), its room, and the
    caller's friends who are going."""

    message: MessageOut
    room: RoomOut
    friends_going: list[UserOut]


class MeetupsReply(msgspec.Struct):
    events: list[MeetupOut]


class MeetupReply(msgspec.Struct):
    event: MeetupOut


class ReactionsReply(msgspec.Struct):
    reactions: list[ReactionOut]


class EmojiOut(msgspec.Struct):
    """One picker result: the emoji, its primary shortcode name, other names, skin tones,
    and its CLDR label in the asked language, in sentence case."""

    emoji: str
    name: str
    aliases: list[str]
    skins: list[str]
    label: str = ""


class EmojiReply(msgspec.Struct):
    emoji: list[EmojiOut]
    recent: list[str]


class FriendsReply(msgspec.Struct):
    friends: list[UserOut]
    incoming: list[UserOut]
    outgoing: list[UserOut]


class FriendStatusReply(msgspec.Struct):
    status: Literal["requested", "friends"]


class BlockedReply(msgspec.Struct):
    blocked: list[UserOut]


class NotificationSettingsReply(msgspec.Struct):
    """The default level and the per-room overrides, keyed by room id as a string."""

    default: Level
    rooms: dict[str, Level]


class NotificationsReply(msgspec.Struct):
    notifications: list[NotificationOut]


class ExportedMessage(msgspec.Struct):
    """A message in its author's export; a deleted one's text is already gone."""

    id: int
    room: int
    seq: int
    body: str
    created_at: str
    edited_at: str | None
    deleted: bool
    reply_to: int | None


class ExportReply(msgspec.Struct):
    """`GET /api/me/export`: what the server keeps about the caller."""

    exported_at: str
    user: SelfOut
    rooms: list[RoomOut]
    messages: list[ExportedMessage]
    friends: list[UserOut]
    incoming_requests: list[UserOut]
    outgoing_requests: list[UserOut]
    blocked: list[UserOut]
    notification_settings: NotificationSettingsReply
    profile: ProfileOut | None = None
    """The caller's bio, pronouns and avatar URL."""


class InviteReply(msgspec.Struct):
    invite: InviteOut


class InvitesReply(msgspec.Struct):
    invites: list[InviteOut]


class InvitePreviewReply(msgspec.Struct):
    invite: InvitePreviewOut


class ReportsReply(msgspec.Struct):
    reports: list[ReportOut]


class SearchHit(msgspec.Struct):
    """One search result: the message, its room, and [start, end) offsets of the
    matched words in its body, counted in Unicode code points."""

    message: MessageOut
    room: RoomOut
    highlights: list[tuple[int, int]]


class SearchReply(msgspec.Struct):
    results: list[SearchHit]
    next_cursor: str | None


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    """A refusal: a stable `code` (see PROTOCOL.md), a human `message`, for
    `rate_limited` the seconds to wait, and for `muted` the time the mute ends."""

    code: str
    message: str
    retry_after: float | msgspec.UnsetType = msgspec.UNSET
    until: str | msgspec.UnsetType = msgspec.UNSET


class ErrorReply(msgspec.Struct):
    error: ErrorDetail


def error_detail(error: ChatError) -> ErrorDetail:
    """The one encoding of a refusal, shared by HTTP bodies and WebSocket error frames."""
    detail = ErrorDetail(error.code, error.message)
    if error.retry_after is not None:
        detail.retry_after = error.retry_after
    if error.until is not None:
        detail.until = error.until
    return detail


def error_frame(error: ChatError, ref: str | int | float | bool | None) -> bytes:
    """`{"op": "error", "ref", "code", "message", ...}`: the detail beside op and ref."""
    detail = error_detail(error)
    return encode(
        ErrorFrame(
            ref=ref,
            code=detail.code,
            message=detail.message,
            retry_after=detail.retry_after,
            until=detail.until,
        )
    )


Reply = (
    SessionReply
    | SelfReply
    | UpgradeReply
    | UserReply
    | UsersReply
    | RoomReply
    | RoomsReply
    | MembersReply
    | MemberReply
    | AddedReply
    | MuteReply
    | BansReply
    | AuditReply
    | MessageReply
    | MessagesReply
    | ReactionsReply
    | EmojiReply
    | FriendsReply
    | FriendStatusReply
    | BlockedReply
    | NotificationSettingsReply
    | NotificationsReply
    | ExportReply
    | ReportsReply
    | InviteReply
    | InvitesReply
    | InvitePreviewReply
    | QuestionsReply
    | PollVotersReply
    | WorkshopSummaryReply
    | MeetupsReply
    | MeetupReply
    | ProfileReply
    | SearchReply
)
