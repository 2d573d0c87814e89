"""The event catalog is the one list of server frames: its exports and clients follow it."""

from __future__ import annotations

import json

import msgspec

from chatserver import sdk
from chatserver.protocol import catalog, events
from chatserver.protocol.wire import UserOut, encode


def test_the_web_client_module_is_generated_from_the_catalog() -> None:
    assert catalog.CLIENT_MODULE.read_text(encoding="utf-8") == catalog.client_module(), (
        "client/catalog.js is stale: run `python -m chatserver.protocol.catalog`"
    )


def test_the_published_json_schema_is_generated_from_the_catalog() -> None:
    assert catalog.SCHEMA_FILE.read_text(encoding="utf-8") == catalog.schema_text(), (
        "docs/events.schema.json is stale: run `python -m chatserver.protocol.catalog`"
    )


def test_every_event_type_is_declared_once() -> None:
    types = [events.event_type(cls) for cls in events.ALL_EVENTS]
    assert len(types) == len(set(types))
    assert {
        "message.created",
        "message.updated",
        "reaction.added",
        "reaction.removed",
        "member.joined",
        "member.left",
        "room.updated",
    } == events.SEQUENCED_TYPES


def test_the_sdk_tracks_seqs_of_the_catalogs_sequenced_events_and_replay_ends() -> None:
    assert events.SEQUENCED_TYPES | {"room.synced"} == sdk.SEQUENCED


def test_events_encode_op_then_type_first() -> None:
    # The hub recognises presence frames by this prefix without parsing them.
    user = UserOut(7, "ada", "Ada", "student", None)
    frame = encode(events.PresenceEvent(user=user, status="online", at="2026-01-01T00:00:00.000Z"))
    assert frame.startswith(b'{"op":"event","type":"presence",')
    created = encode(events.RoomSynced(room=3, seq=9))
    assert json.loads(created) == {"op": "event", "type": "room.synced", "room": 3, "seq": 9}


def test_every_encoded_event_validates_against_its_schema_entry() -> None:
    schema = catalog.json_schema()
    for cls in catalog.SERVER_FRAMES:
        assert cls.__name__ in schema["$defs"]
    # A round trip through the catalog's own types: what we send, a typed client reads.
    user = UserOut(7, "ada", "Ada", "student", None)
    frame = encode(events.MemberJoined(room=4, seq=12, user=user))
    decoded = msgspec.json.decode(frame, type=events.MemberJoined)
    assert decoded.user == user
    assert decoded.type == "member.joined"


def test_a_refusal_is_encoded_once_for_both_transports() -> None:
    from chatserver.domain.errors import BadRequest, Muted, RateLimited
    from chatserver.protocol.responses import ErrorReply, error_detail, error_frame

    assert json.loads(error_frame(BadRequest("no"), 7)) == {
        "op": "error",
        "ref": 7,
        "code": "bad_request",
        "message": "no",
    }
    slow = RateLimited("slow down", 1.5)
    assert json.loads(error_frame(slow, "r"))["retry_after"] == 1.5
    http = json.loads(encode(ErrorReply(error_detail(slow))))
    assert http == {"error": {"code": "rate_limited", "message": "slow down", "retry_after": 1.5}}
    muted = Muted("muted", "2026-12-06T10:00:00.000Z")
    assert json.loads(error_frame(muted, None))["until"] == "2026-12-06T10:00:00.000Z"
    assert json.loads(encode(ErrorReply(error_detail(muted))))["error"]["until"] == muted.until
