"""Composition root: builds the store, broker, services and routes from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from chatserver.broker.base import Broker
from chatserver.coordination.base import PresenceRegistry, RateLimiter, Throttle
from chatserver.coordination.memory import MemoryRateLimiter
from chatserver.domain.errors import BadRequest, NotFound
from chatserver.files.base import FileStore
from chatserver.files.local import LocalFileStore
from chatserver.files.s3 import S3FileStore
from chatserver.gateway.admission import Admission
from chatserver.gateway.api import error_response
from chatserver.gateway.http_log import ObservedRequests
from chatserver.gateway.hub import Hub
from chatserver.gateway.metered import MeteredBroker, MeteredDispatcher, metered_services
from chatserver.gateway.metrics import Metrics
from chatserver.gateway.origin import HostCheck
from chatserver.gateway.routes import api_routes
from chatserver.gateway.scrape import metrics_route
from chatserver.gateway.standing import recheck_periodically
from chatserver.gateway.webapp import service_worker
from chatserver.gateway.websocket import websocket_endpoint
from chatserver.services import hashing
from chatserver.services.accounts import AccountService
from chatserver.services.container import Services
from chatserver.services.guests import GuestPolicy, GuestService, sweep_periodically
from chatserver.services.images import ImageLimits, ImageProcessor
from chatserver.services.invites import InviteService
from chatserver.services.lifecycle import AccountLifecycle
from chatserver.services.meetup_reminders import remind_periodically
from chatserver.services.meetups import MeetupService
from chatserver.services.messages import MessageService
from chatserver.services.moderation import ModerationService
from chatserver.services.notifications import NotificationService
from chatserver.services.pins import PinService
from chatserver.services.polls import PollService
from chatserver.services.presence import PresenceService
from chatserver.services.profiles import ProfileService
from chatserver.services.publisher import Publisher
from chatserver.services.questions import QuestionService
from chatserver.services.ratelimit import Limits
from chatserver.services.reactions import ReactionService
from chatserver.services.reports import ReportService
from chatserver.services.room_events import RoomEvents
from chatserver.services.rooms import RoomService
from chatserver.services.search import SearchService
from chatserver.services.session import SessionService
from chatserver.services.social import SocialService
from chatserver.services.sync import SyncService
from chatserver.services.uploads import UploadPolicy, UploadService
from chatserver.services.uploads import sweep_periodically as sweep_uploads_periodically
from chatserver.services.workshops import WorkshopService
from chatserver.settings import Settings, files_directory
from chatserver.store.engine import Database

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def make_broker(settings: Settings) -> Broker:
    """Pick the broker by URL scheme; Redis is imported only when it is used."""
    if settings.redis_url:
        from chatserver.broker.redis import RedisBroker

        return RedisBroker(settings.redis_url, sharded=settings.redis_sharded)
    from chatserver.broker.memory import MemoryBroker

    return MemoryBroker()


def client_dir(settings: Settings) -> Path | None:
    """The web client: configured, bundled in the wheel, or the source tree's `client/`."""
    candidates = [Path(settings.client_dir)] if settings.client_dir else []
    here = Path(__file__).resolve().parent
    candidates += [here / "_client", here.parent / "client"]
    for candidate in candidates:
        if (candidate / "index.html").is_file():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Coordination:
    limiter: RateLimiter
    presence: PresenceRegistry
    throttle: Throttle


def make_coordination(settings: Settings) -> Coordination:
    """Shared state in Redis when there is one (several nodes), else in memory."""
    if settings.redis_url:
        from redis.asyncio import Redis

        from chatserver.coordination.redis import (
            RedisPresenceRegistry,
            RedisRateLimiter,
            RedisThrottle,
        )

        client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return Coordination(
            RedisRateLimiter(client), RedisPresenceRegistry(client), RedisThrottle(client)
        )
    from chatserver.coordination.memory import MemoryPresenceRegistry, MemoryThrottle

    return Coordination(MemoryRateLimiter(), MemoryPresenceRegistry(), MemoryThrottle())


def build_services(settings: Settings, db: Database, broker: Broker) -> tuple[Services, Hub]:
    hashing.configure(settings.hash_concurrency)
    publisher = Publisher(broker)
    coordination = make_coordination(settings)
    presence = PresenceService(
        db,
        publisher,
        coordination.presence,
        coordination.throttle,
        settings.presence_grace,
        settings.presence_room_limit,
    )
    session = SessionService(db)
    sync = SyncService(db)
    hub = Hub(
        broker,
        sync.events_between,
        session.last_seqs,
        on_first_connection=presence.connected,
        on_last_connection=presence.disconnected,
    )
    room_events = RoomEvents(db, publisher)
    rooms = RoomService(db, room_events, presence.online_among)
    notifications = NotificationService(db, publisher, presence.online_among)
    accounts = AccountService(db, publisher, settings.token_ttl_days, settings.registration)
    invites = InviteService(db, room_events, rooms, accounts, settings.public_url)
    guest_policy = GuestPolicy(settings.guest_ttl * 1000, settings.guest_retention * 1000)
    files = make_file_store(settings)
    images = ImageProcessor(
        ImageLimits(max_pixels=settings.upload_max_pixels), threads=settings.image_threads
    )
    services = Services(
        accounts=accounts,
        lifecycle=AccountLifecycle(db, room_events, publisher),
        rooms=rooms,
        moderation=ModerationService(db, room_events, rooms),
        messages=MessageService(db, room_events, notifications),
        reactions=ReactionService(db, room_events),
        pins=PinService(room_events),
        questions=QuestionService(db, room_events, notifications),
        polls=PollService(db, room_events),
        workshops=WorkshopService(db, room_events),
        reports=ReportService(db, room_events, notifications),
        social=SocialService(db, room_events, publisher, rooms),
        invites=invites,
        guests=GuestService(db, room_events, accounts, invites, guest_policy),
        notifications=notifications,
        sync=sync,
        session=session,
        presence=presence,
        limiter=coordination.limiter,
        local_limiter=MemoryRateLimiter(),
        limits=Limits.from_settings(
            scale=settings.rate_limit_scale,
            message_rate=settings.message_rate,
            message_burst=settings.message_burst,
            request_rate=settings.request_rate,
            request_burst=settings.request_burst,
            auth_rate=settings.auth_rate_per_ip,
            auth_burst=settings.auth_burst_per_ip,
            guest_message_rate=settings.guest_message_rate,
            guest_message_burst=settings.guest_message_burst,
            guest_create_rate=settings.guest_create_rate_per_ip,
            guest_create_burst=settings.guest_create_burst_per_ip,
        ),
        profiles=ProfileService(
            db, publisher, presence.online_among, files, images, settings.avatar_side
        ),
        meetups=MeetupService(db, room_events, notifications),
        search=SearchService(db),
        files=files,
        images=images,
        uploads=UploadService(db, files, images, upload_policy(settings)),
    )
    return services, hub


def make_file_store(settings: Settings) -> FileStore:
    """The local directory by default; the S3-compatible bucket when several nodes run."""
    if settings.files_backend == "s3":
        assert settings.s3_bucket is not None
        return S3FileStore(
            bucket=settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            prefix=settings.s3_prefix,
        )
    return LocalFileStore(files_directory(settings))


def upload_policy(settings: Settings) -> UploadPolicy:
    return UploadPolicy(
        max_bytes=settings.upload_max_bytes,
        quota_bytes=settings.upload_quota_bytes,
        types=frozenset(settings.upload_types),
        unattached_ms=settings.upload_unattached_ttl * 1000,
    )


def client_page(index: Path) -> Callable[[Request], Awaitable[Response]]:
    """The web client's page for a link into it (`/reset/<token>`, `/invite/<code>`);
    the client reads the path itself."""

    async def page(request: Request) -> Response:
        return FileResponse(index, headers={"Cache-Control": "no-store"})

    return page


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


async def readyz(request: Request) -> Response:
    db_ok = await request.app.state.db.ping()
    broker_ok = await request.app.state.broker.ping()
    status = 200 if db_ok and broker_ok else 503
    body = b'{"database":%s,"broker":%s}' % (
        b"true" if db_ok else b"false",
        b"true" if broker_ok else b"false",
    )
    return Response(body, status_code=status, media_type="application/json")


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(NotFound("no such endpoint"))


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    response = error_response(BadRequest(f"{request.method} is not allowed here"))
    response.status_code = 405
    return response


class SecurityHeaders:
    """CSP and friends on every HTTP response: the client runs no inline script."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)  # type: ignore[arg-type]


async def _prune_periodically(services: Services, every: float = 300.0) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await services.sync.prune_event_log()
        except Exception as exc:  # the database may be restarting; try again later
            log.warning("event log not pruned: %s", exc)


async def _end_workshops_periodically(services: Services, every: float = 1.0) -> None:
    """Workshops end from their stored end time, so a restart or a second node only
    delays an end by one round; each is claimed by one node (see WorkshopService)."""
    while True:
        await asyncio.sleep(every)
        try:
            await services.workshops.end_due()
        except Exception as exc:  # the database may be restarting; try again later
            log.warning("workshops not ended: %s", exc)


async def _checkpoint_periodically(db: Database, every: float = 1.0) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await db.checkpoint()
        except Exception as exc:  # a locked or busy file: the next round catches up
            log.warning("WAL checkpoint failed: %s", exc)


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()
    db = Database(
        settings.database_url,
        settings.db_pool_size,
        metrics.observe_transaction,
        pool_timeout=settings.db_pool_timeout,
        synchronous=settings.sqlite_synchronous,
        max_waiting=settings.write_queue_max,
        max_wait=settings.write_wait_max,
    )
    broker = MeteredBroker(make_broker(settings), metrics)
    services, hub = build_services(settings, db, broker)
    services = metered_services(services, metrics)
    metrics.watch_hub(hub)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.files.start()
        await broker.start()
        await hub.start()
        await services.presence.start()
        background = [
            asyncio.create_task(_prune_periodically(services), name="event-log-pruner"),
            asyncio.create_task(_checkpoint_periodically(db), name="wal-checkpointer"),
            asyncio.create_task(metrics.watch_loop(), name="loop-lag-watch"),
            asyncio.create_task(_end_workshops_periodically(services), name="workshop-ender"),
            asyncio.create_task(
                recheck_periodically(hub, services.lifecycle), name="account-recheck"
            ),
            asyncio.create_task(
                sweep_periodically(services.guests, settings.guest_sweep_seconds),
                name="guest-sweep",
            ),
            asyncio.create_task(
                remind_periodically(
                    services.meetups, settings.reminder_offsets, settings.event_reminder_poll
                ),
                name="meetup-reminders",
            ),
            asyncio.create_task(
                sweep_uploads_periodically(services.uploads, settings.upload_sweep_seconds),
                name="upload-sweep",
            ),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await hub.close()
            await services.presence.close()
            await broker.close()
            await db.close()
            services.images.close()
            await services.files.close()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        metrics_route(settings),
        *api_routes(),
        WebSocketRoute("/ws", websocket_endpoint),
    ]
    static = client_dir(settings)
    if static is not None:
        routes.append(Route("/reset/{token}", client_page(static / "index.html")))
        routes.append(Route("/invite/{code}", client_page(static / "index.html")))
        if (static / "sw.js").is_file():
            routes.append(Route("/sw.js", service_worker(static)))
        routes.append(Mount("/", StaticFiles(directory=static, html=True), name="client"))
    else:
        log.warning("no web client found; serving the API only")
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.settings = settings
    app.state.services = services
    app.state.hub = hub
    app.state.dispatcher = MeteredDispatcher(services, hub, metrics)  # one for every socket
    app.state.metrics = metrics
    app.state.db = db
    app.state.broker = broker
    app.state.admission = Admission(settings)  # socket caps: `gateway/guard.py` and /ws
    app.add_middleware(HostCheck, settings=settings)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        ObservedRequests, metrics=metrics, trust_request_id=settings.trust_proxy_headers
    )
    return app
