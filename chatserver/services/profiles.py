"""Profiles: reading one as its viewer may, editing one's own, and telling those who see
it when it changes (`user.updated`)."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from msgspec import UNSET

from chatserver.domain import text
from chatserver.domain.errors import Forbidden, NotFound
from chatserver.domain.models import User
from chatserver.domain.profiles import Profile, may_see, validate_bio, validate_pronouns
from chatserver.files.base import FileMissing, FileStore
from chatserver.protocol import wire
from chatserver.protocol.envelope import ProfileChanged
from chatserver.protocol.events import UserUpdated
from chatserver.protocol.requests import ProfileChanges
from chatserver.services.images import ImageProcessor
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import profiles as store
from chatserver.store.engine import Database
from chatserver.store.profiles import Friendship

log = logging.getLogger(__name__)

OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]

AVATAR_TYPE = "image/webp"
_AVATAR_KEY = re.compile(r"[A-Za-z0-9_-]{22}", re.ASCII)
"""An avatar's key: 16 random bytes, URL-safe base64 (it is also its URL's last part)."""


def avatar_path(user_id: int, key: str) -> str:
    """Where an avatar is kept in the file store."""
    return f"avatars/{user_id}/{key}.webp"


@dataclass(frozen=True, slots=True)
class Viewed:
    """A profile as one viewer sees it, with how the viewer stands with its user."""

    profile: Profile
    friendship: Friendship
    blocked: bool


class ProfileService:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        online_among: OnlineAmong,
        files: FileStore,
        images: ImageProcessor,
        avatar_side: int = 256,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._online_among = online_among
        self._files = files
        self._images = images
        self._avatar_side = avatar_side

    async def view(self, viewer: User, user_id: int) -> Viewed:
        """`user_id`'s profile if the viewer may see it, else `not_found` (exactly as for
        an id never used, so that strangers cannot tell who has an account)."""
        async with self._db.read() as conn:
            profile = await store.get_profile(conn, user_id)
            if profile is None:
                raise NotFound("no such user")
            if viewer.id == user_id:
                return Viewed(profile, "none", False)
            relation = await store.relation(conn, viewer.id, user_id)
            if not may_see(viewer, profile.user, relation):
                raise NotFound("no such user")
            friendship, blocked = await store.viewer_ties(conn, viewer.id, user_id)
        return Viewed(profile, friendship, blocked)

    async def may_see(self, viewer: User, user_id: int) -> bool:
        """Whether the viewer may see the user's profile (and so their avatar)."""
        if viewer.id == user_id:
            return True
        async with self._db.read() as conn:
            subject = await account_store.live_user(conn, user_id)
            if subject is None:
                return False
            relation = await store.relation(conn, viewer.id, user_id)
        return may_see(viewer, subject, relation)

    async def update(self, user: User, changes: ProfileChanges) -> Profile:
        """Apply the fields given (one left out keeps its value, `null` resets it), then
        announce the change if others see any of them."""
        values: dict[str, str | None] = {}
        if changes.display_name is not UNSET:
            values["display_name"] = text.validate_display_name(
                changes.display_name, fallback=user.username
            )
        if changes.region is not UNSET:
            values["region"] = text.validate_region(changes.region)
        if changes.dm_policy is not UNSET:
            values["dm_policy"] = changes.dm_policy
        if changes.bio is not UNSET:
            values["bio"] = validate_bio(changes.bio)
        if changes.pronouns is not UNSET:
            values["pronouns"] = validate_pronouns(changes.pronouns)
        async with self._db.write() as conn:
            before = await store.get_profile(conn, user.id)
            await account_store.update_profile(conn, user.id, values)
            after = await store.get_profile(conn, user.id)
        if before is None or after is None:
            raise NotFound("no such user")
        if _shown(before) != _shown(after):
            await self.announce(after)
        return after

    async def set_avatar(self, user: User, data: bytes) -> Profile:
        """A new picture: checked by its content, its centre cropped square, resized and
        re-encoded without metadata (off the event loop), stored, then made the user's.
        The previous one is deleted once no one is pointed at it."""
        if user.role == "guest":
            raise Forbidden("guests cannot set an avatar")
        clean = await self._images.avatar(data, side=self._avatar_side)
        key = secrets.token_urlsafe(16)
        path = avatar_path(user.id, key)
        await self._files.put(path, clean.data, clean.content_type)
        try:
            async with self._db.write() as conn:
                previous = await store.set_avatar(conn, user.id, key)
                profile = await store.get_profile(conn, user.id)
                if profile is None:  # deleted meanwhile: keep nothing of it
                    raise NotFound("no such user")
        except BaseException:
            await self._files.delete(path)
            raise
        await self._forget(user.id, previous)
        await self.announce(profile)
        return profile

    async def remove_avatar(self, user: User) -> Profile:
        async with self._db.write() as conn:
            previous = await store.set_avatar(conn, user.id, None)
            profile = await store.get_profile(conn, user.id)
        if profile is None:
            raise NotFound("no such user")
        await self._forget(user.id, previous)
        if previous is not None:
            await self.announce(profile)
        return profile

    async def avatar(self, viewer: User, user_id: int, key: str) -> bytes:
        """The avatar's bytes, to whoever may see the profile and asks for the current
        picture; `not_found` for anything else (a stranger, an old or made-up key)."""
        if not _AVATAR_KEY.fullmatch(key):
            raise NotFound("no such avatar")
        async with self._db.read() as conn:
            current = await store.avatar_of(conn, user_id)
        if current != key or not await self.may_see(viewer, user_id):
            raise NotFound("no such avatar")
        try:
            return await self._files.get(avatar_path(user_id, key))
        except FileMissing:
            raise NotFound("no such avatar") from None

    async def announce_user(self, user_id: int) -> None:
        """`user.updated` with the user as stored now, after a change made elsewhere (a
        guest who became a student: their "guest" mark goes from others' screens)."""
        try:
            async with self._db.read() as conn:
                profile = await store.get_profile(conn, user_id)
            if profile is not None:
                await self.announce(profile)
        except Exception as exc:  # already committed: the next load shows the change
            log.warning("change of user %s not announced: %s", user_id, exc)

    async def forget_avatar(self, user: User) -> None:
        """After the account's deletion: its picture goes with its other personal data."""
        await self._forget(user.id, user.avatar)

    async def _forget(self, user_id: int, key: str | None) -> None:
        if key is None:
            return
        try:
            await self._files.delete(avatar_path(user_id, key))
        except Exception as exc:  # unreferenced now: never served again, only space lost
            log.warning("avatar %s of user %s not deleted: %s", key, user_id, exc)

    async def announce(self, profile: Profile) -> None:
        """`user.updated` to everyone connected who may see the profile, the user's own
        connections included; and the user's sockets act as the new one from now on.

        Sent per user rather than on room channels: the same person is in many rooms,
        and a friend who shares none must hear of it too. Only connected people are
        sent it (a client that connects later reads the new User in what it loads).
        """
        user = profile.user
        await self._publisher.control(
            ProfileChanged(
                user_id=user.id,
                display_name=user.display_name,
                region=user.region,
                avatar=user.avatar,
            )
        )
        try:
            async with self._db.read() as conn:
                audience = await store.audience(conn, user.id)
            online = await self._online_among(audience)
        except Exception as exc:  # already committed: the next load shows the change
            log.warning("profile change of user %s not announced: %s", user.id, exc)
            return
        frame = wire.encode(UserUpdated(user=wire.profile_out(profile)))
        for user_id in sorted(online | {user.id}):
            await self._publisher.user(user_id, frame)


def _shown(profile: Profile) -> tuple[str | None, ...]:
    user = profile.user
    return (user.display_name, user.region, profile.bio, profile.pronouns, user.avatar)
