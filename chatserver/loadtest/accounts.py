"""Accounts and rooms for a run against this server, over its HTTP API.

Registration hashes a password with argon2, which is slow on purpose (a tenth of a second
or more per account), so accounts are registered with bounded concurrency, and their
tokens can be kept in a cache file so later runs against the same database skip it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx

from chatserver.loadtest.options import PASSWORD, Options

T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """Tokens by account index, and room ids by room index."""

    tokens: list[str]
    room_ids: list[int]


def username(opts: Options, index: int) -> str:
    return f"lt-{opts.prefix}-{index}"


def room_slug(opts: Options, index: int) -> str:
    return f"lt-{opts.room_prefix}-r{index}"


def room_index_of_account(opts: Options, account: int) -> int:
    return account % opts.rooms if opts.rooms else 0


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the jobs with at most `limit` in flight, results in job order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


class TokenCache:
    """`{username: token}` in a JSON file kept beside the server's database (one file per
    database); stale tokens are detected with one cheap request each and replaced."""

    def __init__(self, path: str | None) -> None:
        self._path = Path(path) if path else None
        self._tokens: dict[str, str] = {}
        if self._path is not None and self._path.exists():
            self._tokens = json.loads(self._path.read_text())

    def get(self, name: str) -> str | None:
        return self._tokens.get(name)

    def put(self, name: str, token: str) -> None:
        self._tokens[name] = token

    def save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._tokens))
        os.replace(tmp, self._path)


async def _call(
    http: httpx.AsyncClient, method: str, path: str, token: str | None = None, **kw: Any
) -> httpx.Response:
    """One request, waiting out `rate_limited` answers (the server says how long)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(50):
        resp = await http.request(method, path, headers=headers, **kw)
        if resp.status_code != 429:
            return resp
        retry = float(resp.json().get("error", {}).get("retry_after", 1.0))
        await asyncio.sleep(min(retry, 5.0))
    raise RuntimeError(f"{method} {path}: still rate limited; raise CHAT_RATE_LIMIT_SCALE")


async def _token_for(http: httpx.AsyncClient, cache: TokenCache, name: str) -> str:
    cached = cache.get(name)
    if cached is not None and (await _call(http, "GET", "/api/me", cached)).status_code == 200:
        return cached
    creds = {"username": name, "password": PASSWORD}
    resp = await _call(http, "POST", "/api/auth/register", json=creds)
    if resp.status_code == 409:
        resp = await _call(http, "POST", "/api/auth/login", json=creds)
    if resp.status_code not in (200, 201):
        raise RuntimeError(f"cannot get a token for {name}: {resp.status_code} {resp.text[:200]}")
    token = str(resp.json()["token"])
    cache.put(name, token)
    return token


async def _room_id(http: httpx.AsyncClient, opts: Options, index: int, token: str) -> int:
    slug = room_slug(opts, index)
    body = {"slug": slug, "name": f"Load test {index}", "kind": "topic"}
    resp = await _call(http, "POST", "/api/rooms", token, json=body)
    if resp.status_code == 201:
        return int(resp.json()["room"]["id"])
    if resp.status_code != 409:
        raise RuntimeError(f"cannot create room {slug}: {resp.status_code} {resp.text[:200]}")
    found = await _call(http, "GET", "/api/rooms", token, params={"q": slug})
    for room in found.json()["rooms"]:
        if room["slug"] == slug:
            return int(room["id"])
    raise RuntimeError(f"room {slug} exists but is not visible to {username(opts, index)}")


async def _join(http: httpx.AsyncClient, room_id: int, token: str) -> None:
    resp = await _call(http, "POST", f"/api/rooms/{room_id}/join", token)
    if resp.status_code != 200:
        raise RuntimeError(f"cannot join room {room_id}: {resp.status_code} {resp.text[:200]}")


async def prepare(opts: Options) -> Prepared:
    """Register (or reuse) every account, create (or find) every room, and join them."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=opts.http_url, timeout=120, limits=limits) as http:
        cache = TokenCache(opts.token_cache)
        names = [username(opts, a) for a in range(opts.registered)]
        _say(opts, f"accounts: {len(names)} (registering the missing ones)")
        try:
            tokens = await bounded(
                opts.register_concurrency, [partial(_token_for, http, cache, n) for n in names]
            )
        finally:
            cache.save()
        # Account j creates room j, so each room's creator is also one of its members.
        room_ids = [await _room_id(http, opts, j, tokens[j]) for j in range(opts.rooms)]
        if opts.open_day:
            tokens += await _open_day(http, opts, room_ids[0], tokens)
        _say(opts, f"rooms: {len(room_ids)}; joining")
        joins = (
            []
            if not room_ids
            else [
                partial(_join, http, room_ids[room_index_of_account(opts, a)], tokens[a])
                for a in range(opts.accounts)
            ]
        )
        await bounded(32, joins)
    return Prepared(tokens=tokens, room_ids=room_ids)


async def _open_day(
    http: httpx.AsyncClient, opts: Options, room_id: int, tokens: list[str]
) -> list[str]:
    """The room opened to guests, its mentors (room moderators, accounts 0..mentors-1; the
    owner is account 0) and fresh guests' tokens: guests have no password to log in again."""
    resp = await _call(
        http, "PATCH", f"/api/rooms/{room_id}", tokens[0], json={"guests_allowed": True}
    )
    if resp.status_code != 200:
        raise RuntimeError(f"cannot open the room to guests: {resp.status_code} {resp.text[:200]}")
    for token in tokens[1 : opts.mentors]:
        me = (await _call(http, "GET", "/api/me", token)).json()["user"]["id"]
        await _join(http, room_id, token)
        path = f"/api/rooms/{room_id}/members/{me}"
        resp = await _call(http, "PUT", path, tokens[0], json={"room_role": "moderator"})
        if resp.status_code != 200:
            raise RuntimeError(f"cannot make a mentor: {resp.status_code} {resp.text[:200]}")
    _say(opts, f"guests: {opts.guests} (no password: created in a few seconds)")
    return await bounded(32, [partial(_guest, http, i) for i in range(opts.guests)])


async def _guest(http: httpx.AsyncClient, index: int) -> str:
    resp = await _call(http, "POST", "/api/auth/guest", json={"display_name": f"Visitor {index}"})
    if resp.status_code != 201:
        raise RuntimeError(f"cannot create a guest: {resp.status_code} {resp.text[:200]}")
    return str(resp.json()["token"])


def write_plan(opts: Options, prepared: Prepared, path: str) -> None:
    """What benchmarks/node/loadclient.mjs needs to drive this server without HTTP."""
    clients = [
        {
            "token": prepared.tokens[i % opts.accounts],
            "room": prepared.room_ids[room_index_of_account(opts, i % opts.accounts)]
            if prepared.room_ids
            else 0,
        }
        for i in range(opts.clients)
    ]
    plan = {"urls": list(opts.urls), "rooms": prepared.room_ids, "clients": clients}
    Path(path).write_text(json.dumps(plan))


def _say(opts: Options, text: str) -> None:
    if not opts.quiet:
        print(text, file=sys.stderr, flush=True)
