"""Meetup reminders and RSVPs where they are hardest: three nodes on one PostgreSQL and one
Redis, a node SIGKILLed at the very time reminders fall due (each reminder still reaches
each person going or maybe exactly once), racing RSVPs spread over the nodes (counts and
the waitlist exact, on PostgreSQL's row locks), and a lone node killed before a reminder
is due and restarted after (the reminder is sent then: nothing was kept in memory).

Reminder offsets are shortened with CHAT_EVENT_REMINDERS (seconds before the start) and
the scheduler looks every 0.2 s (CHAT_EVENT_REMINDER_POLL), so a day's wait takes seconds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess
from tests.support.services import postgres_database, redis_process

Frame = dict[str, Any]
OFFSETS = (8, 4)
"""Seconds before the start: the "24 h" and "1 h" reminders of these tests."""
START_IN = 20
"""Seconds from posting the meetups to their start: the setup must fit before the first
reminder (START_IN - OFFSETS[0]) on a busy machine."""
REMINDER_ENV = {
    "CHAT_EVENT_REMINDERS": ",".join(map(str, OFFSETS)),
    "CHAT_EVENT_REMINDER_POLL": "0.2",
}


def at_seconds(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Nodes:
    def __init__(self, workdir: Path, redis_url: str, database_url: str, size: int = 3):
        env = {"CHAT_REDIS_URL": redis_url, "CHAT_PRESENCE_GRACE": "0.5", **REMINDER_ENV}
        self.nodes = [
            ServerProcess(workdir, env=env, database_url=database_url) for _ in range(size)
        ]

    def start(self) -> None:
        for node in self.nodes:
            node.spawn()
        for node in self.nodes:
            node.wait_ready(120)  # they take turns migrating; a busy machine is slow

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    with redis_process(tmp_path) as redis, postgres_database() as database_url:
        cluster = Nodes(tmp_path, redis.url, database_url)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


async def _person(base: str, others: list[str], tag: str) -> ChatClient:
    client = ChatClient(base, fallback_urls=others)
    await client.register(f"{tag}{uuid.uuid4().hex[:10]}", "correct horse battery")
    return client


async def _people(nodes: Nodes, count: int, tag: str) -> list[ChatClient]:
    urls = [n.base_url for n in nodes.nodes]
    made = []
    for i in range(count):
        base = urls[i % len(urls)]
        # Clients of the node to be killed come back through a node that lives.
        made.append(await _person(base, [u for u in urls if u != base], tag))
    return made


async def _reminders(client: ChatClient, base: str | None = None) -> list[Frame]:
    """The `event` notifications in the client's inbox, read through `base` when given
    (a node that is still alive: the SDK's HTTP calls stay with their first node)."""
    if base is None:
        return [n for n in await client.notifications() if n["reason"] == "event"]
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        resp = await http.get(
            "/api/notifications", headers={"Authorization": f"Bearer {client.token}"}
        )
        resp.raise_for_status()
        return [n for n in resp.json()["notifications"] if n["reason"] == "event"]


@pytest.mark.redis
@pytest.mark.postgres
async def test_each_reminder_reaches_each_attendee_once_though_a_node_is_killed_at_its_time(
    nodes: Nodes,
) -> None:
    organiser, *people = await _people(nodes, 14, "rem")
    room = await organiser.create_room(f"rem-{uuid.uuid4().hex[:8]}", "Reminders", "topic")
    for person in people:
        await person.join(room["id"])
    # Four meetups starting together, three going or maybe at each, one silenced and one
    # waitlisted person who must get nothing.
    starts = time.monotonic() + START_IN
    meetups = []
    for i in range(4):
        spec = {"title": f"Meetup {i}", "starts_at": at_seconds(START_IN), "capacity": 2}
        meetups.append((await organiser.post_message(room["id"], f"m{i}", event=spec))["id"])
    attending: dict[int, list[ChatClient]] = {}
    for i, meetup in enumerate(meetups):
        trio = people[i * 3 : i * 3 + 3]
        await trio[0].rsvp(meetup, "going")
        await trio[1].rsvp(meetup, "maybe")
        await trio[2].rsvp(meetup, "going")
        attending[meetup] = trio
    waiting = people[12]
    await waiting.set_notification_settings(rooms={room["id"]: "all"})
    await people[11].set_notification_settings(rooms={room["id"]: "none"})  # going at #3
    # The waitlist: capacity 2 is taken by trio[0] and trio[2] everywhere.
    answered = await waiting.rsvp(meetups[0], "going")
    assert answered["event"]["my_rsvp"] == "waitlisted"
    for person in people:
        await person.connect()
    assert time.monotonic() < starts - OFFSETS[0], "the setup ran past the first reminder"

    # SIGKILL a node exactly when the first reminders fall due.
    first_due = starts - OFFSETS[0]
    await asyncio.sleep(max(0.0, first_due - time.monotonic()))
    nodes.nodes[1].kill()
    alive = nodes.nodes[0].base_url
    # Wait past the second reminder, plus a few scheduler rounds.
    await asyncio.sleep(max(0.0, starts - OFFSETS[1] + 2.5 - time.monotonic()))
    assert time.monotonic() < starts, "the test ran too slowly to check reminders"

    for meetup, trio in attending.items():
        for person in trio:
            got = [n for n in await _reminders(person, alive) if n["message"]["id"] == meetup]
            expected = 0 if person is people[11] else len(OFFSETS)
            assert len(got) == expected, f"meetup {meetup}: {len(got)} reminders"
            assert all(n["room"] == room["id"] for n in got)
    assert await _reminders(waiting, alive) == [], "the waitlist is not reminded"
    assert await _reminders(organiser, alive) == [], "the organiser did not answer"
    # Live pushes never duplicate (one killed before pushing may be lost: the inbox has it).
    for person in people:
        pushed = [
            e["notification"]["id"]
            for e in person.drain_events()
            if e.get("type") == "notification" and e["notification"]["reason"] == "event"
        ]
        assert len(pushed) == len(set(pushed))
    for client in (organiser, *people):
        await client.close()


@pytest.mark.redis
@pytest.mark.postgres
async def test_racing_rsvps_over_three_nodes_keep_counts_and_the_waitlist_exact(
    nodes: Nodes,
) -> None:
    organiser, *people = await _people(nodes, 25, "race")
    room = await organiser.create_room(f"race-{uuid.uuid4().hex[:8]}", "Race", "topic")
    for person in people:
        await person.join(room["id"])
    spec = {"title": "Eight places", "starts_at": at_seconds(3600), "capacity": 8}
    meetup = (await organiser.post_message(room["id"], "race", event=spec))["id"]
    # (Each answer holds the meetup's row lock: on a busy machine they take their time.)
    for client in people:
        client._http.timeout = httpx.Timeout(60)
    replies = await asyncio.gather(*(p.rsvp(meetup, "going") for p in people))
    statuses = [r["event"]["my_rsvp"] for r in replies]
    assert statuses.count("going") == 8 and statuses.count("waitlisted") == 16
    places = sorted(
        r["event"]["waitlist_position"] for r in replies if r["event"]["waitlist_position"]
    )
    assert places == list(range(1, 17)), "each place in line given once"
    line = sorted(
        (r["event"]["waitlist_position"], i)
        for i, r in enumerate(replies)
        if r["event"]["waitlist_position"]
    )
    going = [i for i, r in enumerate(replies) if r["event"]["my_rsvp"] == "going"]
    # Four going leave and three of the line switch to maybe, all at once, on three nodes.
    leavers, switchers = going[:4], [i for _, i in line[6:9]]
    await asyncio.gather(
        *(people[i].rsvp(meetup, "no") for i in leavers),
        *(people[i].rsvp(meetup, "maybe") for i in switchers),
    )
    final = (await organiser.event(meetup))["message"]["event"]
    assert (final["going"], final["maybe"], final["waitlist"]) == (8, 3, 9)
    in_line = [i for _, i in line if i not in switchers]
    for i in in_line[:4]:
        assert (await people[i].event(meetup))["message"]["event"]["my_rsvp"] == "going"
    for place, i in enumerate(in_line[4:], start=1):
        mine = (await people[i].event(meetup))["message"]["event"]
        assert (mine["my_rsvp"], mine["waitlist_position"]) == ("waitlisted", place)
    for client in (organiser, *people):
        await client.close()


async def test_a_reminder_due_while_the_only_node_was_down_is_sent_after_its_restart(
    tmp_path: Path,
) -> None:
    # Offsets long enough for a restart on a busy machine (a start may take half a minute).
    env = {"CHAT_EVENT_REMINDERS": "40,20", "CHAT_EVENT_REMINDER_POLL": "0.2"}
    with ServerProcess(tmp_path, env=env) as server:
        organiser = ChatClient(server.base_url)
        await organiser.register(f"org{uuid.uuid4().hex[:8]}", "correct horse battery")
        guest = ChatClient(server.base_url)
        await guest.register(f"gst{uuid.uuid4().hex[:8]}", "correct horse battery")
        room = await organiser.create_room(f"rs-{uuid.uuid4().hex[:8]}", "Restart", "topic")
        await guest.join(room["id"])
        starts = time.monotonic() + 60
        spec = {"title": "After the restart", "starts_at": at_seconds(60)}
        meetup = (await organiser.post_message(room["id"], "x", event=spec))["id"]
        await guest.rsvp(meetup, "going")
        server.kill()
        # Down across the first reminder's time (20 s from now).
        await asyncio.sleep(max(0.0, starts - 40 + 1.5 - time.monotonic()))
        server.start(timeout=120)
        async with asyncio.timeout(max(5.0, starts - time.monotonic())):
            while True:
                if len(await _reminders(guest)) >= 2:
                    break
                await asyncio.sleep(0.3)
        await asyncio.sleep(1.5)
        got = await _reminders(guest)
        assert [n["message"]["id"] for n in got] == [meetup, meetup], "each once, both sent"
        await organiser.close()
        await guest.close()
