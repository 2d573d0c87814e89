"""Every operation of the API, declared once: its request type, what it does and how it answers.

The HTTP routes, the WebSocket op table and the OpenAPI document are all derived from
`USE_CASES`, so an operation offered on both transports behaves the same on both and
a new one is added in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import msgspec

from chatserver.domain.emojis import search_emoji
from chatserver.domain.errors import BadRequest, NotFound, NotMember, Unauthorized
from chatserver.domain.models import Level, Room, User, iso_ms, now_ms
from chatserver.domain.polls import PollDraft, draft_poll
from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.protocol import requests as rq
from chatserver.protocol import responses as rs
from chatserver.protocol import wire
from chatserver.protocol.closecodes import CloseCode
from chatserver.services import login_limits
from chatserver.services.container import Services
from chatserver.services.meetups import Listed
from chatserver.services.moderation import AuditView
from chatserver.services.ratelimit import IpLimit

R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Http:
    """Where a use case is served over HTTP; `path` is an OpenAPI template whose
    `{names}` are fields of the request type."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    status: int = 200


class Caller(msgspec.Struct):
    """Who asks, and over what: what a use case needs besides its request.

    A Struct rather than a dataclass because every WebSocket op makes one, and a Struct
    is built in a fraction of the time.
    """

    services: Services
    account: User | None
    token_id: int = 0
    connection: Connection | None = None
    hub: Hub | None = None
    address: str = ""

    @property
    def user(self) -> User:
        if self.account is None:
            raise Unauthorized("send Authorization: Bearer <token>")
        return self.account


@dataclass(frozen=True, slots=True)
class UseCase(Generic[R]):
    """One operation. Its summary in the OpenAPI document is `run`'s docstring.

    `ws` makes it a WebSocket op named by its request's tag; `ws_reply` is the frame
    that answers it there (`none` when the op queues its own). `costs_message` spends
    the caller's `messages` budget on both transports. `anonymous` use cases need no
    token and are limited per client IP (`ip_limit`); `free` ops are not counted against the
    request rate.
    """

    request: type[R]
    run: Callable[[Caller, R], Awaitable[rs.Reply | None]]
    reply: type[msgspec.Struct] | None = None
    http: Http | None = None
    ws: bool = False
    ws_reply: Literal["ok", "pong", "none"] = "ok"
    costs_message: bool = False
    anonymous: bool = False
    free: bool = False
    ip_limit: IpLimit = "auth_ip"

    @property
    def name(self) -> str:
        return self.run.__name__

    @property
    def summary(self) -> str:
        return (self.run.__doc__ or self.name).strip().splitlines()[0]


# -- accounts and users ----------------------------------------------------------------


async def register(c: Caller, r: rq.Register) -> rs.SessionReply:
    """Create an account and log it in (the first account is the admin); with an invite,
    also join its room."""
    s = c.services
    if r.invite is None:
        user, token = await s.accounts.register(r.username, r.password, r.display_name)
        return rs.SessionReply(wire.self_out(user), token)
    user, token, room = await s.invites.register(r.username, r.password, r.display_name, r.invite)
    return rs.SessionReply(wire.self_out(user), token, wire.room_out(room, joined=True))


async def login(c: Caller, r: rq.Login) -> rs.SessionReply:
    """Log in: a new bearer token."""
    s = c.services
    await login_limits.check(s.limiter, s.limits.login_pair, c.address, r.username)
    user, token = await s.accounts.login(r.username, r.password)
    return rs.SessionReply(wire.self_out(user), token)


async def guest(c: Caller, r: rq.GuestEntry) -> rs.SessionReply:
    """A guest account for an open day (no password, ends at `expires_at`); with an
    invite, also join its room."""
    user, token, room = await c.services.guests.create(r.display_name, r.invite)
    if room is None:
        return rs.SessionReply(wire.self_out(user), token)
    return rs.SessionReply(wire.self_out(user), token, wire.room_out(room, joined=True))


async def upgrade(c: Caller, r: rq.Upgrade) -> rs.UpgradeReply:
    """Turn the caller's guest account into a student: same id, rooms and history."""
    user, room = await c.services.guests.upgrade(c.user, r.username, r.password, r.invite)
    # Committed: those who see the guest see them as a student from now on.
    await c.services.profiles.announce_user(user.id)
    if room is None:
        return rs.UpgradeReply(wire.self_out(user))
    return rs.UpgradeReply(wire.self_out(user), await _room_out(c, room, joined=True))


async def logout(c: Caller, r: rq.NoInput) -> None:
    """Revoke this token and close the WebSockets opened with it (4001)."""
    await c.services.accounts.logout(c.token_id)


async def me(c: Caller, r: rq.NoInput) -> rs.SelfReply:
    """The caller's own User."""
    return rs.SelfReply(wire.self_out(c.user))


async def update_me(c: Caller, r: rq.ProfileChanges) -> rs.SelfReply:
    """Change the caller's display name, region, DM policy, bio or pronouns."""
    profile = await c.services.profiles.update(c.user, r)
    return rs.SelfReply(wire.self_out(profile.user))


async def remove_avatar(c: Caller, r: rq.NoInput) -> rs.SelfReply:
    """Remove the caller's avatar (set one with `PUT /api/me/avatar`, the picture as the body)."""
    return rs.SelfReply(wire.self_out((await c.services.profiles.remove_avatar(c.user)).user))


async def search_users(c: Caller, r: rq.UserSearch) -> rs.UsersReply:
    """Users whose username or display name starts with `q`."""
    return rs.UsersReply(wire.users_out(await c.services.accounts.search(r.q, r.limit)))


async def get_user(c: Caller, r: rq.UserRef) -> rs.ProfileReply:
    """One user's profile, to those who share a room with them or are their friends."""
    seen = await c.services.profiles.view(c.user, r.user)
    return rs.ProfileReply(wire.profile_out(seen.profile), seen.friendship, seen.blocked)


# -- account lifecycle -------------------------------------------------------------------


async def _password_attempt(c: Caller) -> None:
    """Passwords checked with a token are limited like logins, so a stolen token cannot
    be used to guess the password it lacks."""
    s = c.services
    await login_limits.check(s.limiter, s.limits.login_pair, "token", c.user.username)


async def change_password(c: Caller, r: rq.PasswordChange) -> None:
    """Change the password; every other session of the caller ends (4001)."""
    await _password_attempt(c)
    await c.services.lifecycle.change_password(c.user, c.token_id, r.old_password, r.new_password)


async def logout_all(c: Caller, r: rq.NoInput) -> None:
    """Log out everywhere: revoke all the caller's tokens and close their WebSockets."""
    await c.services.lifecycle.sign_out_everywhere(c.user)


async def delete_me(c: Caller, r: rq.PasswordCheck) -> None:
    """Delete the caller's account; their messages stay, shown as a deleted user."""
    await _password_attempt(c)
    await c.services.lifecycle.delete_account(c.user, r.password)
    await c.services.profiles.forget_avatar(c.user)


async def export_me(c: Caller, r: rq.NoInput) -> rs.ExportReply:
    """Everything the server keeps about the caller, as one JSON document."""
    s, user = c.services, c.user
    messages = [
        rs.ExportedMessage(
            m.id,
            m.room_id,
            m.seq,
            m.body,
            iso_ms(m.created_at_ms),
            None if m.edited_at_ms is None else iso_ms(m.edited_at_ms),
            m.deleted,
            m.reply_to,
        )
        async for page in s.lifecycle.written_messages(user)
        for m in page
    ]
    friends, incoming, outgoing = await s.social.lists(user)
    return rs.ExportReply(
        exported_at=iso_ms(now_ms()),
        user=wire.self_out(user),
        rooms=[wire.room_out(room) for room in await s.lifecycle.rooms_of(user)],
        messages=messages,
        friends=wire.users_out(friends),
        incoming_requests=wire.users_out(incoming),
        outgoing_requests=wire.users_out(outgoing),
        blocked=wire.users_out(await s.social.blocked(user)),
        notification_settings=_settings(*await s.notifications.settings(user)),
        profile=wire.profile_out((await s.profiles.view(user, user.id)).profile),
    )


async def reset_password(c: Caller, r: rq.PasswordReset) -> None:
    """Use a one-time reset link; every session of the account ends."""
    await c.services.lifecycle.reset_password(r.token, r.new_password)


async def set_role(c: Caller, r: rq.RoleChange) -> rs.UserReply:
    """Change a user's role (admins); their open connections use it at once."""
    return rs.UserReply(wire.user_out(await c.services.lifecycle.set_role(c.user, r.user, r.role)))


async def deactivate_user(c: Caller, r: rq.UserRef) -> None:
    """Deactivate an account (admins): its tokens are refused, its sockets close (4001)."""
    await c.services.lifecycle.deactivate(c.user, r.user)


async def reactivate_user(c: Caller, r: rq.UserRef) -> None:
    """Let a deactivated account log in again (admins)."""
    await c.services.lifecycle.reactivate(c.user, r.user)


# -- rooms -------------------------------------------------------------------------------


async def _room_out(c: Caller, room: Room, **extra: Any) -> wire.RoomOut:
    if room.kind == "dm":
        peers = await c.services.session.dm_peers([room], c.user)
        extra["peers"] = wire.users_out(peers.get(room.id, []))
    return wire.room_out(room, **extra)


def _marks(joined: bool, room: Room, marks: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """`joined`, and for the caller's own rooms their read marker and unread count."""
    if not joined:
        return {"joined": False}
    last_read, unread = marks.get(room.id, (0, 0))
    return {"joined": True, "unread": unread, "last_read_seq": last_read}


async def list_rooms(c: Caller, r: rq.RoomSearch) -> rs.RoomsReply:
    """Public rooms and the caller's own rooms, biggest first."""
    s = c.services
    found = await s.rooms.directory(c.user, r.kind, r.q, r.limit, every=r.all)
    peers = await s.session.dm_peers([room for room, _ in found], c.user)
    marks = await s.session.marks(c.user)
    rooms = []
    for room, joined in found:
        extra = _marks(joined, room, marks)
        if room.kind == "dm":
            extra["peers"] = wire.users_out(peers.get(room.id, []))
        rooms.append(wire.room_out(room, **extra))
    return rs.RoomsReply(rooms)


async def create_room(c: Caller, r: rq.NewRoom) -> rs.RoomReply:
    """Create a room; the creator is its first member."""
    room = await c.services.rooms.create(c.user, r)
    return rs.RoomReply(await _room_out(c, room, joined=True))


async def get_room(c: Caller, r: rq.RoomRef) -> rs.RoomReply:
    """One room (a private room the caller is not in does not exist)."""
    room, membership = await c.services.rooms.get(c.user, r.room)
    marks = await c.services.session.marks(c.user) if membership else {}
    extra = _marks(membership is not None, room, marks)
    if membership is not None:
        extra.update(wire.seat_extras(membership, now_ms()))
    return rs.RoomReply(await _room_out(c, room, **extra))


async def update_room(c: Caller, r: rq.RoomChanges) -> rs.RoomReply:
    """Change a room's settings (its moderators); members see `room.updated`."""
    return rs.RoomReply(await _room_out(c, await c.services.rooms.update_settings(c.user, r)))


async def join_room(c: Caller, r: rq.RoomRef) -> rs.RoomReply:
    """Join a public room."""
    room = await c.services.rooms.join(c.user, r.room)
    return rs.RoomReply(await _room_out(c, room, joined=True))


async def leave_room(c: Caller, r: rq.RoomRef) -> None:
    """Leave a room."""
    await c.services.rooms.leave(c.user, r.room)


async def add_members(c: Caller, r: rq.AddMembers) -> rs.AddedReply:
    """Add people to a room (its moderators): one by id, or up to 500 by username."""
    done = await c.services.rooms.add_members(
        c.user, r.room, user_id=r.user_id, usernames=r.usernames
    )
    return rs.AddedReply(done.added, done.not_found, done.already, await _room_out(c, done.room))


async def room_members(c: Caller, r: rq.MemberSearch) -> rs.MembersReply:
    """A room's members, connected ones first, with their room role and mute."""
    members = await c.services.rooms.members(c.user, r.room, r.q, r.limit)
    now = now_ms()
    return rs.MembersReply([wire.member_out(m.user, m.online, m.seat, now) for m in members])


async def remove_member(c: Caller, r: rq.MemberAction) -> None:
    """Remove a member (the room's moderators), or leave when naming oneself."""
    await c.services.rooms.remove_member(c.user, r.room, r.user, _reason(r.reason))


async def set_room_role(c: Caller, r: rq.RoomRoleChange) -> rs.MemberReply:
    """Make a member a moderator, or a member again (the room's owner, or an admin)."""
    user, seat = await c.services.moderation.set_room_role(c.user, r.room, r.user, r.room_role)
    online = await c.services.presence.online_among([user.id])
    return rs.MemberReply(wire.member_out(user, user.id in online, seat, now_ms()))


async def ban(c: Caller, r: rq.MemberAction) -> None:
    """Ban a user: removed from the room at once, and kept out (its moderators)."""
    await c.services.moderation.ban(c.user, r.room, r.user, _reason(r.reason))


async def unban(c: Caller, r: rq.MemberRef) -> None:
    """Lift a ban (the room's moderators); idempotent."""
    await c.services.moderation.unban(c.user, r.room, r.user)


async def bans(c: Caller, r: rq.RoomRef) -> rs.BansReply:
    """The room's bans, newest first (its moderators)."""
    found = await c.services.moderation.bans(c.user, r.room)
    return rs.BansReply(
        [
            wire.BanOut(
                wire.user_out(b.user),
                wire.user_out(b.by) if b.by else None,
                b.reason,
                iso_ms(b.created_at_ms),
            )
            for b in found
        ]
    )


async def mute(c: Caller, r: rq.Mute) -> rs.MuteReply:
    """Mute a member for `duration_s` (60 s to 28 days): they read but do not write."""
    until = await c.services.moderation.mute(
        c.user, r.room, r.user, r.duration_s, _reason(r.reason)
    )
    return rs.MuteReply(iso_ms(until))


async def unmute(c: Caller, r: rq.MemberRef) -> None:
    """Lift a member's mute (the room's moderators); idempotent."""
    await c.services.moderation.unmute(c.user, r.room, r.user)


def _audit_out(found: list[AuditView]) -> rs.AuditReply:
    return rs.AuditReply(
        [
            wire.AuditEntryOut(
                id=v.entry.id,
                action=v.entry.action,
                actor=wire.user_out(v.actor) if v.actor else None,
                room=v.entry.room_id,
                target_user=wire.user_out(v.target_user) if v.target_user else None,
                target_message=v.entry.target_message_id,
                reason=v.entry.reason,
                details=v.entry.details,
                created_at=iso_ms(v.entry.created_at_ms),
            )
            for v in found
        ]
    )


async def room_audit(c: Caller, r: rq.RoomAudit) -> rs.AuditReply:
    """The room's audit log, newest first (its moderators)."""
    return _audit_out(await c.services.moderation.room_audit(c.user, r.room, r.before, r.limit))


async def server_audit(c: Caller, r: rq.ServerAudit) -> rs.AuditReply:
    """Every room's audit log, newest first (admins)."""
    return _audit_out(await c.services.moderation.server_audit(c.user, r.before, r.limit))


def _reason(reason: str | None) -> str | None:
    """A moderator's reason as kept: trimmed, and none when blank."""
    return (reason or "").strip() or None


# -- invites ---------------------------------------------------------------------------


async def create_invite(c: Caller, r: rq.NewInvite) -> rs.InviteReply:
    """Make an invite to a room (its moderators)."""
    s = c.services
    invite = await s.invites.create(
        c.user, r.room, max_uses=r.max_uses, expires_in_s=r.expires_in_s, role=r.role
    )
    return rs.InviteReply(wire.invite_out(invite, s.invites.link(invite.code), c.user))


async def room_invites(c: Caller, r: rq.RoomRef) -> rs.InvitesReply:
    """A room's invites, newest first, with their uses (its moderators)."""
    s = c.services
    found = await s.invites.of_room(c.user, r.room)
    return rs.InvitesReply([wire.invite_out(i, s.invites.link(i.code), by) for i, by in found])


async def revoke_invite(c: Caller, r: rq.InviteRef) -> None:
    """Revoke an invite (the room's moderators)."""
    await c.services.invites.revoke(c.user, r.code)


async def preview_invite(c: Caller, r: rq.InviteRef) -> rs.InvitePreviewReply:
    """What an invite opens: no token needed, the code is the secret."""
    invite, room = await c.services.invites.preview(r.code)
    return rs.InvitePreviewReply(wire.invite_preview_out(invite, room))


async def accept_invite(c: Caller, r: rq.InviteRef) -> rs.RoomReply:
    """Join the invite's room (a member already in it uses nothing)."""
    room = await c.services.invites.accept(c.user, r.code)
    return rs.RoomReply(await _room_out(c, room, joined=True))


# -- messages and reactions ------------------------------------------------------------


async def send(c: Caller, r: rq.Send) -> rs.MessageReply:
    """Post a message; a repeated nonce returns the first one."""
    message = await c.services.messages.send(
        c.user,
        r.room,
        r.body,
        r.reply_to,
        r.nonce,
        r.question,
        poll=_poll_draft(r.poll),
        meetup=None if r.event is None else c.services.meetups.spec(r.event),
        attachments=r.attachments,
    )
    return rs.MessageReply(wire.message_out(message))


async def edit(c: Caller, r: rq.Edit) -> rs.MessageReply:
    """Edit one's own message."""
    message = await c.services.messages.edit(c.user, r.message, r.body)
    return rs.MessageReply(wire.message_out(message))


async def delete(c: Caller, r: rq.Delete) -> None:
    """Delete a message (its author, or the room's moderators)."""
    await c.services.messages.delete(c.user, r.message)


async def history(c: Caller, r: rq.History) -> rs.MessagesReply:
    """A page of a room's messages, ascending by seq."""
    messages = await c.services.messages.history(
        c.user, r.room, r.before, r.after, r.limit, r.around
    )
    return rs.MessagesReply([wire.message_out(m) for m in messages])


async def search(c: Caller, r: rq.MessageSearch) -> rs.SearchReply:
    """Search the messages of the rooms the caller may read, newest first."""
    found = await c.services.search.search(
        c.user,
        r.q,
        room=r.room,
        author=r.from_,
        has=r.has,
        before=r.before,
        after=r.after,
        limit=r.limit,
        cursor=r.cursor,
    )
    rooms = {hit.room.id: hit.room for hit in found.hits}
    peers = await c.services.session.dm_peers(list(rooms.values()), c.user)
    out = {
        room.id: wire.room_out(room, peers=wire.users_out(peers[room.id]))
        if room.id in peers
        else wire.room_out(room)
        for room in rooms.values()
    }
    results = [
        rs.SearchHit(wire.message_out(hit.message), out[hit.room.id], hit.highlights)
        for hit in found.hits
    ]
    return rs.SearchReply(results, found.next_cursor)


def _reactions(found: tuple[Any, ...]) -> rs.ReactionsReply:
    return rs.ReactionsReply([wire.ReactionOut(x.emoji, x.count, x.me) for x in found])


async def react(c: Caller, r: rq.React) -> rs.ReactionsReply:
    """Add the caller's reaction (an emoji or a :shortcode:); idempotent."""
    return _reactions(await c.services.reactions.react(c.user, r.message, r.emoji))


async def unreact(c: Caller, r: rq.Unreact) -> rs.ReactionsReply:
    """Remove the caller's reaction; idempotent."""
    return _reactions(await c.services.reactions.unreact(c.user, r.message, r.emoji))


async def emoji(c: Caller, r: rq.EmojiSearch) -> rs.EmojiReply:
    """The emoji picker: search names and keywords in English or French, and recent reactions."""
    recent = await c.services.reactions.recent(c.user)
    found = search_emoji(r.q[:40], r.lang, r.limit, recent)
    return rs.EmojiReply(
        [rs.EmojiOut(e.emoji, e.name, list(e.aliases), list(e.skins), e.label) for e in found],
        recent,
    )


# -- WebSocket-only ops ----------------------------------------------------------------


async def hello(c: Caller, r: rq.Hello) -> None:
    """The handshake; the gateway answers it before any other op."""
    raise BadRequest("already said hello")


async def ping(c: Caller, r: rq.Ping) -> None:
    """Answered at once with `pong`."""


async def typing(c: Caller, r: rq.Typing) -> None:
    """Tell the room the caller is typing."""
    # One query: membership, and whether the caller may write there (muted, archived).
    room = await c.services.rooms.typing_room(c.user, r.room)
    await c.services.presence.typing(c.user, room)


async def read(c: Caller, r: rq.Read) -> None:
    """Move the caller's read marker (never backwards)."""
    await c.services.messages.read(c.user, r.room, r.seq)


async def sync(c: Caller, r: rq.Sync) -> None:
    """Reply ok, replay the room since `since`, then resume its live events.

    The connection is detached from the room BEFORE the replay is read, so no live
    event committed after the replay's snapshot can reach it ahead of the replay (and
    then again after it): those follow `room.synced`, once each.
    """
    conn, hub = c.connection, c.hub
    assert conn is not None and hub is not None, "sync is a WebSocket op"
    attached = r.room in conn.rooms
    resume = hub.position(conn, r.room)
    if attached:
        await hub.detach(conn, r.room)
    try:
        replay = await c.services.sync.replay(c.user, r.room, r.since)
    except (NotFound, NotMember):
        raise  # not a member (any more): nothing to resume
    except Exception:
        # Still a member (a database hiccup): put the connection back where it was, or
        # have it reconnect when that is not known.
        if resume is not None:
            await hub.attach(conn, r.room, resume)
        elif attached:
            conn.close(CloseCode.INTERNAL, "could not resume the room; reconnect with since")
        raise
    conn.send(ok_frame(r.ref, None))
    for frame in replay.frames:
        conn.send(frame)
    await hub.attach(conn, replay.room_id, replay.seq)


def ok_frame(ref: rq.Ref, result: msgspec.Struct | None) -> bytes:
    """`{"op": "ok", "ref": ..., ...result}`, encoded in one pass (the result's fields are
    taken shallowly, in C, so this costs what encoding a hand-built dict did)."""
    if result is None:
        return wire.encode({"op": "ok", "ref": ref})
    return wire.encode({"op": "ok", "ref": ref, **msgspec.structs.asdict(result)})


# -- friends, blocks, DMs ----------------------------------------------------------------


async def friends(c: Caller, r: rq.NoInput) -> rs.FriendsReply:
    """The caller's friends and pending requests both ways."""
    mutual, incoming, outgoing = await c.services.social.lists(c.user)
    return rs.FriendsReply(
        wire.users_out(mutual), wire.users_out(incoming), wire.users_out(outgoing)
    )


async def add_friend(c: Caller, r: rq.UsernameRef) -> rs.FriendStatusReply:
    """Ask to be friends, or accept the other's request."""
    return rs.FriendStatusReply(await c.services.social.request_friend(c.user, r.username))


async def remove_friend(c: Caller, r: rq.UserRef) -> None:
    """Unfriend, cancel or decline."""
    await c.services.social.remove_friend(c.user, r.user)


async def blocks(c: Caller, r: rq.NoInput) -> rs.BlockedReply:
    """The users the caller blocked."""
    return rs.BlockedReply(wire.users_out(await c.services.social.blocked(c.user)))


async def block(c: Caller, r: rq.UsernameRef) -> None:
    """Block a user."""
    await c.services.social.block(c.user, r.username)


async def unblock(c: Caller, r: rq.UserRef) -> None:
    """Lift a block."""
    await c.services.social.unblock(c.user, r.user)


async def open_dm(c: Caller, r: rq.OpenDm) -> rs.RoomReply:
    """The one DM room of the caller and the people named, created on first use."""
    names = r.usernames if r.usernames is not None else [] if r.username is None else [r.username]
    room = await c.services.social.open_dm(c.user, names)
    return rs.RoomReply(await _room_out(c, room, joined=True))


# -- notifications ---------------------------------------------------------------------


def _settings(default: Level, rooms: dict[int, Level]) -> rs.NotificationSettingsReply:
    return rs.NotificationSettingsReply(default, {str(k): v for k, v in rooms.items()})


async def notification_settings(c: Caller, r: rq.NoInput) -> rs.NotificationSettingsReply:
    """The caller's default notification level and per-room overrides."""
    return _settings(*await c.services.notifications.settings(c.user))


async def update_notification_settings(
    c: Caller, r: rq.SettingsChanges
) -> rs.NotificationSettingsReply:
    """Change the default level and merge per-room overrides (`null` removes one)."""
    return _settings(*await c.services.notifications.update_settings(c.user, r.default, r.rooms))


async def notifications(c: Caller, r: rq.Inbox) -> rs.NotificationsReply:
    """The caller's notifications, newest first."""
    unread = r.unread.lower() in ("1", "true", "yes")
    items = await c.services.notifications.inbox(c.user, unread, r.limit)
    return rs.NotificationsReply([wire.notification_out(n) for n in items])


async def mark_notifications_read(c: Caller, r: rq.MarkRead) -> None:
    """Mark notifications read: `{ids}` or `{all: true}`."""
    await c.services.notifications.mark_read(c.user, r.ids, r.all)


# -- pins and reports --------------------------------------------------------------------


async def pin(c: Caller, r: rq.PinRef) -> None:
    """Pin a message of the room (moderators; at most 50 pins); idempotent."""
    await c.services.pins.pin(c.user, r.room, r.message)


async def unpin(c: Caller, r: rq.PinRef) -> None:
    """Unpin a message (moderators); idempotent."""
    await c.services.pins.unpin(c.user, r.room, r.message)


async def report(c: Caller, r: rq.NewReport) -> None:
    """Report a message to mentors and admins (anyone who can read it)."""
    await c.services.reports.report(c.user, r.message, r.reason)


async def reports(c: Caller, r: rq.ReportSearch) -> rs.ReportsReply:
    """Reports, newest first, with the message as it was reported (mentors and admins)."""
    found = await c.services.reports.reports(c.user, r.state, r.before, r.limit)
    return rs.ReportsReply([wire.report_out(*entry) for entry in found])


async def resolve_report(c: Caller, r: rq.Resolution) -> None:
    """Resolve a report: dismiss it, or delete the message (mentors and admins)."""
    await c.services.reports.resolve(c.user, r.report, r.action)


# -- questions and workshops -------------------------------------------------------------


async def set_question(c: Caller, r: rq.QuestionChange) -> rs.MessageReply:
    """Ask (`open`, also reopens) or answer (`answered`, with `answer`) a question: its
    author or the room's moderators."""
    found = await c.services.questions.set_state(c.user, r.message, r.state, r.answer)
    return rs.MessageReply(wire.message_out(found))


async def vote_question(c: Caller, r: rq.MessageRef) -> rs.MessageReply:
    """Upvote a question (members but its author); idempotent."""
    found = await c.services.questions.vote(c.user, r.message, up=True)
    return rs.MessageReply(wire.message_out(found))


async def unvote_question(c: Caller, r: rq.MessageRef) -> rs.MessageReply:
    """Take one's vote back; idempotent."""
    found = await c.services.questions.vote(c.user, r.message, up=False)
    return rs.MessageReply(wire.message_out(found))


async def claim_question(c: Caller, r: rq.MessageRef) -> rs.MessageReply:
    """Claim an open question: "I am on it" (moderators); idempotent."""
    found = await c.services.questions.claim(c.user, r.message, on=True)
    return rs.MessageReply(wire.message_out(found))


async def unclaim_question(c: Caller, r: rq.MessageRef) -> rs.MessageReply:
    """Drop a question's claim (moderators); idempotent."""
    found = await c.services.questions.claim(c.user, r.message, on=False)
    return rs.MessageReply(wire.message_out(found))


async def questions(c: Caller, r: rq.QuestionQueue) -> rs.QuestionsReply:
    """A room's questions: by votes then oldest, or oldest first (whoever reads the room)."""
    found = await c.services.questions.queue(c.user, r.room, r.state, r.sort, r.limit)
    return rs.QuestionsReply([wire.message_out(m) for m in found])


async def start_workshop(c: Caller, r: rq.NewWorkshop) -> rs.RoomReply:
    """Workshop mode for `duration_s`: slow mode, question mode, optionally guests
    (moderators)."""
    room = await c.services.workshops.start(c.user, r.room, r.duration_s, r.slow_mode, r.guests)
    return rs.RoomReply(await _room_out(c, room))


async def stop_workshop(c: Caller, r: rq.RoomRef) -> rs.WorkshopSummaryReply:
    """End the room's workshop now (moderators): its summary."""
    return rs.WorkshopSummaryReply(await c.services.workshops.stop(c.user, r.room))


async def workshop_summary(c: Caller, r: rq.RoomRef) -> rs.WorkshopSummaryReply:
    """The summary of the room's latest finished workshop."""
    return rs.WorkshopSummaryReply(await c.services.workshops.summary(c.user, r.room))


# -- polls -------------------------------------------------------------------------------


def _poll_draft(poll: rq.NewPoll | None) -> PollDraft | None:
    if poll is None:
        return None
    return draft_poll(poll.question, poll.options, multiple=poll.multiple, anonymous=poll.anonymous)


async def vote_poll(c: Caller, r: rq.PollVote) -> rs.MessageReply:
    """Set one's whole vote in a poll (members of its room); `[]` withdraws it."""
    found = await c.services.polls.vote(c.user, r.message, r.options)
    return rs.MessageReply(wire.message_out(found))


async def close_poll(c: Caller, r: rq.MessageRef) -> rs.MessageReply:
    """Close a poll (its author, the room's moderators); closing a closed poll is a no-op."""
    found = await c.services.polls.close(c.user, r.message)
    return rs.MessageReply(wire.message_out(found))


async def poll_voters(c: Caller, r: rq.MessageRef) -> rs.PollVotersReply:
    """Who chose what in a poll (readers of its room); an anonymous poll: forbidden."""
    found = await c.services.polls.voters(c.user, r.message)
    return rs.PollVotersReply(
        [rs.PollOptionVoters(o.id, o.text, wire.users_out(users)) for o, users in found]
    )


# -- meetups ------------------------------------------------------------------------------


def _meetup_out(listed: Listed) -> rs.MeetupOut:
    return rs.MeetupOut(
        wire.message_out(listed.message),
        wire.room_out(listed.room),
        wire.users_out(listed.friends_going),
    )


async def rsvp(c: Caller, r: rq.Rsvp) -> rs.MessageReply:
    """Answer a meetup: `going` (the waitlist once it is full), `maybe` or `no`
    (members of its room)."""
    found = await c.services.meetups.rsvp(c.user, r.message, r.status)
    return rs.MessageReply(wire.message_out(found))


async def update_event(c: Caller, r: rq.EventChanges) -> rs.MessageReply:
    """Change or move a meetup (its creator, the room's moderators); a new time or
    place alerts those going and maybe."""
    return rs.MessageReply(wire.message_out(await c.services.meetups.update(c.user, r)))


async def cancel_event(c: Caller, r: rq.MessageRef) -> rs.MessageReply:
    """Cancel a meetup (its creator, the room's moderators); those going and maybe are
    alerted."""
    return rs.MessageReply(wire.message_out(await c.services.meetups.cancel(c.user, r.message)))


async def get_event(c: Caller, r: rq.MessageRef) -> rs.MeetupReply:
    """One meetup as the caller sees it: their answer, place in line, friends going."""
    return rs.MeetupReply(_meetup_out(await c.services.meetups.view(c.user, r.message)))


async def list_events(c: Caller, r: rq.EventSearch) -> rs.MeetupsReply:
    """Meetups in the rooms the caller may read, soonest first, with friends going."""
    found = await c.services.meetups.listing(c.user, r.upcoming, r.region, r.limit)
    return rs.MeetupsReply([_meetup_out(listed) for listed in found])


# -- the table ---------------------------------------------------------------------------

U = UseCase
USE_CASES: tuple[UseCase[Any], ...] = (
    U(
        rq.Register,
        register,
        rs.SessionReply,
        Http("POST", "/api/auth/register", 201),
        anonymous=True,
    ),
    U(rq.Login, login, rs.SessionReply, Http("POST", "/api/auth/login"), anonymous=True),
    U(
        rq.GuestEntry,
        guest,
        rs.SessionReply,
        Http("POST", "/api/auth/guest", 201),
        anonymous=True,
        ip_limit="guest_ip",
    ),
    U(rq.Upgrade, upgrade, rs.UpgradeReply, Http("POST", "/api/auth/upgrade")),
    U(rq.NoInput, logout, None, Http("POST", "/api/auth/logout")),
    U(rq.NoInput, me, rs.SelfReply, Http("GET", "/api/me")),
    # A change others see goes to everyone who shares a room: budgeted like a message.
    U(rq.ProfileChanges, update_me, rs.SelfReply, Http("PATCH", "/api/me"), costs_message=True),
    U(rq.UserSearch, search_users, rs.UsersReply, Http("GET", "/api/users")),
    U(rq.UserRef, get_user, rs.ProfileReply, Http("GET", "/api/users/{user}")),
    U(
        rq.NoInput,
        remove_avatar,
        rs.SelfReply,
        Http("DELETE", "/api/me/avatar"),
        costs_message=True,
    ),
    U(rq.PasswordChange, change_password, None, Http("POST", "/api/me/password")),
    U(rq.NoInput, logout_all, None, Http("POST", "/api/auth/logout-all")),
    U(rq.PasswordCheck, delete_me, None, Http("DELETE", "/api/me")),
    U(rq.NoInput, export_me, rs.ExportReply, Http("GET", "/api/me/export")),
    U(rq.PasswordReset, reset_password, None, Http("POST", "/api/auth/reset"), anonymous=True),
    U(rq.RoleChange, set_role, rs.UserReply, Http("PUT", "/api/users/{user}/role")),
    U(rq.UserRef, deactivate_user, None, Http("POST", "/api/users/{user}/deactivate")),
    U(rq.UserRef, reactivate_user, None, Http("POST", "/api/users/{user}/reactivate")),
    U(rq.RoomSearch, list_rooms, rs.RoomsReply, Http("GET", "/api/rooms")),
    U(rq.NewRoom, create_room, rs.RoomReply, Http("POST", "/api/rooms", 201)),
    U(rq.RoomRef, get_room, rs.RoomReply, Http("GET", "/api/rooms/{room}")),
    U(rq.RoomRef, join_room, rs.RoomReply, Http("POST", "/api/rooms/{room}/join")),
    U(rq.RoomRef, leave_room, None, Http("POST", "/api/rooms/{room}/leave")),
    U(rq.RoomChanges, update_room, rs.RoomReply, Http("PATCH", "/api/rooms/{room}")),
    U(rq.AddMembers, add_members, rs.AddedReply, Http("POST", "/api/rooms/{room}/members")),
    U(rq.MemberSearch, room_members, rs.MembersReply, Http("GET", "/api/rooms/{room}/members")),
    U(
        rq.MemberAction,
        remove_member,
        None,
        Http("DELETE", "/api/rooms/{room}/members/{user}"),
    ),
    U(
        rq.RoomRoleChange,
        set_room_role,
        rs.MemberReply,
        Http("PUT", "/api/rooms/{room}/members/{user}"),
    ),
    U(rq.MemberAction, ban, None, Http("PUT", "/api/rooms/{room}/bans/{user}")),
    U(rq.MemberRef, unban, None, Http("DELETE", "/api/rooms/{room}/bans/{user}")),
    U(rq.RoomRef, bans, rs.BansReply, Http("GET", "/api/rooms/{room}/bans")),
    U(rq.Mute, mute, rs.MuteReply, Http("PUT", "/api/rooms/{room}/mutes/{user}")),
    U(rq.MemberRef, unmute, None, Http("DELETE", "/api/rooms/{room}/mutes/{user}")),
    U(rq.RoomAudit, room_audit, rs.AuditReply, Http("GET", "/api/rooms/{room}/audit")),
    U(rq.ServerAudit, server_audit, rs.AuditReply, Http("GET", "/api/audit")),
    U(rq.NewInvite, create_invite, rs.InviteReply, Http("POST", "/api/rooms/{room}/invites", 201)),
    U(rq.RoomRef, room_invites, rs.InvitesReply, Http("GET", "/api/rooms/{room}/invites")),
    U(rq.InviteRef, revoke_invite, None, Http("DELETE", "/api/invites/{code}")),
    U(
        rq.InviteRef,
        preview_invite,
        rs.InvitePreviewReply,
        Http("GET", "/api/invites/{code}"),
        anonymous=True,
    ),
    U(rq.InviteRef, accept_invite, rs.RoomReply, Http("POST", "/api/invites/{code}/accept")),
    U(rq.History, history, rs.MessagesReply, Http("GET", "/api/rooms/{room}/messages"), ws=True),
    U(rq.MessageSearch, search, rs.SearchReply, Http("GET", "/api/search")),
    U(
        rq.Send,
        send,
        rs.MessageReply,
        Http("POST", "/api/rooms/{room}/messages", 201),
        ws=True,
        costs_message=True,
    ),
    U(
        rq.Edit,
        edit,
        rs.MessageReply,
        Http("PATCH", "/api/messages/{message}"),
        ws=True,
        costs_message=True,
    ),
    U(rq.Delete, delete, None, Http("DELETE", "/api/messages/{message}"), ws=True),
    U(rq.PinRef, pin, None, Http("PUT", "/api/rooms/{room}/pins/{message}")),
    U(rq.PinRef, unpin, None, Http("DELETE", "/api/rooms/{room}/pins/{message}")),
    U(
        rq.NewReport,
        report,
        None,
        Http("POST", "/api/messages/{message}/report"),
        costs_message=True,
    ),
    U(rq.ReportSearch, reports, rs.ReportsReply, Http("GET", "/api/reports")),
    U(
        rq.QuestionChange,
        set_question,
        rs.MessageReply,
        Http("PUT", "/api/messages/{message}/question"),
    ),
    U(
        rq.MessageRef,
        vote_question,
        rs.MessageReply,
        Http("PUT", "/api/messages/{message}/question/vote"),
    ),
    U(
        rq.MessageRef,
        unvote_question,
        rs.MessageReply,
        Http("DELETE", "/api/messages/{message}/question/vote"),
    ),
    U(
        rq.MessageRef,
        claim_question,
        rs.MessageReply,
        Http("PUT", "/api/messages/{message}/question/claim"),
    ),
    U(
        rq.MessageRef,
        unclaim_question,
        rs.MessageReply,
        Http("DELETE", "/api/messages/{message}/question/claim"),
    ),
    U(rq.QuestionQueue, questions, rs.QuestionsReply, Http("GET", "/api/rooms/{room}/questions")),
    U(rq.NewWorkshop, start_workshop, rs.RoomReply, Http("POST", "/api/rooms/{room}/workshop")),
    U(rq.PollVote, vote_poll, rs.MessageReply, Http("PUT", "/api/messages/{message}/poll/vote")),
    U(
        rq.MessageRef,
        close_poll,
        rs.MessageReply,
        Http("POST", "/api/messages/{message}/poll/close"),
    ),
    U(
        rq.MessageRef,
        poll_voters,
        rs.PollVotersReply,
        Http("GET", "/api/messages/{message}/poll/voters"),
    ),
    U(
        rq.RoomRef,
        stop_workshop,
        rs.WorkshopSummaryReply,
        Http("DELETE", "/api/rooms/{room}/workshop"),
    ),
    U(
        rq.RoomRef,
        workshop_summary,
        rs.WorkshopSummaryReply,
        Http("GET", "/api/rooms/{room}/workshop/summary"),
    ),
    U(rq.Resolution, resolve_report, None, Http("POST", "/api/reports/{report}/resolve")),
    U(
        rq.React,
        react,
        rs.ReactionsReply,
        Http("PUT", "/api/messages/{message}/reactions/{emoji}"),
        ws=True,
        costs_message=True,
    ),
    U(
        rq.Unreact,
        unreact,
        rs.ReactionsReply,
        Http("DELETE", "/api/messages/{message}/reactions/{emoji}"),
        ws=True,
        costs_message=True,
    ),
    U(rq.EmojiSearch, emoji, rs.EmojiReply, Http("GET", "/api/emoji")),
    U(rq.NoInput, friends, rs.FriendsReply, Http("GET", "/api/friends")),
    U(rq.UsernameRef, add_friend, rs.FriendStatusReply, Http("POST", "/api/friends")),
    U(rq.UserRef, remove_friend, None, Http("DELETE", "/api/friends/{user}")),
    U(rq.NoInput, blocks, rs.BlockedReply, Http("GET", "/api/blocks")),
    U(rq.UsernameRef, block, None, Http("POST", "/api/blocks")),
    U(rq.UserRef, unblock, None, Http("DELETE", "/api/blocks/{user}")),
    U(rq.OpenDm, open_dm, rs.RoomReply, Http("POST", "/api/dms")),
    U(
        rq.NoInput,
        notification_settings,
        rs.NotificationSettingsReply,
        Http("GET", "/api/settings/notifications"),
    ),
    U(
        rq.SettingsChanges,
        update_notification_settings,
        rs.NotificationSettingsReply,
        Http("PUT", "/api/settings/notifications"),
    ),
    U(rq.Inbox, notifications, rs.NotificationsReply, Http("GET", "/api/notifications")),
    U(rq.MarkRead, mark_notifications_read, None, Http("POST", "/api/notifications/read")),
    U(rq.Hello, hello, ws=True, free=True),
    U(rq.Ping, ping, ws=True, ws_reply="pong", free=True),
    U(rq.Typing, typing, ws=True),
    U(rq.Read, read, ws=True),
    U(rq.Sync, sync, ws=True, ws_reply="none"),
    U(rq.Rsvp, rsvp, rs.MessageReply, Http("PUT", "/api/messages/{message}/rsvp")),
    U(
        rq.EventChanges,
        update_event,
        rs.MessageReply,
        Http("PATCH", "/api/messages/{message}/event"),
    ),
    U(
        rq.MessageRef,
        cancel_event,
        rs.MessageReply,
        Http("POST", "/api/messages/{message}/event/cancel"),
    ),
    U(rq.MessageRef, get_event, rs.MeetupReply, Http("GET", "/api/messages/{message}/event")),
    U(rq.EventSearch, list_events, rs.MeetupsReply, Http("GET", "/api/events")),
)
