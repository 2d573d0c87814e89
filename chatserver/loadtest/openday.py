"""`--open-day`: one room of students and guests, questions voted on and answered live.

The message stream (with every `question_rate / (rate + question_rate)`-th message asked as
a question) is the ordinary counted step, so delivery latency, losses and duplicates mean
what they mean elsewhere. Beside it, guests react over their sockets and vote over HTTP on
the open questions, and the mentors poll the queue (`state=open&sort=votes`) twice a
second, timing each poll, and answer the top question every other time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx

from chatserver.loadtest import wire
from chatserver.loadtest.clients import Client
from chatserver.loadtest.metrics import LatencySummary, StepResult
from chatserver.loadtest.runner import Run

REACTION_EMOJI = "🎉"
QUEUE_EVERY_S = 0.5
"""Seconds between two polls of the queue, each by the next mentor."""
ANSWER_EVERY = 2
"""Polls per answer: one question a second is answered, so with the default two asked a
second the queue grows as it does on a busy day, and the crowd has questions to vote on."""


@dataclass
class OpenDayResult:
    clients: int
    guests: int
    mentors: int
    questions_asked: int = 0
    reactions_sent: int = 0
    reactions_acked: int = 0
    votes_sent: int = 0
    votes_ok: int = 0
    answers_ok: int = 0
    side_errors: dict[str, int] = field(default_factory=dict)
    queue_ms: LatencySummary = field(default_factory=LatencySummary)
    open_at_end: int = 0


class _Side:
    """What the guests and mentors do beside the message stream, and what came of it."""

    def __init__(self, run: Run, http: httpx.AsyncClient, mentors: httpx.AsyncClient) -> None:
        opts = run.opts
        self.run = run
        self.http = http
        self.mentors_http = mentors  # its own pool: a poll never waits behind the votes
        self.room = run.clients[0].room
        readers = set(run.readers_of)
        self.mentors = [c for c in run.clients[: opts.mentors] if c in readers]
        self.guests = [c for c in run.clients[opts.registered :] if c in readers]
        self.open_ids: list[int] = []  # the queue's latest answer, top voted first
        self.queue_us: list[int] = []
        self.result = OpenDayResult(opts.clients, opts.guests, len(self.mentors))
        self.stop = asyncio.Event()

    def _error(self, what: str) -> None:
        errors = self.result.side_errors
        errors[what] = errors.get(what, 0) + 1

    async def mentors_loop(self) -> None:
        """Poll the queue, time it, answer its top question every other poll; one mentor
        after another."""
        turn = 0
        path = f"/api/rooms/{self.room}/questions"
        params = {"state": "open", "sort": "votes", "limit": "50"}
        while not self.stop.is_set():
            mentor = self.mentors[turn % len(self.mentors)]
            turn += 1
            headers = {"Authorization": f"Bearer {mentor.token}"}
            started = time.perf_counter()
            resp = await self.mentors_http.get(path, params=params, headers=headers)
            self.queue_us.append(int((time.perf_counter() - started) * 1e6))
            if resp.status_code != 200:
                self._error(f"queue_{resp.status_code}")
            else:
                self.open_ids = [q["id"] for q in resp.json()["questions"]]
                self.result.open_at_end = len(self.open_ids)
                if self.open_ids and turn % ANSWER_EVERY == 0:
                    top = self.open_ids.pop(0)
                    answer = await self.mentors_http.put(
                        f"/api/messages/{top}/question", json={"state": "answered"}, headers=headers
                    )
                    if answer.status_code == 200:
                        self.result.answers_ok += 1
                    else:
                        self._error(f"answer_{answer.status_code}")
            await self._pause(QUEUE_EVERY_S)

    async def crowd_loop(self) -> None:
        """Reactions (over the socket) and votes (over HTTP) in turn, on an absolute schedule,
        by the guests one after another, on the open questions of the latest poll."""
        rate = self.run.opts.reaction_rate
        if rate <= 0 or not self.guests:
            return
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        j = 0
        while not self.stop.is_set():
            due = t0 + j / rate
            if due > loop.time():
                await self._pause(due - loop.time())
                continue
            if self.open_ids:
                guest = self.guests[j % len(self.guests)]
                target = self.open_ids[(j // 2) % len(self.open_ids)]
                if j % 2:
                    self.run.shared.spawn(self._vote(guest, target))
                else:
                    await self._react(guest, target)
            j += 1

    async def _react(self, guest: Client, message: int) -> None:
        ws = guest.ws
        if ws is None:
            return
        ref = self.run.reserve(1)  # a waiter: the ack must not count as a message's
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(self._reacted)
        self.run.shared.waiters[ref] = waiter
        self.result.reactions_sent += 1
        await ws.send(wire.react_frame(ref, message, REACTION_EMOJI))

    def _reacted(self, waiter: asyncio.Future[bytes]) -> None:
        if waiter.cancelled():
            return
        if waiter.exception() is None:
            self.result.reactions_acked += 1
        else:
            self._error("reaction")

    async def _vote(self, guest: Client, message: int) -> None:
        self.result.votes_sent += 1
        headers = {"Authorization": f"Bearer {guest.token}"}
        try:
            resp = await self.http.put(f"/api/messages/{message}/question/vote", headers=headers)
        except httpx.HTTPError:
            self._error("vote_http")
            return
        if resp.status_code == 200:
            self.result.votes_ok += 1
        elif resp.status_code != 404:  # answered and gone from the queue meanwhile: fine
            self._error(f"vote_{resp.status_code}")

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


async def open_day(run: Run) -> tuple[StepResult, OpenDayResult]:
    """The counted message stream with questions in it, and the crowd and mentors beside."""
    opts = run.opts
    total = opts.rate + opts.question_rate
    run.question_share = opts.question_rate / total
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(base_url=opts.http_url, timeout=30, limits=limits) as http,
        httpx.AsyncClient(base_url=opts.http_url, timeout=30) as mentors,
    ):
        side = _Side(run, http, mentors)
        tasks = [
            asyncio.ensure_future(side.mentors_loop()),
            asyncio.ensure_future(side.crowd_loop()),
        ]
        try:
            step = await run.step(total, opts.duration)
        finally:
            side.stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*run.shared.background, return_exceptions=True)
    side.result.questions_asked = run.questions
    side.result.queue_ms = LatencySummary.of(side.queue_us)
    return step, side.result
