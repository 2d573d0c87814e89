"""The `/ws` endpoint: handshake, the request loop, and handing the socket to the hub."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from chatserver.domain.errors import BadRequest, ChatError, Internal
from chatserver.gateway.commands import Dispatcher, error_frame
from chatserver.gateway.connection import Connection
from chatserver.gateway.direct import direct_writer
from chatserver.gateway.hub import Hub
from chatserver.gateway.metered import SocketWatch
from chatserver.gateway.metrics import Metrics
from chatserver.gateway.origin import origin_allowed
from chatserver.logformat import bind_socket
from chatserver.protocol import frames, wire
from chatserver.services.container import Services
from chatserver.services.session import Snapshot
from chatserver.settings import Settings

log = logging.getLogger(__name__)

PROTOCOL_VIOLATION = 4000
UNAUTHORIZED = 4001
FLOODING = 4008
PROTOCOL_VERSION = 1


class WebSocketFastPath:
    """Hands `/ws` straight to `websocket_endpoint`, past Starlette's middleware and router.

    An idle socket is a suspended ASGI call, and every layer between the server and the
    endpoint keeps a coroutine frame alive for the socket's whole life: the error and
    exception middleware, the security headers, the router, the route and its wrappers.
    None of them does anything for this endpoint, which handles its own errors and sends
    no HTTP response, so at thousands of idle sockets they are pure memory.
    """

    __slots__ = ("app",)

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            scope["app"] = self.app  # what Starlette sets: the endpoint reads app.state
            with SocketWatch(self.app.state.metrics, receive, send) as watch:
                await websocket_endpoint(WebSocket(scope, watch.receive, watch.send))
        else:
            await self.app(scope, receive, send)


async def websocket_endpoint(ws: WebSocket) -> None:
    settings: Settings = ws.app.state.settings
    services: Services = ws.app.state.services
    hub: Hub = ws.app.state.hub
    origin, host = _take_origin_and_host(ws.scope)
    if not origin_allowed(origin, host, settings.allowed_origins):
        await ws.close(code=1008)  # before accept: the handshake is refused with 403
        return
    await ws.accept()
    hello = await _receive_hello(ws, settings.hello_timeout)
    if hello is None:
        return
    try:
        user, token_id = await services.accounts.authenticate(hello.token)
        since = hello.since or {}
    except ChatError as error:
        # A hello that is not valid (bad token, bad `since`) is refused like a bad token.
        await ws.close(UNAUTHORIZED, error.message[:120])
        return
    conn = Connection(
        user,
        token_id,
        ws.send_text,
        _closer(ws),
        settings.send_buffer_bytes,
        direct_writer(ws.scope),
        on_slow=ws.app.state.metrics.slow_consumers.inc,
    )
    bind_socket(conn.serial, user.id)  # log lines of this socket's tasks name it
    conn.start()
    await hub.add_connection(conn)
    try:
        snapshot = await services.session.snapshot(user)
        conn.send(wire.encode(_ready(snapshot)))
        resumed = {s.room.id: since[s.room.id] for s in snapshot.rooms if s.room.id in since}
        replays = await services.sync.replay_rooms(user, resumed)
        for state in snapshot.rooms:
            floor = state.room.last_seq
            replay = replays.get(state.room.id)
            if replay is not None:
                for frame in replay.frames:
                    conn.send(frame)
                floor = replay.seq
            await hub.attach(conn, state.room.id, floor)
        await _serve(ws, conn, ws.app.state.dispatcher, settings.flood_strikes)
    except WebSocketDisconnect:
        pass
    except ChatError as error:  # e.g. the database went away during the handshake
        conn.close(1011, error.message[:120])
    finally:
        await hub.remove_connection(conn)
        conn.discard()
        await conn.wait_closed()


def _take_origin_and_host(scope: Scope) -> tuple[str | None, str | None]:
    """The two handshake headers the gateway needs, read once; the scope then drops its
    headers (a browser sends a kilobyte or more of them) so that a socket open for hours
    does not keep them."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in (b"origin", b"host") and name not in found:
            found[name] = value.decode("latin-1")
    scope["headers"] = []
    return found.get(b"origin"), found.get(b"host")


async def _receive_hello(ws: WebSocket, timeout: float) -> frames.Hello | None:
    try:
        message = await asyncio.wait_for(ws.receive(), timeout)
    except TimeoutError:
        await ws.close(UNAUTHORIZED, "no hello received in time")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    data = message.get("text") or message.get("bytes") or b""
    try:
        command = frames.decode_command(data)
    except frames.FrameError as bad:
        if frames.names_op(data, "hello"):
            await ws.close(UNAUTHORIZED, f"invalid hello: {bad.error.message}"[:120])
            return None
        command = None
    if not isinstance(command, frames.Hello):
        await ws.close(PROTOCOL_VIOLATION, "the first frame must be hello")
        return None
    if command.v != PROTOCOL_VERSION:
        await ws.close(UNAUTHORIZED, f"unsupported protocol version {command.v}; this is 1")
        return None
    return command


async def _serve(
    ws: WebSocket, conn: Connection, dispatcher: Dispatcher, strikes_allowed: int
) -> None:
    """Read requests one at a time: a client's requests are answered in the order sent."""
    strikes = 0
    metrics: Metrics = ws.app.state.metrics
    while not conn.closed:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        ref: frames.Ref = None
        try:
            if text is None:
                raise BadRequest("binary frames are not supported; send JSON text frames")
            try:
                command = frames.decode_command(text)
            except frames.FrameError as bad:
                ref = bad.ref
                raise bad.error from None
            ref = command.ref
            reply = await dispatcher.run(conn, command)
            if not isinstance(command, frames.Ping):  # pings are free, not a pardon
                strikes = 0
        except ChatError as error:
            metrics.error("ws", error.code)
            if error.code == "rate_limited":
                strikes += 1
                if strikes >= strikes_allowed:
                    # Replies already queued (acks, rate_limited with retry_after)
                    # still go out: the client learns why before the close.
                    conn.send(error_frame(error, ref))
                    await conn.flush_and_close(FLOODING, "flooding")
                    return
            reply = error_frame(error, ref)
        except Exception:
            log.exception("unexpected error handling a frame from user %s", conn.user.id)
            metrics.error("ws", "internal")
            reply = error_frame(Internal("internal error; it has been logged"), ref)
        if reply is not None:
            conn.send(reply)


def _ready(snapshot: Snapshot) -> dict[str, Any]:
    rooms = []
    for state in snapshot.rooms:
        extra: dict[str, Any] = {
            "unread": state.unread,
            "last_read_seq": state.membership.last_read_seq,
            "notify_level": state.notify_level,
            "mentions_unread": state.mentions_unread,
            "joined": True,
        }
        if state.peers is not None:
            extra["peers"] = wire.users_out(state.peers)
        rooms.append(wire.room_out(state.room, **extra))
    return {
        "op": "ready",
        "user": wire.self_out(snapshot.user),
        "rooms": rooms,
        "notifications_unread": snapshot.notifications_unread,
    }


def _closer(ws: WebSocket) -> Any:
    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason)

    return close
