"""Client frames: bytes in, one validated command out (or a protocol error), sans I/O."""

from __future__ import annotations

from typing import Any

import msgspec

from chatserver.domain.errors import BadRequest, ChatError, UnknownOp
from chatserver.protocol.requests import (
    COMMANDS,
    AnyCommand,
    Hello,
    Ping,
    Ref,
    nesting_ok,
    op_name,
    refusal,
    too_deep,
)

__all__ = [
    "COMMANDS",
    "KNOWN_OPS",
    "AnyCommand",
    "FrameError",
    "Hello",
    "Ping",
    "Ref",
    "decode_command",
    "names_op",
]

KNOWN_OPS = frozenset(op_name(command) for command in COMMANDS)
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
    except RecursionError:
        # Skipping a deeply nested unknown field recurses in the decoder; the stack is
        # bounded by Python's recursion limit, so this is a clean refusal, not a crash.
        raise FrameError(too_deep()) from None


def _explain(data: bytes | str, exc: Exception) -> FrameError:
    if not nesting_ok(data):
        return FrameError(too_deep())
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
    if isinstance(exc, msgspec.ValidationError):
        error = refusal(exc, lengths_too_large=True)
        return FrameError(type(error)(f"invalid {op} frame: {error.message}"), ref)
    return FrameError(BadRequest(f"invalid {op} frame: {exc}"), ref)


def names_op(data: bytes | str, op: str) -> bool:
    """Whether a frame that failed to decode at least says it is an `op` frame."""
    if not nesting_ok(data):
        return False
    try:
        raw: Any = _loose.decode(data)
    except msgspec.DecodeError:
        return False
    return isinstance(raw, dict) and raw.get("op") == op
