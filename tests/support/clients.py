"""Small helpers the e2e tests share about SDK clients: who they are, their refusals, the
events they wait for, making two of them friends, and guests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from chatserver.sdk import ApiError, ChatClient


async def refused(call: Awaitable[Any]) -> ApiError:
    """The refusal a call must end in (the test fails if it succeeds)."""
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


async def status_of(call: Awaitable[Any]) -> tuple[int | None, str]:
    """The HTTP status and error code of the refusal a call must end in, for tests that
    compare both in one assertion."""
    error = await refused(call)
    return error.status, error.code


def uid(client: ChatClient) -> int:
    assert client.user is not None
    return int(client.user["id"])


def name(client: ChatClient) -> str:
    assert client.user is not None
    return str(client.user["username"])


async def next_update(client: ChatClient, room_id: int, message_id: int) -> dict[str, Any]:
    """The next `message.updated` of that message, skipping anything else (other
    messages' updates in the room arrive on the same socket)."""
    async with asyncio.timeout(5):
        while True:
            event = await client.next_event("message.updated", room=room_id)
            if event["message"]["id"] == message_id:
                return event


async def befriend(a: ChatClient, b: ChatClient) -> None:
    """Make the two friends the way people do: `a` asks, `b` accepts."""
    assert await a.add_friend(name(b)) == "requested"
    assert await b.add_friend(name(a)) == "friends"


Guests = Callable[..., Awaitable[ChatClient]]
"""`await guests(display_name="Visitor", invite=None)`: a client signed in as a new guest."""


@contextlib.asynccontextmanager
async def guest_clients(base_url: str) -> AsyncIterator[Guests]:
    """Makes guest clients of the server at `base_url`, each closed on the way out."""
    made: list[ChatClient] = []

    async def make(display_name: str = "Visitor", invite: str | None = None) -> ChatClient:
        client = ChatClient(base_url)
        made.append(client)
        await client.guest(display_name, invite)
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.close()
