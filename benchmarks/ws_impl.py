"""Our server under uvicorn's WebSocket implementations, for the fan-out comparison.

`chatserver serve` uses its own protocol (`gateway/direct.py`: uvicorn's sans-I/O
implementation plus pre-framed direct writes). This script serves the same application
with any of uvicorn's implementations instead, every frame then going through ASGI
`send`, so the open-day load can be run against each and the server CPU per delivery
compared:

    .venv/bin/python benchmarks/ws_impl.py --ws wsproto --port 8100

`--ws` is `direct` (what `chatserver serve` runs), `websockets-sansio`, `websockets`
(uvicorn's legacy implementation on the `websockets` library) or `wsproto`. The
database and every other setting come from the `CHAT_*` environment, as for `serve`.
"""

from __future__ import annotations

import argparse
from typing import Any

from chatserver.app import create_app
from chatserver.cli import GracefulServer, server_config
from chatserver.gateway.direct import DirectWriteProtocol
from chatserver.settings import Settings

IMPLEMENTATIONS = ("direct", "websockets-sansio", "websockets", "wsproto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ws", choices=IMPLEMENTATIONS, default="direct")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    settings = Settings.from_env(port=args.port)
    app = create_app(settings)
    ws: Any = DirectWriteProtocol if args.ws == "direct" else args.ws
    GracefulServer(server_config(settings, app, ws), app).run()


if __name__ == "__main__":
    main()
