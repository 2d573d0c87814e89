"""Direct writes: a uvicorn WebSocket protocol that lets the hub write framed bytes.

Through ASGI, every frame to every recipient costs a `send` coroutine, a message dict,
and a fresh frame encoding in the protocol library. Fan-out sends the same bytes to
thousands of sockets, so this protocol (uvicorn's sans-I/O WebSocket protocol, plus
one scope extension) hands the application a writer that puts a pre-framed message
straight into the socket's transport. Everything else — handshake, reading, pings,
closing — is uvicorn's own code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "chatserver.direct_write"


class DirectWriter:
    """Writes complete frames to one socket, unless it is closing or closed."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> bool:
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected:
            return False
        transport = protocol.transport
        if transport.is_closing():
            return False
        transport.write(frame)
        return True

    def congested(self) -> bool:
        """True once the transport asked to pause writing (over its high-water mark):
        a flag read, so the hot path need not ask for the exact size every time."""
        return not self._protocol.writable.is_set()

    def buffered(self) -> int:
        """Bytes written but not yet taken by the client's TCP window."""
        return int(self._protocol.transport.get_write_buffer_size())


class DirectWriteProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol with a `DirectWriter` in the ASGI scope's extensions.

    Only valid without per-message compression (frames are shared verbatim), which
    the server configures off.
    """

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None and not self.config.ws_per_message_deflate:
            scope["extensions"][EXTENSION] = DirectWriter(self)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response (with all their headers) are only
            # needed to answer the upgrade; an idle socket should not carry them for hours.
            for name in ("request", "response"):
                if hasattr(self, name):
                    delattr(self, name)


def direct_writer(scope: Mapping[str, Any]) -> DirectWriter | None:
    writer = scope.get("extensions", {}).get(EXTENSION)
    return writer if isinstance(writer, DirectWriter) else None
