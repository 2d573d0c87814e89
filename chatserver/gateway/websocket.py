"""The `/ws` endpoint: handshake, the request loop, and handing the socket to the hub."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from chatserver.coordination.base import Limit
from chatserver.domain.errors import BadRequest, ChatError, RateLimited, Unavailable
from chatserver.domain.models import User, now_ms
from chatserver.gateway import faults
from chatserver.gateway.admission import Admission
from chatserver.gateway.api import error_response
from chatserver.gateway.commands import Dispatcher
from chatserver.gateway.connection import Connection
from chatserver.gateway.direct import direct_writer
from chatserver.gateway.framing import Outgoing
from chatserver.gateway.guard import server_send_limit
from chatserver.gateway.hub import Hub
from chatserver.gateway.metered import SocketWatch
from chatserver.gateway.metrics import Metrics
from chatserver.gateway.origin import host_allowed, origin_allowed, public_origins
from chatserver.logformat import bind_socket
from chatserver.protocol import frames, wire
from chatserver.protocol.closecodes import CloseCode
from chatserver.protocol.responses import error_frame
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce
from chatserver.services.session import Snapshot
from chatserver.settings import Settings

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
PING_RATE, PING_BURST = 1.0, 20
"""`ping` ops per connection: clients ping every few seconds at most."""


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
    admission: Admission = ws.app.state.admission
    origin, host = _take_origin_and_host(ws.scope)
    allowed = settings.allowed_origins
    if not (host_allowed(host, public_origins(settings)) and origin_allowed(origin, host, allowed)):
        await ws.close(code=1008)  # before accept: the handshake is refused with 403
        return
    client = ws.scope.get("client")
    wait = await admission.connect_wait(client[0] if client else None)
    if wait > 0:
        refusal = RateLimited("too many connections from this address", round(wait + 0.001, 3))
        await ws.send_denial_response(error_response(refusal))  # HTTP 429, no socket
        return
    await ws.accept()
    hello = await _receive_hello(ws, settings.hello_timeout)
    if hello is None:
        return
    try:
        async with admission.handshakes:
            user, token_id = await services.accounts.authenticate(hello.token)
        since = hello.since or {}
    except Exception as exc:
        await _refuse_hello(ws, exc)
        return
    wait = await admission.hello_wait(user.id)
    if wait > 0:
        await ws.close(CloseCode.POLICY, f"too many connection attempts; retry in {wait:.0f} s")
        return
    if not admission.add_user(user.id):
        await ws.close(CloseCode.POLICY, "too many connections for this account")
        return
    try:
        await _session(ws, settings, services, hub, user, token_id, since)
    finally:
        admission.remove_user(user.id)


async def _refuse_hello(ws: WebSocket, exc: Exception) -> None:
    """Close a socket whose hello could not be accepted, with a code that tells the client
    whether to come back: an invalid hello (bad token, bad `since`) is final (4001); an
    outage (1013) or a bug (1011) is not."""
    error = faults.error_for(exc, "hello")
    if isinstance(error, Unavailable):
        await ws.close(CloseCode.TRY_AGAIN_LATER, error.message[:120])
    elif error.code == "internal":
        await ws.close(CloseCode.INTERNAL, error.message[:120])
    else:
        await ws.close(CloseCode.UNAUTHORIZED, error.message[:120])


async def _session(
    ws: WebSocket,
    settings: Settings,
    services: Services,
    hub: Hub,
    user: User,
    token_id: int,
    since: dict[int, int],
) -> None:
    """An authenticated socket's life: ready, replays, then requests until it closes."""
    conn = Connection(
        user,
        token_id,
        ws.send_text,
        _closer(ws),
        server_send_limit(settings.send_buffer_bytes),
        direct_writer(ws.scope),
        on_slow=ws.app.state.metrics.slow_consumers.inc,
    )
    bind_socket(conn.serial, user.id)  # log lines of this socket's tasks name it
    conn.start()
    conn.hold()  # the user's events, from the subscription on, wait for `ready`
    await hub.add_connection(conn)
    try:
        async with ws.app.state.admission.handshakes:  # the pool is not for bursts
            snapshot = await services.session.snapshot(user)
            ready = wire.encode(_ready(snapshot))
            conn.release(ready, _not_counted(snapshot.notification_mark))
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
        await _serve(ws, conn, ws.app.state.dispatcher, settings)
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # e.g. the database went away during the handshake
        error = faults.error_for(exc, "the WebSocket handshake")
        code = CloseCode.TRY_AGAIN_LATER if isinstance(error, Unavailable) else CloseCode.INTERNAL
        conn.close(code, error.message[:120])
    finally:
        await hub.remove_connection(conn)
        conn.discard()
        await conn.wait_closed()


_NOTIFICATION_PREFIX = b'{"op":"event","type":"notification",'


class _Identified(msgspec.Struct):
    id: int


class _NotificationEvent(msgspec.Struct):
    notification: _Identified


def _not_counted(mark: int) -> Callable[[Outgoing], bool]:
    """Whether an event held during the handshake should still reach the client: every
    one but a `notification` that `ready`'s `notifications_unread` already counts (its
    id is at most `mark`), which a client adding each later `notification` to that
    count would otherwise count twice."""

    def keep(out: Outgoing) -> bool:
        if not out.payload.startswith(_NOTIFICATION_PREFIX):
            return True
        event = msgspec.json.decode(out.payload, type=_NotificationEvent)
        return event.notification.id > mark

    return keep


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
        async with asyncio.timeout(timeout):  # no task of its own, unlike `wait_for`
            message = await ws.receive()
    except TimeoutError:
        await ws.close(CloseCode.UNAUTHORIZED, "no hello received in time")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    data = message.get("text") or message.get("bytes") or b""
    try:
        command = frames.decode_command(data)
    except frames.FrameError as bad:
        if frames.names_op(data, "hello"):
            await ws.close(CloseCode.UNAUTHORIZED, f"invalid hello: {bad.error.message}"[:120])
            return None
        command = None
    if not isinstance(command, frames.Hello):
        await ws.close(CloseCode.PROTOCOL_VIOLATION, "the first frame must be hello")
        return None
    if command.v != PROTOCOL_VERSION:
        await ws.close(
            CloseCode.UNAUTHORIZED, f"unsupported protocol version {command.v}; this is 1"
        )
        return None
    return command


@functools.lru_cache(maxsize=4)
def _ping_limit(scale: float) -> Limit:
    return Limit("ping", PING_RATE * scale, PING_BURST * scale)


async def _serve(
    ws: WebSocket, conn: Connection, dispatcher: Dispatcher, settings: Settings
) -> None:
    """Read requests one at a time: a client's requests are answered in the order sent."""
    strikes = 0
    strikes_allowed = settings.flood_strikes
    ping_limit = _ping_limit(settings.rate_limit_scale)
    limiter = ws.app.state.services.local_limiter
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
            if isinstance(command, frames.Ping):
                await enforce(limiter, ping_limit, f"c{conn.serial}")
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
                    await conn.flush_and_close(CloseCode.POLICY, "flooding")
                    return
            reply = error_frame(error, ref)
        except Exception as exc:
            failure = faults.error_for(exc, f"a frame from user {conn.user.id}")
            metrics.error("ws", failure.code)
            reply = error_frame(failure, ref)
        if reply is not None:
            conn.send(reply)


def _ready(snapshot: Snapshot) -> dict[str, Any]:
    rooms = []
    now = now_ms()
    for state in snapshot.rooms:
        extra: dict[str, Any] = {
            "unread": state.unread,
            "last_read_seq": state.membership.last_read_seq,
            "notify_level": state.notify_level,
            "mentions_unread": state.mentions_unread,
            "joined": True,
            **wire.seat_extras(state.membership, now),
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
