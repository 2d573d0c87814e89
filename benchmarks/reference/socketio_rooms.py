"""What a Python user would pick instead: python-socketio rooms, ASGI under uvicorn.

Run: python benchmarks/reference/socketio_rooms.py --port 8202
Clients connect to /socket.io/ with `auth = {"rooms": [ids]}`; a `send` event is
acknowledged with `ok` and emitted as `event` (the same message.created frame) to the room.
The load testers speak Socket.IO's framing themselves (`--target socketio`).
"""

from __future__ import annotations

import argparse
from typing import Any

import frames
import socketio  # type: ignore[import-untyped]
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
SEQ = frames.Sequencer()


@sio.event  # type: ignore[untyped-decorator]
async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
    for room in (auth or {}).get("rooms", []):
        await sio.enter_room(sid, str(room))


@sio.on("send")  # type: ignore[untyped-decorator]
async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    room = int(data["room"])
    message_id, seq = SEQ.next(room)
    msg = frames.message(message_id, room, seq, 0, str(data["body"]))
    await sio.emit("event", frames.created_event(msg), room=str(room))
    return {"op": "ok", "ref": data.get("ref"), "message": msg}


app = socketio.ASGIApp(sio)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8202)
    args = parser.parse_args()
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", loop="uvloop", http="httptools"
    )
