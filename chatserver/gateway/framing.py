"""Outgoing frames: each event is serialised and framed once, whatever the audience."""

from __future__ import annotations


def ws_text_frame(payload: bytes) -> bytes:
    """A complete, unmasked WebSocket text frame (RFC 6455 §5.2).

    A server's frames are not masked, so with compression off the same bytes are
    correct for every recipient: frame once, then write bytes.
    """
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


class Outgoing:
    """One frame for any number of connections, in the forms they need, built lazily once.

    `framed` serves connections that write straight to their socket; `text` serves
    those that go through the ASGI interface.
    """

    __slots__ = ("_framed", "_text", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self._framed: bytes | None = None
        self._text: str | None = None

    @property
    def framed(self) -> bytes:
        framed = self._framed
        if framed is None:
            framed = self._framed = ws_text_frame(self.payload)
        return framed

    @property
    def text(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self.payload.decode()
        return text
