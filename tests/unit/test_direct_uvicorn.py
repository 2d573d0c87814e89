"""gateway/direct.py against the installed uvicorn: every internal it touches is there.

`DirectWriteProtocol` extends uvicorn's sans-I/O WebSocket protocol through attributes
uvicorn does not document. These tests read `direct.py` itself to find every one of them,
check the installed uvicorn has them all, and push pre-framed bytes through a real server
to a real client, so that a uvicorn upgrade that moves any of them fails here first.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import inspect
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chatserver.gateway import direct
from chatserver.gateway.direct import DirectWriteProtocol, direct_writer
from chatserver.gateway.framing import ws_text_frame


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _touched() -> tuple[set[str], set[str], set[str]]:
    """(protocol attributes, methods reached through super(), conn methods) used by the
    code of `direct.py`, minus what `DirectWriteProtocol` defines itself."""
    tree = ast.parse(inspect.getsource(direct))
    protocol_class = _class(tree, "DirectWriteProtocol")
    own = {
        n.name for n in protocol_class.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    } | {
        n.target.id
        for n in protocol_class.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    state: set[str] = set()
    via_super: set[str] = set()
    conn: set[str] = set()
    for node in ast.walk(protocol_class):
        if not isinstance(node, ast.Attribute):
            continue
        value = node.value
        if _is_self(value):
            state.add(node.attr)
        elif isinstance(value, ast.Call) and getattr(value.func, "id", None) == "super":
            via_super.add(node.attr)
        elif isinstance(value, ast.Attribute) and _is_self(value.value) and value.attr == "conn":
            conn.add(node.attr)
    for node in ast.walk(_class(tree, "DirectWriter")):
        # The writer reaches the protocol as `self._protocol` or a local `protocol`.
        if isinstance(node, ast.Attribute) and (
            (isinstance(node.value, ast.Name) and node.value.id == "protocol")
            or (
                isinstance(node.value, ast.Attribute)
                and _is_self(node.value.value)
                and node.value.attr == "_protocol"
            )
        ):
            state.add(node.attr)
    return state - own, via_super, conn


def test_the_runtime_check_lists_exactly_the_internals_the_code_uses() -> None:
    state, via_super, conn = _touched()
    assert state == set(direct.UVICORN_STATE)
    assert via_super == set(direct.UVICORN_METHODS)
    assert conn == set(direct.CONN_INTERNALS)


async def _noop_app(scope: Any, receive: Any, send: Any) -> None:
    return None


async def test_the_installed_uvicorn_has_every_internal_used() -> None:
    config = uvicorn.Config(_noop_app, log_config=None, lifespan="off")
    protocol = WebSocketsSansIOProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    assert direct.missing_internals(protocol) == []
    for name in direct.UVICORN_METHODS:
        assert callable(getattr(WebSocketsSansIOProtocol, name)), name


class RecordingProtocol(DirectWriteProtocol):
    """Notes whether the handshake's request and response are still held after accepting."""

    kept_after_accept: ClassVar[list[bool]] = []

    async def send(self, message: Any) -> None:
        had_them = hasattr(self, "request") and hasattr(self, "response")
        await super().send(message)
        if message["type"] == "websocket.accept":
            assert had_them, "uvicorn no longer keeps the handshake as `request`/`response`"
            still = hasattr(self, "request") or hasattr(self, "response")
            RecordingProtocol.kept_after_accept.append(still)


async def _pre_framing_app(scope: Any, receive: Any, send: Any) -> None:
    """Accepts, writes one pre-framed message, then closes as for a stalled client."""
    assert (await receive())["type"] == "websocket.connect"
    writer = direct_writer(scope)
    assert writer is not None, "the direct-write extension is missing from the scope"
    await send({"type": "websocket.accept"})
    assert writer.write(ws_text_frame("pre-framed ✓".encode()))
    assert writer.buffered() >= 0 and not writer.congested()
    writer.close_now(4008, "too slow")
    assert not writer.write(ws_text_frame(b"after close"))
    await receive()  # the disconnect that close_now queued


@contextlib.asynccontextmanager
async def serving(app: Any, protocol: type[DirectWriteProtocol]) -> AsyncIterator[int]:
    """uvicorn in this process with `protocol` for WebSockets; yields its port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, ws=protocol, ws_per_message_deflate=False, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn.Server has no started event)
                await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def test_pre_framed_bytes_reach_a_real_client_through_uvicorn() -> None:
    async with (
        serving(_pre_framing_app, RecordingProtocol) as port,
        connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws,
    ):
        assert await ws.recv() == "pre-framed ✓"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4008, "too slow")
    assert DirectWriteProtocol.compatible is True
    # An idle socket must not hold the handshake's headers for hours.
    assert RecordingProtocol.kept_after_accept == [False]


class ChangedUvicornProtocol(DirectWriteProtocol):
    """What a uvicorn release without one of the internals would look like to direct.py."""

    def handle_connect(self, event: Any) -> None:
        del self.close_timeout
        super().handle_connect(event)


async def _asgi_only_app(scope: Any, receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    assert direct_writer(scope) is None
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "through ASGI"})
    await receive()


async def test_a_uvicorn_without_an_internal_serves_through_asgi_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(DirectWriteProtocol, "compatible", None)
    with caplog.at_level(logging.WARNING, logger="chatserver.gateway.direct"):
        async with serving(_asgi_only_app, ChangedUvicornProtocol) as port:
            for _ in range(2):
                async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
                    assert await ws.recv() == "through ASGI"
    assert DirectWriteProtocol.compatible is False
    warnings = [r.getMessage() for r in caplog.records if r.name == "chatserver.gateway.direct"]
    assert len(warnings) == 1
    assert "close_timeout" in warnings[0] and "direct writes are off" in warnings[0]


BURST = 50


async def _burst_app(scope: Any, receive: Any, send: Any) -> None:
    """Writes a burst of frames in one loop turn, more in a later one, then closes."""
    assert (await receive())["type"] == "websocket.connect"
    writer = direct_writer(scope)
    assert writer is not None
    await send({"type": "websocket.accept"})
    frames = [ws_text_frame(f"burst {i}".encode()) for i in range(BURST)]
    for frame in frames:
        assert writer.write(frame)
    # Not on the socket yet: this turn's frames wait for one write at the next turn,
    # and count as pending for the slow-consumer check meanwhile.
    assert writer.buffered() >= sum(len(f) for f in frames)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writer.write(ws_text_frame(b"later 1"))
    assert writer.write(ws_text_frame(b"later 2"))
    writer.close_now(4008, "too slow")  # in the same turn: what was written goes first
    await receive()


async def test_frames_of_one_turn_reach_the_client_together_in_order_before_a_close() -> None:
    async with (
        serving(_burst_app, DirectWriteProtocol) as port,
        connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws,
    ):
        received = [await ws.recv() for _ in range(BURST + 2)]
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert received == [f"burst {i}" for i in range(BURST)] + ["later 1", "later 2"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008


async def _idle_app(scope: Any, receive: Any, send: Any) -> None:
    """Accepts, then echoes text until the client leaves: an idle chat socket's shape."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


async def test_an_open_socket_keeps_no_handshake_and_its_queue_still_works() -> None:
    """An idle socket costs memory for hours: once open, it must hold neither the parsed
    handshake request (every header) nor asyncio's deque-heavy queue and event, and the
    lighter replacements must still carry messages both ways."""
    from websockets.http11 import Request

    async with serving(_idle_app, DirectWriteProtocol) as port:
        sockets = [await connect(f"ws://127.0.0.1:{port}/ws", compression=None) for _ in range(20)]
        try:
            for i, ws in enumerate(sockets):
                await ws.send(f"ping {i}")
            assert [await ws.recv() for ws in sockets] == [f"ping {i}" for i in range(20)]
            gc.collect()
            requests = [o for o in gc.get_objects() if isinstance(o, Request)]
            # Each client connection keeps its own request (websockets' client side);
            # the server's side must keep none of its 20 (one in flight is tolerated).
            assert len(requests) <= len(sockets) + 1, len(requests)
        finally:
            for ws in sockets:
                await ws.close()
