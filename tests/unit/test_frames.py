"""Client frames: what a client may send, and the errors it gets for anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.protocol import frames, requests


def test_send_decodes_with_its_ref() -> None:
    command = frames.decode_command(
        b'{"op":"send","room":3,"body":"hi","nonce":"n-1","reply_to":7,"ref":"a"}'
    )
    assert command == requests.Send(room=3, body="hi", nonce="n-1", reply_to=7, ref="a")


def test_unknown_fields_are_ignored() -> None:
    command = frames.decode_command(b'{"op":"read","room":3,"seq":0,"colour":"blue"}')
    assert command == requests.Read(room=3, seq=0)


@pytest.mark.parametrize(
    ("data", "code", "ref"),
    [
        (b"not json", "bad_request", None),
        (b"[1, 2]", "bad_request", None),
        (b'{"ref": 5}', "bad_request", 5),
        (b'{"op": 5, "ref": 1}', "bad_request", 1),
        (b'{"op": "dance", "ref": "x"}', "unknown_op", "x"),
        (b'{"op": "send", "room": "3", "body": "hi", "ref": 2}', "bad_request", 2),
        (b'{"op": "send", "room": true, "body": "hi"}', "bad_request", None),
        (b'{"op": "send", "body": "hi", "ref": [1]}', "bad_request", None),
        (b'{"op": "sync", "room": 1, "ref": 9}', "bad_request", 9),
    ],
)
def test_bad_frames_name_the_problem_and_keep_the_ref(data: bytes, code: str, ref: object) -> None:
    with pytest.raises(frames.FrameError) as caught:
        frames.decode_command(data)
    assert caught.value.error.code == code
    assert caught.value.ref == ref
    assert caught.value.error.message


@pytest.mark.parametrize(
    "data",
    [
        b'{"op": "send", "room": 9223372036854775808, "body": "hi", "ref": 4}',
        b'{"op": "send", "room": 1, "body": "hi", "reply_to": 99999999999999999999, "ref": 4}',
        b'{"op": "send", "room": 0, "body": "hi", "ref": 4}',
        b'{"op": "history", "room": 1, "before": -1, "ref": 4}',
        b'{"op": "history", "room": 1, "limit": 201, "ref": 4}',
        b'{"op": "read", "room": 1, "seq": 18446744073709551616, "ref": 4}',
        b'{"op": "sync", "room": 1, "since": 1.5, "ref": 4}',
        b'{"op": "send", "room": 1, "body": "hi", "nonce": 9007199254740993, "ref": 4}',
        b'{"op": "send", "room": 1, "body": "hi", "nonce": true, "ref": 4}',
    ],
)
def test_ids_and_seqs_outside_their_range_are_bad_requests(data: bytes) -> None:
    with pytest.raises(frames.FrameError) as caught:
        frames.decode_command(data)
    assert (caught.value.error.code, caught.value.ref) == ("bad_request", 4)


def test_a_nonce_over_128_characters_is_too_large() -> None:
    data = b'{"op": "send", "room": 1, "body": "hi", "nonce": "' + b"n" * 129 + b'"}'
    with pytest.raises(frames.FrameError) as caught:
        frames.decode_command(data)
    assert caught.value.error.code == "too_large"


def test_since_keys_are_ascii_room_ids() -> None:
    hello = frames.decode_command(b'{"op": "hello", "token": "t", "since": {"12": 40}}')
    assert isinstance(hello, requests.Hello) and hello.since == {12: 40}
    for key in ("١٢", "0", "-1", "1.0", "99999999999999999999"):
        data = '{"op": "hello", "token": "t", "since": {"' + key + '": 1}}'
        with pytest.raises(frames.FrameError):
            frames.decode_command(data)
        assert frames.names_op(data, "hello")


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"op": "ping", "junk": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"op": "ping", "junk": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}",
        b"[" * 100_000,
    ],
)
def test_deep_nesting_is_a_bad_request_not_a_crash(data: bytes) -> None:
    with pytest.raises(frames.FrameError) as caught:
        frames.decode_command(data)
    assert caught.value.error.code == "bad_request"
    assert not frames.names_op(data, "hello")
    assert not frames.names_op(data.decode(), "hello")


def test_nesting_inside_strings_does_not_count() -> None:
    text = '{"op": "send", "room": 1, "body": "' + "[" * 5000 + '"}'
    assert requests.nesting_ok(text)
    assert frames.decode_command(text) == requests.Send(room=1, body="[" * 5000)
    assert requests.nesting_ok(rb'["\\", "\"[", ' + b"[" * 60 + b"]" * 61)
    assert not requests.nesting_ok(b"[" * 65 + b"]" * 65)


def test_missing_field_is_named() -> None:
    with pytest.raises(frames.FrameError) as caught:
        frames.decode_command(b'{"op":"edit","message":4,"ref":1}')
    assert "body" in caught.value.error.message


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_any_json_either_decodes_or_raises_a_frame_error(value: object) -> None:
    data = json.dumps(value).encode()
    try:
        frames.decode_command(data)
    except frames.FrameError as error:
        assert error.error.code in ("bad_request", "unknown_op")


@given(st.binary(max_size=200))
def test_any_bytes_either_decode_or_raise_a_frame_error(data: bytes) -> None:
    try:
        frames.decode_command(data)
    except frames.FrameError as error:
        assert error.error.code in ("bad_request", "unknown_op")
