"""Outgoing frames: each event is serialised and framed once, whatever the audience."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


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

    count: ClassVar[int] = 1
    """Events in it (the `deliveries` metric counts events, not pushes)."""

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

    @property
    def size(self) -> int:
        """Payload bytes, as a send queue counts them."""
        return len(self.payload)

    def texts(self) -> tuple[str]:
        """Each frame's text, in order, for a connection that sends through ASGI."""
        return (self.text,)

    def parts(self) -> tuple[Outgoing]:
        """Each frame on its own, in order."""
        return (self,)


class FrameRun:
    """Several events' frames for one connection, pushed and written as one.

    A presence window brings a connection dozens of announcements at once (a restart's
    returning members); one push and one `bytes` for all of them, instead of a push per
    frame, is what makes that fan-out cheap. To the client they are ordinary frames,
    one per event, in the order given.

    The run is the frames at `picked` among a window's: the window's lists are shared by
    every run made from it, and only the forms a connection asks for are built.
    """

    __slots__ = ("_framed", "_payloads", "_picked", "_whole")

    def __init__(
        self, payloads: Sequence[bytes], framed: Sequence[bytes], picked: Sequence[int]
    ) -> None:
        """`framed[i]` is `ws_text_frame(payloads[i])`; `picked` indexes both, in the
        order the frames are to be sent."""
        self._payloads = payloads
        self._whole = framed
        self._picked = picked
        self._framed: bytes | None = None

    @property
    def count(self) -> int:
        return len(self._picked)

    @property
    def framed(self) -> bytes:
        framed = self._framed
        if framed is None:
            framed = self._framed = b"".join(map(self._whole.__getitem__, self._picked))
        return framed

    @property
    def payloads(self) -> list[bytes]:
        return list(map(self._payloads.__getitem__, self._picked))

    @property
    def size(self) -> int:
        return sum(map(len, self.payloads))

    def texts(self) -> list[str]:
        return [payload.decode() for payload in self.payloads]

    def parts(self) -> list[Outgoing]:
        return [Outgoing(payload) for payload in self.payloads]


Pushed = Outgoing | FrameRun
"""What a connection takes: one frame, or a run of them."""
