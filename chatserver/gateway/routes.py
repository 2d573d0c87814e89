"""The HTTP API of PROTOCOL.md (and its documented extensions), one small handler each."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain.emojis import search_emoji
from chatserver.domain.errors import BadRequest, ChatError, Internal
from chatserver.domain.models import Level, Room
from chatserver.gateway.api import (
    Call,
    client_ip,
    endpoint,
    error_response,
    json_response,
    read_json,
)
from chatserver.protocol import wire
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

MAX_LIST = 200
log = logging.getLogger(__name__)


def _limit(call: Call, default: int, maximum: int) -> int:
    value = call.query_int("limit")
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}")
    return value


# -- accounts -------------------------------------------------------------------------


async def _auth(request: Request, register: bool) -> Response:
    services: Services = request.app.state.services
    settings = request.app.state.settings
    try:
        ip = client_ip(request, settings.trust_proxy_headers)
        await enforce(services.limiter, services.limits.auth_ip, ip)
        body = await read_json(request, settings.max_http_body_bytes)
        if not isinstance(body, dict):
            raise BadRequest("send a JSON object with username and password")
        if register:
            user, token = await services.accounts.register(
                body.get("username"), body.get("password"), body.get("display_name")
            )
        else:
            name = body.get("username")
            await enforce(services.limiter, services.limits.login_user, str(name)[:40].lower())
            user, token = await services.accounts.login(name, body.get("password"))
    except ChatError as error:
        return error_response(error)
    except Exception:
        log.exception("unexpected error in %s", request.url.path)
        return error_response(Internal("internal error; it has been logged"))
    return json_response({"user": wire.self_out(user), "token": token}, 201 if register else 200)


async def register(request: Request) -> Response:
    return await _auth(request, register=True)


async def login(request: Request) -> Response:
    return await _auth(request, register=False)


async def logout(call: Call) -> None:
    await call.services.accounts.logout(call.token_id)


async def me(call: Call) -> Any:
    return {"user": wire.self_out(call.user)}


async def update_me(call: Call) -> Any:
    user = await call.services.accounts.update_profile(call.user, call.body)
    return {"user": wire.self_out(user)}


async def search_users(call: Call) -> Any:
    users = await call.services.accounts.search(call.query("q") or "", _limit(call, 20, 50))
    return {"users": wire.users_out(users)}


async def get_user(call: Call) -> Any:
    return {"user": wire.user_out(await call.services.accounts.get_user(call.path_int("id")))}


# -- rooms ----------------------------------------------------------------------------


async def _room_out(call: Call, room: Room, **extra: Any) -> dict[str, Any]:
    if room.kind == "dm":
        peers = await call.services.session.dm_peers([room], call.user)
        extra["peers"] = wire.users_out(peers.get(room.id, []))
    return wire.room_out(room, **extra)


def _marks(joined: bool, room: Room, marks: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """`joined`, and for the caller's own rooms their read marker and unread count."""
    if not joined:
        return {"joined": False}
    last_read, unread = marks.get(room.id, (0, 0))
    return {"joined": True, "unread": unread, "last_read_seq": last_read}


async def list_rooms(call: Call) -> Any:
    found = await call.services.rooms.directory(
        call.user, call.query("kind") or None, call.query("q"), _limit(call, MAX_LIST, MAX_LIST)
    )
    peers = await call.services.session.dm_peers([room for room, _ in found], call.user)
    marks = await call.services.session.marks(call.user)
    rooms = []
    for room, joined in found:
        extra = _marks(joined, room, marks)
        if room.kind == "dm":
            extra["peers"] = wire.users_out(peers.get(room.id, []))
        rooms.append(wire.room_out(room, **extra))
    return {"rooms": rooms}


async def create_room(call: Call) -> Any:
    room = await call.services.rooms.create(call.user, call.body)
    return {"room": await _room_out(call, room, joined=True)}


async def get_room(call: Call) -> Any:
    room, membership = await call.services.rooms.get(call.user, call.path_int("id"))
    marks = await call.services.session.marks(call.user) if membership else {}
    return {"room": await _room_out(call, room, **_marks(membership is not None, room, marks))}


async def join_room(call: Call) -> Any:
    room = await call.services.rooms.join(call.user, call.path_int("id"))
    return {"room": await _room_out(call, room, joined=True)}


async def leave_room(call: Call) -> None:
    await call.services.rooms.leave(call.user, call.path_int("id"))


async def add_member(call: Call) -> Any:
    room = await call.services.rooms.add_member(
        call.user, call.path_int("id"), call.field("user_id")
    )
    return {"room": await _room_out(call, room)}


async def room_members(call: Call) -> Any:
    members = await call.services.rooms.members(
        call.user, call.path_int("id"), call.query("q"), _limit(call, 500, 1000)
    )
    return {"members": [wire.member_out(user, online) for user, online in members]}


# -- messages and reactions -----------------------------------------------------------


async def history(call: Call) -> Any:
    messages = await call.services.messages.history(
        call.user,
        call.path_int("id"),
        call.query_int("before"),
        call.query_int("after"),
        call.query_int("limit"),
    )
    return {"messages": [wire.message_out(m) for m in messages]}


async def post_message(call: Call) -> Any:
    message = await call.services.messages.send(
        call.user,
        call.path_int("id"),
        call.field("body"),
        call.field("reply_to"),
        call.field("nonce"),
    )
    return {"message": wire.message_out(message)}


async def edit_message(call: Call) -> Any:
    message = await call.services.messages.edit(call.user, call.path_int("id"), call.field("body"))
    return {"message": wire.message_out(message)}


async def delete_message(call: Call) -> None:
    await call.services.messages.delete(call.user, call.path_int("id"))


async def add_reaction(call: Call) -> Any:
    reactions = await call.services.reactions.react(
        call.user, call.path_int("id"), call.request.path_params["emoji"]
    )
    return {"reactions": [wire.ReactionOut(r.emoji, r.count, r.me) for r in reactions]}


async def remove_reaction(call: Call) -> Any:
    reactions = await call.services.reactions.unreact(
        call.user, call.path_int("id"), call.request.path_params["emoji"]
    )
    return {"reactions": [wire.ReactionOut(r.emoji, r.count, r.me) for r in reactions]}


async def emoji_search(call: Call) -> Any:
    lang = call.query("lang") or "en"
    if lang not in ("en", "fr"):
        raise BadRequest("lang is en or fr")
    query = (call.query("q") or "")[:40]
    entries = search_emoji(query, lang, _limit(call, 50, 200))
    recent = await call.services.reactions.recent(call.user)
    return {
        "emoji": [
            {"emoji": e.emoji, "name": e.name, "aliases": list(e.aliases), "skins": list(e.skins)}
            for e in entries
        ],
        "recent": recent,
    }


# -- friends, blocks, DMs -------------------------------------------------------------


async def friends(call: Call) -> Any:
    mutual, incoming, outgoing = await call.services.social.lists(call.user)
    return {
        "friends": wire.users_out(mutual),
        "incoming": wire.users_out(incoming),
        "outgoing": wire.users_out(outgoing),
    }


async def add_friend(call: Call) -> Any:
    return {"status": await call.services.social.request_friend(call.user, call.field("username"))}


async def remove_friend(call: Call) -> None:
    await call.services.social.remove_friend(call.user, call.path_int("user_id"))


async def blocks(call: Call) -> Any:
    return {"blocked": wire.users_out(await call.services.social.blocked(call.user))}


async def block(call: Call) -> None:
    await call.services.social.block(call.user, call.field("username"))


async def unblock(call: Call) -> None:
    await call.services.social.unblock(call.user, call.path_int("user_id"))


async def open_dm(call: Call) -> Any:
    names = call.field("usernames")
    if names is None:
        names = [call.field("username")]
    if not isinstance(names, list):
        raise BadRequest("usernames must be a list")
    room = await call.services.social.open_dm(call.user, names)
    return {"room": await _room_out(call, room, joined=True)}


# -- notifications --------------------------------------------------------------------


def _settings_out(default: Level, rooms: dict[int, Level]) -> dict[str, Any]:
    return {"default": default, "rooms": {str(k): v for k, v in rooms.items()}}


async def notification_settings(call: Call) -> Any:
    return _settings_out(*await call.services.notifications.settings(call.user))


async def update_notification_settings(call: Call) -> Any:
    return _settings_out(
        *await call.services.notifications.update_settings(
            call.user, call.field("default"), call.field("rooms")
        )
    )


async def notifications(call: Call) -> Any:
    unread = (call.query("unread") or "").lower() in ("1", "true", "yes")
    items = await call.services.notifications.inbox(call.user, unread, _limit(call, 100, 500))
    return {"notifications": [wire.notification_out(n) for n in items]}


async def mark_notifications_read(call: Call) -> None:
    await call.services.notifications.mark_read(call.user, call.field("ids"), call.field("all"))


def api_routes() -> list[BaseRoute]:
    e = endpoint
    return [
        Route("/api/auth/register", register, methods=["POST"]),
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/logout", e(logout), methods=["POST"]),
        Route("/api/me", e(me), methods=["GET"]),
        Route("/api/me", e(update_me, body=True), methods=["PATCH"]),
        Route("/api/users", e(search_users), methods=["GET"]),
        Route("/api/users/{id:int}", e(get_user), methods=["GET"]),
        Route("/api/rooms", e(list_rooms), methods=["GET"]),
        Route("/api/rooms", e(create_room, status=201, body=True), methods=["POST"]),
        Route("/api/rooms/{id:int}", e(get_room), methods=["GET"]),
        Route("/api/rooms/{id:int}/join", e(join_room), methods=["POST"]),
        Route("/api/rooms/{id:int}/leave", e(leave_room), methods=["POST"]),
        Route("/api/rooms/{id:int}/members", e(add_member, body=True), methods=["POST"]),
        Route("/api/rooms/{id:int}/members", e(room_members), methods=["GET"]),
        Route("/api/rooms/{id:int}/messages", e(history), methods=["GET"]),
        Route(
            "/api/rooms/{id:int}/messages",
            e(post_message, status=201, body=True, message_cost=True),
            methods=["POST"],
        ),
        Route(
            "/api/messages/{id:int}",
            e(edit_message, body=True, message_cost=True),
            methods=["PATCH"],
        ),
        Route("/api/messages/{id:int}", e(delete_message), methods=["DELETE"]),
        Route(
            "/api/messages/{id:int}/reactions/{emoji}",
            e(add_reaction, message_cost=True),
            methods=["PUT"],
        ),
        Route(
            "/api/messages/{id:int}/reactions/{emoji}",
            e(remove_reaction, message_cost=True),
            methods=["DELETE"],
        ),
        Route("/api/emoji", e(emoji_search), methods=["GET"]),
        Route("/api/friends", e(friends), methods=["GET"]),
        Route("/api/friends", e(add_friend, body=True), methods=["POST"]),
        Route("/api/friends/{user_id:int}", e(remove_friend), methods=["DELETE"]),
        Route("/api/blocks", e(blocks), methods=["GET"]),
        Route("/api/blocks", e(block, body=True), methods=["POST"]),
        Route("/api/blocks/{user_id:int}", e(unblock), methods=["DELETE"]),
        Route("/api/dms", e(open_dm, body=True), methods=["POST"]),
        Route("/api/settings/notifications", e(notification_settings), methods=["GET"]),
        Route(
            "/api/settings/notifications",
            e(update_notification_settings, body=True),
            methods=["PUT"],
        ),
        Route("/api/notifications", e(notifications), methods=["GET"]),
        Route("/api/notifications/read", e(mark_notifications_read, body=True), methods=["POST"]),
    ]
