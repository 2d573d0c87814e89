"""Client frames: bytes in, one validated command out (or a protocol error), sans I/O."""

from __future__ import annotations

from typing import Any

import msgspec

from chatserver.domain.errors import BadRequest, ChatError, UnknownOp

Ref = str | int | float | bool | None
Nonce = str | int | None


class Command(msgspec.Struct, tag_field="op", kw_only=True):
    """Base of every client request; `ref` is echoed in the reply."""

    ref: Ref = None


class Hello(Command, tag="hello"):
    token: str
    v: int = 1
    since: dict[str, int] | None = None


class Send(Command, tag="send"):
    room: int
    body: str
    reply_to: int | None = None
    nonce: Nonce = None


class Edit(Command, tag="edit"):
    message: int
    body: str


class Delete(Command, tag="delete"):
    message: int


class React(Command, tag="react"):
    message: int
    emoji: str


class Unreact(Command, tag="unreact"):
    message: int
    emoji: str


class Typing(Command, tag="typing"):
    room: int


class Read(Command, tag="read"):
    room: int
    seq: int


class History(Command, tag="history"):
    room: int
    before: int | None = None
    after: int | None = None
    limit: int | None = None


class Sync(Command, tag="sync"):
    room: int
    since: int


class Ping(Command, tag="ping"):
    pass


AnyCommand = Hello | Send | Edit | Delete | React | Unreact | Typing | Read | History | Sync | Ping
KNOWN_OPS = frozenset(
    str(cls.__struct_config__.tag)
    for cls in (Hello, Send, Edit, Delete, React, Unreact, Typing, Read, History, Sync, Ping)
)
_decoder = msgspec.json.Decoder(AnyCommand)
_loose = msgspec.json.Decoder()


class FrameError(Exception):
    """A frame that cannot become a command; `ref` is echoed when it could be read."""

    def __init__(self, error: ChatError, ref: Ref = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.ref = ref


def decode_command(data: bytes | str) -> AnyCommand:
    """Decode and validate one client frame in a single pass.

    The fast path is one msgspec decode. Only a frame that fails is decoded a
    second time, loosely, to find its `ref` and say precisely what is wrong.
    """
    try:
        command: AnyCommand = _decoder.decode(data)
        return command
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _explain(data, exc) from None


def _explain(data: bytes | str, exc: Exception) -> FrameError:
    try:
        raw: Any = _loose.decode(data)
    except msgspec.DecodeError:
        return FrameError(BadRequest("frame is not valid JSON"))
    if not isinstance(raw, dict):
        return FrameError(BadRequest("frame must be a JSON object"))
    ref = raw.get("ref")
    if not isinstance(ref, (str, int, float, bool)) and ref is not None:
        ref = None
    op = raw.get("op")
    if op is None:
        return FrameError(BadRequest("missing field: op"), ref)
    if not isinstance(op, str):
        return FrameError(BadRequest("op must be a string"), ref)
    if op not in KNOWN_OPS:
        return FrameError(UnknownOp(f"unknown op: {op[:40]}"), ref)
    return FrameError(BadRequest(f"invalid {op} frame: {exc}"), ref)


def names_op(data: bytes | str, op: str) -> bool:
    """Whether a frame that failed to decode at least says it is an `op` frame."""
    try:
        raw: Any = _loose.decode(data)
    except msgspec.DecodeError:
        return False
    return isinstance(raw, dict) and raw.get("op") == op
