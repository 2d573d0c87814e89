"""Reports: anyone who can read a message reports it, mentors and admins are alerted, list
the reports with the message as it was reported, and resolve them, DMs included."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug
from tests.support.clients import name, status_of, uid
from tests.support.server import ServerProcess

pytestmark = pytest.mark.usefixtures("first_account_taken")


async def open_report(client: ChatClient, message_id: int) -> Frame | None:
    """The open report of that message in the staff list (other tests' are there too)."""
    found = [r for r in await client.reports(limit=200) if r["message"]["id"] == message_id]
    assert len(found) <= 1
    return found[0] if found else None


async def resolved_report(client: ChatClient, report_id: int) -> Frame:
    [found] = [r for r in await client.reports("resolved", limit=200) if r["id"] == report_id]
    return found


async def report_alerts(client: ChatClient, message_id: int) -> list[Frame]:
    return [
        n
        for n in await client.notifications()
        if n["reason"] == "report" and n["message"]["id"] == message_id
    ]


async def next_tombstone(client: ChatClient, room_id: int, message_id: int) -> Frame:
    """The `message.updated` that deletes that message, skipping anything else."""
    async with asyncio.timeout(5):
        while True:
            event = await client.next_event("message.updated", room=room_id)
            message: Frame = event["message"]
            if message["id"] == message_id and message["deleted"]:
                return message


async def next_report_alert(client: ChatClient, message_id: int) -> Frame:
    async with asyncio.timeout(5):
        while True:
            event = await client.next_event("notification")
            notification: Frame = event["notification"]
            if notification["reason"] == "report" and notification["message"]["id"] == message_id:
                return notification


async def test_a_report_reaches_staff_and_is_resolved_by_deleting(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    author = await make_client("author")
    reporter = await make_client("reporter")
    mentor, admin = staff["mentor"], staff["admin"]
    room = await author.create_room(slug("rep"), "Reported", "topic")
    rid = room["id"]
    await reporter.join(rid)
    for client in (author, reporter, mentor, admin):
        await client.connect()
    message = await author.send(rid, "buy cheap watches")

    await reporter.report(message["id"], "  spam  ")  # 204, the reason stored trimmed
    for client in (mentor, admin):
        alert = await next_report_alert(client, message["id"])
        assert (alert["room"], alert["message"]["body"]) == (rid, "buy cheap watches")
    assert [n for n in await reporter.notifications() if n["reason"] == "report"] == []

    await author.edit(message["id"], "buy watches")  # the snapshot keeps what was reported
    report = await open_report(mentor, message["id"])
    assert report is not None
    assert set(report) >= {"id", "message", "room", "reporter", "reason", "state", "created_at"}
    assert (report["reason"], report["state"]) == ("spam", "open")
    assert report["message"]["body"] == "buy cheap watches"
    assert report["message"]["author"]["id"] == uid(author)
    assert (report["room"]["id"], report["room"]["name"]) == (rid, "Reported")
    assert report["reporter"]["id"] == uid(reporter)
    assert report["created_at"].endswith("Z")

    # Students neither list nor resolve reports.
    assert await status_of(reporter.reports()) == (403, "forbidden")
    assert await status_of(author.resolve_report(report["id"], "dismiss")) == (403, "forbidden")

    await admin.resolve_report(report["id"], "delete")
    for client in (author, reporter):
        tombstone = await next_tombstone(client, rid, message["id"])
        assert (tombstone["body"], tombstone["deleted_by"]) == ("", "moderator")
    assert await open_report(mentor, message["id"]) is None
    resolved = await resolved_report(mentor, report["id"])
    assert (resolved["message"], resolved["action"]) == (None, "delete")
    assert resolved["resolved_by"]["id"] == uid(admin)
    assert await report_alerts(mentor, message["id"]) == []
    assert await status_of(mentor.resolve_report(report["id"], "dismiss")) == (409, "conflict")


async def test_a_dm_message_reaches_staff_only_through_a_report(
    make_client: ClientFactory, staff: dict[str, ChatClient]
) -> None:
    sender = await make_client("sender")
    receiver = await make_client("receiver")
    mentor = staff["mentor"]
    dm = await sender.open_dm(name(receiver))
    await sender.connect()
    await mentor.connect()
    message = await sender.post_message(dm["id"], "give me your password")
    assert await status_of(mentor.history(dm["id"])) == (404, "not_found")

    await receiver.report(message["id"], "phishing")
    alert = await next_report_alert(mentor, message["id"])
    assert alert["room"] == dm["id"]
    assert len(await report_alerts(mentor, message["id"])) == 1  # listed, though not a member
    report = await open_report(mentor, message["id"])
    assert report is not None
    assert report["message"]["body"] == "give me your password"
    assert report["room"]["kind"] == "dm"

    await mentor.resolve_report(report["id"], "delete")
    tombstone = await next_tombstone(sender, dm["id"], message["id"])
    assert tombstone["deleted_by"] == "moderator"
    assert await status_of(mentor.history(dm["id"])) == (404, "not_found")
    [stored] = await receiver.history(dm["id"])
    assert (stored["deleted"], stored["body"]) == (True, "")


async def test_dismissing_keeps_the_message_and_forgets_the_snapshot(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    author = await make_client("author")
    first, second = await make_client("first"), await make_client("second")
    mentor = staff["mentor"]
    room = await author.create_room(slug("dis"), "Dismissed", "topic")
    message = await author.post_message(room["id"], "a strong opinion")
    await first.report(message["id"], "rude")
    await first.report(message["id"], "really rude")  # a repeat while open adds nothing
    await second.report(message["id"], "offensive")  # public: readable without joining
    reports = [r for r in await mentor.reports(limit=200) if r["message"]["id"] == message["id"]]
    assert sorted(r["reason"] for r in reports) == ["offensive", "rude"]
    assert len(await report_alerts(mentor, message["id"])) == 2

    newest, oldest = reports
    await mentor.resolve_report(oldest["id"], "dismiss")
    assert len(await report_alerts(mentor, message["id"])) == 2  # one report is still open
    await mentor.resolve_report(newest["id"], "dismiss")
    assert await report_alerts(mentor, message["id"]) == []
    resolved = await resolved_report(mentor, oldest["id"])
    assert (resolved["message"], resolved["action"]) == (None, "dismiss")
    [kept] = await author.history(room["id"])
    assert (kept["deleted"], kept["body"]) == (False, "a strong opinion")


async def test_who_may_report(
    server: ServerProcess, make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    outsider = await make_client("outsider")
    private = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    secret = await owner.post_message(private["id"], "members only")
    assert await status_of(outsider.report(secret["id"], "x")) == (404, "not_found")
    assert await status_of(outsider.report(987654321, "x")) == (404, "not_found")
    gone = await owner.post_message(private["id"], "gone")
    await owner.delete_message(gone["id"])
    assert await status_of(owner.report(gone["id"], "x")) == (404, "not_found")
    async with httpx.AsyncClient(base_url=server.base_url) as raw:
        resp = await raw.post(f"/api/messages/{secret['id']}/report", json={"reason": "x"})
        assert (resp.status_code, resp.json()["error"]["code"]) == (401, "unauthorized")
        for method, path in (("GET", "/api/reports"), ("POST", "/api/reports/1/resolve")):
            resp = await raw.request(method, path, json={"action": "dismiss"})
            assert resp.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * 501},
        {"reason": "a\x00b"},
        {"reason": 5},
        {"reason": None},
        {"reason": ["spam"]},
        {},
    ],
)
async def test_report_reasons_are_checked(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient], body: Frame
) -> None:
    owner = await make_client("owner")
    room = await owner.create_room(slug("bad"), "Bad", "topic")
    message = await owner.post_message(room["id"], "hello")
    path = f"/api/messages/{message['id']}/report"
    assert await status_of(owner.http("POST", path, json=body)) == (400, "bad_request")
    assert await open_report(staff["mentor"], message["id"]) is None
    await owner.report(message["id"], "x" * 500)  # the longest reason is fine


async def test_listing_and_resolving_refuse_bad_input(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    mentor = staff["mentor"]
    owner = await make_client("owner")
    room = await owner.create_room(slug("bad"), "Bad", "topic")
    message = await owner.post_message(room["id"], "hello")
    await owner.report(message["id"], "test")
    report = await open_report(mentor, message["id"])
    assert report is not None
    path = f"/api/reports/{report['id']}/resolve"
    for body in ({"action": "ban"}, {"action": 1}, {"action": None}, {}):
        assert await status_of(mentor.http("POST", path, json=body)) == (400, "bad_request")
    for params in ({"state": "closed"}, {"limit": 0}, {"limit": 201}, {"before": "x"}):
        assert await status_of(mentor.http("GET", "/api/reports", params=params)) == (
            400,
            "bad_request",
        )
    assert await status_of(mentor.resolve_report(987654321, "dismiss")) == (404, "not_found")
    bad = mentor.http("POST", "/api/reports/abc/resolve", json={"action": "dismiss"})
    assert await status_of(bad) == (400, "bad_request")
    assert await open_report(mentor, message["id"]) is not None  # still open
