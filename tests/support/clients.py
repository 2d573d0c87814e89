"""Small helpers the e2e tests share about SDK clients: who they are, and refusals."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest

from chatserver.sdk import ApiError, ChatClient


async def refused(call: Awaitable[Any]) -> ApiError:
    """The refusal a call must end in (the test fails if it succeeds)."""
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


def uid(client: ChatClient) -> int:
    assert client.user is not None
    return int(client.user["id"])


def name(client: ChatClient) -> str:
    assert client.user is not None
    return str(client.user["username"])
