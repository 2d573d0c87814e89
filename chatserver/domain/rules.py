"""Who may do what: room creation, moderation and the notification filter decision."""

from __future__ import annotations

from collections.abc import Sequence

from chatserver.domain.errors import BadRequest, Forbidden, Muted
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
    iso_ms,
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
    if user.role == "guest":
        raise Forbidden("guests may not create rooms")
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


def check_can_add_member(actor: User | None, room: Room, membership: Membership | None) -> None:
    """Moderators add people to any room but a DM, which never grows (PROTOCOL-COMMUNITY
    section 1). `actor` None is the operator's CLI.

    Reaching a private room at all is the caller's business: only its members and
    admins get this far (see RoomService.add_members); an admin may add people to any
    room but a DM, themselves included, even when not a member.
    """
    if room.kind == "dm":
        raise Forbidden("people cannot be added to a direct-message room")
    if actor is None or actor.role == "admin":
        return
    if not moderates(actor, room, membership):
        raise Forbidden("only the room's moderators add members")


def check_can_act_on(
    actor: User, target: User, target_seat: Membership | None, action: str
) -> None:
    """A moderator may remove, ban or mute anyone in the room but an admin, nor its owner
    unless the moderator is an admin (PROTOCOL-COMMUNITY's precisions)."""
    if target.role == "admin":
        raise Forbidden(f"nobody may {action} an admin")
    if target_seat is not None and target_seat.room_role == "owner" and actor.role != "admin":
        raise Forbidden(f"only an admin may {action} the room's owner")


def check_can_change_room_role(actor: User, seat: Membership | None) -> None:
    """Room roles are given by the room's owner or an admin."""
    if actor.role != "admin" and (seat is None or seat.room_role != "owner"):
        raise Forbidden("only the room's owner or an admin changes room roles")


def check_can_write(
    user: User, room: Room, membership: Membership | None, now: int, *, post: bool = False
) -> None:
    """What every write path checks (send, edit, react, typing): an archived room is
    read-only for everyone, a muted member writes nothing until the mute ends, and in an
    announcement room (`posting: moderators`) only moderators post (`post`)."""
    if room.archived:
        raise Forbidden("this room is archived: it is read-only")
    muted = membership.muted_until_ms if membership is not None else None
    if muted is not None and muted > now:
        raise Muted("you are muted in this room", iso_ms(muted))
    if post and room.posting == "moderators" and not moderates(user, room, membership):
        raise Forbidden("only the room's moderators post here")


def slow_mode_wait(user: User, room: Room, membership: Membership, now: int) -> float:
    """Seconds before a non-moderator may post again in a slow-mode room (0: now)."""
    last = membership.last_post_ms
    if not room.slow_mode or last is None or moderates(user, room, membership):
        return 0.0
    return max(0.0, (last + room.slow_mode * 1000 - now) / 1000)


def check_guests_allowed(room: Room) -> None:
    """Guests may be let into public topic and region rooms only."""
    if room.is_private or room.kind not in ("topic", "region"):
        raise BadRequest("guests may be allowed in public topic and region rooms only")


def check_guest_may_enter(user: User, room: Room) -> None:
    """A guest joins, is added or is invited only to rooms with `guests_allowed` (and to
    DMs with staff, which `check_dm_people` vets)."""
    if user.role == "guest" and room.kind != "dm" and not room.guests_allowed:
        raise Forbidden("guests may only join rooms that allow guests")


def check_may_befriend(user: User, other: User) -> None:
    """Guests neither befriend nor are befriended: they are visitors for a day."""
    if user.role == "guest" or other.role == "guest":
        raise Forbidden("guests have no friends list")


def check_dm_people(people: Sequence[User]) -> None:
    """A DM with a guest in it holds that one guest and mentors or admins only."""
    guests = [p for p in people if p.role == "guest"]
    if guests and (len(guests) > 1 or any(p.role == "student" for p in people)):
        raise Forbidden("guests write directly to mentors and admins only")


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
    level: Level,
    *,
    is_dm: bool,
    is_friend: bool,
    mentioned: bool,
    room_mentioned: bool = False,
) -> Reason | None:
    """The strongest reason to alert a member, or None (PROTOCOL-COMMUNITY: mention > dm >
    room_mention > friend > all). A moderator's `@room`/`@here` beats the `friends` and
    `mentions` levels, never `none`.

    Blocks and the author's own messages are filtered before this is asked.
    """
    if level == "none":
        return None
    if mentioned:
        return "mention"
    if room_mentioned and not is_dm:
        return "room_mention"
    if level == "mentions":
        return None
    if level == "friends" and not is_friend:
        return None
    if is_dm:
        return "dm"
    if is_friend:
        return "friend"
    return "all"


def alerts_for_event(level: Level) -> bool:
    """A meetup's alerts (reason `event`: reminders, a move, a cancellation) reach those
    going or maybe whatever their level for the room, but `none`: they said they come."""
    return level != "none"
