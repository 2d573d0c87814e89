"""The event catalog: every frame the server pushes, one Struct each, and which are sequenced.

Each event is a msgspec Struct whose `type` is a `Literal`, so the catalog is also the
schema (`catalog.py` exports it as JSON Schema and as the web client's module). A frame
is encoded once, whatever the number of recipients: per-viewer fields (`me`) are false
in every broadcast, as PROTOCOL.md says.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from chatserver.protocol.wire import MessageOut, NotificationOut, ProfileOut, RoomOut, UserOut

PresenceStatus = Literal["online", "offline"]


class Event(msgspec.Struct, kw_only=True):
    """Base of every pushed event: `op` first, then `type`, then the event's own fields."""

    op: Literal["event"] = "event"


class SequencedEvent(Event, kw_only=True):
    """An event that takes the next value of its room's counter and is kept in the log."""

    room: int
    seq: int

    @property
    def room_id(self) -> int:
        return self.room


# -- sequenced: each takes the room's next seq, stored in room_events as broadcast ----


class MessageCreated(SequencedEvent, kw_only=True):
    type: Literal["message.created"] = "message.created"
    message: MessageOut


class MessageUpdated(SequencedEvent, kw_only=True):
    """An edit, a deletion (tombstone) or any other change: the message's full state."""

    type: Literal["message.updated"] = "message.updated"
    message: MessageOut


class ReactionAdded(SequencedEvent, kw_only=True):
    type: Literal["reaction.added"] = "reaction.added"
    message: int
    emoji: str
    user: int
    count: int


class ReactionRemoved(SequencedEvent, kw_only=True):
    type: Literal["reaction.removed"] = "reaction.removed"
    message: int
    emoji: str
    user: int
    count: int


class MemberJoined(SequencedEvent, kw_only=True):
    type: Literal["member.joined"] = "member.joined"
    user: UserOut


class MemberLeft(SequencedEvent, kw_only=True):
    """`by` is the moderator who removed or banned the user, null when they left."""

    type: Literal["member.left"] = "member.left"
    user: UserOut
    by: UserOut | None = None
    reason: str | None = None


class RoomUpdated(Event, kw_only=True):
    """New room settings. As PROTOCOL-COMMUNITY writes it, `room` is the whole Room here
    (as in `room.added`), so the room's id is `room.id`; `seq` is sequenced as usual."""

    type: Literal["room.updated"] = "room.updated"
    room: RoomOut
    seq: int

    @property
    def room_id(self) -> int:
        return self.room.id


AnySequenced = SequencedEvent | RoomUpdated
SEQUENCED_EVENTS: tuple[type[AnySequenced], ...] = (
    MessageCreated,
    MessageUpdated,
    ReactionAdded,
    ReactionRemoved,
    MemberJoined,
    MemberLeft,
    RoomUpdated,
)


# -- unsequenced ----------------------------------------------------------------------


class RoomSynced(Event, kw_only=True):
    """The end of a replay; `reset` tells the client to reload history instead."""

    type: Literal["room.synced"] = "room.synced"
    room: int
    seq: int
    reset: bool | msgspec.UnsetType = msgspec.UNSET


class RoomAdded(Event, kw_only=True):
    type: Literal["room.added"] = "room.added"
    room: RoomOut


class RoomRemoved(Event, kw_only=True):
    type: Literal["room.removed"] = "room.removed"
    room: RoomOut


class RoomMuted(Event, kw_only=True):
    """To the muted member's own connections: muted in `room` until `until` (null: the
    mute was lifted), so a client can show it before the next refused write."""

    type: Literal["room.muted"] = "room.muted"
    room: int
    until: str | None


class TypingEvent(Event, kw_only=True):
    type: Literal["typing"] = "typing"
    room: int
    user: UserOut


class PresenceEvent(Event, kw_only=True):
    """`at` makes each announcement's bytes unique: the hub dedupes by them."""

    type: Literal["presence"] = "presence"
    user: UserOut
    status: PresenceStatus
    at: str


class FriendRequest(Event, kw_only=True):
    type: Literal["friend.request"] = "friend.request"
    user: UserOut


class FriendAccepted(Event, kw_only=True):
    type: Literal["friend.accepted"] = "friend.accepted"
    user: UserOut


class NotificationEvent(Event, kw_only=True):
    type: Literal["notification"] = "notification"
    notification: NotificationOut


class UserUpdated(Event, kw_only=True):
    """A user changed their display name, avatar or profile: to the user's own
    connections and to everyone who may see their profile (the members of their rooms
    and their friends), so names and pictures change in place everywhere."""

    type: Literal["user.updated"] = "user.updated"
    user: ProfileOut


UNSEQUENCED_EVENTS: tuple[type[Event], ...] = (
    RoomSynced,
    RoomAdded,
    RoomRemoved,
    RoomMuted,
    TypingEvent,
    PresenceEvent,
    FriendRequest,
    FriendAccepted,
    NotificationEvent,
    UserUpdated,
)

ALL_EVENTS: tuple[type[Event], ...] = SEQUENCED_EVENTS + UNSEQUENCED_EVENTS


def event_type(cls: type[Event]) -> str:
    """The `type` an event class carries (its Literal's one value)."""
    value = cls.__struct_defaults__[cls.__struct_fields__.index("type")]
    assert isinstance(value, str)
    return value


SEQUENCED_TYPES: frozenset[str] = frozenset(event_type(cls) for cls in SEQUENCED_EVENTS)
"""Every event type that takes a room seq: the SDK and the web client derive from this."""


# -- replies and the handshake --------------------------------------------------------


class Ready(msgspec.Struct, kw_only=True):
    op: Literal["ready"] = "ready"
    user: UserOut
    rooms: list[RoomOut]
    notifications_unread: int


class Pong(msgspec.Struct, kw_only=True):
    op: Literal["pong"] = "pong"
    ref: str | int | float | bool | None = None


class ErrorFrame(msgspec.Struct, kw_only=True):
    """A refused request; `retry_after` and `until` only when the error carries them."""

    op: Literal["error"] = "error"
    ref: str | int | float | bool | None
    code: str
    message: str
    retry_after: float | msgspec.UnsetType = msgspec.UNSET
    until: str | msgspec.UnsetType = msgspec.UNSET
