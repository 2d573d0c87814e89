"""Settings: every knob, read once from the environment, frozen, and passed down."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./chatserver.db"
UPLOAD_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)
"""Every type an upload may have (PROTOCOL-COMMUNITY section 6); CHAT_UPLOAD_TYPES picks
among them."""


class ConfigError(Exception):
    """A setting that cannot be used; the CLI prints it as one line and exits."""


@dataclass(frozen=True, slots=True)
class Option:
    """One documented environment variable (the source of `chatserver --help`)."""

    env: str
    attr: str
    kind: type
    help: str


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Defaults give the embedded single-node server."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    redis_sharded: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: tuple[str, ...] = ()
    db_pool_size: int = 10
    db_pool_timeout: float = 10.0
    write_queue_max: int = 1000
    write_wait_max: float = 5.0
    sqlite_synchronous: Literal["full", "normal"] = "full"
    rate_limit_scale: float = 1.0
    message_rate: float = 5.0
    message_burst: int = 30
    request_rate: float = 30.0
    request_burst: int = 120
    auth_rate_per_ip: float = 1.0
    auth_burst_per_ip: int = 60
    flood_strikes: int = 50
    header_timeout: float = 10.0
    hello_timeout: float = 10.0
    max_connections: int = 0
    max_connections_per_ip: int = 1000
    max_connections_per_user: int = 20
    connect_rate_per_ip: float = 20.0
    connect_burst_per_ip: int = 500
    hash_concurrency: int = 2
    ping_interval: float = 20.0
    presence_grace: float = 5.0
    presence_room_limit: int = 200
    send_buffer_bytes: int = 1_048_576
    ws_direct_writes: bool = True
    max_frame_bytes: int = 65536
    max_http_body_bytes: int = 65536
    trust_proxy_headers: bool = False
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    client_dir: str | None = None
    log_level: str = "info"
    log_format: str = "text"
    metrics: tuple[str, ...] = ("local",)
    token_ttl_days: int = 90
    public_url: str | None = None
    registration: Literal["open", "invite"] = "open"
    guest_ttl: int = 86_400
    guest_retention: int = 7 * 86_400
    guest_sweep_seconds: float = 60.0
    guest_message_rate: float = 0.5
    guest_message_burst: int = 10
    guest_create_rate_per_ip: float = 2.0
    guest_create_burst_per_ip: int = 300
    event_reminders: tuple[str, ...] = ("86400", "3600")
    event_reminder_poll: float = 5.0
    files_backend: Literal["local", "s3"] = "local"
    files_dir: str | None = None
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_prefix: str = ""
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_quota_bytes: int = 1024 * 1024 * 1024
    upload_types: tuple[str, ...] = UPLOAD_TYPES
    upload_max_pixels: int = 50_000_000
    upload_unattached_ttl: int = 86_400
    upload_sweep_seconds: float = 300.0
    image_threads: int = 2
    avatar_max_bytes: int = 5 * 1_048_576
    avatar_side: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build from CHAT_* variables, then apply CLI overrides (None means 'not given')."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for option in OPTIONS:
            raw = source.get(option.env)
            if raw is None or raw == "":
                continue
            values[option.attr] = _parse(option, raw)
        for key, value in overrides.items():
            if value is not None:
                values[key] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that would fail later in a less obvious way."""
        _check_files(self)
        self._validate_avatars()
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError(
                f"CHAT_DATABASE_URL must start with sqlite+aiosqlite:// or "
                f"postgresql+asyncpg:// (got {self.database_url.split('://')[0]}://...)"
            )
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ConfigError("CHAT_REDIS_URL must start with redis://, rediss:// or unix://")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be between 1 and 65535 (got {self.port})")
        positive = (
            "db_pool_size",
            "db_pool_timeout",
            "write_queue_max",
            "write_wait_max",
            "rate_limit_scale",
            "message_rate",
            "message_burst",
            "request_rate",
            "request_burst",
            "auth_rate_per_ip",
            "auth_burst_per_ip",
            "flood_strikes",
            "header_timeout",
            "hello_timeout",
            "max_connections_per_ip",
            "max_connections_per_user",
            "connect_rate_per_ip",
            "connect_burst_per_ip",
            "hash_concurrency",
            "ping_interval",
            "send_buffer_bytes",
            "max_frame_bytes",
            "max_http_body_bytes",
            "token_ttl_days",
            "guest_ttl",
            "guest_sweep_seconds",
            "guest_message_rate",
            "guest_message_burst",
            "guest_create_rate_per_ip",
            "guest_create_burst_per_ip",
            "event_reminder_poll",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_env_of(name)} must be greater than 0")
        if self.max_connections < 0:
            raise ConfigError("CHAT_MAX_CONNECTIONS must be 0 (automatic) or more")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    f"CHAT_TRUSTED_PROXIES entries are addresses or networks (got {proxy})"
                ) from None
        _check_metrics(self.metrics)
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"CHAT_LOG_FORMAT is text or json (got {self.log_format})")
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ConfigError("CHAT_PUBLIC_URL must start with http:// or https://")
        if self.sqlite_synchronous not in ("full", "normal"):
            raise ConfigError(
                f"CHAT_SQLITE_SYNCHRONOUS is full or normal (got {self.sqlite_synchronous})"
            )
        if self.registration not in ("open", "invite"):
            raise ConfigError(f"CHAT_REGISTRATION is open or invite (got {self.registration})")
        if self.guest_retention < 0:
            raise ConfigError("CHAT_GUEST_RETENTION must be 0 or more seconds")
        if self.presence_grace < 0 or self.presence_grace > 10:
            raise ConfigError("CHAT_PRESENCE_GRACE must be between 0 and 10 seconds")
        for origin in self.allowed_origins:
            if origin != "*" and "://" not in origin:
                raise ConfigError(
                    "CHAT_ALLOWED_ORIGINS entries look like https://chat.example.org "
                    f"(got {origin})"
                )

        for offset in self.event_reminders:
            if not offset.isdigit() or not 0 < int(offset) <= 30 * 86_400:
                raise ConfigError(
                    "CHAT_EVENT_REMINDERS lists seconds before a meetup, each 1 to 2592000 "
                    f"(got {offset})"
                )

    @property
    def reminder_offsets(self) -> tuple[int, ...]:
        """CHAT_EVENT_REMINDERS as seconds, largest first, without repeats."""
        return tuple(sorted({int(offset) for offset in self.event_reminders}, reverse=True))

    def _validate_avatars(self) -> None:
        if self.avatar_max_bytes <= 0:
            raise ConfigError("CHAT_AVATAR_MAX_BYTES must be positive")
        if not 64 <= self.avatar_side <= 1024:
            raise ConfigError(f"CHAT_AVATAR_SIDE must be 64 to 1024 (got {self.avatar_side})")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def scaled(self, value: float) -> float:
        """A rate-limit figure multiplied by CHAT_RATE_LIMIT_SCALE (for load tests)."""
        return value * self.rate_limit_scale

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _parse(option: Option, raw: str) -> Any:
    try:
        if option.kind is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if option.kind is tuple:
            return tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
        return option.kind(raw)
    except ValueError:
        raise ConfigError(f"{option.env}={raw!r} is not a valid {option.kind.__name__}") from None


def _check_files(settings: Settings) -> None:
    if settings.files_backend not in ("local", "s3"):
        raise ConfigError(f"CHAT_FILES_BACKEND is local or s3 (got {settings.files_backend})")
    if settings.files_backend == "s3" and not settings.s3_bucket:
        raise ConfigError("CHAT_FILES_BACKEND=s3 needs CHAT_S3_BUCKET")
    if settings.s3_prefix and not settings.s3_prefix.endswith("/"):
        raise ConfigError(f"CHAT_S3_PREFIX ends with / (got {settings.s3_prefix})")
    for name in ("upload_max_bytes", "upload_quota_bytes", "upload_max_pixels", "image_threads"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{_env_of(name)} must be at least 1")
    if settings.upload_max_bytes > 1024**3:
        raise ConfigError("CHAT_UPLOAD_MAX_BYTES is at most 1 GiB (1073741824)")
    if settings.upload_unattached_ttl < 1 or settings.upload_sweep_seconds <= 0:
        raise ConfigError(
            "CHAT_UPLOAD_UNATTACHED_TTL is at least 1 second, CHAT_UPLOAD_SWEEP_SECONDS above 0"
        )
    unknown = sorted(set(settings.upload_types) - set(UPLOAD_TYPES))
    if unknown or not settings.upload_types:
        raise ConfigError(
            f"CHAT_UPLOAD_TYPES lists some of {', '.join(UPLOAD_TYPES)} (got {unknown or 'none'})"
        )


def files_directory(settings: Settings) -> str:
    """CHAT_FILES_DIR, else a directory beside the SQLite database (`chat.db` keeps its files
    in `chat.db-files/`), else ./chatserver-files."""
    if settings.files_dir:
        return settings.files_dir
    prefix = "sqlite+aiosqlite:///"
    path = settings.database_url.removeprefix(prefix).partition("?")[0]
    if settings.database_url.startswith(prefix) and path and path != ":memory:":
        return f"{path}-files"
    return "./chatserver-files"


METRICS_WORDS = ("off", "open", "local", "admins")
"""CHAT_METRICS values besides addresses and networks (see docs/configuration.md)."""


def _check_metrics(entries: tuple[str, ...]) -> None:
    for entry in entries:
        if entry in METRICS_WORDS:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                "CHAT_METRICS is off, open, or a list of local, admins, addresses and "
                f"networks (got {entry})"
            ) from None
    if not entries:
        raise ConfigError("CHAT_METRICS needs a value: off, open, local, admins or networks")
    if len(entries) != 1 and {"off", "open"} & set(entries):
        raise ConfigError("CHAT_METRICS=off and CHAT_METRICS=open stand alone")


def _env_of(attr: str) -> str:
    for option in OPTIONS:
        if option.attr == attr:
            return option.env
    return attr


OPTIONS: tuple[Option, ...] = (
    Option(
        "CHAT_DATABASE_URL",
        "database_url",
        str,
        "Database: sqlite+aiosqlite:///path.db (default ./chatserver.db) or "
        "postgresql+asyncpg://user@host/db",
    ),
    Option(
        "CHAT_REDIS_URL",
        "redis_url",
        str,
        "Redis for pub/sub between nodes (redis://host:6379/0); unset = in-process broker",
    ),
    Option(
        "CHAT_REDIS_SHARDED",
        "redis_sharded",
        bool,
        "Use sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7+) for room and user channels, "
        "to spread them over a Redis Cluster (default off)",
    ),
    Option("CHAT_HOST", "host", str, "Address to listen on (default 127.0.0.1)"),
    Option("CHAT_PORT", "port", int, "Port to listen on (default 8000)"),
    Option(
        "CHAT_ALLOWED_ORIGINS",
        "allowed_origins",
        tuple,
        "Comma-separated browser origins allowed to open WebSockets; default: the server's "
        "own origin only; * allows any. Their hosts (and CHAT_PUBLIC_URL's) are also the "
        "names the server answers to, besides IP addresses and localhost",
    ),
    Option(
        "CHAT_DB_POOL_SIZE",
        "db_pool_size",
        int,
        "Database connections per node (default 10), and as many again when busy; also "
        "how many handshakes read the database at once (the rest wait their turn)",
    ),
    Option(
        "CHAT_DB_POOL_TIMEOUT",
        "db_pool_timeout",
        float,
        "Seconds a request waits for a free database connection before it is answered "
        "unavailable (default 10)",
    ),
    Option(
        "CHAT_WRITE_QUEUE_MAX",
        "write_queue_max",
        int,
        "Writes that may wait for the database at once per node (SQLite: for its one "
        "writer; both: message sends waiting for a shared commit); more are answered "
        "unavailable at once (default 1000)",
    ),
    Option(
        "CHAT_WRITE_WAIT_MAX",
        "write_wait_max",
        float,
        "Seconds a write waits for the database before it is answered unavailable "
        "instead of run (default 5)",
    ),
    Option(
        "CHAT_SQLITE_SYNCHRONOUS",
        "sqlite_synchronous",
        str,
        "SQLite only: full (default) syncs every commit to disk before it is acknowledged; "
        "normal may lose the last acknowledged messages to a power cut or an OS crash",
    ),
    Option(
        "CHAT_RATE_LIMIT_SCALE",
        "rate_limit_scale",
        float,
        "Multiplies every rate limit (default 1; raise it for load tests)",
    ),
    Option(
        "CHAT_MESSAGE_RATE",
        "message_rate",
        float,
        "Messages, edits and reactions per second per user, sustained (default 5)",
    ),
    Option(
        "CHAT_MESSAGE_BURST",
        "message_burst",
        int,
        "Messages, edits and reactions a user may send in a burst (default 30)",
    ),
    Option(
        "CHAT_REQUEST_RATE",
        "request_rate",
        float,
        "Requests per second per connection or token, sustained (default 30)",
    ),
    Option(
        "CHAT_REQUEST_BURST", "request_burst", int, "Request burst per connection (default 120)"
    ),
    Option(
        "CHAT_AUTH_RATE_PER_IP",
        "auth_rate_per_ip",
        float,
        "Registrations and logins per second per IP, sustained (default 1)",
    ),
    Option(
        "CHAT_AUTH_BURST_PER_IP",
        "auth_burst_per_ip",
        int,
        "Registrations and logins per IP in a burst (default 60)",
    ),
    Option(
        "CHAT_FLOOD_STRIKES",
        "flood_strikes",
        int,
        "Rate-limited requests in a row before a WebSocket is closed with 4008 (default 50)",
    ),
    Option(
        "CHAT_HEADER_TIMEOUT",
        "header_timeout",
        float,
        "Seconds a connection has to send a complete HTTP request (headers and body; the "
        "WebSocket upgrade is one) after connecting or after its previous response; then it "
        "is closed (default 10)",
    ),
    Option(
        "CHAT_HELLO_TIMEOUT",
        "hello_timeout",
        float,
        "Seconds a new WebSocket has to send hello (default 10)",
    ),
    Option(
        "CHAT_MAX_CONNECTIONS",
        "max_connections",
        int,
        "Open sockets per node, HTTP and WebSocket together; more are closed at once "
        "(default 0: the open-file limit, raised to its hard limit at start, minus a reserve)",
    ),
    Option(
        "CHAT_MAX_CONNECTIONS_PER_IP",
        "max_connections_per_ip",
        int,
        "Open sockets per client address (IPv6: per /64) per node, counted on accept; your "
        "own proxies are exempt (default 1000, times CHAT_RATE_LIMIT_SCALE)",
    ),
    Option(
        "CHAT_MAX_CONNECTIONS_PER_USER",
        "max_connections_per_user",
        int,
        "WebSockets per account per node; more are closed with 4008 "
        "(default 20, times CHAT_RATE_LIMIT_SCALE)",
    ),
    Option(
        "CHAT_CONNECT_RATE_PER_IP",
        "connect_rate_per_ip",
        float,
        "WebSocket handshakes per second per client address, sustained; more get 429 (default 20)",
    ),
    Option(
        "CHAT_CONNECT_BURST_PER_IP",
        "connect_burst_per_ip",
        int,
        "WebSocket handshakes per client address in a burst (default 500)",
    ),
    Option(
        "CHAT_HASH_CONCURRENCY",
        "hash_concurrency",
        int,
        "Password hashes computed at once per node, 64 MiB each; more wait, and past 32 "
        "waiting per slot logins get 503 (default 2)",
    ),
    Option(
        "CHAT_PING_INTERVAL",
        "ping_interval",
        float,
        "Seconds between server pings; a client silent for two intervals is dropped, and one "
        "closed for being too slow is reset if it has not read its close after one (default 20)",
    ),
    Option(
        "CHAT_PRESENCE_GRACE",
        "presence_grace",
        float,
        "Seconds before 'offline' is announced after a user's last connection closes "
        "(0-10, default 5)",
    ),
    Option(
        "CHAT_PRESENCE_ROOM_LIMIT",
        "presence_room_limit",
        int,
        "Rooms with more members than this get no presence broadcasts and one typing event "
        "per 2 s (default 200); friends still get presence, and member lists show who is online",
    ),
    Option(
        "CHAT_SEND_BUFFER_BYTES",
        "send_buffer_bytes",
        int,
        "Bytes that may wait for one slow connection, in the server and in the kernel's "
        "socket buffer together, before it is closed with 4008 (default 1048576)",
    ),
    Option(
        "CHAT_WS_DIRECT_WRITES",
        "ws_direct_writes",
        bool,
        "Write each event's pre-framed bytes straight to the sockets (default on; off sends "
        "every frame through ASGI, for comparison)",
    ),
    Option(
        "CHAT_MAX_FRAME_BYTES",
        "max_frame_bytes",
        int,
        "Largest WebSocket frame accepted (default 65536; bigger closes with 1009)",
    ),
    Option(
        "CHAT_MAX_HTTP_BODY_BYTES",
        "max_http_body_bytes",
        int,
        "Largest HTTP request body accepted (default 65536)",
    ),
    Option(
        "CHAT_TRUST_PROXY_HEADERS",
        "trust_proxy_headers",
        bool,
        "Take the client IP from X-Forwarded-For: the rightmost address not in "
        "CHAT_TRUSTED_PROXIES, and only when the request came from one of them (default off)",
    ),
    Option(
        "CHAT_TRUSTED_PROXIES",
        "trusted_proxies",
        tuple,
        "Comma-separated addresses or networks of your own proxies, believed in "
        "X-Forwarded-For and exempt from the per-IP socket cap when "
        "CHAT_TRUST_PROXY_HEADERS is on (default 127.0.0.1,::1)",
    ),
    Option(
        "CHAT_CLIENT_DIR",
        "client_dir",
        str,
        "Serve the web client from this folder instead of the bundled one",
    ),
    Option("CHAT_LOG_LEVEL", "log_level", str, "debug, info, warning or error (default info)"),
    Option(
        "CHAT_LOG_FORMAT",
        "log_format",
        str,
        "text, or json for one JSON object per line with request ids (default text)",
    ),
    Option(
        "CHAT_METRICS",
        "metrics",
        tuple,
        "Who may read /metrics besides admins' tokens: local (loopback, the default), a "
        "comma-separated list of addresses and networks (with local if wanted), admins (no "
        "address), open (anyone), or off (404 for everyone)",
    ),
    Option(
        "CHAT_TOKEN_TTL_DAYS", "token_ttl_days", int, "Days a login token stays valid (default 90)"
    ),
    Option(
        "CHAT_PUBLIC_URL",
        "public_url",
        str,
        "The address users open the server at, e.g. https://chat.example.org, for the links "
        "`chatserver user reset-link` and `chatserver invite create` print and invites carry "
        "(default: http://CHAT_HOST:CHAT_PORT for the commands, a path for invites)",
    ),
    Option(
        "CHAT_REGISTRATION",
        "registration",
        str,
        "open (default): anyone may create an account; invite: only with a valid invite "
        "(the first account on an empty server, the admin, excepted)",
    ),
    Option(
        "CHAT_GUEST_TTL",
        "guest_ttl",
        int,
        "Seconds a guest account lasts; then its token is refused and its sockets close "
        "(default 86400, a day)",
    ),
    Option(
        "CHAT_GUEST_RETENTION",
        "guest_retention",
        int,
        "Seconds an ended guest's name is kept before it is anonymised like a deleted "
        "account, its messages kept under 'Deleted user' (default 604800, 7 days; 0: at "
        "the next sweep)",
    ),
    Option(
        "CHAT_GUEST_SWEEP_SECONDS",
        "guest_sweep_seconds",
        float,
        "Seconds between two sweeps of ended guests (their tokens, then past the retention "
        "their personal data); one node does each guest (default 60)",
    ),
    Option(
        "CHAT_GUEST_MESSAGE_RATE",
        "guest_message_rate",
        float,
        "Messages, edits and reactions per second per guest, sustained (default 0.5)",
    ),
    Option(
        "CHAT_GUEST_MESSAGE_BURST",
        "guest_message_burst",
        int,
        "Messages, edits and reactions a guest may send in a burst (default 10)",
    ),
    Option(
        "CHAT_GUEST_CREATE_RATE_PER_IP",
        "guest_create_rate_per_ip",
        float,
        "Guest accounts created per second per client address, sustained (default 2, times "
        "CHAT_RATE_LIMIT_SCALE)",
    ),
    Option(
        "CHAT_GUEST_CREATE_BURST_PER_IP",
        "guest_create_burst_per_ip",
        int,
        "Guest accounts one client address may create in a burst: a school behind one NAT "
        "on an open day (default 300, times CHAT_RATE_LIMIT_SCALE)",
    ),
    Option(
        "CHAT_EVENT_REMINDERS",
        "event_reminders",
        tuple,
        "Comma-separated seconds before a meetup starts when those going and maybe are "
        "reminded (default 86400,3600: 24 h and 1 h)",
    ),
    Option(
        "CHAT_EVENT_REMINDER_POLL",
        "event_reminder_poll",
        float,
        "Seconds between two looks for meetup reminders due, on every node (default 5)",
    ),
    Option(
        "CHAT_AVATAR_MAX_BYTES",
        "avatar_max_bytes",
        int,
        "Largest picture accepted as an avatar, in bytes, before it is cropped and resized "
        "(default 5242880, 5 MiB); larger ones get 413 too_large",
    ),
    Option(
        "CHAT_AVATAR_SIDE",
        "avatar_side",
        int,
        "Side in pixels of the square an avatar is resized to, 64 to 1024 (default 256)",
    ),
    Option(
        "CHAT_FILES_BACKEND",
        "files_backend",
        str,
        "Where uploaded files are kept: local (default; a directory, see CHAT_FILES_DIR) or "
        "s3 (an S3-compatible bucket, for several nodes; see CHAT_S3_*)",
    ),
    Option(
        "CHAT_FILES_DIR",
        "files_dir",
        str,
        "The local file store's directory (default: beside the SQLite database, "
        "<database>-files; ./chatserver-files with PostgreSQL)",
    ),
    Option(
        "CHAT_S3_ENDPOINT",
        "s3_endpoint",
        str,
        "The S3-compatible service's URL (MinIO, Ceph, Garage: http://host:9000); unset = AWS",
    ),
    Option("CHAT_S3_BUCKET", "s3_bucket", str, "The bucket for uploaded files (s3 backend)"),
    Option("CHAT_S3_REGION", "s3_region", str, "The bucket's region (default us-east-1)"),
    Option(
        "CHAT_S3_ACCESS_KEY",
        "s3_access_key",
        str,
        "Access key id; unset = boto3's usual sources (AWS_ACCESS_KEY_ID, instance role)",
    ),
    Option(
        "CHAT_S3_SECRET_KEY",
        "s3_secret_key",
        str,
        "Secret access key; unset = boto3's usual sources (AWS_SECRET_ACCESS_KEY, ...)",
    ),
    Option(
        "CHAT_S3_PREFIX",
        "s3_prefix",
        str,
        "A key prefix ending in /, to share a bucket with other data (default none)",
    ),
    Option(
        "CHAT_UPLOAD_MAX_BYTES",
        "upload_max_bytes",
        int,
        "Largest upload in bytes, inclusive; larger ones get 413 too_large and are not read "
        "past the limit (default 10485760, 10 MiB)",
    ),
    Option(
        "CHAT_UPLOAD_QUOTA_BYTES",
        "upload_quota_bytes",
        int,
        "Bytes of files one user may keep (attached or not; deleted messages' files free "
        "theirs); an upload past it gets 409 limit_reached (default 1073741824, 1 GiB)",
    ),
    Option(
        "CHAT_UPLOAD_TYPES",
        "upload_types",
        tuple,
        "Comma-separated content types accepted, among image/png, image/jpeg, image/gif, "
        "image/webp, application/pdf and text/plain (default: all six)",
    ),
    Option(
        "CHAT_UPLOAD_MAX_PIXELS",
        "upload_max_pixels",
        int,
        "Most pixels (width × height) of an uploaded image; more is refused before decoding "
        "(default 50000000)",
    ),
    Option(
        "CHAT_UPLOAD_UNATTACHED_TTL",
        "upload_unattached_ttl",
        int,
        "Seconds an upload that no message uses is kept before it is deleted (default 86400)",
    ),
    Option(
        "CHAT_UPLOAD_SWEEP_SECONDS",
        "upload_sweep_seconds",
        float,
        "Seconds between two sweeps of expired uploads and deleted messages' files, on every "
        "node, each file claimed by one (default 300)",
    ),
    Option(
        "CHAT_IMAGE_THREADS",
        "image_threads",
        int,
        "Images checked, cleaned and thumbnailed at once per node, off the event loop (default 2)",
    ),
)
