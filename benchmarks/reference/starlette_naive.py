"""The naive Starlette/uvicorn server: fan-out is an `await send_text()` per recipient.

Run: python benchmarks/reference/starlette_naive.py --port 8204
This is the loop most tutorials show; one slow recipient delays everyone after it in the
room, and every send goes through the ASGI layer. It is here to measure what that costs.
"""

from __future__ import annotations

import argparse
import contextlib

import frames
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

ROOMS: dict[int, set[WebSocket]] = {}
SEQ = frames.Sequencer()


async def endpoint(ws: WebSocket) -> None:
    await ws.accept()
    hello = frames.decode_command(await ws.receive_text())
    for room in hello.rooms:
        ROOMS.setdefault(room, set()).add(ws)
    await ws.send_text(frames.ready(hello.rooms).decode())
    try:
        while True:
            command = frames.decode_command(await ws.receive_text())
            if command.op == "send":
                message_id, seq = SEQ.next(command.room)
                msg = frames.message(message_id, command.room, seq, id(ws), command.body)
                await ws.send_text(
                    frames.encode({"op": "ok", "ref": command.ref, "message": msg}).decode()
                )
                text = frames.encode(frames.created_event(msg)).decode()
                for member in list(ROOMS.get(command.room, ())):
                    with contextlib.suppress(Exception):
                        await member.send_text(text)
    except WebSocketDisconnect:
        pass
    finally:
        for room in hello.rooms:
            ROOMS.get(room, set()).discard(ws)


app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8204)
    args = parser.parse_args()
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", loop="uvloop", http="httptools"
    )
