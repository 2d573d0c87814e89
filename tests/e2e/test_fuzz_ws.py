"""Fuzzing the WebSocket gateway of a real server: every op's fields at their extremes,
malformed frames after the handshake, and malformed first frames.

Whatever a client sends, it gets exactly one reply per frame (`ok`/`pong`, or `error`
with a code from the protocol's table, never `internal`), its connection survives but
for the documented closes (1009 for a frame over 64 KiB), a ping still answers after
the batch, and the server logs no traceback. The ops are read from the protocol's
tagged union of commands, so a new op is fuzzed without touching this file.

`CHAT_FUZZ_EXAMPLES` sets the examples per test (a few by default, to stay quick in CI;
docs/security.md says how to run a longer campaign).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import math
import os
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import ServerProcess

EXAMPLES = int(os.environ.get("CHAT_FUZZ_EXAMPLES", "10"))
MAX_FRAME_BYTES = 65_536
MAX_DEPTH_ECHOED = 64
"""Frames nested deeper are refused before their `ref` is read (see nesting_ok)."""
REPLY_TIMEOUT = 30.0
ERROR_CODES = frozenset(
    {
        # PROTOCOL.md
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_member",
        "blocked",
        "not_found",
        "conflict",
        "too_large",
        "invalid_emoji",
        "limit_reached",
        "rate_limited",
        "unknown_op",
        # PROTOCOL-COMMUNITY.md
        "muted",
        "expired",
    }
)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
PASSWORD = "correct horse battery"


# -- the ops, as the protocol package declares them --------------------------------------


def _command_union() -> Any:
    """The tagged union of client commands, from whichever protocol module holds it."""
    for name in ("chatserver.protocol.requests", "chatserver.protocol.frames"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        union = getattr(module, "AnyCommand", None)
        if union is not None:
            return union
    raise RuntimeError("no AnyCommand union in chatserver.protocol")


COMMANDS: dict[str, type[msgspec.Struct]] = {
    str(command.__struct_config__.tag): command for command in typing.get_args(_command_union())
}


def _fields(command: type[msgspec.Struct]) -> tuple[msgspec.inspect.Field, ...]:
    info = msgspec.inspect.type_info(command)
    assert isinstance(info, msgspec.inspect.StructType)
    return info.fields


@dataclass(frozen=True)
class World:
    """A user to fuzz as, and ids worth aiming at: their rooms and messages, another
    user's public and private rooms and messages."""

    token: str
    ids: list[int]


# -- JSON text, including what a JSON encoder would never write ---------------------------


@dataclass(frozen=True)
class Obj:
    """A JSON object as written: keys in this order, duplicates kept."""

    pairs: tuple[tuple[str, Any], ...]


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def render(value: Any) -> str:
    """JSON text: NaN and Infinity as their (invalid) literals, lone surrogates escaped,
    every other character sent as raw UTF-8, objects exactly as `Obj` lists them."""
    if isinstance(value, Obj):
        return "{" + ",".join(f"{render(k)}:{render(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return render(Obj(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ",".join(render(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=_has_surrogate(value))
    return json.dumps(value)


class _Unknown:
    """The `ref` a reply must carry cannot be predicted (the text is not strict JSON)."""


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Sent:
    """One client frame and the `ref` its reply must echo."""

    data: str | bytes
    ref: Any

    @property
    def size(self) -> int:
        return len(self.data if isinstance(self.data, bytes) else self.data.encode("utf-8"))


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _clean(value: Any, depth: int = 0) -> bool:
    """Strict JSON the server's decoder accepts: finite numbers, valid Unicode, at most
    MAX_DEPTH_ECHOED levels of nesting (every duplicate key counts, not just the last)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not _has_surrogate(value)
    if isinstance(value, list | Obj):
        if depth >= MAX_DEPTH_ECHOED:
            return False
        if isinstance(value, list):
            return all(_clean(item, depth + 1) for item in value)
        return all(_clean(k) and _clean(v, depth + 1) for k, v in value.pairs)
    return True


def text_frame(text: str) -> Sent:
    """A text frame; its reply echoes `ref` exactly when the text is a clean JSON object
    with a scalar `ref` (the last one, when repeated), and carries `null` for any other
    clean JSON."""
    try:
        parsed = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=lambda p: Obj(tuple(p))
        )
    except (ValueError, RecursionError):
        return Sent(text, UNKNOWN)
    if not _clean(parsed):
        return Sent(text, UNKNOWN)
    refs = [v for k, v in parsed.pairs if k == "ref"] if isinstance(parsed, Obj) else []
    ref = refs[-1] if refs else None
    return Sent(text, ref if isinstance(ref, str | int | float) or ref is None else None)


# -- strategies --------------------------------------------------------------------------

EXTREME_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64]
EXTREME_INTS += [-(2**53), -(2**63), -(2**63) - 1, -(2**64), -(10**30), 10**30]
SPECIAL_STRINGS = [
    "",
    " ",
    " \t\n\r ",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "\udbff\udc00",  # a valid pair once escaped: U+10FC00
    "\ufeff",
    "\u200b\u200d",
    "\u2028\u2029",
    "\u202eevil.exe\u202c",
    "مرحبا بالعالم",
    "שלום עולם",
    "👩\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈",
    "👍🏽",
    "🧑🏾\u200d🚀",
    "👍",
    ":tada:",
    ":+1:",
    ":not_a_shortcode:",
    "Z̴̧̛͚a̸l̷g̶o̸",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%n%x",
    "@everyone",
    "`:tada:`",
    '\\"',
    "{}",
    "null",
    "1",
    "NaN",
]
ints = st.one_of(st.sampled_from(EXTREME_INTS), st.integers())
floats = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1e308, -1e308, 5e-324, 2.0**53, 2.0**63]),
    st.floats(allow_nan=False, allow_infinity=False),
)
strings = st.one_of(
    st.sampled_from(SPECIAL_STRINGS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Mn", "So"]), max_size=20),
    st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(["a", "é", "👍", "\u202e", " "]),
        st.sampled_from([3999, 4000, 4001, 70_000]),
    ),
)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, strings)
any_json = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Any JSON value: what a field of the wrong type receives."""
poison = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "a\udfffb", ["\udc00"]]),
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3),
)
"""What is not JSON although it looks like it: NaN and Infinity, lone surrogates."""


def well_typed(kind: Any, ids: list[int]) -> st.SearchStrategy[Any]:
    """A value of the field's declared JSON type, at the edges of (and past) its limits."""
    while isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    if isinstance(kind, msgspec.inspect.UnionType):
        return st.one_of([well_typed(member, ids) for member in kind.types])
    if isinstance(kind, msgspec.inspect.IntType):
        bounds = [b for b in (kind.ge, kind.le, kind.gt, kind.lt) if b is not None]
        edges = sorted({b + d for b in bounds for d in (-1, 0, 1)})
        extremes = st.one_of(st.sampled_from(edges or [0]), ints)
        return st.one_of(st.sampled_from(ids), extremes)  # half of them aim at real rows
    if isinstance(kind, msgspec.inspect.FloatType):
        return floats
    if isinstance(kind, msgspec.inspect.BoolType):
        return st.booleans()
    if isinstance(kind, msgspec.inspect.NoneType):
        return st.none()
    if isinstance(kind, msgspec.inspect.LiteralType):
        return st.one_of(st.sampled_from(list(kind.values)), strings)
    if isinstance(kind, msgspec.inspect.DictType):
        key = st.one_of(
            st.sampled_from([str(i) for i in ids]), st.builds(str, ints), st.text(max_size=6)
        )
        return st.dictionaries(key, well_typed(kind.value_type, ids), max_size=4)
    if isinstance(kind, msgspec.inspect.ListType | msgspec.inspect.SetType):
        return st.lists(well_typed(kind.item_type, ids), max_size=4)
    if isinstance(kind, msgspec.inspect.StrType):
        return strings
    return any_json


@st.composite
def op_frame(draw: st.DrawFn, op: str, world: World) -> Sent:
    """One frame of `op`, with any JSON as `ref`. A plausible frame has every required
    field, of its declared type, at its extremes or aiming at real ids; a wild one may
    also lack fields, carry the wrong types, unknown fields, duplicate keys, or values
    that are not JSON. A `token` is sometimes the real one, so a `hello` gets past
    authentication."""
    wild = draw(st.booleans())
    pairs: list[tuple[str, Any]] = [("op", op)]
    if draw(st.booleans()):
        pairs.append(("ref", draw(any_json)))
    for field in _fields(COMMANDS[op]):
        if field.name == "ref" or (not field.required and draw(st.booleans())):
            continue
        if wild and draw(st.integers(0, 5)) == 0:
            continue  # a required field missing
        if wild and draw(st.integers(0, 3)) == 0:
            value = draw(any_json)
        elif field.name == "token" and draw(st.booleans()):
            value = world.token
        else:
            value = draw(well_typed(field.type, world.ids))
        pairs.append((field.encode_name, value))
    if wild:
        pairs += draw(st.lists(st.tuples(st.text(max_size=8), any_json), max_size=2))
        if draw(st.integers(0, 3)) == 0:
            pairs.append((draw(st.sampled_from([k for k, _ in pairs])), draw(any_json)))
        if draw(st.integers(0, 3)) == 0:
            index = draw(st.integers(0, len(pairs) - 1))
            pairs[index] = (pairs[index][0], draw(poison))
    ordered = draw(st.permutations(pairs))
    return text_frame(render(Obj(tuple(ordered))))


def _nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth  # never closed


deep = st.builds(
    lambda depth, kind, inside: (
        _nested(depth, kind)
        if inside is None
        else f'{{"op":"{inside}","ref":1,"x":{_nested(depth, kind)}}}'
    ),
    st.integers(10_000, 100_000),
    st.sampled_from(["array", "object", "unclosed"]),
    st.one_of(st.none(), st.sampled_from(sorted(COMMANDS))),
)
not_json = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "{",
            "}",
            "nul",
            "{'op': 'ping'}",
            '{"op":"ping",}',
            '{"op":"ping"} trailing',
            "\ufeff" + '{"op":"ping"}',
            '{"op":"ping","ref":NaN}',
            '{"op":"ping","ref":-Infinity}',
            '{"op":"ping","ref":1e400}',
            '{"op":"ping","ref":"\\ud800"}',
            '{"op":"ping","ref":"\\x41"}',
            "[] []",
        ]
    ),
    st.text(max_size=60),
)
not_object = st.one_of(any_json.filter(lambda value: not isinstance(value, dict)), poison).map(
    render
)
without_op = st.dictionaries(
    st.text(max_size=8).filter(lambda key: key != "op"), any_json, max_size=4
).map(render)
bad_op = st.builds(
    lambda op, rest: render({**rest, "op": op}),
    st.one_of(
        any_json.filter(lambda op: not isinstance(op, str)),
        strings.filter(lambda op: op not in COMMANDS),
    ),
    st.dictionaries(st.sampled_from(["ref", "room", "message", "body"]), any_json, max_size=3),
)
malformed_text = st.one_of(not_json, not_object, without_op, bad_op, deep).map(text_frame)
binary = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b'{"op":"ping","ref":1}', b'{"op":"send","room":1,"body":"x"}']),
).map(lambda data: Sent(data, None))
malformed = st.one_of(malformed_text, binary)


# -- the server and the accounts the frames refer to -------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Rate limits scaled out of the way: every refusal seen here is about the frame."""
    env = {"CHAT_RATE_LIMIT_SCALE": "100000"}
    with ServerProcess(tmp_path_factory.mktemp("fuzz"), env=env) as process:
        yield process


def _register(http: httpx.Client, name: str) -> tuple[str, int]:
    username = f"{name}{uuid.uuid4().hex[:8]}"
    resp = http.post("/api/auth/register", json={"username": username, "password": PASSWORD})
    resp.raise_for_status()
    body = resp.json()
    return str(body["token"]), int(body["user"]["id"])


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> World:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        alice, alice_id = _register(http, "fuzzer")
        bob, bob_id = _register(http, "other")

        def call(token: str, method: str, path: str, **body: Any) -> Any:
            headers = {"Authorization": f"Bearer {token}"}
            resp = http.request(method, path, headers=headers, json=body or None)
            resp.raise_for_status()
            return resp.json()

        def room(token: str, visibility: str) -> int:
            slug = f"fz-{uuid.uuid4().hex[:12]}"
            fields = {"slug": slug, "name": slug, "kind": "topic", "visibility": visibility}
            return int(call(token, "POST", "/api/rooms", **fields)["room"]["id"])

        def post(token: str, room_id: int, text: str) -> int:
            body = call(token, "POST", f"/api/rooms/{room_id}/messages", body=text)
            return int(body["message"]["id"])

        own, theirs, secret = room(alice, "public"), room(bob, "public"), room(bob, "private")
        call(bob, "POST", f"/api/rooms/{own}/join")
        messages = [post(alice, own, f"mine {i}") for i in range(4)]
        messages += [post(bob, own, "theirs"), post(bob, theirs, "public"), post(bob, secret, "x")]
        return World(alice, [own, theirs, secret, alice_id, bob_id, *messages])


# -- one batch over one connection -------------------------------------------------------


@dataclass
class Outcome:
    replies: list[dict[str, Any]]
    close_code: int | None  # after the oversized frame, when there was one


async def _read_until(ws: ClientConnection, sentinel: str) -> list[dict[str, Any]]:
    """Every reply (events skipped) up to and including the pong whose ref is `sentinel`."""
    replies: list[dict[str, Any]] = []
    async with asyncio.timeout(REPLY_TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("op") == "event":
                continue
            replies.append(frame)
            if frame.get("op") == "pong" and frame.get("ref") == sentinel:
                return replies


async def _closed_with(ws: ClientConnection) -> int | None:
    async with asyncio.timeout(REPLY_TIMEOUT):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code


async def exchange(url: str, token: str, batch: list[Sent]) -> Outcome:
    """Handshake, send the batch (frames over the limit last: they close the socket), then
    a ping, and collect the replies; then the oversized frame, if any, and its close."""
    fitting = [sent for sent in batch if sent.size <= MAX_FRAME_BYTES]
    oversized = [sent for sent in batch if sent.size > MAX_FRAME_BYTES]
    sentinel = f"after-batch-{uuid.uuid4().hex}"
    async with connect(url, max_size=2**24, ping_interval=None, compression=None) as ws:
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
        assert ready["op"] == "ready", ready
        reader = asyncio.ensure_future(_read_until(ws, sentinel))
        try:
            for sent in fitting:
                await ws.send(sent.data)
            await ws.send(json.dumps({"op": "ping", "ref": sentinel}))
            replies = await reader
        except ConnectionClosed:
            raise AssertionError(
                f"the server closed the connection ({ws.close_code} {ws.close_reason!r}) "
                f"during a batch of {len(fitting)} frames"
            ) from None
        finally:
            reader.cancel()
        close_code = None
        if oversized:
            with contextlib.suppress(ConnectionClosed):  # closed while still being written
                await ws.send(oversized[0].data)
            close_code = await _closed_with(ws)
        return Outcome(replies[:-1], close_code)


def check(outcome: Outcome, batch: list[Sent]) -> None:
    """One reply per fitting frame, in order, from the protocol's vocabulary; 1009 after
    a frame over the limit."""
    fitting = [sent for sent in batch if sent.size <= MAX_FRAME_BYTES]
    assert len(outcome.replies) == len(fitting), (
        f"{len(fitting)} frames got {len(outcome.replies)} replies: {outcome.replies!r:.2000}"
    )
    for sent, reply in zip(fitting, outcome.replies, strict=True):
        context = f"frame {sent.data!r:.300} got {reply!r:.300}"
        assert reply.get("op") in ("ok", "pong", "error"), context
        if reply["op"] == "error":
            assert reply.get("code") in ERROR_CODES, context
            assert isinstance(reply.get("message"), str), context
        if sent.ref is not UNKNOWN:
            assert reply.get("ref") == sent.ref, context
    if len(fitting) < len(batch):
        assert outcome.close_code == 1009


def assert_no_traceback(server: ServerProcess) -> None:
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "unexpected error" not in log, log[-6000:]


# -- the tests ---------------------------------------------------------------------------


def test_every_op_of_the_protocol_is_fuzzed() -> None:
    """The union is read, not copied: the ops of PROTOCOL.md's table are all in it."""
    core = {"hello", "send", "edit", "delete", "react", "unreact", "typing", "read"}
    assert core | {"history", "sync", "ping"} <= set(COMMANDS)


@pytest.mark.parametrize("op", sorted(COMMANDS))
def test_any_frame_of_an_op_gets_one_protocol_reply(
    server: ServerProcess, world: World, op: str
) -> None:
    @FUZZ
    @given(batch=st.lists(op_frame(op, world), min_size=1, max_size=6))
    def fuzz(batch: list[Sent]) -> None:
        check(asyncio.run(exchange(server.ws_url, world.token, batch)), batch)

    fuzz()
    assert_no_traceback(server)


def test_malformed_frames_get_bad_request_and_the_connection_lives_on(
    server: ServerProcess, world: World
) -> None:
    @FUZZ
    @given(batch=st.lists(malformed, min_size=1, max_size=8))
    def fuzz(batch: list[Sent]) -> None:
        outcome = asyncio.run(exchange(server.ws_url, world.token, batch))
        check(outcome, batch)
        for reply in outcome.replies:
            assert reply["op"] == "error" and reply["code"] in ("bad_request", "unknown_op")

    fuzz()
    assert_no_traceback(server)


async def _first_frame(url: str, sent: Sent) -> tuple[str, int | None]:
    """What a fresh connection gets for `sent` as its first frame: ready, or a close."""
    async with connect(url, max_size=2**24, ping_interval=None, compression=None) as ws:
        try:
            await ws.send(sent.data)
            async with asyncio.timeout(REPLY_TIMEOUT):
                frame = json.loads(await ws.recv())
        except ConnectionClosed:
            return "closed", ws.close_code
        return str(frame.get("op")), None


def test_a_malformed_first_frame_is_closed_with_4000_or_4001(
    server: ServerProcess, world: World
) -> None:
    @FUZZ
    @given(sent=st.one_of(malformed, op_frame("hello", world)))
    def fuzz(sent: Sent) -> None:
        outcome, code = asyncio.run(_first_frame(server.ws_url, sent))
        if sent.size > MAX_FRAME_BYTES:
            assert (outcome, code) == ("closed", 1009)
        else:
            # Only a hello with the real token, a version of 1 and a valid `since` is ready.
            assert outcome == "ready" or code in (4000, 4001), (sent.data[:300], outcome, code)

    fuzz()
    assert_no_traceback(server)


async def test_a_text_frame_that_is_not_utf8_closes_with_1007(tmp_path: Path) -> None:
    """RFC 6455 requires failing the connection, before or after hello; other sockets
    carry on. Its own server, to read exactly what its log says about such frames."""
    with ServerProcess(tmp_path) as server, httpx.Client(base_url=server.base_url) as http:
        token, _ = _register(http, "utf")
        for handshake in (False, True):
            async with connect(server.ws_url, ping_interval=None) as ws:
                if handshake:
                    await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
                    assert json.loads(await ws.recv())["op"] == "ready"
                await ws.send(b'{"op":"ping","ref":"\xff"}', text=True)
                assert await _closed_with(ws) == 1007
        other = await exchange(server.ws_url, token, [text_frame('{"op":"ping","ref":1}')])
        assert [reply["op"] for reply in other.replies] == ["pong"]
        log = server.log_path.read_text(errors="replace")
        assert "Traceback" not in log, "a client's bad frame is not a server error"
        assert "Invalid UTF-8" in log, "it is still noted, on one line"
