"""The broker interface: node-to-node pub/sub of opaque bytes.

The broker is a fast hint, not the source of truth. Every sequenced event is
committed to the database before it is published, and the hub checks seqs and
fills gaps from the store, so a broker may lose messages during a failure as
long as it says so through `on_reset`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

MessageHandler = Callable[[str, bytes], None]
"""Called on the event loop for every message of a subscribed channel; must not block."""

ResetHandler = Callable[[], None]
"""Called after the broker lost its connection and got it back: messages may be missing."""


class Broker(Protocol):
    """Pub/sub of bytes on named channels, for one node.

    Contract, shared by every implementation (and checked by one test suite):

    * `publish` delivers `data` to every node subscribed to `channel`, this node
      included. Messages published by one task on one channel reach each
      subscriber in publish order. Nothing is delivered to a node that is not
      subscribed when the message is routed.
    * `subscribe` / `unsubscribe` are reference-counted per channel: the node is
      subscribed while the count is above zero. Once `subscribe` returns, every
      later publish on the channel reaches this node.
    * The handler is set once, before `start`; it is called for every message in
      arrival order and must only do in-memory work.
    * A broker that may have lost messages (connection dropped, reconnected) calls
      the reset handler once it is delivering again.
    """

    def set_handlers(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        """Install the callbacks; called once, before `start`."""

    async def start(self) -> None:
        """Connect and begin delivering; raises if the backend is unreachable."""

    async def publish(self, channel: str, data: bytes) -> None:
        """Send `data` to the channel's subscribers; awaits only backpressure or I/O."""

    async def subscribe(self, channel: str) -> None:
        """Take one reference on the channel, subscribing on the first."""

    async def unsubscribe(self, channel: str) -> None:
        """Drop one reference, unsubscribing on the last."""

    async def ping(self) -> bool:
        """True when the backend is reachable (for /readyz)."""

    async def close(self) -> None:
        """Stop delivering and release the connection."""


def room_channel(room_id: int) -> str:
    """The channel carrying a room's events."""
    return f"room:{room_id}"


def user_channel(user_id: int) -> str:
    """The channel carrying one user's personal events (notifications, friends, room.added)."""
    return f"user:{user_id}"


CONTROL_CHANNEL = "control"
"""Node-wide commands (token revoked, membership changed) that every node acts on."""

PRESENCE_CHANNEL = "presence"
"""Each presence window's announcements, one message for every node (`PresenceWindow`)."""
