"""Catch-up: a client that was away gets exactly what it missed, in order, then live events
with no gaps or repeats; too much missed means a reset; a restart loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from chatserver.sdk import SEQUENCED, ApiError, ChatClient
from tests.e2e.conftest import ClientFactory
from tests.support.server import ServerProcess

Slug = Callable[[str], str]
Frame = dict[str, Any]
ROOM_EVENTS = SEQUENCED  # the events a replay carries


async def room_frames_until(
    client: ChatClient, room: int, stop: Callable[[Frame], bool], timeout: float = 10
) -> list[Frame]:
    """The room's sequenced events (and op replies) in arrival order, up to `stop`."""
    seen: list[Frame] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await client.next_event(timeout=timeout)
            if frame.get("op") == "event" and (
                frame.get("type") not in ROOM_EVENTS or frame.get("room") != room
            ):
                continue
            seen.append(frame)
            if stop(frame):
                return seen


def is_synced(frame: Frame) -> bool:
    return frame.get("type") == "room.synced"


def summary(frames: list[Frame]) -> list[tuple[str, int, int | None]]:
    """(type, seq, message id) per event: what the client would apply, in order."""
    out = []
    for frame in frames:
        message = frame.get("message")
        out.append(
            (frame["type"], frame["seq"], message["id"] if isinstance(message, dict) else None)
        )
    return out


async def test_reconnecting_with_since_replays_exactly_what_was_missed(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("catchup"), "Catch-up", "topic")
    rid = room["id"]
    await bob.join(rid)
    await alice.connect()
    await bob.connect()
    m1 = await alice.send(rid, "one")
    m2 = await alice.send(rid, "two")
    m3 = await alice.send(rid, "three")
    live = await room_frames_until(bob, rid, lambda f: f.get("seq") == m3["seq"])
    assert [f["message"]["id"] for f in live] == [m1["id"], m2["id"], m3["id"]]
    seen_up_to = bob.last_seq[rid]
    assert seen_up_to == m3["seq"]
    await bob.close()

    # While bob is away:
    m4 = await alice.send(rid, "four")
    edited = await alice.edit(m2["id"], "two, edited")
    reactions = await alice.react(m1["id"], ":tada:")
    m5 = await alice.send(rid, "five", reply_to=m1["id"])
    await alice.delete(m3["id"])
    m6 = await alice.send(rid, "six, soon gone")
    await alice.delete(m6["id"])
    now = (await alice.room(rid))["last_seq"]
    assert now == m3["seq"] + 7

    back = ChatClient(bob.base_url, bob.token)
    try:
        ready = await back.connect(since={rid: seen_up_to})
        [state] = [r for r in ready["rooms"] if r["id"] == rid]
        assert state["last_seq"] >= now
        replay = await room_frames_until(back, rid, is_synced)
        assert summary(replay) == [
            ("message.created", m4["seq"], m4["id"]),
            ("message.updated", m3["seq"] + 2, m2["id"]),  # the edit
            ("message.updated", m3["seq"] + 3, m1["id"]),  # the reaction, folded
            ("message.created", m5["seq"], m5["id"]),
            ("message.updated", m3["seq"] + 5, m3["id"]),  # the deletion
            ("message.created", m6["seq"], m6["id"]),  # created and deleted while away
            ("room.synced", now, None),
        ]
        by_id = {f["message"]["id"]: f["message"] for f in replay[:-1]}
        assert by_id[m2["id"]]["body"] == "two, edited"
        assert by_id[m2["id"]]["edited_at"] == edited["edited_at"]
        assert by_id[m2["id"]]["seq"] == m2["seq"]
        assert (
            by_id[m1["id"]]["reactions"]
            == [{"emoji": "🎉", "count": 1, "me": False}]
            == [dict(r, me=False) for r in reactions]
        )
        assert by_id[m5["id"]]["reply_to"] == m1["id"]
        for gone in (m3, m6):
            tombstone = by_id[gone["id"]]
            assert (tombstone["deleted"], tombstone["body"], tombstone["reactions"]) == (
                True,
                "",
                [],
            )
            assert tombstone["seq"] == gone["seq"]

        # Live events continue right after the synced seq, each once.
        m7 = await alice.send(rid, "seven")
        m8 = await alice.send(rid, "eight")
        after = await room_frames_until(back, rid, lambda f: f.get("seq") == m8["seq"])
        assert summary(after) == [
            ("message.created", now + 1, m7["id"]),
            ("message.created", now + 2, m8["id"]),
        ]
        assert back.gaps == []
        assert [f for f in back.drain_events() if f.get("room") == rid] == []
    finally:
        await back.close()


async def test_reconnecting_with_nothing_missed_replays_nothing_but_the_marker(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    room = await alice.create_room(slug("idle"), "Idle", "topic")
    sent = await alice.post_message(room["id"], "hello")
    ready = await alice.connect(since={room["id"]: sent["seq"]})
    assert ready["op"] == "ready"
    frames = await room_frames_until(alice, room["id"], is_synced)
    assert summary(frames) == [("room.synced", sent["seq"], None)]


async def test_the_sync_op_replays_then_resumes_live_without_repeats_or_gaps(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("sync"), "Sync", "topic")
    rid = room["id"]
    await bob.join(rid)
    first = [await alice.post_message(rid, f"before {i}") for i in range(5)]
    await alice.edit_message(first[0]["id"], "before 0, edited")

    async with connect(bob.ws_url) as ws:
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": bob.token}))
        assert json.loads(await ws.recv())["op"] == "ready"

        # Others keep writing while bob asks for replays, from older and older seqs.
        async def chatter() -> list[Frame]:
            return [await alice.post_message(rid, f"during {i}") for i in range(40)]

        writer = asyncio.create_task(chatter())
        sinces = [first[1]["seq"], first[0]["seq"], 0, first[3]["seq"]]
        for ref, since in enumerate(sinces):
            await ws.send(json.dumps({"op": "sync", "ref": ref, "room": rid, "since": since}))
            await asyncio.sleep(0.03)
        during = await writer
        last_seq = during[-1]["seq"]

        stream: list[Frame] = []
        async with asyncio.timeout(10):
            while (
                not stream
                or stream[-1].get("seq") != last_seq
                or _replaying(stream)
                or sum(f["op"] == "ok" for f in stream) < len(sinces)
            ):
                frame = json.loads(await ws.recv())
                if frame.get("op") != "event" or frame.get("room") == rid:
                    stream.append(frame)

    # Split the stream: each `ok` starts a replay that `room.synced` ends.
    replays: list[list[Frame]] = []
    live: list[int] = []
    current: list[Frame] | None = None
    for frame in stream:
        if frame["op"] == "ok":
            assert current is None, "a replay started inside another"
            current = []
        elif is_synced(frame):
            assert current is not None, "room.synced outside a replay"
            replays.append([*current, frame])
            current = None
        elif current is not None:
            current.append(frame)
        else:
            live.append(frame["seq"])
    assert [f["op"] for f in stream if f["op"] != "event"] == ["ok"] * len(sinces)
    assert len(replays) == len(sinces)

    # Outside replays, every seq arrives once, in order, and none is skipped after a replay.
    assert live == sorted(set(live)), live
    delivered = set(live)
    for since, replay in zip(sinces, replays, strict=True):
        synced = replay[-1]
        seqs = [f["seq"] for f in replay[:-1]]
        assert seqs == sorted(seqs)
        assert all(since < seq <= synced["seq"] for seq in seqs)
        created = {f["message"]["id"] for f in replay if f["type"] == "message.created"}
        assert {m["id"] for m in first if m["seq"] > since} <= created
        if since < first[0]["seq"] + 5:  # the edit happened after `since`
            edits = [f for f in replay[:-1] if f["message"]["id"] == first[0]["id"]]
            assert len(edits) == 1
            assert edits[0]["message"]["body"] == "before 0, edited"
        delivered |= set(seqs) | {synced["seq"]}
    # Right after room.synced comes the next seq live, unless another asked-for replay starts.
    for at, frame in enumerate(stream[:-1]):
        if is_synced(frame):
            after = stream[at + 1]
            assert after["op"] == "ok" or after["seq"] == frame["seq"] + 1, _trace(stream)
    assert set(range(first[-1]["seq"] + 2, last_seq + 1)) <= delivered


def _trace(stream: list[Frame]) -> str:
    return " ".join(f"{f['op']}:{f.get('type', '')}:{f.get('seq')}" for f in stream)


def _replaying(stream: list[Frame]) -> bool:
    """Whether the last `ok` in the stream still waits for its room.synced."""
    for frame in reversed(stream):
        if frame["op"] == "ok":
            return True
        if is_synced(frame):
            return False
    return False


async def test_a_refused_sync_leaves_the_live_stream_as_it_was(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("refused"), "Refused", "topic")
    hidden = await alice.create_room(slug("hidden"), "Hidden", "topic", "private")
    other = await alice.create_room(slug("other"), "Other", "topic")
    rid = room["id"]
    await bob.join(rid)
    await bob.connect()
    before = await alice.post_message(rid, "before")
    await room_frames_until(bob, rid, lambda f: f.get("seq") == before["seq"])

    for target, since, code in (
        (rid, -1, "bad_request"),
        (rid, "yesterday", "bad_request"),
        (hidden["id"], 0, "not_found"),
        (other["id"], 0, "not_member"),
    ):
        with pytest.raises(ApiError) as refused:
            await bob.request("sync", room=target, since=since)
        assert refused.value.code == code

    after = [await alice.post_message(rid, f"after {i}") for i in range(3)]
    live = await room_frames_until(bob, rid, lambda f: f.get("seq") == after[-1]["seq"])
    assert summary(live) == [("message.created", m["seq"], m["id"]) for m in after]
    assert [f for f in bob.drain_events() if f.get("room") in (hidden["id"], other["id"])] == []


async def test_missing_more_than_1000_events_means_a_reset(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("reset"), "Reset", "topic")
    rid = room["id"]
    await bob.join(rid)
    since = (await bob.room(rid))["last_seq"]

    async def post_many(worker: int, count: int) -> None:
        for i in range(count):
            await alice.post_message(rid, f"flood {worker}.{i}")

    await asyncio.gather(*(post_many(w, 126) for w in range(8)))  # 1008 events
    last = (await alice.room(rid))["last_seq"]
    assert last - since == 1008

    back = ChatClient(bob.base_url, bob.token)
    try:
        await back.connect(since={rid: since})
        frames = await room_frames_until(back, rid, is_synced, timeout=20)
        assert frames == [
            {"op": "event", "type": "room.synced", "room": rid, "seq": last, "reset": True}
        ]
        assert back.last_seq[rid] == last

        # Exactly 1000 missed is still replayed in full.
        await back.sync(rid, since=last - 1000)
        events = await room_frames_until(back, rid, is_synced, timeout=20)
        assert [f["seq"] for f in events[:-1]] == list(range(last - 999, last + 1))
        assert {f["type"] for f in events[:-1]} == {"message.created"}
        assert events[-1] == {"op": "event", "type": "room.synced", "room": rid, "seq": last}

        # The same reset through the sync op, then live events carry on.
        await back.sync(rid, since=last - 1001)
        frames = await room_frames_until(back, rid, is_synced)
        assert frames[-1]["reset"] is True and frames[-1]["seq"] == last
        assert [f for f in frames[:-1] if f.get("op") == "event"] == []
        more = await alice.post_message(rid, "still here")
        live = await room_frames_until(back, rid, lambda f: f.get("seq") == more["seq"])
        assert summary(live) == [("message.created", last + 1, more["id"])]
    finally:
        await back.close()


async def test_a_server_restart_loses_nothing_acknowledged(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path)
    process.start()
    alice = ChatClient(process.base_url)
    bob = ChatClient(process.base_url)
    try:
        await alice.register("alice", "correct horse battery")
        await bob.register("bob", "correct horse battery")
        room = await alice.create_room("restart", "Restart", "topic")
        rid = room["id"]
        await bob.join(rid)
        await alice.connect()
        await bob.connect()

        acked = [await alice.send(rid, f"before {i}") for i in range(5)]
        acked.append(await bob.send(rid, "bob before"))
        await room_frames_until(bob, rid, lambda f: f.get("seq") == acked[-1]["seq"])

        await asyncio.to_thread(process.restart)
        # Written while bob's client may still be reconnecting.
        acked += [await alice.post_message(rid, f"right after {i}") for i in range(3)]
        reconnected = await bob.next_event("client.reconnected", timeout=15)
        assert reconnected["ready"]["op"] == "ready"
        if not alice.connected:
            await alice.next_event("client.reconnected", timeout=15)
        acked.append(await alice.send(rid, "after the restart"))
        acked.append(await bob.send(rid, "bob after"))

        frames = await room_frames_until(bob, rid, lambda f: f.get("seq") == acked[-1]["seq"])
        received = {f["message"]["id"] for f in frames if f.get("type") == "message.created"}
        assert {m["id"] for m in acked[6:]} <= received
        history = await bob.history(rid)
        assert [m["id"] for m in history] == [m["id"] for m in acked]
        assert [m["seq"] for m in history] == sorted({m["seq"] for m in acked})
        assert bob.last_seq[rid] == acked[-1]["seq"]
        assert bob.gaps == []
    finally:
        await alice.close()
        await bob.close()
        process.stop()
