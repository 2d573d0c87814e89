"""Attaching uploads to the message being sent, in the send's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import BadRequest, Conflict, NotFound
from chatserver.domain.models import Upload, User
from chatserver.store import uploads as store

MAX_ATTACHMENTS = 10


def check_ids(upload_ids: Sequence[int]) -> None:
    """At most 10, each once: checked before anything is read."""
    if len(upload_ids) > MAX_ATTACHMENTS:
        raise BadRequest(f"a message has at most {MAX_ATTACHMENTS} attachments")
    if len(set(upload_ids)) != len(upload_ids):
        raise BadRequest("an upload is attached once")


async def attach(
    conn: AsyncConnection, user: User, upload_ids: Sequence[int], message_id: int
) -> tuple[Upload, ...]:
    """Attach the caller's own ready, unattached uploads to the message, in the order
    given: `not_found` for an upload that is not theirs (or not there), `conflict` for one
    already attached. Each is taken by a conditional UPDATE, so two sends racing for one
    upload (or a send racing the sweep) leave it to exactly one."""
    check_ids(upload_ids)
    found = await store.get_many(conn, upload_ids)
    attached: list[Upload] = []
    for position, upload_id in enumerate(upload_ids):
        upload, state = found.get(upload_id, (None, "gone"))
        if upload is None or upload.owner_id != user.id or state != "ready":
            raise NotFound(f"no upload {upload_id} of yours")
        if upload.message_id is not None:
            raise Conflict(f"upload {upload_id} is already attached to a message")
        if not await store.attach(conn, user.id, upload_id, message_id, position):
            raise Conflict(f"upload {upload_id} is no longer available")
        attached.append(replace(upload, message_id=message_id))
    return tuple(attached)
