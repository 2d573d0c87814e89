"""How raw WebSockets in the e2e tests end: the close the server sent."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


async def close_of(ws: ClientConnection, timeout: float = 5.0) -> tuple[int | None, str]:
    """The close code and reason the server sent, read (frames before it dropped) within
    `timeout`. Reading rather than waiting, so a full receive queue cannot hold the
    close frame back."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code, ws.close_reason or ""


async def closed_with(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """The close code the server sent (see `close_of`)."""
    code, _reason = await close_of(ws, timeout)
    return code
