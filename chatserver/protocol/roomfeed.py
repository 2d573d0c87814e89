"""RoomFeed: one room's seq ordering on one node, as a state machine without I/O.

The hub tells a feed what happened (an event arrived, a subscriber attached or left,
the gap wait ran out, the event log answered) and carries out what the feed returns:
push these frames to these subscribers, fetch these seqs, start the gap timer, close
this subscriber. Keeping the rules apart from tasks, sockets and the store lets them be
checked over any interleaving of arrivals, attaches and answers without an event loop.

Guarantee: while attached, a subscriber is pushed every seq above its floor exactly once,
in order, as long as the event log holds them, and never one at or below its floor.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Hashable, Iterable, Sequence
from itertools import chain
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)
"""A subscriber (the hub's connection): only compared and hashed here."""
F = TypeVar("F")
"""A frame, passed through untouched, so the hub can share one object among recipients."""


class Push(Generic[S, F]):
    """Push `frame` to every subscriber in `to`, after the outputs listed before it.

    For an event in order, `to` is the feed's own member set rather than a copy, so a
    busy room costs nothing per recipient: act on one input's outputs before giving the
    feed its next input.
    """

    __slots__ = ("frame", "to")

    def __init__(self, to: Collection[S], frame: F) -> None:
        self.to = to
        self.frame = frame


class Reason(enum.Enum):
    """Why the feed reads the event log."""

    GAP = "gap fill"
    """Seqs still missing below an early arrival once the gap wait is over."""
    CATCH_UP = "catch-up"
    """Seqs the store has committed that this node has not seen (a new feed, a reset)."""
    BACKFILL = "backfill"
    """Seqs that one subscriber, attached behind the feed, has not seen."""


class Fetch(Generic[S]):
    """Read seqs `first`..`last` from the event log, then hand this very object back to
    `fetched` with what was found, or to `fetch_failed`."""

    __slots__ = ("first", "last", "reason", "subscriber")

    def __init__(self, reason: Reason, first: int, last: int, subscriber: S | None = None) -> None:
        self.reason = reason
        self.first = first
        self.last = last
        self.subscriber = subscriber
        """Set for a backfill: the one subscriber the answer is for."""


class StartTimer:
    """Call `gap_wait_over` once the gap wait has passed."""

    __slots__ = ()


class Close(Generic[S]):
    """Close this subscriber: it cannot be caught up, so it must reconnect and replay."""

    __slots__ = ("subscriber",)

    def __init__(self, subscriber: S) -> None:
        self.subscriber = subscriber


class Skipped:
    """Seqs `first`..`last` are not in the event log: the stream goes on without them."""

    __slots__ = ("first", "last")

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.last = last


Output = Push[S, F] | Fetch[S] | StartTimer | Close[S] | Skipped
_START_TIMER = StartTimer()
_NOTHING: tuple[()] = ()


class _Backfill(Generic[S, F]):
    """A subscriber being caught up: its log read, and the live events held meanwhile."""

    __slots__ = ("buffer", "request")

    def __init__(self, request: Fetch[S]) -> None:
        self.request = request
        self.buffer: list[tuple[int, F]] = []


class RoomFeed(Generic[S, F]):
    """One room's subscribers on this node and how far its stream has been delivered.

    Members have everything up to `delivered`. A subscriber whose floor is ahead of the
    feed waits until the feed passes it; one whose floor is behind is backfilled from the
    log while the live events it will need are held for it. An event that arrives early
    is held until the missing ones arrive or the gap wait ends, then they are read from
    the log.
    """

    __slots__ = ("_catching_up", "_filling", "_members", "_pending", "_waiting", "delivered")

    def __init__(self, delivered: int) -> None:
        self.delivered = delivered
        self._members: set[S] = set()
        self._waiting: dict[S, int] = {}
        self._catching_up: dict[S, _Backfill[S, F]] = {}
        self._pending: dict[int, F] = {}
        self._filling = False
        """A gap timer or gap fetch is under way: true whenever `_pending` is not empty."""

    # -- subscribers ------------------------------------------------------------------

    def attach(self, sub: S, floor: int) -> Sequence[Output[S, F]]:
        """Start pushing `sub` the seqs above `floor` (it must not be attached already)."""
        if floor == self.delivered:
            self._members.add(sub)
            return _NOTHING
        if floor > self.delivered:
            self._waiting[sub] = floor
            return _NOTHING
        request: Fetch[S] = Fetch(Reason.BACKFILL, floor + 1, self.delivered, sub)
        self._catching_up[sub] = _Backfill(request)
        return (request,)

    def detach(self, sub: S) -> None:
        """Stop pushing to `sub`; an answer to its backfill still on its way is ignored."""
        self._members.discard(sub)
        self._waiting.pop(sub, None)
        self._catching_up.pop(sub, None)

    def has_subscribers(self) -> bool:
        return bool(self._members or self._waiting or self._catching_up)

    def subscribers(self) -> list[S]:
        """Everyone attached, for events outside the seq order (typing, presence)."""
        return [*self._members, *self._waiting, *self._catching_up]

    def position(self, sub: S) -> int | None:
        """The last seq pushed to `sub`, when known exactly (not while it is backfilled)."""
        if sub in self._members:
            return self.delivered
        return self._waiting.get(sub)

    # -- the stream -------------------------------------------------------------------

    def arrive(self, seq: int, frame: F) -> Sequence[Output[S, F]]:
        """A sequenced event came from the broker (maybe late, early, or twice)."""
        if seq == self.delivered + 1:
            if self._waiting or self._catching_up or self._pending:
                out: list[Output[S, F]] = []
                self._deliver(seq, frame, out)
                self._drain(out)
                return out
            # The common case, once per event on a busy node: kept to one small list.
            self.delivered = seq
            return [Push(self._members, frame)]
        if seq <= self.delivered:
            return _NOTHING
        self._pending[seq] = frame
        if self._filling:
            return _NOTHING
        self._filling = True
        return (_START_TIMER,)

    def gap_wait_over(self) -> Sequence[Output[S, F]]:
        """The gap timer went off: what is still missing is read from the log."""
        out: list[Output[S, F]] = []
        self._fill(out)
        return out

    def last_seq_known(self, last: int) -> Sequence[Output[S, F]]:
        """The store's last seq for the room, read after the broker may have lost some."""
        if last > self.delivered:
            return (Fetch(Reason.CATCH_UP, self.delivered + 1, last),)
        return _NOTHING

    def fetched(self, request: Fetch[S], events: Iterable[tuple[int, F]]) -> Sequence[Output[S, F]]:
        """The log's answer to `request`: (seq, frame) pairs in seq order."""
        out: list[Output[S, F]] = []
        if request.subscriber is not None:
            self._backfilled(request.subscriber, request, events, out)
            return out
        for seq, frame in events:
            if seq == self.delivered + 1:
                self._deliver(seq, frame, out)
        self._loaded(request, out)
        return out

    def fetch_failed(self, request: Fetch[S]) -> Sequence[Output[S, F]]:
        """The log could not be read for `request`."""
        sub = request.subscriber
        if sub is None:
            out: list[Output[S, F]] = []
            self._loaded(request, out)
            return out
        backfill = self._catching_up.get(sub)
        if backfill is None or backfill.request is not request:
            return _NOTHING  # detached meanwhile: nothing is owed to it any more
        del self._catching_up[sub]
        return (Close(sub),)

    # -- internals --------------------------------------------------------------------

    def _deliver(self, seq: int, frame: F, out: list[Output[S, F]]) -> None:
        self.delivered = seq
        if self._waiting:
            self._promote(seq, out)
        out.append(Push(self._members, frame))
        if self._catching_up:
            for backfill in self._catching_up.values():
                backfill.buffer.append((seq, frame))

    def _promote(self, seq: int, out: list[Output[S, F]]) -> None:
        """Waiting subscribers whose floor `seq` passes become members, this seq included."""
        ready = [sub for sub, floor in self._waiting.items() if seq > floor]
        for sub in ready:
            del self._waiting[sub]
        self._admit(ready, out)

    def _admit(self, subs: Iterable[S], out: list[Output[S, F]]) -> None:
        members = self._members
        if any(isinstance(o, Push) and o.to is members for o in out):
            # Earlier seqs of this same input are addressed to the set as it is now:
            # they must not reach the newcomers, so the feed goes on with a copy.
            members = self._members = set(members)
        members.update(subs)

    def _drain(self, out: list[Output[S, F]]) -> None:
        """Deliver the held events that now follow on, and drop those the log filled in."""
        pending = self._pending
        while pending:
            frame = pending.pop(self.delivered + 1, None)
            if frame is None:
                for seq in [s for s in pending if s <= self.delivered]:
                    del pending[seq]
                return
            self._deliver(self.delivered + 1, frame, out)

    def _fill(self, out: list[Output[S, F]]) -> None:
        """Ask the log for the first gap below the held events, or stop filling."""
        while self._pending:
            lowest = min(self._pending)
            if lowest > self.delivered + 1:
                out.append(Fetch(Reason.GAP, self.delivered + 1, lowest - 1))
                return
            self._drain(out)
        self._filling = False

    def _loaded(self, request: Fetch[S], out: list[Output[S, F]]) -> None:
        """After a room-wide read: a gap the log cannot fill is given up, not waited on."""
        if request.reason is Reason.GAP:
            if self.delivered < request.last:
                out.append(Skipped(self.delivered + 1, request.last))
                self.delivered = request.last
            self._drain(out)
            self._fill(out)
        else:
            self._drain(out)

    def _backfilled(
        self, sub: S, request: Fetch[S], events: Iterable[tuple[int, F]], out: list[Output[S, F]]
    ) -> None:
        backfill = self._catching_up.get(sub)
        if backfill is None or backfill.request is not request:
            # Detached meanwhile, or detached and attached again (a `sync`): the newer
            # attach has its own floor and backfill; this answer is for nobody.
            return
        del self._catching_up[sub]
        to = (sub,)
        last = request.first - 1
        for seq, frame in chain(events, backfill.buffer):
            if seq > last:
                out.append(Push(to, frame))
                last = seq
        self._admit(to, out)
