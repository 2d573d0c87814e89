"""The `chatserver` command: serve, migrate, and administer users, rooms and invites."""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import logging
import re
import socket
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn

from chatserver.domain import invites
from chatserver.domain.errors import ChatError
from chatserver.domain.models import ROLES, ROOM_KINDS
from chatserver.logformat import configure_logging
from chatserver.protocol.requests import NewRoom, ProfileChanges
from chatserver.settings import OPTIONS, ConfigError, Settings

_DURATION = re.compile(r"([0-9]{1,9})([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(text: str) -> int:
    """`90s`, `45m`, `12h`, `7d` (or plain seconds) as seconds, for argparse."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 45m, 12h or 7d")
    return int(found[1]) * _UNIT_SECONDS[found[2]]


def _epilog() -> str:
    lines = ["configuration (environment variables; command-line options win):"]
    for option in OPTIONS:
        lines.append(f"  {option.env}")
        lines.append(f"      {option.help}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatserver",
        description="Self-hosted real-time community chat server.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="migrate the database, then serve HTTP, /ws and the web client"
    )
    serve.add_argument("--host", help="address to listen on (CHAT_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (CHAT_PORT, default 8000)")
    serve.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")
    serve.add_argument("--redis-url", help="overrides CHAT_REDIS_URL")
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate at start")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N server processes sharing the port (SO_REUSEPORT); N > 1 needs "
        "CHAT_REDIS_URL and PostgreSQL, see docs/deployment.md",
    )

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")

    from chatserver.gateway.standing import RECHECK_SECONDS

    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_sub.add_parser(
        "create", help="create an account (password prompted, or read from stdin)"
    )
    create.add_argument("username")
    create.add_argument("--role", choices=ROLES, default="student")
    create.add_argument("--display-name")
    set_role = user_sub.add_parser(
        "set-role", aliases=["role"], help="change an account's role (open sockets too, see below)"
    )
    set_role.add_argument("username")
    set_role.add_argument("role", choices=ROLES)
    reset_link = user_sub.add_parser(
        "reset-link", help="print a one-time password-reset link, valid for 24 hours"
    )
    reset_link.add_argument("username")
    deactivate = user_sub.add_parser(
        "deactivate", help="refuse an account's logins and tokens, and close its sockets"
    )
    deactivate.add_argument("username")
    reactivate = user_sub.add_parser("reactivate", help="let a deactivated account log in again")
    reactivate.add_argument("username")
    for p in (create, set_role, reset_link, deactivate, reactivate):
        p.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")
    for p in (set_role, deactivate, reactivate):
        p.add_argument(
            "--redis-url",
            help="overrides CHAT_REDIS_URL: with Redis the change reaches the servers' open "
            "sockets at once; without, servers pick it up within "
            f"{RECHECK_SECONDS:g} seconds",
        )

    room = sub.add_parser("room", help="manage rooms")
    room_sub = room.add_subparsers(dest="room_command", required=True, metavar="ACTION")
    room_create = room_sub.add_parser("create", help="create a room (cohort rooms are private)")
    room_create.add_argument("slug")
    room_create.add_argument("--name", required=True)
    room_create.add_argument("--kind", choices=[k for k in ROOM_KINDS if k != "dm"], required=True)
    room_create.add_argument("--visibility", choices=["public", "private"])
    room_create.add_argument("--topic")
    room_create.add_argument(
        "--owner", required=True, help="username of the mentor or admin who owns it"
    )
    room_create.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")
    room_add = room_sub.add_parser(
        "add",
        help="add people to a room by username, as an admin would (any room but a DM)",
        description="Exits with 1 when some names were not found (the others are added).",
    )
    room_add.add_argument("slug", help="the room's slug")
    room_add.add_argument("usernames", nargs="*", metavar="USER")
    room_add.add_argument(
        "--from-csv",
        metavar="FILE",
        help="more usernames: one per line, or a CSV file with a `username` column",
    )
    room_add.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")
    room_add.add_argument(
        "--redis-url",
        help="overrides CHAT_REDIS_URL: with Redis, open sockets see the newcomers at once; "
        "without, members' clients catch up at their next event or reconnect",
    )

    audit = sub.add_parser("audit", help="print the moderation audit log, newest first")
    audit.add_argument("--room", metavar="SLUG", help="one room's entries only")
    audit.add_argument("--limit", type=int, default=50, help="entries to print (default 50)")
    audit.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")

    invite = sub.add_parser("invite", help="make invite links to rooms")
    invite_sub = invite.add_subparsers(dest="invite_command", required=True, metavar="ACTION")
    invite_create = invite_sub.add_parser(
        "create",
        help="make an invite to a room and print its link (CHAT_PUBLIC_URL sets the address)",
    )
    invite_create.add_argument("slug", help="the room's slug")
    invite_create.add_argument(
        "--uses",
        type=int,
        help=f"how many people may use it, 1 to {invites.MAX_USES} (default: no limit)",
    )
    invite_create.add_argument(
        "--expires",
        type=duration,
        default=invites.DEFAULT_EXPIRY_S,
        help="how long it works: 90s, 45m, 12h or 7d, from 1 minute to 30 days (default 7d)",
    )
    invite_create.add_argument(
        "--role",
        choices=["student", "guest"],
        default="student",
        help="guest invites are for rooms that allow guests (default student)",
    )
    invite_create.add_argument("--database-url", help="overrides CHAT_DATABASE_URL")

    loadtest = sub.add_parser(
        "loadtest",
        help="drive a running server with N protocol clients and measure it",
        description="Run the server under test with CHAT_RATE_LIMIT_SCALE=1000 (or more), "
        "or its per-user limits bound the test. One tester process saturates its core at "
        "about 50,000 deliveries/s; beyond that, use benchmarks/node/loadclient.mjs. "
        "Scenarios: docs/benchmarks.md.",
    )
    from chatserver.loadtest import add_arguments

    add_arguments(loadtest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "loadtest":  # a client of some server: no settings of its own
        from chatserver.loadtest import main as loadtest

        return loadtest(args)
    try:
        settings = Settings.from_env(
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            database_url=getattr(args, "database_url", None),
            redis_url=getattr(args, "redis_url", None),
        )
    except ConfigError as error:
        print(f"chatserver: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if settings.log_level.lower() != "debug":
        # Alembic narrates every run at INFO; an operator needs only the outcome line.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        if args.command == "serve":
            if args.workers != 1:
                return _serve_workers(settings, args.workers, migrate=not args.no_migrate)
            return _serve(settings, migrate=not args.no_migrate)
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            print("database is up to date")
            return 0
        if args.command == "user":
            return asyncio.run(_user(settings, args))
        if args.command == "room":
            if args.room_command == "add":
                return asyncio.run(_room_add(settings, args))
            return asyncio.run(_room(settings, args))
        if args.command == "audit":
            return asyncio.run(_audit(settings, args))
        if args.command == "invite":
            return asyncio.run(_invite(settings, args))
    except ChatError as error:
        print(f"chatserver: {error.message}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as error:
        print(f"chatserver: cannot reach a service: {error}", file=sys.stderr)
        return 1
    return 2


async def _migrate(settings: Settings) -> None:
    from chatserver.store.migrate import upgrade

    try:
        await upgrade(settings.database_url)
    except Exception as error:
        raise ChatError(f"migration failed: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _serve_workers(settings: Settings, count: int, migrate: bool) -> int:
    """`serve --workers N`: migrate once, then N processes on the port (`workers.py`)."""
    from chatserver.workers import Supervisor, requirements_error

    refused = requirements_error(count, settings.redis_url, settings.database_url)
    if refused:
        print(f"chatserver: {refused}", file=sys.stderr)
        return 2
    if migrate:
        asyncio.run(_migrate(settings))
    return Supervisor(count, functools.partial(_worker, settings)).run()


def _worker(settings: Settings, index: int) -> None:
    """One worker of `serve --workers N`, in a process of its own (started by spawn)."""
    from chatserver.workers import listening_socket

    configure_logging(settings.log_level, settings.log_format)
    if settings.log_level.lower() != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    _serve(settings, migrate=False, sock=listening_socket(settings.host, settings.port))


def _serve(settings: Settings, migrate: bool, sock: socket.socket | None = None) -> int:
    """Serve until SIGTERM; on `sock` (a worker's shared-port socket) if given."""
    from chatserver.app import create_app
    from chatserver.gateway.admission import raise_open_file_limit
    from chatserver.gateway.direct import DirectWriteProtocol
    from chatserver.logs import RepeatFilter

    open_files = raise_open_file_limit()
    if migrate:
        asyncio.run(_migrate(settings))
    app = create_app(settings)
    logging.getLogger(__name__).info(
        "open-file limit %d; accepting up to %d sockets, %d per address",
        open_files,
        app.state.admission.max_total,
        app.state.admission.max_per_ip,
    )
    ws = DirectWriteProtocol if settings.ws_direct_writes else "websockets-sansio"
    config = server_config(settings, app, ws)  # sets up uvicorn's loggers
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addFilter(RepeatFilter(uvicorn_errors))
    GracefulServer(config, app).run(sockets=None if sock is None else [sock])
    return 0


KEEP_ALIVE_SECONDS = 5
"""An idle HTTP keep-alive connection is closed after this long (uvicorn's default)."""


def server_config(settings: Settings, app: Any, ws: Any) -> uvicorn.Config:
    """uvicorn's configuration for the app, with `ws` as the WebSocket implementation
    (also used by `benchmarks/ws_impl.py` to compare implementations).

    The protocols come from `gateway/guard.py`: every socket is admitted against the
    caps in `app.state.admission` and must send its request within CHAT_HEADER_TIMEOUT.
    """
    from chatserver.gateway.guard import guarded_protocols
    from chatserver.gateway.websocket import WebSocketFastPath

    http, websocket = guarded_protocols(
        app.state.admission, settings.header_timeout, settings.send_buffer_bytes, ws
    )
    return uvicorn.Config(
        WebSocketFastPath(app),
        host=settings.host,
        port=settings.port,
        http=http,
        ws=websocket,
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_interval,
        ws_per_message_deflate=False,
        proxy_headers=settings.trust_proxy_headers,
        forwarded_allow_ips=list(settings.trusted_proxies),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
        log_config=None,  # uvicorn logs through the root logger: `logformat.py`
        access_log=False,  # `gateway/http_log.py` writes access lines without paths
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )


class GracefulServer(uvicorn.Server):
    """On SIGTERM: stop accepting, let what is queued for each WebSocket go out and
    close it with 1001 (going away; uvicorn's own shutdown would use 1012), then
    uvicorn's shutdown, which waits for HTTP requests in progress for at most
    `timeout_graceful_shutdown` seconds."""

    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self._chat_app = app

    async def shutdown(self, sockets: Any = None) -> None:
        for server in self.servers:  # no newcomer joins a node that is leaving
            server.close()
        await self._chat_app.state.hub.shutdown()
        await super().shutdown(sockets)


async def _services(settings: Settings, broker: Any = None) -> Any:
    """The services on the configured database; what they publish goes to `broker`, or
    nowhere (an in-process broker no server listens to)."""
    from chatserver.app import build_services, make_broker
    from chatserver.store.engine import Database

    await _migrate(settings)
    db = Database(settings.database_url, 2, synchronous=settings.sqlite_synchronous)
    broker = broker or make_broker(settings.replace(redis_url=None))
    services, _ = build_services(settings, db, broker)
    return db, services


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise ChatError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _user(settings: Settings, args: argparse.Namespace) -> int:
    # With Redis, role changes and deactivations are announced to every server at once.
    broker = None
    if settings.redis_url and args.user_command in ("set-role", "role", "deactivate"):
        from chatserver.app import make_broker

        broker = make_broker(settings)
    db, services = await _services(settings, broker)
    try:
        if args.user_command == "create":
            password = _read_password()
            user = await services.accounts.create_user(args.username, password, args.role)
            if args.display_name:
                user = await services.accounts.update_profile(
                    user, ProfileChanges(display_name=args.display_name)
                )
            print(f"created {user.username} (id {user.id}, {user.role})")
        elif args.user_command == "reset-link":
            token = await services.lifecycle.issue_reset(args.username)
            base = settings.public_url or f"http://{settings.host}:{settings.port}"
            print(f"{base.rstrip('/')}/reset/{token}")
        elif args.user_command == "deactivate":
            user = await services.lifecycle.find(args.username)
            await services.lifecycle.deactivate(None, user.id)
            print(f"{user.username} is deactivated")
        elif args.user_command == "reactivate":
            user = await services.lifecycle.find(args.username)
            await services.lifecycle.reactivate(None, user.id)
            print(f"{user.username} may log in again")
        else:
            user = await services.accounts.set_role(args.username, args.role)
            print(f"{user.username} is now {user.role}")
    finally:
        await db.close()
        if broker is not None:
            await broker.close()
    return 0


async def _room(settings: Settings, args: argparse.Namespace) -> int:
    from chatserver.store import accounts as account_store

    db, services = await _services(settings)
    try:
        async with db.read() as conn:
            owner = await account_store.get_user_by_name(conn, args.owner.lower())
        if owner is None:
            raise ChatError(f"no user named {args.owner!r}")
        # argparse already restricted kind and visibility; the service checks the text.
        request = NewRoom(
            slug=args.slug,
            name=args.name,
            kind=args.kind,
            visibility=args.visibility,
            topic=args.topic,
        )
        room = await services.rooms.create(owner, request)
        print(f"created room {room.slug} (id {room.id}, {room.kind}, {room.visibility})")
    finally:
        await db.close()
    return 0


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    """The operator's invite: no moderator makes it, and the same limits hold as for one."""
    if args.uses is not None and not 1 <= args.uses <= invites.MAX_USES:
        raise ChatError(f"--uses is 1 to {invites.MAX_USES}")
    if not invites.MIN_EXPIRY_S <= args.expires <= invites.MAX_EXPIRY_S:
        raise ChatError("--expires is 1 minute to 30 days")
    from chatserver.store import rooms as room_store

    db, services = await _services(settings)
    try:
        async with db.read() as conn:
            room = await room_store.get_room_by_slug(conn, args.slug)
        if room is None:
            raise ChatError(f"no room with the slug {args.slug!r}")
        invite = await services.invites.create(
            None, room.id, max_uses=args.uses, expires_in_s=args.expires, role=args.role
        )
    finally:
        await db.close()
    print(services.invites.link(invite.code, f"http://{settings.host}:{settings.port}"))
    return 0


def read_usernames(path: str) -> list[str]:
    """Usernames from a file: a CSV with a `username` column, or one name per line (the
    first column of each line when there is no such header)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as source:
            rows = [row for row in csv.reader(source) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ChatError(f"cannot read {path}: {_one_line(error)}") from None
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    if "username" in header:
        column = header.index("username")
        cells = (row[column] for row in rows[1:] if len(row) > column)
    else:
        cells = (row[0] for row in rows)
    return [name for name in (cell.strip() for cell in cells) if name]


async def _room_add(settings: Settings, args: argparse.Namespace) -> int:
    """The operator adds people by name, in batches of the API's 500: each newcomer's
    `member.joined` reaches the room, and the audit log names no actor."""
    from chatserver.services.rooms import MAX_BULK_ADD
    from chatserver.store import rooms as room_store

    names = list(args.usernames) + (read_usernames(args.from_csv) if args.from_csv else [])
    if not names:
        raise ChatError("name at least one user, or give --from-csv FILE")
    broker = None
    if settings.redis_url:
        from chatserver.app import make_broker

        broker = make_broker(settings)
    db, services = await _services(settings, broker)
    added: list[int] = []
    already: list[int] = []
    missing: list[str] = []
    try:
        async with db.read() as conn:
            room = await room_store.get_room_by_slug(conn, args.slug)
        if room is None:
            raise ChatError(f"no room with the slug {args.slug!r}")
        for start in range(0, len(names), MAX_BULK_ADD):
            done = await services.rooms.add_members(
                None, room.id, usernames=names[start : start + MAX_BULK_ADD]
            )
            added += done.added
            already += done.already
            missing += done.not_found
    finally:
        await db.close()
        if broker is not None:
            await broker.close()
    print(f"{room.slug}: {len(added)} added, {len(already)} already members")
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    """Print audit entries, one line each: when, what, who, where, to whom, why."""
    import json

    from chatserver.domain.models import iso_ms
    from chatserver.store import accounts as account_store
    from chatserver.store import audit
    from chatserver.store import rooms as room_store

    if not 1 <= args.limit <= 10_000:
        raise ChatError("--limit is 1 to 10000")
    db, _ = await _services(settings)
    try:
        async with db.read() as conn:
            room_id = None
            if args.room:
                room = await room_store.get_room_by_slug(conn, args.room)
                if room is None:
                    raise ChatError(f"no room with the slug {args.room!r}")
                room_id = room.id
            entries = await audit.page(conn, room_id=room_id, before=None, limit=args.limit)
            people = await account_store.get_users(
                conn,
                {e.actor_id for e in entries if e.actor_id}
                | {e.target_user_id for e in entries if e.target_user_id},
            )
            rooms = {
                e.room_id: await room_store.get_room(conn, e.room_id)
                for e in entries
                if e.room_id is not None
            }
    finally:
        await db.close()

    def name(user_id: int | None, absent: str) -> str:
        user = people.get(user_id) if user_id is not None else None
        return user.username if user is not None else absent

    for e in entries:
        room = rooms.get(e.room_id) if e.room_id is not None else None
        parts = [iso_ms(e.created_at_ms), e.action, f"by {name(e.actor_id, 'the operator')}"]
        if e.room_id is not None:
            parts.append(f"in {room.slug if room else e.room_id}")
        if e.target_user_id is not None:
            parts.append(f"user {name(e.target_user_id, str(e.target_user_id))}")
        if e.target_message_id is not None:
            parts.append(f"message {e.target_message_id}")
        if e.reason:
            parts.append(f"reason {json.dumps(e.reason, ensure_ascii=False)}")
        if e.details:
            parts.append(json.dumps(e.details, ensure_ascii=False, sort_keys=True))
        print("  ".join(parts))
    return 0
