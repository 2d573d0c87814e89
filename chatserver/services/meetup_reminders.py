"""The reminder scheduler: every node looks for reminders due, in the database, every few
seconds. Nothing is kept in memory between rounds, so a restart loses nothing, and a
reminder is claimed by the row its sending inserts (see MeetupService.remind_due), so with
several nodes each reminder still goes once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from chatserver.services.meetups import MeetupService

log = logging.getLogger(__name__)


async def remind_periodically(meetups: MeetupService, offsets: Sequence[int], every: float) -> None:
    """Run forever: one round of due reminders every `every` seconds."""
    if not offsets:
        return
    while True:
        await asyncio.sleep(every)
        try:
            sent = await meetups.remind_due(offsets)
            if sent:
                log.info("meetup reminders sent: %d", sent)
        except Exception as exc:  # the database may be restarting; the next round retries
            log.warning("meetup reminders not sent: %s", exc)
