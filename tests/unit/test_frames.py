"""Client frames: what a client may send, and the errors it gets for anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.protocol import frames


def test_send_decodes_with_its_ref() -> None:
    command = frames.decode_command(
        b'{"op":"send","room":3,"body":"hi","nonce":"n-1","reply_to":7,"ref":"a"}'
    )
    assert command == frames.Send(room=3, body="hi", nonce="n-1", reply_to=7, ref="a")


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
