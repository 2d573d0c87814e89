"""RoomFeed: each subscriber gets every seq above its floor once, in order, whatever the
broker does to the stream and however attaches race it. The test plays the hub and the
event log; no event loop is involved."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from chatserver.protocol.roomfeed import (
    Close,
    Fetch,
    Output,
    Push,
    Reason,
    RoomFeed,
    StartTimer,
)


class Sub:
    """A subscriber, hashed by identity as a connection is."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Attachment:
    """One subscriber from an attach to its detach, and what it was pushed meanwhile."""

    def __init__(self, sub: Sub, floor: int) -> None:
        self.sub = sub
        self.floor = floor
        self.received: list[int] = []
        self.closed = False


class Room:
    """A feed driven the way the hub drives it. Frames are the seqs themselves, and the
    log holds every seq from 1 to `committed`."""

    def __init__(self, committed: int, start: int = 0) -> None:
        self.committed = committed
        self.feed: RoomFeed[Sub, int] = RoomFeed(start)
        self.current: dict[Sub, Attachment] = {}
        self.history: list[Attachment] = []
        self.fetches: list[Fetch[Sub]] = []
        self.timer = False
        self.skipped: list[tuple[int, int]] = []

    def apply(self, outputs: Sequence[Output[Sub, int]]) -> None:
        for output in outputs:
            if isinstance(output, Push):
                for sub in output.to:
                    attachment = self.current.get(sub)
                    assert attachment is not None, f"{sub} pushed {output.frame} while detached"
                    assert not attachment.closed, f"{sub} pushed {output.frame} after its close"
                    attachment.received.append(output.frame)
            elif isinstance(output, Fetch):
                assert 1 <= output.first <= output.last <= self.committed, "asked for no seq"
                self.fetches.append(output)
            elif isinstance(output, StartTimer):
                assert not self.timer, "a second gap timer while one runs"
                self.timer = True
            elif isinstance(output, Close):
                self.current[output.subscriber].closed = True
            else:
                self.skipped.append((output.first, output.last))

    def attach(self, sub: Sub, floor: int) -> Attachment:
        attachment = self.current[sub] = Attachment(sub, floor)
        self.history.append(attachment)
        self.apply(self.feed.attach(sub, floor))
        return attachment

    def detach(self, sub: Sub) -> None:
        self.feed.detach(sub)
        del self.current[sub]

    def arrive(self, *seqs: int) -> None:
        for seq in seqs:
            self.apply(self.feed.arrive(seq, seq))

    def gap_wait_over(self) -> None:
        assert self.timer, "no gap timer was asked for"
        self.timer = False
        self.apply(self.feed.gap_wait_over())

    def answer(self, index: int = 0, *, fail: bool = False) -> None:
        request = self.fetches.pop(index)
        if fail:
            self.apply(self.feed.fetch_failed(request))
        else:
            events = [(seq, seq) for seq in range(request.first, request.last + 1)]
            self.apply(self.feed.fetched(request, events))

    def settle(self) -> None:
        """Answer every read and let every gap timer go off, until nothing is asked."""
        while self.fetches or self.timer:
            if self.fetches:
                self.answer()
            else:
                self.gap_wait_over()


def _drive(data: st.DataObject, *, failures: bool) -> Room:
    """A room's stream reordered, dropped and duplicated, interleaved with attaches,
    detaches, re-attaches, log answers in any order, timers and store reads."""
    committed = data.draw(st.integers(1, 24), label="committed")
    copies = data.draw(st.lists(st.integers(0, 2), min_size=committed, max_size=committed))
    stream = [seq for seq, n in zip(range(1, committed + 1), copies, strict=True) for _ in range(n)]
    arrivals = deque(data.draw(st.permutations(stream), label="arrivals"))
    subs = [Sub(f"s{i}") for i in range(4)]
    floors = st.integers(0, committed)
    start = data.draw(floors, label="first floor")
    room = Room(committed, start)
    room.attach(subs[0], start)
    for _ in range(data.draw(st.integers(0, 4 * committed), label="other steps")):
        detached = [sub for sub in subs if sub not in room.current]
        moves = ["arrive"] if arrivals else []
        moves += ["attach"] if detached else []
        moves += ["detach"] if room.current else []
        moves += ["answer"] if room.fetches else []
        moves += ["timer"] if room.timer else []
        moves.append("store")
        move = data.draw(st.sampled_from(moves))
        if move == "arrive":
            room.arrive(arrivals.popleft())
        elif move == "attach":
            room.attach(data.draw(st.sampled_from(detached)), data.draw(floors))
        elif move == "detach":
            room.detach(data.draw(st.sampled_from(sorted(room.current, key=repr))))
        elif move == "answer":
            index = data.draw(st.integers(0, len(room.fetches) - 1))
            room.answer(index, fail=failures and data.draw(st.booleans()))
        elif move == "timer":
            room.gap_wait_over()
        else:
            room.apply(room.feed.last_seq_known(data.draw(floors)))
    room.arrive(*arrivals)
    # What the broker lost is found when the hub compares the feed with the store.
    room.apply(room.feed.last_seq_known(committed))
    room.settle()
    return room


@settings(max_examples=400)
@given(st.data())
def test_every_subscriber_gets_every_seq_above_its_floor_exactly_once_in_order(
    data: st.DataObject,
) -> None:
    room = _drive(data, failures=False)
    for attachment in room.history:
        got, floor = attachment.received, attachment.floor
        assert got == list(range(floor + 1, floor + 1 + len(got))), attachment.sub
    for sub, attachment in room.current.items():
        assert attachment.received == list(range(attachment.floor + 1, room.committed + 1))
        assert room.feed.position(sub) == max(attachment.floor, room.committed)
    assert room.feed.delivered == room.committed
    assert room.skipped == []
    assert not any(attachment.closed for attachment in room.history)


@given(st.data())
def test_when_the_log_fails_nothing_repeats_or_goes_backwards(data: st.DataObject) -> None:
    room = _drive(data, failures=True)
    for attachment in room.history:
        got = attachment.received
        assert got == sorted(set(got)), attachment.sub
        assert all(seq > attachment.floor for seq in got), attachment.sub


def test_an_early_event_is_held_until_the_one_before_it_arrives() -> None:
    room = Room(committed=2)
    a = room.attach(Sub("a"), 0)
    room.arrive(2)
    assert a.received == []
    assert room.timer
    room.arrive(1)
    assert a.received == [1, 2]
    room.gap_wait_over()
    assert room.fetches == []  # nothing was missing any more
    room.arrive(4)
    assert room.timer  # a new gap has a timer of its own


def test_a_gap_still_open_when_the_wait_ends_is_read_from_the_log() -> None:
    room = Room(committed=4)
    a = room.attach(Sub("a"), 0)
    room.arrive(1, 3, 4)
    assert a.received == [1]
    room.gap_wait_over()
    [request] = room.fetches
    assert (request.reason, request.first, request.last) == (Reason.GAP, 2, 2)
    room.answer()
    assert a.received == [1, 2, 3, 4]


def test_a_failed_gap_fill_gives_up_the_missing_seqs_and_goes_on() -> None:
    room = Room(committed=5)
    a = room.attach(Sub("a"), 0)
    room.arrive(1, 4)
    room.gap_wait_over()
    room.answer(fail=True)
    assert room.skipped == [(2, 3)]
    assert a.received == [1, 4]
    room.arrive(5)
    assert a.received == [1, 4, 5]


def test_a_failed_backfill_closes_only_that_subscriber() -> None:
    room = Room(committed=5)
    a = room.attach(Sub("a"), 0)
    room.arrive(1, 2, 3)
    late = room.attach(Sub("late"), 1)
    room.arrive(4)
    room.answer(fail=True)
    assert late.closed
    room.arrive(5)  # Room.apply fails the test if anything reaches the closed one
    assert late.received == []
    assert a.received == [1, 2, 3, 4, 5]


def test_a_subscriber_behind_is_backfilled_then_given_what_arrived_meanwhile() -> None:
    room = Room(committed=5)
    room.attach(Sub("a"), 0)
    room.arrive(1, 2)
    late_sub = Sub("late")
    late = room.attach(late_sub, 0)
    assert room.feed.position(late_sub) is None  # not known while it is caught up
    room.arrive(3, 4)
    room.answer()
    room.arrive(5)
    assert late.received == [1, 2, 3, 4, 5]
    assert room.feed.position(late_sub) == 5


def test_a_backfill_answered_after_a_detach_reaches_nobody() -> None:
    room = Room(committed=4)
    a = room.attach(Sub("a"), 0)
    room.arrive(1, 2, 3)
    gone = Sub("gone")
    room.attach(gone, 0)
    room.detach(gone)
    room.answer()  # Room.apply fails the test if it pushes to a detached subscriber
    room.arrive(4)
    assert a.received == [1, 2, 3, 4]
    room.detach(a.sub)
    assert not room.feed.has_subscribers()


def test_attach_detach_attach_uses_only_the_newest_floor() -> None:
    room = Room(committed=6)
    room.attach(Sub("a"), 0)
    room.arrive(1, 2, 3)
    sub = Sub("b")
    room.attach(sub, 0)
    room.arrive(4)
    room.detach(sub)
    again = room.attach(sub, 2)  # a `sync` put it back with a newer snapshot
    room.arrive(5)
    room.answer(0)  # the first attach's backfill: stale
    assert again.received == []
    room.answer(0)
    room.arrive(6)
    assert again.received == [3, 4, 5, 6]


def test_a_subscriber_ahead_waits_until_the_feed_passes_its_floor() -> None:
    room = Room(committed=4)
    room.attach(Sub("a"), 0)
    ahead_sub = Sub("ahead")
    ahead = room.attach(ahead_sub, 3)
    assert room.feed.position(ahead_sub) == 3
    room.arrive(1, 2, 3)
    assert ahead.received == []
    room.arrive(4)
    assert ahead.received == [4]
    assert room.feed.position(ahead_sub) == 4


def test_a_subscriber_passed_midway_through_a_held_run_gets_only_what_follows_its_floor() -> None:
    room = Room(committed=4)
    a = room.attach(Sub("a"), 0)
    ahead = room.attach(Sub("ahead"), 2)
    room.arrive(4, 3, 2)
    room.arrive(1)  # releases 1..4 at once
    assert a.received == [1, 2, 3, 4]
    assert ahead.received == [3, 4]


def test_the_store_is_read_only_for_what_the_feed_lacks() -> None:
    room = Room(committed=5)
    a = room.attach(Sub("a"), 0)
    room.arrive(1, 2, 3)
    room.apply(room.feed.last_seq_known(3))
    assert room.fetches == []
    room.apply(room.feed.last_seq_known(5))
    [request] = room.fetches
    assert (request.reason, request.first, request.last) == (Reason.CATCH_UP, 4, 5)
    room.answer()
    assert a.received == [1, 2, 3, 4, 5]


def test_duplicates_and_stale_arrivals_are_dropped() -> None:
    room = Room(committed=3)
    a = room.attach(Sub("a"), 0)
    room.arrive(1, 1, 2, 1, 3, 2)
    assert a.received == [1, 2, 3]
    assert not room.timer
