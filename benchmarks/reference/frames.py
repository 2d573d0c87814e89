"""The protocol subset every reference server speaks, encoded like the real server's frames.

Reference servers answer `hello` (whose extension field `rooms` says which rooms to join:
they have no accounts or database) with `ready`, and `send` with `ok` plus one
`message.created` event to every member of the room. The event has the same fields as
the real server's, so frame sizes, and the bytes each delivery costs, are comparable.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode


class Command(msgspec.Struct):
    """A client frame: `hello`, `send` or `ping` (other fields are ignored)."""

    op: str
    ref: int | str | None = None
    room: int = 0
    body: str = ""
    rooms: list[int] = []


decode_command = msgspec.json.Decoder(Command).decode


def _iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def ready(rooms: list[int]) -> bytes:
    return _encode({"op": "ready", "user": _author(0), "rooms": [{"id": r} for r in rooms]})


def _author(user_id: int) -> dict[str, Any]:
    name = f"user{user_id}"
    return {
        "id": user_id,
        "username": name,
        "display_name": name,
        "role": "student",
        "region": None,
    }


def message(message_id: int, room: int, seq: int, author: int, body: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "room": room,
        "seq": seq,
        "author": _author(author),
        "body": body,
        "created_at": _iso_now(),
        "edited_at": None,
        "deleted": False,
        "reply_to": None,
        "reactions": [],
        "mentions": [],
        "nonce": None,
    }


def created_event(msg: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message.created",
        "room": msg["room"],
        "seq": msg["seq"],
        "message": msg,
        "op": "event",
    }


def encode(frame: dict[str, Any]) -> bytes:
    return _encode(frame)


class Sequencer:
    """Message ids and per-room seqs, as the real server hands them out."""

    def __init__(self) -> None:
        self.last_id = 0
        self.seqs: dict[int, int] = {}

    def next(self, room: int) -> tuple[int, int]:
        self.last_id += 1
        seq = self.seqs[room] = self.seqs.get(room, 0) + 1
        return self.last_id, seq
