"""Re-reading, every few seconds, what the users with sockets on this node may still do.

Revocations and role changes made through the API reach every node at once on the
control channel. The operator's CLI reaches it too when the servers share Redis; with
the embedded in-process broker it cannot, so each node also re-reads the accounts of
its connected users now and then: a revoked token or a deactivated or deleted account
closes its sockets (4001), a changed role takes effect on the next op.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.protocol.closecodes import CloseCode
from chatserver.services.lifecycle import AccountLifecycle

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
BATCH = 1000
"""Users whose accounts one query re-reads: bounds a statement's parameters."""


async def recheck(hub: Hub, lifecycle: AccountLifecycle) -> None:
    """Close the sockets whose token or account is gone; give the others their role."""
    users = list(hub.users.items())
    for start in range(0, len(users), BATCH):
        conns: list[Connection] = [c for _, cs in users[start : start + BATCH] for c in cs]
        standing = await lifecycle.standing({c.user.id for c in conns}, {c.token_id for c in conns})
        for conn in conns:
            role = standing.roles.get(conn.user.id)
            if role is None or conn.token_id not in standing.tokens:
                conn.close(CloseCode.UNAUTHORIZED, "signed out")
            elif role != conn.user.role:
                conn.user = dataclasses.replace(conn.user, role=role)
        await asyncio.sleep(0)


async def recheck_periodically(
    hub: Hub, lifecycle: AccountLifecycle, every: float = RECHECK_SECONDS
) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await recheck(hub, lifecycle)
        except Exception as exc:  # the database may be restarting; the next round retries
            log.warning("accounts of open sockets not re-read: %s", exc)
