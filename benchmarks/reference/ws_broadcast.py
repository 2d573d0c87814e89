"""The Python ceiling: the `websockets` library's own server and `websockets.broadcast()`.

Run: python benchmarks/reference/ws_broadcast.py --port 8201
Permessage-deflate is the library's default and stays on (a client that offers it gets
it), so the idle scenario shows what compression costs per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import frames
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

ROOMS: dict[int, set[ServerConnection]] = {}
SEQ = frames.Sequencer()


async def handler(ws: ServerConnection) -> None:
    hello = frames.decode_command(await ws.recv(decode=False))
    if hello.op != "hello":
        await ws.close(4000, "the first frame must be hello")
        return
    for room in hello.rooms:
        ROOMS.setdefault(room, set()).add(ws)
    await ws.send(frames.ready(hello.rooms), text=True)
    try:
        async for raw in ws:
            command = frames.decode_command(raw)
            if command.op == "send":
                message_id, seq = SEQ.next(command.room)
                msg = frames.message(message_id, command.room, seq, id(ws), command.body)
                await ws.send(
                    frames.encode({"op": "ok", "ref": command.ref, "message": msg}), text=True
                )
                # One encoding, then bytes to every member; never waits for a slow one.
                broadcast(
                    ROOMS.get(command.room, ()), frames.encode(frames.created_event(msg)).decode()
                )
            elif command.op == "ping":
                await ws.send(frames.encode({"op": "pong", "ref": command.ref}), text=True)
    except ConnectionClosed:
        pass
    finally:
        for room in hello.rooms:
            ROOMS.get(room, set()).discard(ws)


async def main(host: str, port: int) -> None:
    async with serve(handler, host, port, max_size=65536, ping_interval=20) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8201)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main(args.host, args.port))
