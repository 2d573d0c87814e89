"""Publisher: puts committed events on the broker's room, user and control channels."""

from __future__ import annotations

import logging

from chatserver.broker.base import (
    CONTROL_CHANNEL,
    PRESENCE_CHANNEL,
    Broker,
    room_channel,
    user_channel,
)
from chatserver.logs import Outage
from chatserver.protocol.envelope import (
    AnyControl,
    PresenceWindow,
    encode_control,
    encode_presence,
    pack,
)

log = logging.getLogger(__name__)


class Publisher:
    """The services' only door to the broker.

    Everything published here has already been committed (or is ephemeral), so a
    failed publish is logged, not raised: the client that asked already has its
    answer, and every other node finds the event by seq in the database.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._outage = Outage("broker (publishing)", log)  # one line per outage, not per event

    async def room(self, room_id: int, seq: int, frame: bytes) -> None:
        await self._send(room_channel(room_id), pack(seq, frame))

    async def user(self, user_id: int, frame: bytes) -> None:
        await self._send(user_channel(user_id), frame)

    async def presence(self, window: PresenceWindow) -> None:
        await self._send(PRESENCE_CHANNEL, encode_presence(window))

    async def control(self, command: AnyControl) -> None:
        await self._send(CONTROL_CHANNEL, encode_control(command))

    async def _send(self, channel: str, data: bytes) -> None:
        try:
            await self._broker.publish(channel, data)
        except Exception as exc:  # the broker is a hint; the store has the truth
            self._outage.failed(exc)
        else:
            self._outage.succeeded()
