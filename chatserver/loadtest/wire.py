"""What the load tester reads and writes on the wire, kept to byte scans on the hot path.

Every delivery is one `message.created` frame; decoding it fully (author, reactions,
timestamps...) would cost more than everything else the tester does per delivery, so the
receive path finds the body marker with `bytes.find` and parses only the two numbers the
publisher embedded. Rarer frames (acks, errors, `ready`) are decoded properly with msgspec.
"""

from __future__ import annotations

import msgspec

BODY_KEY = b'"body":'
BODY_PREFIX = b'"lt '
"""Every load-test body starts with `lt <id> <send time ns>`; no emoji shortcode can match."""
CREATED = b'"message.created"'
REACTION = b'"reaction.added"'
SYNCED = b'"room.synced"'
EVENT_PREFIX = b'{"op":"event"'
"""How this server starts every event frame: a reply (ok, error, pong) never does."""
COUNT_MARK = b'"count":'
SEQ_MARK = b'"seq":'

TARGETS = ("chat", "ws", "socketio")
"""`chat`: this server (accounts over HTTP, protocol v1). `ws`: a reference server speaking the
protocol's subset (hello with `rooms`, send, message.created). `socketio`: the same subset
carried in Socket.IO events, framed by hand over a plain WebSocket (Engine.IO v4)."""


class Reply(msgspec.Struct):
    """An `ok` / `error` / `pong` reply: only what the tester needs from it."""

    op: str
    ref: int | str | float | bool | None = None
    code: str | None = None


_reply = msgspec.json.Decoder(Reply)


def body(ident: int, sent_ns: int, pad: str) -> str:
    """The message text: the marker, the unique id, the publisher's clock, optional padding."""
    return f"lt {ident} {sent_ns}{pad}"


def body_start(data: bytes, pos: int) -> int:
    """Index of the id in a load-test body found after `pos`, or -1.

    Servers may put white space after the colon (Python's json.dumps does).
    """
    start = data.find(BODY_KEY, pos)
    if start < 0:
        return -1
    start += len(BODY_KEY)
    while data[start] == 32:
        start += 1
    return start + len(BODY_PREFIX) if data.startswith(BODY_PREFIX, start) else -1


def scan_int(data: bytes, mark: bytes) -> int | None:
    """The integer after the first occurrence of `mark` (`"seq":`, `"count":`)."""
    start = data.find(mark)
    if start < 0:
        return None
    start += len(mark)
    while start < len(data) and data[start] == 32:
        start += 1
    end = start
    while end < len(data) and data[end] in b"0123456789-":
        end += 1
    return int(data[start:end]) if end > start else None


def decode_reply(data: bytes) -> Reply | None:
    """An `ok`, `error` or `pong` frame; None for events and anything unparsable."""
    try:
        reply = _reply.decode(data)
    except msgspec.ValidationError:
        return None
    except msgspec.DecodeError:
        return None
    return reply if reply.op in ("ok", "error", "pong") else None


# -- Socket.IO v5 over Engine.IO v4, just enough of it -----------------------------------

SIO_PONG = "3"  # answers the server's ping, "2"
SIO_CONNECT = "40"
SIO_EVENT = "42"


def sio_connect(rooms: list[int]) -> str:
    """The namespace CONNECT packet; its auth payload says which rooms to join."""
    return SIO_CONNECT + msgspec.json.encode({"rooms": rooms}).decode()


def sio_send(ref: int, room: int, text: str) -> str:
    """A `send` event whose ack id is the message id, so acks map straight back."""
    payload = msgspec.json.encode(["send", {"op": "send", "ref": ref, "room": room, "body": text}])
    return f"{SIO_EVENT}{ref}{payload.decode()}"


def sio_ack_id(data: bytes) -> int | None:
    """The ack id of a `43<id>[...]` packet."""
    end = data.find(b"[")
    digits = data[2:end] if end > 2 else b""
    return int(digits) if digits.isdigit() else None


def send_frame(ref: int, room: int, text: str, question: bool = False) -> str:
    """Protocol v1 `send` request (the same for `chat` and `ws` targets); `question` asks it
    as a question for the room's mentors (this server only)."""
    frame: dict[str, object] = {"op": "send", "ref": ref, "room": room, "body": text}
    if question:
        frame["question"] = True
    return msgspec.json.encode(frame).decode()


def react_frame(ref: int, message: int, emoji: str) -> str:
    """`react` request."""
    return msgspec.json.encode(
        {"op": "react", "ref": ref, "message": message, "emoji": emoji}
    ).decode()


def hello_frame(token: str, rooms: list[int], since: dict[int, int] | None) -> str:
    """`hello`; reference servers read `rooms` (an extension field this server ignores)."""
    frame: dict[str, object] = {"op": "hello", "v": 1, "token": token}
    if rooms:
        frame["rooms"] = rooms
    if since:
        frame["since"] = {str(room): seq for room, seq in since.items()}
    return msgspec.json.encode(frame).decode()
