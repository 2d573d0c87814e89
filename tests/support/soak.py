"""A soak of a running server: members chatting, reacting and editing at a steady rate,
asking questions and voting on others', searching, sending images, while the rooms'
owners pin and unpin, some members dropping off and resuming with `since` — and an exact
account of what each received.

It speaks to the server only over the network (HTTP to set up and to read the final
truth, one WebSocket per member), so the same driver soaks any deployment; the caller
may pass a probe of the server's memory and file descriptors, sampled as the run goes.
At the end every member must have received every message of its room exactly once
(live, or replayed after a reconnect) and see the same final body, reactions, question
votes and attachments as the server's history says; every search must have found the
room's messages.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """What the server holds right now: resident memory and file descriptors, of which
    how many are sockets and how many its database's files (one set per pooled database
    connection, so they follow the pool's size rather than the traffic)."""

    rss_bytes: int
    fds: int
    sockets: int
    database: int

    @property
    def other(self) -> int:
        """Descriptors that are neither: log files, pipes, anything opened on the way."""
        return self.fds - self.sockets - self.database


Probe = Callable[[], Usage]

PASSWORD = "soak-password"
EMOJI = ("👍", "🎉", "❤️", "😂", "🚀")
REQUEST_TIMEOUT = 15.0
RECONNECT_ATTEMPTS = 5
CONNECTION_FAILED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
"""An HTTP connection that failed without a reply (not a timeout)."""


@dataclass(frozen=True)
class SoakPlan:
    clients: int = 50
    accounts: int = 10
    """Clients share accounts round-robin, as one person's phone and laptop do; fewer
    accounts keep the setup short (every registration is a deliberately slow hash)."""
    rooms: int = 5
    seconds: float = 30.0
    warmup: float = 5.0
    """Seconds of traffic before the baseline footprint is taken."""
    rate: float = 25.0
    """Actions (send, react or unreact, edit) per second, all members together."""
    churn_every: float = 3.0
    churn_share: float = 0.1
    """The fraction of members dropped (half abruptly, half with a close) in each wave."""
    sample_every: float = 10.0
    """Seconds between footprints taken along the way (the trend of a long soak)."""
    react_share: float = 0.25
    edit_share: float = 0.1
    question_share: float = 0.05
    """Sends that are questions for the room's mentors."""
    vote_share: float = 0.05
    """Votes (over HTTP) on another member's question."""
    search_share: float = 0.03
    """Searches (over HTTP) of the member's room."""
    upload_share: float = 0.02
    """Images uploaded (over HTTP), then sent as a message's attachment."""
    pin_every: float = 4.0
    """Seconds between a room owner's pin or unpin (a moderator's action) in each room."""
    vocabulary: int = 2_000
    """Distinct words the messages are made of. A day of a school's chat draws on a few
    thousand; a message numbered in its text would add a new word each, and fill the
    server's bounded caches of search terms (docs/benchmarks.md, "Soak") instead of
    showing their steady state."""
    seed: int = 0


@dataclass(frozen=True)
class Footprint:
    label: str
    at: float
    usage: Usage
    connected: int

    def line(self) -> str:
        u = self.usage
        return (
            f"{self.label:>8} t={self.at:6.1f}s rss={u.rss_bytes / 2**20:7.1f} MiB "
            f"fds={u.fds:4d} (sockets {u.sockets}, database {u.database}, other {u.other}) "
            f"clients connected={self.connected}"
        )


@dataclass(frozen=True)
class Lag:
    """The server's event-loop lag histogram (`chat_event_loop_lag_seconds`): a watcher
    sleeps a tenth of a second at a time and records how late it woke up."""

    buckets: tuple[tuple[float, int], ...]
    """(upper bound in seconds, samples at or under it), cumulative, ending with +inf."""

    @classmethod
    def parse(cls, exposition: str) -> Lag:
        buckets = [
            (float(sample.labels["le"]), int(sample.value))
            for family in text_string_to_metric_families(exposition)
            if family.name == "chat_event_loop_lag_seconds"
            for sample in family.samples
            if sample.name.endswith("_bucket")
        ]
        return cls(tuple(sorted(buckets)))

    def minus(self, earlier: Lag) -> Lag:
        """The samples taken since `earlier`."""
        before = dict(earlier.buckets)
        return Lag(tuple((le, n - before.get(le, 0)) for le, n in self.buckets))

    @property
    def samples(self) -> int:
        return self.buckets[-1][1] if self.buckets else 0

    def over(self, seconds: float) -> int:
        """Samples later than `seconds` (a bucket bound)."""
        return self.samples - dict(self.buckets)[seconds]

    def quantile(self, q: float) -> float:
        """The bound of the bucket that holds the q-quantile: the lag is at most this
        (the histogram cannot say how far under it); +inf past the last bound."""
        rank = q * self.samples
        return next((le for le, n in self.buckets if n >= rank), float("inf"))

    def line(self) -> str:
        return (
            f"event loop: {self.samples} lag samples, p99 <= {self.quantile(0.99) * 1000:g} ms, "
            f"p99.9 <= {self.quantile(0.999) * 1000:g} ms; {self.over(0.02)} over 20 ms, "
            f"{self.over(0.1)} over 100 ms"
        )


@dataclass
class SoakReport:
    plan: SoakPlan
    sent: int = 0
    acked: int = 0
    reactions: int = 0
    edits: int = 0
    questions: int = 0
    votes: int = 0
    searches: int = 0
    search_misses: int = 0
    """Searches that found nothing in a room where a message had been acknowledged."""
    uploads: int = 0
    pins: int = 0
    lag: Lag | None = None
    """The server's event-loop lag (`/metrics`) from the warm footprint to the end."""
    http_retries: int = 0
    """HTTP requests sent again after their connection failed without a reply."""
    dropped_requests: int = 0
    """Requests whose connection was dropped before the reply (their effect may stand)."""
    errors: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    reconnects: int = 0
    failed_reconnects: int = 0
    """Reconnects refused or timed out (30 s to open), each tried again after a second."""
    messages: int = 0
    """Messages in the rooms' history at the end: what every member must have."""
    replayed: int = 0
    """Messages that reached a member in a replay after it resumed, rather than live."""
    lost: int = 0
    duplicated: int = 0
    phantom: int = 0
    stale: int = 0
    lost_acks: int = 0
    gaps: int = 0
    resets: int = 0
    unsettled: int = 0
    footprints: list[Footprint] = field(default_factory=list)

    def footprint(self, label: str) -> Footprint:
        return next(f for f in self.footprints if f.label == label)

    def summary(self) -> str:
        lines = [
            f"soak: {self.plan.clients} clients of {self.plan.accounts} accounts in "
            f"{self.plan.rooms} rooms for "
            f"{self.plan.seconds:g}s at {self.plan.rate:g} actions/s (seed {self.plan.seed})",
            f"  sent={self.sent} acked={self.acked} reactions={self.reactions} "
            f"edits={self.edits} questions={self.questions} votes={self.votes} "
            f"searches={self.searches} (misses {self.search_misses}) uploads={self.uploads} "
            f"pins={self.pins} reconnects={self.reconnects} (failed {self.failed_reconnects}) "
            f"dropped_requests={self.dropped_requests} http_retries={self.http_retries}",
            f"  messages={self.messages} replayed={self.replayed} lost={self.lost} "
            f"duplicated={self.duplicated} "
            f"phantom={self.phantom} stale={self.stale} lost_acks={self.lost_acks} "
            f"gaps={self.gaps} resets={self.resets} unsettled={self.unsettled} "
            f"timeouts={self.timeouts} errors={dict(self.errors)}",
        ]
        if self.lag is not None:
            lines.append("  " + self.lag.line())
        lines += ["  " + f.line() for f in self.footprints]
        return "\n".join(lines)


@dataclass
class View:
    """One member's idea of one message."""

    body: str
    reactions: dict[str, int]
    votes: int | None = None
    """The question's votes, for a question."""
    attachments: tuple[int, ...] = ()


def _reactions(message: Frame) -> dict[str, int]:
    return {r["emoji"]: r["count"] for r in message.get("reactions", [])}


def _view(message: Frame) -> View:
    question = message.get("question")
    return View(
        message["body"],
        _reactions(message),
        question["votes"] if question else None,
        tuple(a["id"] for a in message.get("attachments") or ()),
    )


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    """`size` distinct made-up words of 3 to 9 letters, some accented."""
    letters = "abcdefghijklmnopqrstuvwxyzéèàç"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(letters, k=rng.randint(3, 9))))
    return sorted(words)


def _tiny_png() -> bytes:
    """A small image to upload: the server decodes, strips and thumbnails every one."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, format="PNG")
    return out.getvalue()


class Member:
    """One user with one WebSocket in one room, and everything that reached it."""

    def __init__(self, account: int, token: str, room: int) -> None:
        self.account = account
        self.token = token
        self.room = room
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.pending: dict[int, asyncio.Future[Frame]] = {}
        self.created: Counter[int] = Counter()
        self.views: dict[int, View] = {}
        self.last_seq = 0
        self.replaying = False
        self.gaps = 0
        self.resets = 0
        self.timeouts = 0
        self.replayed = 0
        self._ref = 0

    async def open(self, url: str, resume: bool) -> None:
        """Connect and handshake; a resuming member asks for what it missed with `since`."""
        ws = await connect(url, max_size=2**22, open_timeout=30, compression=None)
        hello: Frame = {"op": "hello", "v": 1, "token": self.token}
        if resume:
            hello["since"] = {str(self.room): self.last_seq}
        try:
            await ws.send(json.dumps(hello))
            ready = json.loads(await asyncio.wait_for(ws.recv(), REQUEST_TIMEOUT))
            if ready.get("op") != "ready":
                raise RuntimeError(f"expected ready, got {ready!r:.200}")
        except BaseException:
            await ws.close()
            raise
        if not resume:
            [room] = [r for r in ready["rooms"] if r["id"] == self.room]
            self.last_seq = room["last_seq"]
        self.replaying = resume  # until room.synced: a replay may skip folded seqs
        self.ws = ws
        self.reader = asyncio.ensure_future(self._read(ws))

    async def drop(self, abrupt: bool) -> None:
        """Go away, as a closed laptop (abrupt) or a closed tab (a close handshake) does."""
        ws, reader = self.ws, self.reader
        self.ws = None
        if ws is None or reader is None:
            return
        if abrupt:
            ws.transport.abort()
        else:
            await ws.close()
        await reader

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._on_frame(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("dropped"))
            self.pending.clear()

    def _on_frame(self, frame: Frame) -> None:
        op = frame.get("op")
        if op in ("ok", "error", "pong"):
            ref = frame.get("ref")
            fut = self.pending.pop(ref, None) if isinstance(ref, int) else None
            if fut is not None and not fut.done():
                fut.set_result(frame)
            return
        seq = frame.get("seq")
        if op != "event" or frame.get("room") != self.room or not isinstance(seq, int):
            return  # not an event of this member's room's sequence
        kind = frame.get("type")
        if kind == "room.synced":
            self.resets += bool(frame.get("reset"))
            self.replaying = False
            self.last_seq = seq if frame.get("reset") else max(self.last_seq, seq)
            return
        if not self.replaying and seq != self.last_seq + 1:
            self.gaps += 1  # a live stream never skips a seq
        self.last_seq = max(self.last_seq, seq)
        if kind in ("message.created", "message.updated"):
            message = frame["message"]
            if kind == "message.created":
                self.created[message["id"]] += 1
                self.replayed += self.replaying
            self.views[message["id"]] = _view(message)
        elif kind in ("reaction.added", "reaction.removed"):
            view = self.views.get(frame["message"])
            if view is not None:
                if frame["count"]:
                    view.reactions[frame["emoji"]] = frame["count"]
                else:
                    view.reactions.pop(frame["emoji"], None)

    async def request(self, op: str, **fields: Any) -> Frame | None:
        """The reply, or None when the connection went away first (or, counted as a
        timeout, when no reply came in REQUEST_TIMEOUT)."""
        ws = self.ws
        if ws is None:
            return None
        self._ref += 1
        ref = self._ref
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.pending[ref] = fut
        try:
            await ws.send(json.dumps({"op": op, "ref": ref, **fields}))
            return await asyncio.wait_for(fut, REQUEST_TIMEOUT)
        except (ConnectionClosed, ConnectionError):
            return None
        except TimeoutError:
            self.timeouts += 1
            return None
        finally:
            self.pending.pop(ref, None)
            if fut.done() and not fut.cancelled():
                fut.exception()  # a drop while sending: reported as None, not logged


@dataclass
class Sent:
    id: int
    author: int
    body: str
    edits: int = 0
    question: bool = False


class Soak:
    """One run: the members, the schedule, the churn, and the reckoning."""

    def __init__(self, base_url: str, plan: SoakPlan, probe: Probe | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = self.base_url.replace("http", "ws", 1) + "/ws"
        self.plan = plan
        self.probe = probe
        self.random = random.Random(plan.seed)
        self.report = SoakReport(plan)
        self.members: list[Member] = []
        self.sent: dict[int, list[Sent]] = {}  # by room
        self.t0 = time.monotonic()
        self.quiet = asyncio.Lock()  # held by a churn wave; a footprint waits for it
        self.stopping = asyncio.Event()
        self.actions: set[asyncio.Task[None]] = set()
        self.owners: dict[int, str] = {}
        """Each room's owner's token (the account that created it), for moderation."""
        self.pinned: dict[int, int] = {}
        self.image = _tiny_png()
        self.vocabulary = _vocabulary(self.random, plan.vocabulary)
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=REQUEST_TIMEOUT)

    async def run(self) -> SoakReport:
        self.sample("idle")
        try:
            await self.prepare()
            try:
                await self.exercise()
            finally:  # whatever happened, no connection outlives the run
                for task in self.actions:
                    task.cancel()
                await asyncio.gather(*(m.drop(abrupt=False) for m in self.members))
        finally:
            await self.http.aclose()
        await self.settle_closed()
        return self.report

    async def exercise(self) -> None:
        """Connect everyone, run the traffic with its churn, and count."""
        plan = self.plan
        for member in self.members:
            await member.open(self.ws_url, resume=False)
        self.sample("connect")
        jobs = [
            asyncio.ensure_future(self.every(plan.churn_every, self.churn_wave)),
            asyncio.ensure_future(self.every(plan.sample_every, self.sample_along)),
            asyncio.ensure_future(self.every(plan.pin_every, self.moderate)),
        ]
        try:
            await self.traffic(plan.warmup)
            async with self.quiet:
                self.sample("warm")
            lag_before = await self.loop_lag()
            half = plan.seconds / 2 - plan.warmup
            if half > plan.warmup:  # a long run: the second half's own baseline
                await self.traffic(half)
                async with self.quiet:
                    self.sample("half")
            else:
                half = 0.0
            await self.traffic(plan.seconds - plan.warmup - half)
            lag_after = await self.loop_lag()
            if lag_before is not None and lag_after is not None:
                self.report.lag = lag_after.minus(lag_before)
        finally:
            self.stopping.set()  # a wave under way finishes: nobody is left offline
            await asyncio.gather(*jobs)
        await asyncio.gather(*self.actions)
        self.sample("end")
        await self.reckon()

    # -- setting up ---------------------------------------------------------------------

    async def prepare(self) -> None:
        """Register the accounts, create the rooms, and put each account in one."""
        prefix = uuid.uuid4().hex[:6]
        gate = asyncio.Semaphore(4)  # argon2 is slow on purpose: a few at a time
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as http:

            async def register(i: int) -> str:
                async with gate:
                    creds = {"username": f"soak{prefix}{i}", "password": PASSWORD}
                    resp = await http.post("/api/auth/register", json=creds)
                    resp.raise_for_status()
                    return str(resp.json()["token"])

            tokens = await asyncio.gather(*(register(i) for i in range(self.plan.accounts)))
            rooms = []
            for r in range(self.plan.rooms):
                slug = f"soak-{prefix}-{r}"
                body = {"slug": slug, "name": f"Soak {r}", "kind": "topic"}
                resp = await http.post("/api/rooms", json=body, headers=_auth(tokens[r]))
                resp.raise_for_status()
                rooms.append(int(resp.json()["room"]["id"]))
                self.owners[rooms[-1]] = tokens[r]
            for i, token in enumerate(tokens[len(rooms) :], start=len(rooms)):
                room = rooms[i % len(rooms)]
                resp = await http.post(f"/api/rooms/{room}/join", headers=_auth(token))
                resp.raise_for_status()
            for c in range(self.plan.clients):
                account = c % len(tokens)
                self.members.append(Member(account, tokens[account], rooms[account % len(rooms)]))
        self.sent = {room: [] for room in rooms}

    # -- traffic ------------------------------------------------------------------------

    async def traffic(self, seconds: float) -> None:
        """Start `rate × seconds` actions, the j-th due at t + j / rate, never later."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for j in range(round(self.plan.rate * seconds)):
            due = start + j / self.plan.rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            online = [m for m in self.members if m.ws is not None]
            if online:
                task = asyncio.ensure_future(self.act(self.random.choice(online)))
                self.actions.add(task)
                task.add_done_callback(self.actions.discard)

    async def act(self, member: Member) -> None:
        plan = self.plan
        roll = self.random.random()
        mine = [s for s in self.sent[member.room] if s.author == member.account]
        others_questions = [
            s for s in self.sent[member.room] if s.question and s.author != member.account
        ]
        if roll < plan.vote_share and others_questions:
            await self.vote(member, self.random.choice(others_questions))
            return
        roll -= plan.vote_share
        if roll < plan.search_share:
            await self.search(member)
            return
        roll -= plan.search_share
        if roll < plan.upload_share:
            await self.send_image(member)
            return
        roll -= plan.upload_share
        if roll < self.plan.edit_share and mine:
            target = self.random.choice(mine)
            target.edits += 1
            body = f"{target.body} (edit {target.edits})"
            if self.check(await member.request("edit", message=target.id, body=body)):
                self.report.edits += 1
        elif roll < self.plan.edit_share + self.plan.react_share and self.sent[member.room]:
            target = self.random.choice(self.sent[member.room])
            op = "unreact" if self.random.random() < 0.3 else "react"
            emoji = self.random.choice(EMOJI)
            if self.check(await member.request(op, message=target.id, emoji=emoji)):
                self.report.reactions += 1
        else:
            question = self.random.random() < plan.question_share / max(
                1e-9, 1 - plan.edit_share - plan.react_share
            )
            await self.send(member, question=question)

    async def send(self, member: Member, question: bool = False, upload: int | None = None) -> None:
        self.report.sent += 1
        words = self.random.choices(self.vocabulary, k=self.random.randint(3, 9))
        body = f"soak message {' '.join(words)}"
        fields: Frame = {"room": member.room, "body": body}
        if question:
            fields["question"] = True
        if upload is not None:
            fields["attachments"] = [upload]
        reply = await member.request("send", **fields)
        if self.check(reply):
            assert reply is not None
            self.report.acked += 1
            self.report.questions += question
            message = reply["message"]["id"]
            self.sent[member.room].append(Sent(message, member.account, body, question=question))

    async def vote(self, member: Member, target: Sent) -> None:
        path = f"/api/messages/{target.id}/question/vote"
        if self.check_http(await self.call("PUT", path, member.token)):
            self.report.votes += 1

    async def search(self, member: Member) -> None:
        had_messages = bool(self.sent[member.room])
        params = {"q": "soak message", "room": member.room, "limit": 5}
        resp = await self.call("GET", "/api/search", member.token, params=params)
        if self.check_http(resp):
            assert resp is not None
            self.report.searches += 1
            self.report.search_misses += had_messages and not resp.json()["results"]

    async def send_image(self, member: Member) -> None:
        resp = await self.call(
            "POST",
            "/api/uploads",
            member.token,
            params={"name": "soak.png"},
            content=self.image,
            headers={"Content-Type": "image/png"},
        )
        if self.check_http(resp):
            assert resp is not None
            self.report.uploads += 1
            await self.send(member, upload=int(resp.json()["upload"]["id"]))

    async def moderate(self) -> None:
        """Each room's owner pins a recent message, or unpins the one pinned before (the
        rooms at once, as their owners are different people)."""
        await asyncio.gather(
            *(self.moderate_room(room, token) for room, token in self.owners.items())
        )

    async def moderate_room(self, room: int, token: str) -> None:
        pinned = self.pinned.pop(room, None)
        if pinned is not None:
            path, method = f"/api/rooms/{room}/pins/{pinned}", "DELETE"
        elif self.sent[room]:
            pinned = self.random.choice(self.sent[room][-20:]).id
            path, method = f"/api/rooms/{room}/pins/{pinned}", "PUT"
            self.pinned[room] = pinned
        else:
            return
        if self.check_http(await self.call(method, path, token)):
            self.report.pins += 1

    async def call(
        self, method: str, path: str, token: str, **kwargs: Any
    ) -> httpx.Response | None:
        """An HTTP request as the member; None when it timed out (counted).

        A connection that fails without a reply is tried once more, as browsers do: the
        server closes an idle keep-alive connection after a few seconds, and a request
        sent on it at that moment meets the close."""
        headers = {**_auth(token), **kwargs.pop("headers", {})}
        try:
            try:
                return await self.http.request(method, path, headers=headers, **kwargs)
            except CONNECTION_FAILED:
                self.report.http_retries += 1
                return await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            self.report.timeouts += 1
            return None

    async def loop_lag(self) -> Lag | None:
        """The server's lag histogram so far (None when `/metrics` is not open to this
        client)."""
        resp = await self.http.get("/metrics")
        if resp.status_code != 200:
            return None
        return Lag.parse(resp.text)

    def check_http(self, resp: httpx.Response | None) -> bool:
        """Whether the HTTP request succeeded; a refusal is counted by its code."""
        if resp is None:
            return False
        if resp.status_code >= 400:
            try:
                code = resp.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = f"http {resp.status_code}"
            self.report.errors[str(code)] += 1
            return False
        return True

    def check(self, reply: Frame | None) -> bool:
        """Whether the request succeeded; a refusal is counted by its code."""
        if reply is None:
            self.report.dropped_requests += 1
            return False
        if reply.get("op") == "error":
            self.report.errors[str(reply.get("code"))] += 1
            return False
        return True

    async def every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        """`job` every `seconds` until the traffic stops; a job under way is finished."""
        while True:
            try:
                await asyncio.wait_for(self.stopping.wait(), seconds)
                return
            except TimeoutError:
                await job()

    async def churn_wave(self) -> None:
        """A share of the members drops and comes back with `since`."""
        async with self.quiet:
            online = [m for m in self.members if m.ws is not None]
            count = max(1, round(len(online) * self.plan.churn_share))
            wave = self.random.sample(online, min(count, len(online)))
            await asyncio.gather(*(self.bounce(m) for m in wave))

    async def sample_along(self) -> None:
        async with self.quiet:
            self.sample("along")

    async def bounce(self, member: Member) -> None:
        await member.drop(abrupt=self.random.random() < 0.5)
        await asyncio.sleep(self.random.uniform(0.05, 1.0))
        for attempt in range(RECONNECT_ATTEMPTS):
            try:
                await member.open(self.ws_url, resume=True)
                break
            except (OSError, TimeoutError, ConnectionClosed):
                if attempt == RECONNECT_ATTEMPTS - 1:
                    raise
                self.report.failed_reconnects += 1  # as a client would, it tries again
                await asyncio.sleep(1.0)
        self.report.reconnects += 1

    # -- the reckoning ------------------------------------------------------------------

    async def reckon(self) -> None:
        """Compare what each member saw with the rooms' history, once everyone caught up."""
        report = self.report
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as http:
            truth: dict[int, dict[int, View]] = {}
            last_seq: dict[int, int] = {}
            for room in self.sent:
                token = next(m.token for m in self.members if m.room == room)
                resp = await http.get(f"/api/rooms/{room}", headers=_auth(token))
                resp.raise_for_status()
                last_seq[room] = resp.json()["room"]["last_seq"]
                truth[room] = await _history(http, room, token)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(  # noqa: ASYNC110 - polled at the end only
            m.last_seq < last_seq[m.room] or m.replaying for m in self.members
        ):
            await asyncio.sleep(0.05)
        report.unsettled = sum(
            1 for m in self.members if m.last_seq < last_seq[m.room] or m.replaying
        )
        report.messages = sum(len(messages) for messages in truth.values())
        for room, sent in self.sent.items():
            report.lost_acks += sum(1 for s in sent if s.id not in truth[room])
        for member in self.members:
            expected = truth[member.room]
            report.gaps += member.gaps
            report.resets += member.resets
            report.timeouts += member.timeouts
            report.replayed += member.replayed
            report.phantom += sum(1 for ident in member.created if ident not in expected)
            for ident, view in expected.items():
                seen = member.created[ident]
                report.lost += seen == 0
                report.duplicated += max(0, seen - 1)
                report.stale += seen > 0 and member.views.get(ident) != view

    async def settle_closed(self) -> None:
        """After every member left, the server's sockets go back to the idle figure."""
        if self.probe is None:
            return
        idle = self.report.footprint("idle").usage.sockets
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.probe().sockets > idle:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        self.sample("closed")

    def sample(self, label: str) -> None:
        if self.probe is None:
            return
        connected = sum(1 for m in self.members if m.ws is not None)
        at = round(time.monotonic() - self.t0, 1)
        self.report.footprints.append(Footprint(label, at, self.probe(), connected))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _history(http: httpx.AsyncClient, room: int, token: str) -> dict[int, View]:
    """Every message of the room, oldest first, as the server has it now."""
    messages: dict[int, View] = {}
    after = 0
    while True:
        params = {"after": after, "limit": 200}
        resp = await http.get(f"/api/rooms/{room}/messages", params=params, headers=_auth(token))
        resp.raise_for_status()
        page = resp.json()["messages"]
        for message in page:
            messages[message["id"]] = _view(message)
        if len(page) < 200:
            return messages
        after = page[-1]["seq"]


async def soak(base_url: str, plan: SoakPlan, probe: Probe | None = None) -> SoakReport:
    """Run one soak against the server at `base_url` (e.g. http://127.0.0.1:8000)."""
    return await Soak(base_url, plan, probe).run()
