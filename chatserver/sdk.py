"""Async Python client for the chat protocol v1: HTTP API, WebSocket gateway, seq tracking."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from chatserver.protocol.events import SEQUENCED_TYPES

Frame = dict[str, Any]

# Events that carry a room seq (the sequenced ones, and `room.synced` that ends a
# replay); the client tracks the latest seq it has seen per room.
SEQUENCED = SEQUENCED_TYPES | {"room.synced"}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "expired",
    413: "too_large",
    429: "rate_limited",
}
_CLOSE_CODES = {4000: "bad_request", 4001: "unauthorized", 1009: "too_large"}
_BACKOFF_START, _BACKOFF_CAP = 0.1, 5.0
# Idle HTTP connections are dropped before the server's keep-alive (uvicorn: 5 s) closes
# them: reusing one the server is closing fails with "Server disconnected".
_KEEPALIVE = 4.0
_STOP = object()  # queued once the connection is gone for good, so waiting readers wake up


class ApiError(Exception):
    """A refusal by the server, HTTP or WebSocket, carrying the protocol's stable `code`."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        until: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.until = until
        """For `muted`: when the mute ends (a protocol time)."""


class SocketClosed(ApiError, ConnectionError):
    """The WebSocket closed; an ApiError (for `code`) and a ConnectionError (for retry logic)."""

    def __init__(self, close_code: int | None, reason: str = "") -> None:
        code = _CLOSE_CODES.get(close_code or 0, "closed")
        super().__init__(code, reason or f"connection closed ({close_code})")
        self.close_code = close_code


def _ws_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


def _present(**fields: Any) -> Frame:
    """Optional fields are omitted rather than sent as null, which some endpoints reject."""
    return {key: value for key, value in fields.items() if value is not None}


def _reaction_path(message_id: int, emoji: str) -> str:
    """One emoji's reactions on a message; the emoji is escaped whole (it may be several
    code points, a flag or a `:shortcode:`)."""
    return f"/api/messages/{message_id}/reactions/{quote(emoji, safe='')}"


def _invite_path(code: str, rest: str = "") -> str:
    """An invite's path (and `rest` below it), its code escaped: it comes from a pasted link."""
    return f"/api/invites/{quote(code, safe='')}{rest}"


def _new_message(
    body: str,
    reply_to: int | None,
    nonce: str | int | None,
    question: bool,
    poll: Frame | None,
    event: Frame | None,
    attachments: Sequence[int] | None,
) -> Frame:
    """A new message's fields, the same whether it is posted over HTTP or sent on the
    socket (an unasked question and no attachments are left out, like other unset ones)."""
    return _present(
        body=body,
        reply_to=reply_to,
        nonce=nonce,
        question=question or None,
        poll=poll,
        event=event,
        attachments=list(attachments) if attachments else None,
    )


def _error_from_response(status: int, body: Any, headers: httpx.Headers) -> ApiError:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        err = {}
    retry = err.get("retry_after", headers.get("retry-after"))
    until = err.get("until")
    return ApiError(
        str(err.get("code") or _STATUS_CODES.get(status, "http_error")),
        str(err.get("message") or f"HTTP {status}"),
        status,
        float(retry) if retry is not None else None,
        until if isinstance(until, str) else None,
    )


def _json_body(resp: httpx.Response) -> Any:
    """The response's JSON, or None when it has none (a 204, or a body that is not JSON)."""
    if resp.status_code == 204 or not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


class ChatClient:
    """One user's session: an HTTP client plus, after `connect()`, one WebSocket.

    The socket is read by a single task that hands replies to the request waiting on their
    `ref` and queues everything else, so callers never read the socket concurrently.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        origin: str | None = None,
        reconnect: bool = True,
        http: httpx.AsyncClient | None = None,
        auto_sync: bool = True,
        fallback_urls: Sequence[str] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = _ws_url(self.base_url)
        # Other nodes of the same cluster: reconnects move on to the next one when a node
        # is unreachable, as a load balancer would.
        self._ws_urls = [self.ws_url, *(_ws_url(u.rstrip("/")) for u in fallback_urls)]
        self.token = token
        self.origin = origin
        self.reconnect = reconnect
        self.auto_sync = auto_sync
        self.request_timeout = 10.0
        self.user: Frame | None = None
        self.ready: Frame | None = None
        self.last_seq: dict[int, int] = {}
        self.gaps: list[tuple[int, int, int]] = []
        self.close_code: int | None = None
        self.connected = False
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=self.base_url, timeout=10.0, limits=httpx.Limits(keepalive_expiry=_KEEPALIVE)
        )
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Frame]] = {}
        self._ref = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._replaying: set[int] = set()  # rooms whose replay may skip seqs until room.synced
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- HTTP ---------------------------------------------------------------------------

    async def http(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """Call the HTTP API; returns the parsed body (None for 204), raises ApiError."""
        query = _present(**(params or {}))
        resp = await self._request(method, path, json=json, params=query or None)
        return _json_body(resp)

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        with_token: bool = True,
        **options: Any,
    ) -> httpx.Response:
        """Send one request, with this user's token unless `with_token` is False (for the
        routes that need none); an error status raises ApiError, read from the `error`
        body when there is one, so each caller only decodes a successful response."""
        sent = dict(headers or {})
        if with_token and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        resp = await self._http.request(method, url, headers=sent, **options)
        if resp.status_code >= 400:
            raise _error_from_response(resp.status_code, _json_body(resp), resp.headers)
        return resp

    async def _obj(
        self,
        method: str,
        path: str,
        key: str | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Frame:
        """Most endpoints wrap their one result in a named key; unwrap it for callers."""
        body = await self.http(method, path, json=json, params=params)
        result: Frame = body if key is None else body[key]
        return result

    async def _list(
        self, method: str, path: str, key: str, params: dict[str, Any] | None = None
    ) -> list[Frame]:
        items: list[Frame] = (await self.http(method, path, params=params))[key]
        return items

    async def _auth(self, path: str, payload: Frame) -> Frame:
        result = await self._obj("POST", path, None, json=payload)
        self.token, self.user = result["token"], result["user"]
        return result

    async def register(
        self,
        username: str,
        password: str,
        display_name: str | None = None,
        invite: str | None = None,
    ) -> Frame:
        """`{user, token}`; with an invite code the account also joins its room, and the
        result carries that `room`."""
        payload = _present(
            username=username, password=password, display_name=display_name, invite=invite
        )
        return await self._auth("/api/auth/register", payload)

    async def login(self, username: str, password: str) -> Frame:
        return await self._auth("/api/auth/login", {"username": username, "password": password})

    async def guest(self, display_name: str, invite: str | None = None) -> Frame:
        """Enter as a guest, no password: `{user, token}` with `user.role` "guest" and
        `user.expires_at`; with an invite code also its `room` (one that allows guests)."""
        payload = _present(display_name=display_name, invite=invite)
        return await self._auth("/api/auth/guest", payload)

    async def upgrade(self, username: str, password: str, invite: str | None = None) -> Frame:
        """Turn this guest account into a student's, keeping its id, rooms and messages;
        `{user}` (and `room` when an invite came). The token stays valid."""
        payload = _present(username=username, password=password, invite=invite)
        result = await self._obj("POST", "/api/auth/upgrade", None, json=payload)
        self.user = result["user"]
        return result

    async def logout(self) -> None:
        """Revoke the token server-side and forget it, since it can no longer be used."""
        await self.http("POST", "/api/auth/logout")
        self.token = None

    async def me(self) -> Frame:
        self.user = await self._obj("GET", "/api/me", "user")
        return self.user

    # ---- profiles -----------------------------------------------------------------------

    async def get_user(self, user_id: int) -> Frame:
        """A user's profile (bio, pronouns, avatar); `not_found` unless the two share a
        room or are friends. The reply's `friendship` and `blocked` are in `get_profile`."""
        return await self._obj("GET", f"/api/users/{user_id}", "user")

    async def get_profile(self, user_id: int) -> Frame:
        """`{user, friendship, blocked}`: the profile and how this user stands with them."""
        return await self._obj("GET", f"/api/users/{user_id}", None)

    async def update_profile(self, **changes: Any) -> Frame:
        """Change any of display_name, region, bio, pronouns, dm_policy (None clears one);
        returns the caller's own User."""
        self.user = await self._obj("PATCH", "/api/me", "user", json=changes)
        return self.user

    async def set_avatar(self, data: bytes, content_type: str = "image/png") -> Frame:
        """Upload a picture; the server crops it square and resizes it. Returns the
        caller's own User, whose `avatar` is the new picture's URL."""
        headers = {"Content-Type": content_type}
        resp = await self._request("PUT", "/api/me/avatar", content=data, headers=headers)
        body = _json_body(resp)
        self.user = body["user"]
        return body["user"]  # type: ignore[no-any-return]

    async def remove_avatar(self) -> Frame:
        self.user = await self._obj("DELETE", "/api/me/avatar", "user")
        return self.user

    async def avatar(self, url: str) -> bytes:
        """An avatar's bytes, from the `avatar` URL of a User."""
        return (await self._request("GET", url)).content

    # ---- uploads ------------------------------------------------------------------------

    async def upload(
        self,
        data: bytes | AsyncIterable[bytes],
        name: str,
        content_type: str = "application/octet-stream",
    ) -> Frame:
        """Upload a file (bytes, or chunks streamed as they come) to attach to a message
        with `send(..., attachments=[id])`; returns the Upload object (`id`, `url`, ...).
        `application/octet-stream` lets the server tell the type from the content."""
        headers = {"Content-Type": content_type}
        resp = await self._request(
            "POST", "/api/uploads", content=data, params={"name": name}, headers=headers
        )
        return _json_body(resp)["upload"]  # type: ignore[no-any-return]

    async def download(self, url: str) -> tuple[bytes, dict[str, str]]:
        """A file's bytes and response headers, from an Upload's `url` or `thumbnail_url`."""
        resp = await self._request("GET", url)
        return resp.content, dict(resp.headers)

    async def delete_upload(self, upload_id: int) -> None:
        """Drop one's own upload that no message uses."""
        await self.http("DELETE", f"/api/uploads/{upload_id}")

    # ---- account lifecycle --------------------------------------------------------------

    async def change_password(self, old_password: str, new_password: str) -> None:
        """Every other session of the account ends (their sockets close with 4001)."""
        payload = {"old_password": old_password, "new_password": new_password}
        await self.http("POST", "/api/me/password", json=payload)

    async def logout_all(self) -> None:
        """Revoke every token of the account, this one included, and forget it."""
        await self.http("POST", "/api/auth/logout-all")
        self.token = None

    async def delete_account(self, password: str) -> None:
        """Delete the account for good; its messages stay under "deleted user"."""
        await self.http("DELETE", "/api/me", json={"password": password})
        self.token = None

    async def export(self) -> Frame:
        """Everything the server keeps about the account (profile, rooms, messages...)."""
        result: Frame = await self.http("GET", "/api/me/export")
        return result

    async def reset_password(self, token: str, new_password: str) -> None:
        """Use a one-time reset link's token (no login needed); then log in anew."""
        await self.http(
            "POST", "/api/auth/reset", json={"token": token, "new_password": new_password}
        )

    async def set_role(self, user_id: int, role: str) -> Frame:
        """Admins: change a user's role, effective at once on their open connections."""
        return await self._obj("PUT", f"/api/users/{user_id}/role", "user", json={"role": role})

    async def deactivate_user(self, user_id: int) -> None:
        """Admins: refuse the account's tokens and logins, close its sockets."""
        await self.http("POST", f"/api/users/{user_id}/deactivate")

    async def reactivate_user(self, user_id: int) -> None:
        await self.http("POST", f"/api/users/{user_id}/reactivate")

    async def create_room(
        self,
        slug: str,
        name: str,
        kind: str,
        visibility: str | None = None,
        topic: str | None = None,
    ) -> Frame:
        payload = _present(slug=slug, name=name, kind=kind, visibility=visibility, topic=topic)
        return await self._obj("POST", "/api/rooms", "room", json=payload)

    async def room(self, room_id: int) -> Frame:
        return await self._obj("GET", f"/api/rooms/{room_id}", "room")

    async def join(self, room_id: int) -> Frame:
        return await self._obj("POST", f"/api/rooms/{room_id}/join", "room")

    async def leave(self, room_id: int) -> None:
        await self.http("POST", f"/api/rooms/{room_id}/leave")

    async def add_member(self, room_id: int, user_id: int) -> Frame:
        """`{added, not_found, already, room}`; adding a member again changes nothing."""
        result: Frame = await self.http(
            "POST", f"/api/rooms/{room_id}/members", json={"user_id": user_id}
        )
        return result

    async def add_members(self, room_id: int, usernames: Sequence[str]) -> Frame:
        """Up to 500 people by username: `{added: [ids], not_found: [names], already, room}`."""
        payload = {"usernames": list(usernames)}
        result: Frame = await self.http("POST", f"/api/rooms/{room_id}/members", json=payload)
        return result

    async def rooms(
        self, kind: str | None = None, q: str | None = None, *, all: bool = False
    ) -> list[Frame]:
        """Public rooms and the caller's own; `all=True` (admins) every room but DMs."""
        params = {"kind": kind, "q": q, "all": "true" if all else None}
        return await self._list("GET", "/api/rooms", "rooms", params=params)

    # ---- room settings and moderation ---------------------------------------------------

    async def update_room(
        self,
        room_id: int,
        *,
        name: str | None = None,
        topic: str | None = None,
        posting: str | None = None,
        slow_mode: int | None = None,
        guests_allowed: bool | None = None,
        archived: bool | None = None,
        clear_topic: bool = False,
    ) -> Frame:
        """Change a room's settings (moderators); `clear_topic` removes the topic."""
        payload = _present(
            name=name,
            topic=topic,
            posting=posting,
            slow_mode=slow_mode,
            guests_allowed=guests_allowed,
            archived=archived,
        )
        if clear_topic:
            payload["topic"] = None
        return await self._obj("PATCH", f"/api/rooms/{room_id}", "room", json=payload)

    async def members(self, room_id: int, q: str | None = None) -> list[Frame]:
        """Users with `online`, `room_role` and `muted_until`, connected ones first."""
        return await self._list("GET", f"/api/rooms/{room_id}/members", "members", {"q": q})

    async def set_room_role(self, room_id: int, user_id: int, room_role: str) -> Frame:
        """`moderator` or `member` (the room's owner or an admin); returns the member."""
        path = f"/api/rooms/{room_id}/members/{user_id}"
        return await self._obj("PUT", path, "member", json={"room_role": room_role})

    async def remove_member(self, room_id: int, user_id: int, reason: str | None = None) -> None:
        """A moderator removes a member; one's own id leaves the room."""
        path = f"/api/rooms/{room_id}/members/{user_id}"
        await self.http("DELETE", path, json=_present(reason=reason))

    async def ban(self, room_id: int, user_id: int, reason: str | None = None) -> None:
        await self.http("PUT", f"/api/rooms/{room_id}/bans/{user_id}", json=_present(reason=reason))

    async def unban(self, room_id: int, user_id: int) -> None:
        await self.http("DELETE", f"/api/rooms/{room_id}/bans/{user_id}")

    async def bans(self, room_id: int) -> list[Frame]:
        """`{user, by, reason, created_at}` entries, newest first."""
        return await self._list("GET", f"/api/rooms/{room_id}/bans", "bans")

    async def mute(
        self, room_id: int, user_id: int, duration_s: int, reason: str | None = None
    ) -> str:
        """Mute a member for 60 s to 28 days; returns when it ends."""
        payload = _present(duration_s=duration_s, reason=reason)
        body = await self.http("PUT", f"/api/rooms/{room_id}/mutes/{user_id}", json=payload)
        until: str = body["until"]
        return until

    async def unmute(self, room_id: int, user_id: int) -> None:
        await self.http("DELETE", f"/api/rooms/{room_id}/mutes/{user_id}")

    async def room_audit(
        self, room_id: int, before: int | None = None, limit: int | None = None
    ) -> list[Frame]:
        """The room's audit log, newest first (its moderators); page with `before`."""
        params = {"before": before, "limit": limit}
        return await self._list("GET", f"/api/rooms/{room_id}/audit", "entries", params)

    async def audit(self, before: int | None = None, limit: int | None = None) -> list[Frame]:
        """Every room's audit log, newest first (admins)."""
        params = {"before": before, "limit": limit}
        return await self._list("GET", "/api/audit", "entries", params)

    async def history(
        self,
        room_id: int,
        before: int | None = None,
        after: int | None = None,
        limit: int | None = None,
        around: int | None = None,
    ) -> list[Frame]:
        """A page of messages, ascending; `around` (a message id) centres it on that one."""
        params = {"before": before, "after": after, "limit": limit, "around": around}
        return await self._list("GET", f"/api/rooms/{room_id}/messages", "messages", params)

    async def search(
        self,
        q: str,
        *,
        room: int | None = None,
        from_: str | None = None,
        has: str | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Frame:
        """Search messages, newest first: `{results: [{message, room, highlights}],
        next_cursor}`; `from_` is the author's username, `before`/`after` ISO 8601 times."""
        params = {
            "q": q,
            "room": room,
            "from": from_,
            "has": has,
            "before": before,
            "after": after,
            "limit": limit,
            "cursor": cursor,
        }
        found: Frame = await self.http("GET", "/api/search", params=params)
        return found

    async def post_message(
        self,
        room_id: int,
        body: str,
        reply_to: int | None = None,
        nonce: str | int | None = None,
        question: bool = False,
        poll: Frame | None = None,
        event: Frame | None = None,
        attachments: Sequence[int] | None = None,
    ) -> Frame:
        """Post a message; `question` asks it as a question for the room's mentors; `poll`
        (`{question, options, multiple?, anonymous?}`) makes it a poll; `event`
        (`{title, starts_at, ends_at?, place?, capacity?}`) a meetup; `attachments` are
        ids from `upload`."""
        payload = _new_message(body, reply_to, nonce, question, poll, event, attachments)
        return await self._obj("POST", f"/api/rooms/{room_id}/messages", "message", json=payload)

    async def edit_message(self, id: int, body: str) -> Frame:
        return await self._obj("PATCH", f"/api/messages/{id}", "message", json={"body": body})

    async def delete_message(self, id: int) -> None:
        await self.http("DELETE", f"/api/messages/{id}")

    async def react_http(self, message_id: int, emoji: str) -> list[Frame]:
        return await self._list("PUT", _reaction_path(message_id, emoji), "reactions")

    async def unreact_http(self, message_id: int, emoji: str) -> list[Frame]:
        return await self._list("DELETE", _reaction_path(message_id, emoji), "reactions")

    # ---- invites --------------------------------------------------------------------------

    async def create_invite(
        self,
        room_id: int,
        max_uses: int | None = None,
        expires_in_s: int | None = None,
        role: str | None = None,
    ) -> Frame:
        """Moderators: a new invite `{code, url, room, role, max_uses, uses, expires_at,
        created_by, revoked}`; `max_uses` None is no limit, the expiry defaults to 7 days."""
        payload = _present(max_uses=max_uses, expires_in_s=expires_in_s, role=role)
        return await self._obj("POST", f"/api/rooms/{room_id}/invites", "invite", json=payload)

    async def invites(self, room_id: int) -> list[Frame]:
        """Moderators: the room's invites, newest first."""
        return await self._list("GET", f"/api/rooms/{room_id}/invites", "invites")

    async def revoke_invite(self, code: str) -> None:
        await self.http("DELETE", _invite_path(code))

    async def invite(self, code: str) -> Frame:
        """What an invite opens, `{room: {name, kind, member_count}, expires_at, role}`;
        needs no login. ApiError `expired` (410) once it lets nobody in."""
        return await self._obj("GET", _invite_path(code), "invite")

    async def accept_invite(self, code: str) -> Frame:
        """Join the invite's room; returns the Room."""
        return await self._obj("POST", _invite_path(code, "/accept"), "room")

    async def invite_qr(self, code: str) -> str:
        """The invite's link as a QR code, an SVG document."""
        return (await self._request("GET", _invite_path(code, "/qr.svg"), with_token=False)).text

    async def friends(self) -> Frame:
        """`{friends, incoming, outgoing}`, each a list of users."""
        return await self._obj("GET", "/api/friends", None)

    async def add_friend(self, username: str) -> str:
        """Returns `requested`, or `friends` when the other user had already asked."""
        body = await self.http("POST", "/api/friends", json={"username": username})
        status: str = body["status"]
        return status

    async def remove_friend(self, user_id: int) -> None:
        await self.http("DELETE", f"/api/friends/{user_id}")

    async def block(self, username: str) -> None:
        await self.http("POST", "/api/blocks", json={"username": username})

    async def unblock(self, user_id: int) -> None:
        await self.http("DELETE", f"/api/blocks/{user_id}")

    async def open_dm(self, username: str | Sequence[str]) -> Frame:
        """A DM with one person, or a group DM when given several usernames."""
        body = (
            {"username": username} if isinstance(username, str) else {"usernames": list(username)}
        )
        return await self._obj("POST", "/api/dms", "room", json=body)

    async def notification_settings(self) -> Frame:
        return await self._obj("GET", "/api/settings/notifications", None)

    async def set_notification_settings(
        self, default: str | None = None, rooms: dict[int, str | None] | None = None
    ) -> Frame:
        """A `None` level in `rooms` removes that room's override, as the protocol defines."""
        payload = _present(default=default)
        if rooms is not None:
            payload["rooms"] = {str(room): level for room, level in rooms.items()}
        return await self._obj("PUT", "/api/settings/notifications", None, json=payload)

    async def notifications(self, unread: bool = False) -> list[Frame]:
        params = {"unread": "true"} if unread else None
        return await self._list("GET", "/api/notifications", "notifications", params)

    async def mark_notifications_read(
        self, ids: list[int] | None = None, all: bool = False
    ) -> None:
        payload: Frame = {"all": True} if all else {"ids": list(ids or [])}
        await self.http("POST", "/api/notifications/read", json=payload)

    # ---- pins and reports ---------------------------------------------------------------

    async def pin(self, room_id: int, message_id: int) -> None:
        """Moderators: pin a message (idempotent; a 51st pin is `limit_reached`)."""
        await self.http("PUT", f"/api/rooms/{room_id}/pins/{message_id}")

    async def unpin(self, room_id: int, message_id: int) -> None:
        await self.http("DELETE", f"/api/rooms/{room_id}/pins/{message_id}")

    async def report(self, message_id: int, reason: str) -> None:
        """Report a message to mentors and admins (1-500 characters of reason)."""
        await self.http("POST", f"/api/messages/{message_id}/report", json={"reason": reason})

    async def reports(
        self, state: str = "open", before: int | None = None, limit: int | None = None
    ) -> list[Frame]:
        """Mentors and admins: reports, newest first; `message` is the reported snapshot."""
        params = {"state": state, "before": before, "limit": limit}
        return await self._list("GET", "/api/reports", "reports", params)

    async def resolve_report(self, report_id: int, action: str) -> None:
        """Mentors and admins: `dismiss`, or `delete` the message as a moderator."""
        await self.http("POST", f"/api/reports/{report_id}/resolve", json={"action": action})

    # ---- questions and workshops --------------------------------------------------------

    async def ask(self, message_id: int) -> Frame:
        """Turn a message into an open question, or reopen an answered one (its author
        or the room's moderators)."""
        path = f"/api/messages/{message_id}/question"
        return await self._obj("PUT", path, "message", json={"state": "open"})

    async def answer(self, message_id: int, answer: int | None = None) -> Frame:
        """Mark a question answered, optionally by a message of the same room."""
        payload = _present(state="answered", answer=answer)
        path = f"/api/messages/{message_id}/question"
        return await self._obj("PUT", path, "message", json=payload)

    async def vote(self, message_id: int) -> Frame:
        """Upvote someone else's question (idempotent)."""
        return await self._obj("PUT", f"/api/messages/{message_id}/question/vote", "message")

    async def unvote(self, message_id: int) -> Frame:
        return await self._obj("DELETE", f"/api/messages/{message_id}/question/vote", "message")

    async def claim(self, message_id: int) -> Frame:
        """Moderators: "I am on it" on an open question (idempotent)."""
        return await self._obj("PUT", f"/api/messages/{message_id}/question/claim", "message")

    async def unclaim(self, message_id: int) -> Frame:
        return await self._obj("DELETE", f"/api/messages/{message_id}/question/claim", "message")

    # ---- polls --------------------------------------------------------------------------

    async def vote_poll(self, message_id: int, options: list[int]) -> Frame:
        """Set the caller's whole vote in a poll (option ids; `[]` withdraws it)."""
        path = f"/api/messages/{message_id}/poll/vote"
        return await self._obj("PUT", path, "message", json={"options": options})

    async def close_poll(self, message_id: int) -> Frame:
        """Close a poll (its author, the room's moderators)."""
        return await self._obj("POST", f"/api/messages/{message_id}/poll/close", "message")

    async def poll_voters(self, message_id: int) -> list[Frame]:
        """Who chose what: `[{id, text, voters: [User]}]` per option (`forbidden` for an
        anonymous poll)."""
        return await self._list("GET", f"/api/messages/{message_id}/poll/voters", "options")

    async def questions(
        self, room_id: int, state: str = "open", sort: str = "votes", limit: int | None = None
    ) -> list[Frame]:
        """The room's question queue: `votes` (then oldest) or `oldest` first."""
        params = {"state": state, "sort": sort, "limit": limit}
        return await self._list("GET", f"/api/rooms/{room_id}/questions", "questions", params)

    async def start_workshop(
        self,
        room_id: int,
        duration_s: int,
        slow_mode: int | None = None,
        guests: bool | None = None,
    ) -> Frame:
        """Moderators: workshop mode (slow mode, question mode, optionally guests) for
        `duration_s`; returns the room with `workshop: {ends_at}`."""
        payload = _present(duration_s=duration_s, slow_mode=slow_mode, guests=guests)
        return await self._obj("POST", f"/api/rooms/{room_id}/workshop", "room", json=payload)

    async def stop_workshop(self, room_id: int) -> Frame:
        """Moderators: end the workshop now; returns its summary."""
        return await self._obj("DELETE", f"/api/rooms/{room_id}/workshop", "summary")

    async def workshop_summary(self, room_id: int) -> Frame:
        """The summary of the room's latest finished workshop."""
        return await self._obj("GET", f"/api/rooms/{room_id}/workshop/summary", "summary")

    # ---- meetups ---------------------------------------------------------------------------

    async def rsvp(self, message_id: int, status: str) -> Frame:
        """Answer a meetup: `going` (`waitlisted` once it is full), `maybe` or `no`;
        returns the message, `event.my_rsvp` and `event.waitlist_position` filled in."""
        path = f"/api/messages/{message_id}/rsvp"
        return await self._obj("PUT", path, "message", json={"status": status})

    async def update_event(self, message_id: int, **changes: Any) -> Frame:
        """The creator or the room's moderators change or move a meetup: any of `title`,
        `starts_at`, `ends_at`, `place`, `capacity` (None clears the last three)."""
        path = f"/api/messages/{message_id}/event"
        return await self._obj("PATCH", path, "message", json=changes)

    async def cancel_event(self, message_id: int) -> Frame:
        """The creator or the room's moderators cancel a meetup."""
        return await self._obj("POST", f"/api/messages/{message_id}/event/cancel", "message")

    async def event(self, message_id: int) -> Frame:
        """One meetup as the caller sees it: `{message, room, friends_going}`."""
        return await self._obj("GET", f"/api/messages/{message_id}/event", "event")

    async def list_events(
        self, upcoming: bool = True, region: str | None = None, limit: int | None = None
    ) -> list[Frame]:
        """Meetups in the rooms the caller may read, soonest first, each
        `{message, room, friends_going}`; `region` keeps those of that region's rooms."""
        params = {"upcoming": "true" if upcoming else "false", "region": region, "limit": limit}
        return await self._list("GET", "/api/events", "events", params)

    async def event_ics(self, message_id: int) -> str:
        """The meetup as an iCalendar file (text/calendar)."""
        return (await self._request("GET", f"/api/messages/{message_id}/event.ics")).text

    # ---- WebSocket: connection lifecycle ------------------------------------------------

    async def connect(self, since: dict[int, int] | None = None) -> Frame:
        """Open the socket and return `ready`; `since` defaults to the seqs already tracked."""
        if self._runner is not None and not self._runner.done():
            raise RuntimeError("already connected (or reconnecting)")
        self._closing = False
        self._reset_queue()
        for room, seq in (since or {}).items():
            self.last_seq[room] = seq
        ws, ready = await self._open(since if since is not None else dict(self.last_seq))
        self._runner = asyncio.create_task(self._run(ws))
        return ready

    async def _open(self, since: dict[int, int]) -> tuple[ClientConnection, Frame]:
        """Connect and handshake; replies to `since` may skip seqs, so those rooms replay."""
        origin = Origin(self.origin) if self.origin is not None else None
        try:
            # Larger than the server's frame limit, so the server is always the side enforcing it.
            ws = await connect(self.ws_url, origin=origin, max_size=2**20, open_timeout=10)
        except InvalidStatus as exc:
            body: Any = None
            with contextlib.suppress(ValueError):
                body = json.loads(exc.response.body or b"")
            raise _error_from_response(
                exc.response.status_code,
                body,
                httpx.Headers(dict(exc.response.headers.raw_items())),
            ) from exc
        hello: Frame = {"op": "hello", "v": 1, "token": self.token}
        if since:
            hello["since"] = {str(room): seq for room, seq in since.items()}
        try:
            await ws.send(json.dumps(hello))
            async with asyncio.timeout(10):
                raw = await ws.recv()
            frame = json.loads(raw)
        except ConnectionClosed as exc:
            await ws.wait_closed()
            self.close_code = ws.close_code
            raise SocketClosed(ws.close_code, ws.close_reason or "") from exc
        except BaseException:
            await ws.close()
            raise
        if not isinstance(frame, dict) or frame.get("op") != "ready":
            await ws.close()
            if isinstance(frame, dict) and frame.get("op") == "error":
                raise ApiError(frame.get("code", "error"), frame.get("message", ""))
            raise ApiError("bad_request", f"expected ready, got {raw!r:.200}")
        self._replaying = set(since)
        self._on_ready(frame, since)
        self._ws, self.ready, self.connected, self.close_code = ws, frame, True, None
        return ws, frame

    def _on_ready(self, ready: Frame, since: dict[int, int]) -> None:
        rooms = {int(r["id"]): r for r in ready.get("rooms", [])}
        # A room we asked to replay but are no longer in will never send room.synced.
        self._replaying &= set(rooms)
        for room_id, room in rooms.items():
            current = room.get("last_seq")
            if not isinstance(current, int):
                continue
            if room_id not in self.last_seq:
                self.last_seq[room_id] = current
            if current <= since.get(room_id, -1):
                self._replaying.discard(room_id)  # nothing to replay: live seqs are contiguous

    async def _run(self, ws: ClientConnection) -> None:
        """Read until the socket closes, then reconnect unless the close was final."""
        try:
            while True:
                with contextlib.suppress(ConnectionClosed):
                    async for raw in ws:
                        self._dispatch(raw)
                await ws.wait_closed()
                self._dropped(ws.close_code, ws.close_reason or "")
                if self._closing or not self.reconnect or ws.close_code == 4001:
                    return
                reopened = await self._reopen()
                if reopened is None:
                    return
                ws, ready = reopened
                self._queue.put_nowait(
                    {"op": "event", "type": "client.reconnected", "ready": ready}
                )
        finally:
            self.connected = False
            self._queue.put_nowait(_STOP)

    async def _reopen(self) -> tuple[ClientConnection, Frame] | None:
        """Retry with capped exponential backoff and jitter, so a restarted server isn't stormed."""
        delay = _BACKOFF_START
        while True:
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _BACKOFF_CAP)
            if self._closing:
                return None
            try:
                return await self._open(dict(self.last_seq))
            except SocketClosed as exc:
                if exc.close_code == 4001:
                    return None
            except ApiError as exc:
                if exc.status in (401, 403):  # refused for good: bad token or Origin
                    return None
            except (OSError, TimeoutError, ConnectionClosed, ValueError):
                self._next_node()

    def _next_node(self) -> None:
        urls = self._ws_urls
        self.ws_url = urls[(urls.index(self.ws_url) + 1) % len(urls)]

    def _dropped(self, code: int | None, reason: str) -> None:
        self.connected = False
        self.close_code = code
        self._ws = None
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(SocketClosed(code, reason))
        self._pending.clear()

    async def close(self) -> None:
        """Close the socket for good (no reconnect) and the HTTP client if we created it."""
        self._closing = True
        runner, self._runner = self._runner, None
        if self._ws is not None:
            await self._ws.close()  # the runner sees the close, and `_closing`, and stops
        elif runner is not None:
            runner.cancel()  # between reconnect attempts: nothing to close gracefully
        if runner is not None:
            await asyncio.wait({runner})
            if not runner.cancelled():
                runner.result()  # surface a failure of the reader rather than losing it
        if self._ws is not None:  # opened by a reconnect that raced the cancel
            await self._ws.close()
            self._ws = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.connected = False
        if self._owns_http:
            await self._http.aclose()

    # ---- WebSocket: frames ---------------------------------------------------------------

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        ref = frame.get("ref")
        if frame.get("op") in ("ok", "pong", "error") and isinstance(ref, int):
            fut = self._pending.pop(ref, None)
            if fut is not None and not fut.done():
                fut.set_result(frame)
                return
        if frame.get("op") == "event":
            self._track(frame)
        # Replies nobody waits for (bad frames sent raw, timed-out refs) go to the stream too.
        self._queue.put_nowait(frame)

    def _track(self, event: Frame) -> None:
        """Follow per-room seqs; a live jump means a missed event, which sync repairs."""
        # `room.updated` carries the whole Room as `room`: its id names the room.
        kind, room, seq = event.get("type"), _room_of(event), event.get("seq")
        if kind not in SEQUENCED or room is None or not isinstance(seq, int):
            return
        last = self.last_seq.get(room)
        if kind == "room.synced":
            self._replaying.discard(room)
            self.last_seq[room] = seq if event.get("reset") else max(seq, last or 0)
            return
        if last is not None and seq > last + 1 and room not in self._replaying:
            self.gaps.append((room, last + 1, seq))
            if self.auto_sync:
                self._replaying.add(room)
                self._spawn(self._auto_sync(room, last))
        self.last_seq[room] = max(seq, last or 0)

    async def _auto_sync(self, room: int, since: int) -> None:
        try:
            await self.request("sync", room=room, since=since)
        except (ApiError, ConnectionError, TimeoutError):
            self._replaying.discard(room)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send_raw(self, data: str | bytes) -> None:
        """Send an arbitrary frame, for testing how the server treats malformed input."""
        if self._ws is None:
            raise SocketClosed(self.close_code, "not connected")
        await self._ws.send(data)

    async def request(self, op: str, **fields: Any) -> Frame:
        """Send an op and await its reply by `ref` (up to `request_timeout`); ApiError on error."""
        if self._ws is None or not self.connected:
            raise SocketClosed(self.close_code, "not connected")
        self._ref += 1
        ref = self._ref
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[ref] = fut
        try:
            await self._ws.send(json.dumps({"op": op, "ref": ref, **fields}))
            reply = await asyncio.wait_for(fut, self.request_timeout)
        except ConnectionClosed as exc:
            raise SocketClosed(self.close_code, "connection closed") from exc
        finally:
            self._pending.pop(ref, None)
        if reply.get("op") == "error":
            retry = reply.get("retry_after")
            until = reply.get("until")
            raise ApiError(
                reply.get("code", "error"),
                reply.get("message", ""),
                None,
                float(retry) if retry is not None else None,
                until if isinstance(until, str) else None,
            )
        return reply

    async def _result(self, op: str, key: str, **fields: Any) -> Any:
        return (await self.request(op, **_present(**fields)))[key]

    async def send(
        self,
        room: int,
        body: str,
        reply_to: int | None = None,
        nonce: str | int | None = None,
        question: bool = False,
        poll: Frame | None = None,
        event: Frame | None = None,
        attachments: Sequence[int] | None = None,
    ) -> Frame:
        """Send a message; `attachments` are ids from `upload` (up to 10; the body may
        then be empty)."""
        fields = _new_message(body, reply_to, nonce, question, poll, event, attachments)
        message: Frame = await self._result("send", "message", room=room, **fields)
        return message

    async def edit(self, message: int, body: str) -> Frame:
        edited: Frame = await self._result("edit", "message", message=message, body=body)
        return edited

    async def delete(self, message: int) -> Frame:
        return await self.request("delete", message=message)

    async def react(self, message: int, emoji: str) -> list[Frame]:
        reactions: list[Frame] = await self._result(
            "react", "reactions", message=message, emoji=emoji
        )
        return reactions

    async def unreact(self, message: int, emoji: str) -> list[Frame]:
        reactions: list[Frame] = await self._result(
            "unreact", "reactions", message=message, emoji=emoji
        )
        return reactions

    async def typing(self, room: int) -> Frame:
        return await self.request("typing", room=room)

    async def read(self, room: int, seq: int) -> Frame:
        return await self.request("read", room=room, seq=seq)

    async def history_ws(
        self,
        room: int,
        before: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[Frame]:
        messages: list[Frame] = await self._result(
            "history", "messages", room=room, before=before, after=after, limit=limit
        )
        return messages

    async def sync(self, room: int, since: int) -> Frame:
        """Ask for a replay; the room's seqs may jump until its `room.synced` arrives."""
        self._replaying.add(room)
        try:
            return await self.request("sync", room=room, since=since)
        except BaseException:
            self._replaying.discard(room)
            raise

    async def ping(self) -> Frame:
        return await self.request("ping")

    # ---- Events --------------------------------------------------------------------------

    def _take_all(self) -> tuple[list[Frame], bool]:
        frames: list[Frame] = []
        stopped = False
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is _STOP:
                stopped = True
            else:
                frames.append(item)
        return frames, stopped

    def _reset_queue(self) -> None:
        """Drop a stale end-of-stream marker so a new connection's events can be awaited."""
        for frame in self._take_all()[0]:
            self._queue.put_nowait(frame)

    async def _get(self) -> Frame | None:
        """Next queued frame, or None once the connection is gone for good."""
        item = await self._queue.get()
        if item is _STOP:
            self._queue.put_nowait(_STOP)  # keep later callers from waiting too
            return None
        frame: Frame = item
        return frame

    async def events(self) -> AsyncIterator[Frame]:
        """Yield events (and unclaimed replies) until the connection closes for good."""
        while (frame := await self._get()) is not None:
            yield frame

    async def next_event(
        self,
        type: str | None = None,
        *,
        timeout: float = 5.0,
        room: int | None = None,
    ) -> Frame:
        """Return the next matching event, discarding others; TimeoutError if none comes."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self._get()
                if frame is None:
                    raise SocketClosed(self.close_code, "connection closed, no more events")
                if type is not None and frame.get("type") != type:
                    continue
                if room is not None and _room_of(frame) != room:
                    continue
                return frame

    def drain_events(self) -> list[Frame]:
        """Everything queued right now, without waiting."""
        frames, stopped = self._take_all()
        if stopped:
            self._queue.put_nowait(_STOP)
        return frames


def _room_of(frame: Frame) -> int | None:
    """The room id of an event, whether it carries an id or a whole Room object."""
    room = frame.get("room")
    if isinstance(room, dict):
        room = room.get("id")
    return room if isinstance(room, int) else None
