"""Node-to-node envelopes: room events, presence windows and control commands.

On room channels: the seq, a space, then the client frame. The hub must know an
event's seq to order it, and reading a decimal prefix is far cheaper than parsing the
JSON it prefixes. Unsequenced events carry seq 0.
"""

from __future__ import annotations

import msgspec

from chatserver.domain.models import Role


def pack(seq: int, frame: bytes) -> bytes:
    return b"%d %s" % (seq, frame)


def unpack(data: bytes) -> tuple[int, bytes]:
    head, _, frame = data.partition(b" ")
    return int(head), frame


class PresenceWindow(msgspec.Struct, array_like=True):
    """One window's presence announcements, for every node at once (the presence channel).

    Each node delivers a frame to its connections of the rooms and friends listed for
    it, but not to the user it is about; a connection sharing several of them with that
    user gets the frame once, and a window's frames reach a connection together, in
    the order of the changes. Sent as MessagePack: the frames travel as bytes, with no
    escaping to undo.
    """

    frames: list[bytes]
    """Complete `presence` event frames, in the order the changes happened."""
    subjects: list[int]
    """The user each frame is about."""
    rooms: dict[int, list[int]]
    """Room -> indices of the frames announced to its connected members, ascending."""
    friends: dict[int, list[int]]
    """User -> indices of the frames announced to them as a friend, ascending."""


_presence_decoder = msgspec.msgpack.Decoder(PresenceWindow)


def encode_presence(window: PresenceWindow) -> bytes:
    return msgspec.msgpack.encode(window)


def decode_presence(data: bytes) -> PresenceWindow:
    window: PresenceWindow = _presence_decoder.decode(data)
    return window


class Control(msgspec.Struct, tag_field="kind"):
    """A node-wide command on the control channel."""


class RevokeToken(Control, tag="revoke"):
    """Close every WebSocket opened with this token (logout)."""

    token_id: int


class MembershipChanged(Control, tag="membership"):
    """A user joined (`seq` is the room's seq after joining) or left a room."""

    user_id: int
    room_id: int
    joined: bool
    seq: int = 0


class RevokeUser(Control, tag="revoke_user"):
    """Close every WebSocket of the user but those opened with `keep_token_id` (0: none).

    Sent after a password change or reset, "log out everywhere", a deactivation or a
    deletion, once the tokens are gone from the store."""

    user_id: int
    keep_token_id: int = 0


class RoleChanged(Control, tag="role"):
    """The user's role changed: their open connections act with the new one at once."""

    user_id: int
    role: Role


class ProfileChanged(Control, tag="profile"):
    """The user changed their display name, region or avatar: their open connections
    act as the new one at once (the author of their next message, their typing)."""

    user_id: int
    display_name: str
    region: str | None
    avatar: str | None


AnyControl = RevokeToken | MembershipChanged | RevokeUser | RoleChanged | ProfileChanged
_control_decoder = msgspec.json.Decoder(AnyControl)


def encode_control(command: AnyControl) -> bytes:
    return msgspec.json.encode(command)


def decode_control(data: bytes) -> AnyControl:
    command: AnyControl = _control_decoder.decode(data)
    return command
