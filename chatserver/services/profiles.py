"""Profiles: reading one as its viewer may, editing one's own, and telling those who see
it when it changes (`user.updated`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from msgspec import UNSET

from chatserver.domain import text
from chatserver.domain.errors import NotFound
from chatserver.domain.models import User
from chatserver.domain.profiles import Profile, may_see, validate_bio, validate_pronouns
from chatserver.protocol import wire
from chatserver.protocol.envelope import ProfileChanged
from chatserver.protocol.events import UserUpdated
from chatserver.protocol.requests import ProfileChanges
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import profiles as store
from chatserver.store.engine import Database
from chatserver.store.profiles import Friendship

log = logging.getLogger(__name__)

OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


@dataclass(frozen=True, slots=True)
class Viewed:
    """A profile as one viewer sees it, with how the viewer stands with its user."""

    profile: Profile
    friendship: Friendship
    blocked: bool


class ProfileService:
    def __init__(self, db: Database, publisher: Publisher, online_among: OnlineAmong) -> None:
        self._db = db
        self._publisher = publisher
        self._online_among = online_among

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
