"""Exports of the event catalog: JSON Schema for other clients, an ES module for ours.

`python -m chatserver.protocol.catalog` rewrites `client/catalog.js` and
`docs/events.schema.json`; a unit test fails when either is out of date, so the web
client and third-party clients can never drift from `protocol/events.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from chatserver.protocol.events import (
    ALL_EVENTS,
    SEQUENCED_EVENTS,
    ErrorFrame,
    Pong,
    Ready,
    event_type,
)

SERVER_FRAMES: tuple[type[msgspec.Struct], ...] = (*ALL_EVENTS, Ready, Pong, ErrorFrame)
ROOT = Path(__file__).resolve().parents[2]
CLIENT_MODULE = ROOT / "client" / "catalog.js"
SCHEMA_FILE = ROOT / "docs" / "events.schema.json"


def json_schema() -> dict[str, Any]:
    """One JSON Schema document: every server frame under `$defs`, any of them at the root."""
    refs, defs = msgspec.json.schema_components(SERVER_FRAMES, ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Frames the chat server sends over /ws",
        "anyOf": list(refs),
        "$defs": defs,
    }


def client_module() -> str:
    """The web client's view of the catalog: the event types and which are sequenced."""
    sequenced = sorted(event_type(cls) for cls in SEQUENCED_EVENTS)
    every = sorted(event_type(cls) for cls in ALL_EVENTS)
    return (
        "// Generated from chatserver/protocol/events.py by\n"
        "// `python -m chatserver.protocol.catalog`: do not edit by hand.\n\n"
        "/** Event types that take a room seq (and so reveal gaps). */\n"
        f"export const SEQUENCED_TYPES = Object.freeze({json.dumps(sequenced)});\n\n"
        "/** Every event type the server may push. */\n"
        f"export const EVENT_TYPES = Object.freeze({json.dumps(every)});\n"
    )


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    CLIENT_MODULE.write_text(client_module(), encoding="utf-8")
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {CLIENT_MODULE.relative_to(ROOT)} and {SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
