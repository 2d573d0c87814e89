"""The floor of a `hello`: what any WebSocket server on our stack does for one.

uvicorn (httptools, uvloop) with the WebSocket protocol `chatserver serve` runs
(`gateway/direct.py`, uvicorn's sans-I/O implementation) and the same socket settings,
serving a bare ASGI app: accept, read one frame, answer with one text frame of
`--ready-bytes` bytes (the size of our `ready`), then wait for the client's close. No
token, no database, no hub, no Starlette: the TCP connect, the HTTP upgrade, two frames
and the closing handshake, which every server must pay. `benchmarks/hello_cost.py
--reference` runs the same client against it as against our server, so the difference
is what our own code costs per `hello`.

    .venv/bin/python benchmarks/reference/hello_floor.py --port 8202 --ready-bytes 7400
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from chatserver.gateway.direct import DirectWriteProtocol
from chatserver.settings import Settings

Scope = dict[str, Any]


def app(ready: str) -> Any:
    """The ASGI app: `/healthz` over HTTP (the benchmark waits for it), any WebSocket."""

    async def serve(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            message = await receive()  # the hello
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": ready})
            while (await receive())["type"] != "websocket.disconnect":
                pass

    return serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8202)
    parser.add_argument("--ready-bytes", type=int, default=7400)
    args = parser.parse_args()
    ours = Settings()  # the socket settings `chatserver serve` starts with
    ready = '{"op":"ready","pad":"' + "x" * max(0, args.ready_bytes - 22) + '"}'
    config = uvicorn.Config(
        app(ready),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws=DirectWriteProtocol,
        ws_max_size=ours.max_frame_bytes,
        ws_ping_interval=ours.ping_interval,
        ws_ping_timeout=ours.ping_interval,
        ws_per_message_deflate=False,
        lifespan="off",
        server_header=False,
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
