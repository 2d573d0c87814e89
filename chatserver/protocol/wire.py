"""Server frames: domain values to the protocol's JSON shapes, and events encoded once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from chatserver.domain.invites import Invite
from chatserver.domain.models import (
    DeletedBy,
    Membership,
    Message,
    Notification,
    Report,
    ReportAction,
    ReportState,
    Room,
    Upload,
    User,
    iso_ms,
)
from chatserver.domain.profiles import Profile

_encoder = msgspec.json.Encoder()
encode = _encoder.encode
"""JSON-encode a frame to bytes (msgspec: several times faster than the stdlib)."""


class _Expiring(msgspec.Struct, kw_only=True):
    """`expires_at`, present on guests only: a keyword field, so that the User shapes
    built from UserOut keep their positional fields."""

    expires_at: str | msgspec.UnsetType = msgspec.UNSET


class _Pictured(_Expiring, kw_only=True):
    """`avatar`, the URL of the user's picture (null: none), on every User."""

    avatar: str | None = None


class UserOut(_Pictured):
    id: int
    username: str
    display_name: str
    role: str
    region: str | None


class SelfOut(UserOut):
    """The caller's own User carries their private settings too."""

    dm_policy: str


class MemberOut(UserOut):
    """A room member: whether they are connected now, their room role, and the end of
    their mute (null when not muted)."""

    online: bool
    room_role: str = "member"
    muted_until: str | None = None


class ReactionOut(msgspec.Struct):
    emoji: str
    count: int
    me: bool


class QuestionOut(msgspec.Struct):
    """A message's question state; `my_vote` is false in broadcasts."""

    state: str
    votes: int
    my_vote: bool
    claimed_by: int | None
    answered_by: int | None
    answer: int | None


class EventOut(msgspec.Struct):
    """A message's meetup; `my_rsvp` and `waitlist_position` are null in broadcasts."""

    title: str
    starts_at: str
    ends_at: str | None
    place: str | None
    capacity: int | None
    going: int
    maybe: int
    waitlist: int
    my_rsvp: str | None
    cancelled: bool
    waitlist_position: int | None = None


class PollOptionOut(msgspec.Struct):
    id: int
    text: str
    votes: int


class PollOut(msgspec.Struct):
    """A message's poll. `voters` counts distinct voters; `my_vote` is the caller's
    chosen option ids (`[]`: not voted) and null in broadcasts."""

    question: str
    options: list[PollOptionOut]
    multiple: bool
    anonymous: bool
    closed: bool
    voters: int
    my_vote: list[int] | None


class UploadOut(msgspec.Struct):
    """An uploaded file (PROTOCOL-COMMUNITY section 6); width, height and thumbnail_url
    are present for images only. Both URLs need the caller's Bearer token."""

    id: int
    name: str
    content_type: str
    size: int
    url: str
    created_at: str
    width: int | msgspec.UnsetType = msgspec.UNSET
    height: int | msgspec.UnsetType = msgspec.UNSET
    thumbnail_url: str | msgspec.UnsetType = msgspec.UNSET


def upload_out(upload: Upload) -> UploadOut:
    image = upload.is_image and upload.width is not None and upload.height is not None
    return UploadOut(
        id=upload.id,
        name=upload.name,
        content_type=upload.content_type,
        size=upload.size,
        url=f"/api/uploads/{upload.id}/file",
        created_at=iso_ms(upload.created_at_ms),
        width=upload.width if image and upload.width is not None else msgspec.UNSET,
        height=upload.height if image and upload.height is not None else msgspec.UNSET,
        thumbnail_url=(
            f"/api/uploads/{upload.id}/thumbnail"
            if image and upload.thumbnail_key is not None
            else msgspec.UNSET
        ),
    )


class MessageOut(msgspec.Struct):
    id: int
    room: int
    seq: int
    author: UserOut
    body: str
    created_at: str
    edited_at: str | None
    deleted: bool
    reply_to: int | None
    reactions: list[ReactionOut]
    mentions: list[int]
    nonce: str | int | None
    pinned: bool = False
    deleted_by: DeletedBy | msgspec.UnsetType = msgspec.UNSET
    """Present on deleted messages only: who deleted it (`author` or `moderator`)."""
    question: QuestionOut | None = None
    event: EventOut | None = None
    poll: PollOut | None = None
    attachments: list[UploadOut] = msgspec.field(default_factory=list)
    """The files attached when it was sent (empty on a deleted message)."""


class NotificationOut(msgspec.Struct):
    id: int
    reason: str
    room: int
    message: MessageOut
    created_at: str
    read: bool


def _expires_at(user: User) -> str | msgspec.UnsetType:
    """A guest's end; an upgraded guest's stale value is not shown (its role says)."""
    if user.role != "guest" or user.expires_at_ms is None:
        return msgspec.UNSET
    return iso_ms(user.expires_at_ms)


def avatar_url(user: User) -> str | None:
    """Where a user's avatar is served; its key changes with every new picture, so the
    URL may be cached for good."""
    return None if user.avatar is None else f"/api/users/{user.id}/avatar/{user.avatar}"


def user_out(user: User) -> UserOut:
    return UserOut(
        user.id,
        user.username,
        user.display_name,
        user.role,
        user.region,
        expires_at=_expires_at(user),
        avatar=avatar_url(user),
    )


def member_out(user: User, online: bool, seat: Membership | None = None, now: int = 0) -> MemberOut:
    """The member as the members list shows them; a mute already over is shown as none."""
    muted = seat.muted_until_ms if seat is not None else None
    return MemberOut(
        user.id,
        user.username,
        user.display_name,
        user.role,
        user.region,
        online,
        seat.room_role if seat is not None else "member",
        iso_ms(muted) if muted is not None and muted > now else None,
        expires_at=_expires_at(user),
        avatar=avatar_url(user),
    )


def self_out(user: User) -> SelfOut:
    return SelfOut(
        user.id,
        user.username,
        user.display_name,
        user.role,
        user.region,
        user.dm_policy,
        expires_at=_expires_at(user),
        avatar=avatar_url(user),
    )


def message_out(message: Message, *, for_broadcast: bool = False) -> MessageOut:
    """The wire Message; in a broadcast every `me` is false (PROTOCOL: encoded once)."""
    if message.deleted:
        reactions: list[ReactionOut] = []
    elif for_broadcast:
        reactions = [ReactionOut(r.emoji, r.count, False) for r in message.reactions]
    else:
        reactions = [ReactionOut(r.emoji, r.count, r.me) for r in message.reactions]
    return MessageOut(
        id=message.id,
        room=message.room_id,
        seq=message.seq,
        author=user_out(message.author),
        body="" if message.deleted else message.body,
        created_at=iso_ms(message.created_at_ms),
        edited_at=iso_ms(message.edited_at_ms) if message.edited_at_ms else None,
        deleted=message.deleted,
        reply_to=message.reply_to,
        reactions=reactions,
        mentions=[] if message.deleted else list(message.mentions),
        nonce=message.nonce,
        pinned=message.pinned,
        deleted_by=msgspec.UNSET if message.deleted_by is None else message.deleted_by,
        question=_question_out(message, for_broadcast),
        event=event_out(message, for_broadcast),
        poll=poll_out(message, for_broadcast),
        attachments=[] if message.deleted else [upload_out(u) for u in message.attachments],
    )


def event_out(message: Message, for_broadcast: bool = False) -> EventOut | None:
    """A message's meetup as the viewer sees it; null on a deleted message."""
    meetup = message.meetup
    if meetup is None or message.deleted:
        return None
    return EventOut(
        title=meetup.title,
        starts_at=iso_ms(meetup.starts_at_ms),
        ends_at=None if meetup.ends_at_ms is None else iso_ms(meetup.ends_at_ms),
        place=meetup.place,
        capacity=meetup.capacity,
        going=meetup.going,
        maybe=meetup.maybe,
        waitlist=meetup.waitlist,
        my_rsvp=None if for_broadcast else meetup.my_rsvp,
        cancelled=meetup.cancelled,
        waitlist_position=None if for_broadcast else meetup.my_position,
    )


def poll_out(message: Message, for_broadcast: bool = False) -> PollOut | None:
    """A message's poll as the caller sees it; null on a deleted message, and `my_vote`
    null in a broadcast (encoded once for everyone)."""
    poll = message.poll
    if poll is None or message.deleted:
        return None
    mine = None if for_broadcast or poll.my_vote is None else list(poll.my_vote)
    return PollOut(
        question=poll.question,
        options=[PollOptionOut(o.id, o.text, o.votes) for o in poll.options],
        multiple=poll.multiple,
        anonymous=poll.anonymous,
        closed=poll.closed,
        voters=poll.voters,
        my_vote=mine,
    )


def _question_out(message: Message, for_broadcast: bool) -> QuestionOut | None:
    question = message.question
    if question is None or message.deleted:
        return None
    return QuestionOut(
        state=question.state,
        votes=question.votes,
        my_vote=question.my_vote and not for_broadcast,
        claimed_by=question.claimed_by,
        answered_by=question.answered_by,
        answer=question.answer,
    )


class WorkshopOut(msgspec.Struct):
    """A running workshop: when it ends."""

    ends_at: str


class RoomOut(msgspec.Struct, kw_only=True):
    """A Room: its settings and pins, then extensions that appear only where they apply
    (the caller's own rooms carry their read marker, level, room role and mute, DMs their
    peers)."""

    id: int
    slug: str
    name: str
    kind: str
    visibility: str
    topic: str | None
    member_count: int
    last_seq: int
    posting: str = "everyone"
    slow_mode: int = 0
    guests_allowed: bool = False
    archived: bool = False
    pinned: list[int] = msgspec.field(default_factory=list)
    joined: bool | msgspec.UnsetType = msgspec.UNSET
    unread: int | msgspec.UnsetType = msgspec.UNSET
    last_read_seq: int | msgspec.UnsetType = msgspec.UNSET
    notify_level: str | msgspec.UnsetType | None = msgspec.UNSET
    mentions_unread: int | msgspec.UnsetType = msgspec.UNSET
    peers: list[UserOut] | msgspec.UnsetType = msgspec.UNSET
    room_role: str | msgspec.UnsetType = msgspec.UNSET
    muted_until: str | msgspec.UnsetType | None = msgspec.UNSET
    workshop: WorkshopOut | None = None


def broadcast_out(message: Message) -> MessageOut:
    """The Message as broadcast: encoded once for everyone, so every `me` is false."""
    return message_out(message, for_broadcast=True)


def room_out(room: Room, **extra: Any) -> RoomOut:
    """A Room with the given extensions (joined, unread, last_read_seq, peers, ...)."""
    return RoomOut(
        id=room.id,
        slug=room.slug,
        name=room.name,
        kind=room.kind,
        visibility=room.visibility,
        topic=room.topic,
        member_count=room.member_count,
        last_seq=room.last_seq,
        posting=room.posting,
        slow_mode=room.slow_mode,
        guests_allowed=room.guests_allowed,
        archived=room.archived,
        pinned=list(room.pinned),
        workshop=_workshop_out(room),
        **extra,
    )


class WorkshopSummaryOut(msgspec.Struct):
    """What a workshop gave: questions asked while it ran, answered and still open, the
    most voted of them (live messages), and the summary message posted in the room."""

    room: int
    started_at: str
    ended_at: str
    asked: int
    answered: int
    open: int
    top: list[MessageOut]
    message: int | None


def _workshop_out(room: Room) -> WorkshopOut | None:
    ends = room.workshop_ends_ms
    return None if ends is None else WorkshopOut(iso_ms(ends))


def notification_out(notification: Notification) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        reason=notification.reason,
        room=notification.message.room_id,
        message=message_out(notification.message),
        created_at=iso_ms(notification.created_at_ms),
        read=notification.read,
    )


class ReportOut(msgspec.Struct):
    """A report as staff see it: `message` is the snapshot taken when it was filed (null
    once resolved); `action`, `resolved_by` and `resolved_at` are null while open."""

    id: int
    message: MessageOut | None
    room: RoomOut
    reporter: UserOut
    reason: str
    state: ReportState
    created_at: str
    action: ReportAction | None
    resolved_by: UserOut | None
    resolved_at: str | None


_snapshot = msgspec.json.Decoder(MessageOut)


def snapshot_of(message: Message) -> str:
    """A message as a report keeps it: its wire JSON, with no viewer's `me`."""
    return encode(broadcast_out(message)).decode()


def report_out(report: Report, room: Room, users: dict[int, User]) -> ReportOut:
    """`users` holds at least the reporter and the resolver."""
    resolver = users.get(report.resolved_by) if report.resolved_by is not None else None
    return ReportOut(
        id=report.id,
        message=None if report.snapshot is None else _snapshot.decode(report.snapshot),
        room=room_out(room),
        reporter=user_out(users[report.reporter_id]),
        reason=report.reason,
        state=report.state,
        created_at=iso_ms(report.created_at_ms),
        action=report.action,
        resolved_by=None if resolver is None else user_out(resolver),
        resolved_at=None if report.resolved_at_ms is None else iso_ms(report.resolved_at_ms),
    )


def users_out(users: Iterable[User]) -> list[UserOut]:
    return [user_out(u) for u in users]


class InviteOut(msgspec.Struct):
    """An invite as its room's moderators see it; `room` is the room's id, `url` the web
    client's page for it."""

    code: str
    url: str
    room: int
    role: str
    max_uses: int | None
    uses: int
    expires_at: str
    created_by: UserOut | None
    revoked: bool


class InvitedRoomOut(msgspec.Struct):
    """What an invite shows of its room to whoever holds the code."""

    name: str
    kind: str
    member_count: int
    guests_allowed: bool = False
    """Whether a visitor may enter it as a guest (`POST /api/auth/guest` with the code)."""


class InvitePreviewOut(msgspec.Struct):
    room: InvitedRoomOut
    expires_at: str
    role: str


def invite_out(invite: Invite, url: str, creator: User | None) -> InviteOut:
    return InviteOut(
        code=invite.code,
        url=url,
        room=invite.room_id,
        role=invite.role,
        max_uses=invite.max_uses,
        uses=invite.uses,
        expires_at=iso_ms(invite.expires_at_ms),
        created_by=user_out(creator) if creator else None,
        revoked=invite.revoked,
    )


def invite_preview_out(invite: Invite, room: Room) -> InvitePreviewOut:
    return InvitePreviewOut(
        room=InvitedRoomOut(room.name, room.kind, room.member_count, room.guests_allowed),
        expires_at=iso_ms(invite.expires_at_ms),
        role=invite.role,
    )


class BanOut(msgspec.Struct):
    user: UserOut
    by: UserOut | None
    reason: str | None
    created_at: str


class AuditEntryOut(msgspec.Struct):
    """One moderator action. `actor` and `target_user` are Users (null once the account
    is gone, or for the operator's command line); `room` and `target_message` are ids."""

    id: int
    action: str
    actor: UserOut | None
    room: int | None
    target_user: UserOut | None
    target_message: int | None
    reason: str | None
    details: dict[str, Any] | None
    created_at: str


def seat_extras(seat: Membership, now: int) -> dict[str, Any]:
    """The caller's room role and mute in one of their rooms (a mute over is none)."""
    muted = seat.muted_until_ms
    return {
        "room_role": seat.room_role,
        "muted_until": iso_ms(muted) if muted is not None and muted > now else None,
    }


class ProfileOut(UserOut, kw_only=True):
    """A User with their profile: a short bio and pronouns (null when not given)."""

    bio: str | None = None
    pronouns: str | None = None


def profile_out(profile: Profile) -> ProfileOut:
    user = profile.user
    return ProfileOut(
        user.id,
        user.username,
        user.display_name,
        user.role,
        user.region,
        expires_at=_expires_at(user),
        avatar=avatar_url(user),
        bio=profile.bio,
        pronouns=profile.pronouns,
    )
