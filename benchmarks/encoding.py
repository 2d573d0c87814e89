"""Encoding one `message.created` event: msgspec (what the server uses) against orjson
and the standard library, from the same message.

The fan-out encodes each event once per node, so this is not a per-recipient cost; it
is paid once per message, next to ~1 ms of other work, and decides little. Measured so
the choice is a number, not a habit.

Run: `.venv/bin/python benchmarks/encoding.py` (orjson is in the `bench` extra).
"""

from __future__ import annotations

import json
import timeit

import msgspec
import orjson

from chatserver.domain.models import Message, User
from chatserver.protocol import wire

AUTHOR = User(42, "lucas", "Lucas Martin", "student", "Liège")
MESSAGE = Message(
    id=123_456,
    room_id=7,
    seq=98_765,
    author=AUTHOR,
    body="Qui est à Bruxelles en juillet ? On pourrait organiser un apéro 🍻 @emma",
    created_at_ms=1_764_950_400_000,
    edited_at_ms=None,
    deleted=False,
    reply_to=None,
    mentions=(43,),
    nonce="c-1764950400-17",
    updated_seq=98_765,
)


def as_dict() -> dict[str, object]:
    """The event as plain Python objects, as a dict-based encoder would be given it."""
    out = msgspec.to_builtins(wire.message_out(MESSAGE, for_broadcast=True))
    return {"op": "event", "type": "message.created", "room": 7, "seq": 98_765, "message": out}


def main() -> None:
    event = as_dict()
    assert json.loads(wire.message_event("message.created", MESSAGE, 98_765)) == event
    candidates = {
        "msgspec, from the Message (what the server does)": lambda: wire.message_event(
            "message.created", MESSAGE, 98_765
        ),
        "msgspec, dict": lambda: msgspec.json.encode(event),
        "orjson, dict": lambda: orjson.dumps(event),
        "json (stdlib), dict": lambda: json.dumps(event, separators=(",", ":")).encode(),
        "orjson, from the Message (same structs, then dicts)": lambda: orjson.dumps(
            msgspec.to_builtins(
                wire.MessageEvent(
                    "message.created", 7, 98_765, wire.message_out(MESSAGE, for_broadcast=True)
                )
            )
        ),
    }
    print(f"{'encoder':<52} {'µs per event':>12}")
    for name, encode in candidates.items():
        runs = timeit.repeat(encode, number=20_000, repeat=5)
        print(f"{name:<52} {min(runs) / 20_000 * 1e6:>12.2f}")


if __name__ == "__main__":
    main()
