"""Invites: made by a room's moderators, used once per person to join, or to register and join.

A code is a bearer secret: whoever holds it may preview the room and join it, so it is
long and random, stored and found by its SHA-256, and every use is counted in the
transaction that joins, by one conditional UPDATE that cannot count past `max_uses`.
"""

from __future__ import annotations

import io

import segno
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import invites as rules
from chatserver.domain.errors import Expired, Forbidden, NotFound
from chatserver.domain.invites import Invite, InviteRole
from chatserver.domain.models import Room, User, now_ms
from chatserver.domain.rules import check_moderates
from chatserver.services.accounts import AccountService
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.services.rooms import RoomService, visible_room
from chatserver.store import accounts as account_store
from chatserver.store import audit
from chatserver.store import invites as store
from chatserver.store import rooms as room_store
from chatserver.store.engine import Database


class InviteService:
    def __init__(
        self,
        db: Database,
        events: RoomEvents,
        rooms: RoomService,
        accounts: AccountService,
        public_url: str | None,
    ) -> None:
        self._db = db
        self._events = events
        self._rooms = rooms
        self._accounts = accounts
        self._base = (public_url or "").rstrip("/")

    def link(self, code: str, base: str | None = None) -> str:
        """The web client's page for the code: absolute under CHAT_PUBLIC_URL (or the
        `base` given), else a path on this server."""
        root = self._base or (base or "").rstrip("/")
        return f"{root}/invite/{code}"

    async def create(
        self,
        actor: User | None,
        room_id: int,
        *,
        max_uses: int | None,
        expires_in_s: int,
        role: InviteRole,
    ) -> Invite:
        """A new invite by one of the room's moderators (`actor` None: the operator's CLI)."""
        now = now_ms()
        async with self._db.write() as conn:
            if actor is None:
                room = await room_store.get_room(conn, room_id)
                if room is None:
                    raise NotFound("no such room")
            else:
                room, membership = await visible_room(conn, actor, room_id)
                check_moderates(actor, room, membership)
            if role == "guest" and not room.guests_allowed:
                raise Forbidden("guest invites are only for rooms that allow guests")
            code = rules.new_code()
            invite = await store.create(
                conn,
                code=code,
                code_hash=rules.code_hash(code),
                room_id=room.id,
                role=role,
                max_uses=max_uses,
                expires_at_ms=now + expires_in_s * 1000,
                created_by=actor.id if actor else None,
                now=now,
            )
            await audit.record(
                conn,
                "invite.create",
                actor_id=actor.id if actor else None,
                now=now,
                room_id=room.id,
                details=_details(invite),
            )
        return invite

    async def of_room(self, actor: User, room_id: int) -> list[tuple[Invite, User | None]]:
        """A room's invites, newest first, each with who made it (moderators)."""
        async with self._db.read() as conn:
            room, membership = await visible_room(conn, actor, room_id)
            check_moderates(actor, room, membership)
            found = await store.of_room(conn, room.id)
            creators = await account_store.get_users(
                conn, {i.created_by for i in found if i.created_by is not None}
            )
        return [(i, creators.get(i.created_by) if i.created_by else None) for i in found]

    async def revoke(self, actor: User, code: str) -> None:
        """Revoke an invite (the room's moderators); revoking it again changes nothing."""
        async with self._db.write() as conn:
            invite = await _find(conn, code)
            found = await room_store.room_with_membership(conn, invite.room_id, actor.id)
            if found is None:
                raise NotFound("no such invite")
            check_moderates(actor, *found)
            if await store.revoke(conn, invite.id):
                await audit.record(
                    conn,
                    "invite.revoke",
                    actor_id=actor.id,
                    now=now_ms(),
                    room_id=invite.room_id,
                    details=_details(invite),
                )

    async def preview(self, code: str) -> tuple[Invite, Room]:
        """What the invite opens, for whoever holds the code (no account needed)."""
        async with self._db.read() as conn:
            invite = await _find(conn, code)
            invite.check_usable(now_ms())
            room = await room_store.get_room(conn, invite.room_id)
        if room is None:
            raise NotFound("no such invite")
        return invite, room

    async def qr_svg(self, code: str, base: str) -> bytes:
        """The invite's link as a QR code (SVG), for posters; `base` is this server's own
        address, used when CHAT_PUBLIC_URL is not set."""
        await self.preview(code)
        return render_qr(self.link(code, base))

    async def accept(self, user: User, code: str) -> Room:
        """Join the invite's room (private ones too). A member already in it is answered
        with the room and uses nothing; a banned user is refused."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            invite = await _find(conn, code)
            await store.lock_room(conn, invite.room_id)
            if await room_store.get_membership(conn, invite.room_id, user.id) is not None:
                room = await room_store.get_room(conn, invite.room_id)
                assert room is not None
                return room
            return await self._use(outbox, invite, user)

    async def register(
        self, username: str, password: str, display_name: str | None, code: str
    ) -> tuple[User, str, Room]:
        """Create an account and join the invite's room in one transaction: the account
        exists only if the use was counted, and the use is counted once."""
        async with self._db.read() as conn:  # a bad invite is refused before the hash
            await self._registration_invite(conn, code)
        account = await self._accounts.prepare(username, password, display_name)
        async with self._events.write() as outbox:
            invite = await self._registration_invite(outbox.conn, code)
            user, token = await self._accounts.create_in(outbox.conn, account, admitted=True)
            await store.lock_room(outbox.conn, invite.room_id)
            room = await self._use(outbox, invite, user)
        return user, token, room

    async def guest_invite(self, conn: AsyncConnection, code: str) -> Invite:
        """The invite a new guest comes with: usable, and to a room that allows guests
        (whatever its role: the room's setting decides who may come in)."""
        invite = await _find(conn, code)
        refusal = invite.refusal(now_ms())
        if refusal is not None:
            raise refusal
        room = await room_store.get_room(conn, invite.room_id)
        if room is None or not room.guests_allowed:
            raise Forbidden("this invite's room does not allow guests")
        return invite

    async def upgrade_invite(self, conn: AsyncConnection, code: str) -> Invite:
        """The invite a guest's upgrade comes with: what a registration would accept."""
        return await self._registration_invite(conn, code)

    async def enter(self, outbox: Outbox, invite: Invite, user: User) -> Room:
        """Use the invite for `user` in the caller's transaction; a member already in the
        room uses nothing."""
        conn = outbox.conn
        await store.lock_room(conn, invite.room_id)
        if await room_store.get_membership(conn, invite.room_id, user.id) is not None:
            room = await room_store.get_room(conn, invite.room_id)
            assert room is not None
            return room
        return await self._use(outbox, invite, user)

    async def _registration_invite(self, conn: AsyncConnection, code: str) -> Invite:
        """The invite a registration comes with, if it lets someone in. Under
        CHAT_REGISTRATION=invite an unknown or spent invite is no invite (`forbidden`, as
        for none), and a guest invite opens no permanent account."""
        found = await store.find(conn, rules.code_hash(code))
        refusal = NotFound("no such invite") if found is None else found.refusal(now_ms())
        if self._accounts.invite_only:
            if refusal is not None:
                raise Forbidden(f"registration needs a valid invite: {refusal.message}")
            assert found is not None
            if found.role != "student":
                raise Forbidden("a guest invite does not open an account on this server")
        if refusal is not None:
            raise refusal
        assert found is not None
        return found

    async def _use(self, outbox: Outbox, invite: Invite, user: User) -> Room:
        """Count the use and add the member, in the caller's transaction; the room's row
        is locked and the user is not a member yet."""
        conn = outbox.conn
        if await room_store.is_banned(conn, invite.room_id, user.id):
            raise Forbidden("you are banned from this room")
        now = now_ms()
        if not await store.take_use(conn, invite.id, now):
            current = await store.find(conn, rules.code_hash(invite.code))
            raise (current or invite).refusal(now) or Expired("this invite is used up")
        return await self._rooms.admit(outbox, invite.room_id, user)


def render_qr(link: str) -> bytes:
    """A QR code of `link` as an SVG document: black on white whatever the page's theme,
    with the quiet zone scanners need, and error correction M (15 %) for worn posters."""
    out = io.BytesIO()
    segno.make(link, error="m").save(
        out, kind="svg", scale=8, border=4, dark="#000", light="#fff", xmldecl=False
    )
    return out.getvalue()


async def _find(conn: AsyncConnection, code: str) -> Invite:
    invite = await store.find(conn, rules.code_hash(code))
    if invite is None:
        raise NotFound("no such invite")
    return invite


def _details(invite: Invite) -> dict[str, object]:
    """What the audit log keeps of an invite: enough to tell which, not enough to use it."""
    return {
        "code_prefix": invite.code[:6],
        "role": invite.role,
        "max_uses": invite.max_uses,
        "expires_at_ms": invite.expires_at_ms,
    }
