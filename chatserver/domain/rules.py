"""Who may do what: room creation, moderation and the notification filter decision."""

from __future__ import annotations

from chatserver.domain.errors import BadRequest, Forbidden
from chatserver.domain.models import (
    DEFAULT_LEVEL,
    DeletedBy,
    Level,
    Membership,
    Message,
    Reason,
    Role,
    Room,
    RoomKind,
    User,
    Visibility,
)

STAFF: frozenset[Role] = frozenset({"mentor", "admin"})


def is_staff(user: User) -> bool:
    return user.role in STAFF


def moderates(user: User, room: Room, membership: Membership | None) -> bool:
    """PROTOCOL-COMMUNITY section 1: the room's owner or moderators, or an admin or
    mentor who is a member of the room or the room is public. DMs have no moderators."""
    if room.kind == "dm":
        return False
    if membership is not None and membership.room_role in ("owner", "moderator"):
        return True
    return is_staff(user) and (membership is not None or not room.is_private)


def check_moderates(user: User, room: Room, membership: Membership | None) -> None:
    if not moderates(user, room, membership):
        raise Forbidden("only the room's moderators may do this")


def check_can_create_room(user: User, kind: RoomKind) -> None:
    """Students open topic rooms; staff open any kind but DMs (those come from /api/dms)."""
    if kind == "dm":
        raise BadRequest("direct-message rooms are opened with POST /api/dms")
    if kind != "topic" and not is_staff(user):
        raise Forbidden("students may create topic rooms only")


def room_visibility(kind: RoomKind, requested: Visibility | None) -> Visibility:
    """Cohorts and DMs are always private; other rooms default to public."""
    if kind in ("cohort", "dm"):
        if requested == "public":
            raise BadRequest(f"{kind} rooms are always private")
        return "private"
    return requested or "public"


def check_can_add_member(actor: User, room: Room) -> None:
    """The creator, mentors and admins add people to private rooms; DMs never grow.

    Reaching a private room at all is the caller's business: only its members and
    admins get this far (see RoomService.add_member).
    """
    if room.kind == "dm":
        raise Forbidden("people cannot be added to a direct-message room")
    if not room.is_private:
        raise BadRequest("public rooms are joined, not added to")
    if room.created_by != actor.id and not is_staff(actor):
        raise Forbidden("only the room's creator, mentors and admins add members")


def check_can_edit(actor: User, message: Message) -> None:
    if message.author.id != actor.id:
        raise Forbidden("only the author edits a message")


def deleted_by(
    actor: User, message: Message, room: Room, membership: Membership | None
) -> DeletedBy:
    """Who is deleting: the author, else one of the room's moderators (so in a DM only
    the author: staff reach a DM's message through a report alone)."""
    if message.author.id == actor.id:
        return "author"
    if not moderates(actor, room, membership):
        raise Forbidden("only the author and the room's moderators delete a message")
    return "moderator"


def effective_level(default: Level, override: Level | None, is_dm: bool) -> Level:
    """The level that decides alerts: the room override, else `all` in DMs, else the default."""
    if override is not None:
        return override
    if is_dm:
        return "all"
    return default or DEFAULT_LEVEL


def notification_reason(
    level: Level, *, is_dm: bool, is_friend: bool, mentioned: bool
) -> Reason | None:
    """The strongest reason to alert a member, or None (PROTOCOL: mention > dm > friend > all).

    Blocks and the author's own messages are filtered before this is asked.
    """
    if level == "none":
        return None
    if mentioned:
        return "mention"
    if level == "mentions":
        return None
    if level == "friends" and not is_friend:
        return None
    if is_dm:
        return "dm"
    if is_friend:
        return "friend"
    return "all"
