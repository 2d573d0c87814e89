"""The load tester's command line, parsed once into a frozen Options value."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from chatserver.loadtest.wire import TARGETS

PASSWORD = "loadtest-password"
"""Every load-test account's password: the accounts are throwaway, and reusing them across
runs (rather than registering thousands of argon2 hashes each time) needs a known one."""


@dataclass(frozen=True)
class Options:
    urls: tuple[str, ...]
    target: str
    clients: int
    accounts: int
    rooms: int
    publishers: int
    rate: float
    duration: float
    drain: float
    warmup: float
    prefix: str
    room_prefix: str
    body_bytes: int
    deflate: bool
    connect_concurrency: int
    register_concurrency: int
    token_cache: str | None
    server_pids: tuple[int, ...]
    json_path: str | None
    plot_path: str | None
    step: bool
    step_factor: float
    step_seconds: float
    p99_bound_ms: float
    max_rate: float
    idle: bool
    idle_hold: float
    reactions: bool
    slow_clients: int
    storm: bool
    storm_at: float
    storm_spread: float
    prepare_only: bool
    plan_path: str | None
    quiet: bool
    open_day: bool
    guests: int
    mentors: int
    reaction_rate: float
    question_rate: float
    meetup: bool = False
    capacity: int = 200
    leavers: int = 20
    window: float = 1.0

    @property
    def registered(self) -> int:
        """Accounts with a password (the rest of --accounts are guests, made fresh each run)."""
        return self.accounts - self.guests

    @property
    def http_url(self) -> str:
        return self.urls[0].rstrip("/")

    def ws_url(self, index: int) -> str:
        """Clients are spread over the given nodes round-robin (a cluster behind no balancer)."""
        base = self.urls[index % len(self.urls)].rstrip("/")
        scheme, _, rest = base.partition("://")
        ws_scheme = "wss" if scheme in ("https", "wss") else "ws"
        path = "/socket.io/?EIO=4&transport=websocket" if self.target == "socketio" else "/ws"
        return f"{ws_scheme}://{rest}{path}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `chatserver loadtest` (the server under test should run with a high
    CHAT_RATE_LIMIT_SCALE, e.g. 1000, or its per-user limits bound the test)."""
    add = parser.add_argument
    add(
        "--url",
        action="append",
        dest="urls",
        metavar="URL",
        help="server base URL, e.g. http://127.0.0.1:8000; repeat to spread clients over nodes",
    )
    add(
        "--target",
        choices=TARGETS,
        default="chat",
        help="chat: this server; ws / socketio: the reference servers in benchmarks/reference",
    )
    add(
        "--clients",
        type=int,
        help="WebSocket connections to open (default 100; 2000 with --open-day)",
    )
    add(
        "--accounts",
        type=int,
        default=0,
        help="accounts to use (default: one per client); clients share them round-robin",
    )
    add(
        "--rooms",
        type=int,
        default=1,
        help="rooms the clients are spread over (0 with --idle: connections in no room)",
    )
    add("--publishers", type=int, default=2, help="publishing accounts per room, rotated")
    add(
        "--rate",
        type=float,
        help="messages per second, all rooms together (default 10; 20 with --open-day)",
    )
    add("--duration", type=float, default=10.0, help="seconds of sending (per step)")
    add(
        "--drain",
        type=float,
        default=5.0,
        help="seconds to wait after sending for stragglers before counting the rest as lost",
    )
    add("--warmup", type=float, default=1.0, help="seconds between connecting and sending")
    add("--prefix", default="lt", help="accounts are named lt-<prefix>-<i>")
    add("--room-prefix", help="rooms are named lt-<room-prefix>-r<j> (default: --prefix)")
    add("--body-bytes", type=int, default=0, help="padding added to every message body")
    add(
        "--deflate",
        action="store_true",
        help="offer permessage-deflate, as browsers do (default: no compression offer)",
    )
    add("--connect-concurrency", type=int, default=100, help="handshakes in flight at once")
    add(
        "--register-concurrency",
        type=int,
        default=4,
        help="registrations/logins in flight at once (argon2 is slow on purpose)",
    )
    add(
        "--token-cache",
        metavar="PATH",
        help="JSON file of tokens by server and account, reused across runs",
    )
    add(
        "--server-pid",
        type=int,
        action="append",
        dest="server_pids",
        default=[],
        help="pid of the server (its children count too) for CPU%% and RSS; repeatable",
    )
    add("--json", dest="json_path", metavar="PATH", help="write the results as JSON")
    add(
        "--plot",
        dest="plot_path",
        metavar="PATH.png",
        help="latency over time (needs matplotlib: pip install 'chatserver[bench]')",
    )
    add(
        "--step",
        action="store_true",
        help="raise the rate step by step until p99 exceeds the bound or anything is lost",
    )
    add("--step-factor", type=float, default=1.5, help="rate multiplier between steps")
    add("--step-seconds", type=float, default=5.0, help="seconds of sending per step")
    add("--p99-bound-ms", type=float, default=250.0, help="highest acceptable p99 latency")
    add("--max-rate", type=float, default=100_000.0, help="--step never goes beyond this")
    add(
        "--idle",
        action="store_true",
        help="open the connections, hold them, and report server RSS per connection",
    )
    add("--idle-hold", type=float, default=5.0, help="seconds to hold idle connections")
    add(
        "--reactions",
        action="store_true",
        help="one message, then every client reacts to it within --duration seconds",
    )
    add(
        "--slow-clients",
        type=int,
        default=0,
        help="clients that stop reading once sending starts (excluded from latency)",
    )
    add(
        "--storm",
        action="store_true",
        help="every client drops at --storm-at and resumes with `since` within --storm-spread",
    )
    add("--storm-at", type=float, default=3.0, help="seconds into sending when clients drop")
    add("--storm-spread", type=float, default=5.0, help="seconds over which they come back")
    add(
        "--prepare-only",
        action="store_true",
        help="create accounts and rooms, write --plan, and exit (for benchmarks/node)",
    )
    add(
        "--plan",
        dest="plan_path",
        metavar="PATH",
        help="write the prepared tokens and rooms as JSON for the Node load client",
    )
    add("--quiet", action="store_true", help="no live progress line")
    add(
        "--open-day",
        action="store_true",
        help="one room, three quarters of the clients guests; questions, votes, reactions, "
        "and mentors answering from the question queue",
    )
    add("--mentors", type=int, default=3, help="--open-day: room moderators answering questions")
    add(
        "--reaction-rate",
        type=float,
        default=100.0,
        help="--open-day: reactions and question votes per second (half each)",
    )
    add(
        "--question-rate",
        type=float,
        default=2.0,
        help="--open-day: questions per second, on top of --rate",
    )
    add(
        "--meetup",
        action="store_true",
        help="every client answers one meetup within --window seconds: exact counts, "
        "waitlist order and promotion, and each socket's convergence",
    )
    add("--capacity", type=int, default=200, help="--meetup: the meetup's places")
    add("--leavers", type=int, default=20, help="--meetup: those going who then leave at once")
    add("--window", type=float, default=1.0, help="--meetup: seconds the answers are spread over")


def options_from(args: argparse.Namespace) -> Options:
    """Validate and freeze; errors name the option, as argparse's own do."""
    if args.clients is None:
        args.clients = 2000 if args.open_day else 500 if args.meetup else 100
    if args.meetup and not (1 <= args.capacity <= 10_000 and args.leavers >= 0 < args.window):
        raise ValueError("--meetup needs --capacity 1-10000, --leavers >= 0, --window > 0")
    if args.rate is None:
        args.rate = 20.0 if args.open_day else 10.0
    if args.open_day and (args.rooms != 1 or args.accounts or args.target != "chat"):
        raise ValueError("--open-day is one room of this server, one account per client")
    guests = args.clients * 3 // 4 if args.open_day else 0
    if args.open_day and not 1 <= args.mentors <= args.clients - guests - args.publishers:
        raise ValueError("--mentors must be at least 1 and leave room for the publishers")
    if args.reaction_rate < 0 or args.question_rate < 0:
        raise ValueError("--reaction-rate and --question-rate cannot be negative")
    if args.clients < 1 or args.publishers < 1 or args.rooms < (0 if args.idle else 1):
        raise ValueError("--clients, --rooms and --publishers must be at least 1 (--idle: rooms 0)")
    accounts = args.accounts or args.clients
    if accounts < args.rooms:
        raise ValueError("--accounts must be at least --rooms (every room needs a member)")
    if args.rate <= 0 or args.duration <= 0:
        raise ValueError("--rate and --duration must be positive")
    return Options(
        urls=tuple(args.urls or ["http://127.0.0.1:8000"]),
        target=args.target,
        clients=args.clients,
        accounts=min(accounts, args.clients),
        rooms=args.rooms,
        publishers=args.publishers,
        rate=args.rate,
        duration=args.duration,
        drain=args.drain,
        warmup=args.warmup,
        prefix=args.prefix,
        room_prefix=args.room_prefix or args.prefix,
        body_bytes=args.body_bytes,
        deflate=args.deflate,
        connect_concurrency=args.connect_concurrency,
        register_concurrency=args.register_concurrency,
        token_cache=args.token_cache,
        server_pids=tuple(args.server_pids),
        json_path=args.json_path,
        plot_path=args.plot_path,
        step=args.step,
        step_factor=args.step_factor,
        step_seconds=args.step_seconds,
        p99_bound_ms=args.p99_bound_ms,
        max_rate=args.max_rate,
        idle=args.idle,
        idle_hold=args.idle_hold,
        reactions=args.reactions,
        slow_clients=args.slow_clients,
        storm=args.storm,
        storm_at=args.storm_at,
        storm_spread=args.storm_spread,
        prepare_only=args.prepare_only,
        plan_path=args.plan_path,
        quiet=args.quiet,
        open_day=args.open_day,
        guests=guests,
        mentors=args.mentors,
        reaction_rate=args.reaction_rate,
        question_rate=args.question_rate,
        meetup=args.meetup,
        capacity=args.capacity,
        leavers=args.leavers,
        window=args.window,
    )
