"""Meetups over real sockets: posting one, RSVPs with a capacity and a waitlist (exact
under racing answers, promotion in order and once), the organiser's move and cancel with
their `event` notifications, levels that silence them, the .ics parsed back with the
icalendar library, the upcoming list with friends going and its authorization, and every
kind of bad input refused with nothing changed."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug
from tests.support.clients import befriend, name, next_update, refused, uid

pytestmark = pytest.mark.usefixtures("first_account_taken")


def at(hours: float) -> str:
    """A time `hours` from now, as the protocol writes times."""
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event(capacity: Any = None, **more: Any) -> Frame:
    spec: Frame = {"title": "Dinner in Rennes", "starts_at": at(48), "place": "Crêperie Ty Breiz"}
    if capacity is not None:
        spec["capacity"] = capacity
    spec.update(more)
    return spec


async def topic_room(owner: ChatClient, slug: Slug, members: list[ChatClient]) -> int:
    room = await owner.create_room(slug("meet"), "Meetups", "topic")
    for member in members:
        await member.join(room["id"])
    return int(room["id"])


async def test_a_meetup_is_posted_answered_and_broadcast_without_anyones_rsvp(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    guest = await make_client("guest", connect=True)
    room = await topic_room(owner, slug, [guest])
    sent = await owner.post_message(room, "", event=event(capacity=10, ends_at=at(50)))
    shown = sent["event"]
    assert sent["body"] == "Dinner in Rennes", "an empty body takes the title"
    assert shown["title"] == "Dinner in Rennes" and shown["place"] == "Crêperie Ty Breiz"
    assert shown["capacity"] == 10 and shown["cancelled"] is False
    assert (shown["going"], shown["maybe"], shown["waitlist"], shown["my_rsvp"]) == (0, 0, 0, None)
    assert shown["starts_at"].endswith("Z") and shown["ends_at"].endswith("Z")

    answered = await guest.rsvp(sent["id"], "going")
    assert answered["event"]["my_rsvp"] == "going" and answered["event"]["going"] == 1
    live = await next_update(guest, room, sent["id"])
    assert live["message"]["event"]["going"] == 1
    assert live["message"]["event"]["my_rsvp"] is None, "broadcasts carry nobody's answer"
    # History and the event view compute it for the caller.
    [mine] = [m for m in await guest.history(room) if m["id"] == sent["id"]]
    assert mine["event"]["my_rsvp"] == "going"
    [theirs] = [m for m in await owner.history(room) if m["id"] == sent["id"]]
    assert theirs["event"]["my_rsvp"] is None and theirs["event"]["going"] == 1
    # Answering the same again changes nothing, and takes no seq.
    before = (await owner.room(room))["last_seq"]
    await guest.rsvp(sent["id"], "going")
    assert (await owner.room(room))["last_seq"] == before
    maybe = await guest.rsvp(sent["id"], "maybe")
    assert (maybe["event"]["going"], maybe["event"]["maybe"]) == (0, 1)
    gone = await guest.rsvp(sent["id"], "no")
    assert (gone["event"]["going"], gone["event"]["maybe"], gone["event"]["my_rsvp"]) == (
        0,
        0,
        None,
    )


async def test_over_capacity_goes_to_the_waitlist_and_the_first_moves_up_once(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    people = [await make_client("p") for _ in range(5)]
    room = await topic_room(owner, slug, people)
    meetup = (await owner.post_message(room, "Table for two", event=event(capacity=2)))["id"]
    answers = [await p.rsvp(meetup, "going") for p in people]
    assert [a["event"]["my_rsvp"] for a in answers] == [
        "going",
        "going",
        "waitlisted",
        "waitlisted",
        "waitlisted",
    ]
    assert [a["event"]["waitlist_position"] for a in answers[2:]] == [1, 2, 3]
    assert (answers[-1]["event"]["going"], answers[-1]["event"]["waitlist"]) == (2, 3)
    # The second on the waitlist leaves it: the third is now second.
    await people[3].rsvp(meetup, "no")
    assert (await people[4].event(meetup))["message"]["event"]["waitlist_position"] == 2
    # A place frees: the first in line (people[2]) moves up, nobody else.
    after = await people[0].rsvp(meetup, "maybe")
    assert (after["event"]["going"], after["event"]["maybe"], after["event"]["waitlist"]) == (
        2,
        1,
        1,
    )
    promoted = await people[2].event(meetup)
    assert promoted["message"]["event"]["my_rsvp"] == "going"
    still = await people[4].event(meetup)
    assert still["message"]["event"]["my_rsvp"] == "waitlisted"
    assert still["message"]["event"]["waitlist_position"] == 1
    # "going" again from the waitlist keeps one's place; from maybe, one joins the end.
    await people[4].rsvp(meetup, "going")
    back = await people[0].rsvp(meetup, "going")
    assert back["event"]["my_rsvp"] == "waitlisted" and back["event"]["waitlist_position"] == 2
    # A larger capacity lets the line in, in order.
    grown = await owner.update_event(meetup, capacity=4)
    assert (grown["event"]["going"], grown["event"]["waitlist"]) == (4, 0)
    # A capacity below those going is refused, nothing changed.
    error = await refused(owner.update_event(meetup, capacity=3))
    assert (error.status, error.code) == (409, "conflict")
    assert (await owner.event(meetup))["message"]["event"]["capacity"] == 4


async def test_racing_rsvps_and_cancellations_keep_counts_and_the_waitlist_exact(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    people = [await make_client("r") for _ in range(30)]
    room = await topic_room(owner, slug, people)
    meetup = (await owner.post_message(room, "Ten places", event=event(capacity=10)))["id"]
    await asyncio.gather(*(p.rsvp(meetup, "going") for p in people))
    first = await owner.event(meetup)
    assert (first["message"]["event"]["going"], first["message"]["event"]["waitlist"]) == (10, 20)
    views = {uid(p): (await p.event(meetup))["message"]["event"] for p in people}
    going = [u for u, v in views.items() if v["my_rsvp"] == "going"]
    line = sorted(
        (v["waitlist_position"], u) for u, v in views.items() if v["my_rsvp"] == "waitlisted"
    )
    assert len(going) == 10 and [pos for pos, _ in line] == list(range(1, 21))
    # Five of those going and three of the waitlist's tail leave at once, while others
    # switch to maybe: exactly five move up, the first five in line.
    rng = random.Random(7)
    leaving = rng.sample(going, 5)
    tail = [u for _, u in line[-3:]]
    by_id = {uid(p): p for p in people}
    await asyncio.gather(
        *(by_id[u].rsvp(meetup, "no") for u in leaving),
        *(by_id[u].rsvp(meetup, "no") for u in tail),
    )
    final = (await owner.event(meetup))["message"]["event"]
    assert (final["going"], final["waitlist"], final["maybe"]) == (10, 12, 0)
    moved_up = [u for _, u in line[:5]]
    for user_id in moved_up:
        assert (await by_id[user_id].event(meetup))["message"]["event"]["my_rsvp"] == "going"
    remaining = [u for _, u in line[5:-3]]
    for place, user_id in enumerate(remaining, start=1):
        mine = (await by_id[user_id].event(meetup))["message"]["event"]
        assert (mine["my_rsvp"], mine["waitlist_position"]) == ("waitlisted", place)


async def test_move_and_cancel_alert_those_going_and_maybe_unless_their_level_is_none(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    going = await make_client("going", connect=True)
    maybe = await make_client("maybe")
    silent = await make_client("silent")
    outsider = await make_client("outsider")
    room = await topic_room(owner, slug, [going, maybe, silent, outsider])
    await silent.set_notification_settings(rooms={room: "none"})
    meetup = (await owner.post_message(room, "Picnic", event=event()))["id"]
    await going.rsvp(meetup, "going")
    await maybe.rsvp(meetup, "maybe")
    await silent.rsvp(meetup, "going")
    # A new title alone alerts nobody; a new time does.
    await owner.update_event(meetup, title="Picnic by the river")
    assert [n for n in await going.notifications() if n["reason"] == "event"] == []
    new_start = at(72)
    moved = await owner.update_event(meetup, starts_at=new_start)
    assert moved["event"]["starts_at"][:16] == new_start[:16]
    pushed = await going.next_event("notification")
    assert pushed["notification"]["reason"] == "event"
    assert pushed["notification"]["message"]["id"] == meetup
    for client, expected in ((going, 1), (maybe, 1), (silent, 0), (outsider, 0), (owner, 0)):
        alerts = [n for n in await client.notifications() if n["reason"] == "event"]
        assert len(alerts) == expected, name(client)
    cancelled = await owner.cancel_event(meetup)
    assert cancelled["event"]["cancelled"] is True
    inbox = [n for n in await maybe.notifications() if n["reason"] == "event"]
    assert len(inbox) == 2 and inbox[0]["message"]["event"]["cancelled"] is True
    assert [n for n in await silent.notifications() if n["reason"] == "event"] == []
    # Cancelling again changes nothing; answering a cancelled meetup is refused.
    before = (await owner.room(room))["last_seq"]
    await owner.cancel_event(meetup)
    assert (await owner.room(room))["last_seq"] == before
    error = await refused(outsider.rsvp(meetup, "going"))
    assert (error.status, error.code) == (409, "conflict")
    assert (await owner.event(meetup))["message"]["event"]["going"] == 2


async def test_only_the_creator_or_a_moderator_moves_or_cancels(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    owner = await make_client("owner")
    author = await make_client("author")
    other = await make_client("other")
    room = await topic_room(owner, slug, [author, other])
    meetup = (await author.post_message(room, "Hike", event=event()))["id"]
    for call in (other.cancel_event(meetup), other.update_event(meetup, place="Elsewhere")):
        error = await refused(call)
        assert (error.status, error.code) == (403, "forbidden")
    assert (await author.update_event(meetup, place="Brocéliande"))["event"]["place"] == (
        "Brocéliande"
    )
    assert (await owner.cancel_event(meetup))["event"]["cancelled"] is True  # the room's owner
    plain = (await other.post_message(room, "not a meetup"))["id"]
    for call in (other.rsvp(plain, "going"), other.event(plain), other.cancel_event(plain)):
        error = await refused(call)
        assert (error.status, error.code) == (404, "not_found")


async def test_bad_meetups_and_answers_are_refused_and_change_nothing(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    friend = await make_client("friend")
    room = await topic_room(owner, slug, [friend])
    last = (await owner.room(room))["last_seq"]
    bad: list[tuple[Frame, int, str]] = [
        (event(starts_at=at(-1)), 400, "bad_request"),
        (event(starts_at=at(2), ends_at=at(1)), 400, "bad_request"),
        (event(starts_at=at(2), ends_at=at(2)), 400, "bad_request"),
        (event(capacity=0), 400, "bad_request"),
        (event(capacity=-3), 400, "bad_request"),
        (event(capacity=10_000_000), 413, "too_large"),
        (event(capacity="12"), 400, "bad_request"),
        (event(capacity=True), 400, "bad_request"),
        (event(title=""), 400, "bad_request"),
        (event(title="x" * 201), 413, "too_large"),
        (event(place="p" * 201), 413, "too_large"),
        (event(starts_at="tomorrow"), 400, "bad_request"),
        (event(starts_at="2030-01-01T10:00:00"), 400, "bad_request"),
        (event(starts_at=at(24 * 800)), 400, "bad_request"),
        (event(ends_at=at(24 * 40)), 400, "bad_request"),
        ({"starts_at": at(5)}, 400, "bad_request"),
    ]
    for spec, status, code in bad:
        error = await refused(owner.post_message(room, "x", event=spec))
        assert (error.status, error.code) == (status, code), spec
    # Over the WebSocket too.
    await owner.connect()
    error = await refused(owner.send(room, "x", event=event(capacity=0)))
    assert error.code == "bad_request"
    # Not in a DM.
    dm = await owner.open_dm(name(friend))
    error = await refused(owner.post_message(dm["id"], "x", event=event()))
    assert (error.status, error.code) == (400, "bad_request")
    assert (await owner.room(room))["last_seq"] == last, "nothing was posted"
    # Bad answers and changes.
    meetup = (await owner.post_message(room, "Ok", event=event(capacity=3)))["id"]
    error = await refused(
        friend.http("PUT", f"/api/messages/{meetup}/rsvp", json={"status": "yes"})
    )
    assert error.code == "bad_request"
    stranger = await make_client("stranger")
    error = await refused(stranger.rsvp(meetup, "going"))
    assert (error.status, error.code) == (403, "not_member")
    for changes in ({"starts_at": at(-2)}, {"ends_at": at(1)}, {"capacity": 0}, {"title": " "}):
        error = await refused(owner.update_event(meetup, **changes))
        assert error.code == "bad_request", changes
    shown = (await owner.event(meetup))["message"]["event"]
    assert (shown["capacity"], shown["title"], shown["going"]) == (3, "Dinner in Rennes", 0)


async def test_the_ics_file_parses_back_with_utc_times_and_the_place(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    outsider = await make_client("outsider")
    room = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    starts = "2028-06-21T17:30:00.000Z"
    spec = event(title="Fête de la musique", starts_at=starts, ends_at="2028-06-21T22:00:00Z")
    meetup = (await owner.post_message(room["id"], "Bring an instrument", event=spec))["id"]
    text = await owner.event_ics(meetup)
    calendar = icalendar.Calendar.from_ical(text)
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Fête de la musique"
    assert str(vevent["LOCATION"]) == "Crêperie Ty Breiz"
    assert vevent.decoded("DTSTART") == datetime(2028, 6, 21, 17, 30, tzinfo=UTC)
    assert vevent.decoded("DTEND") == datetime(2028, 6, 21, 22, 0, tzinfo=UTC)
    assert "DTSTART:20280621T173000Z" in text.replace("\r\n", "\n"), "written in UTC"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    await owner.cancel_event(meetup)
    [again] = icalendar.Calendar.from_ical(await owner.event_ics(meetup)).walk("VEVENT")
    assert str(again["STATUS"]) == "CANCELLED"
    # Private room: an outsider gets not_found, as for its messages; no token: 401.
    error = await refused(outsider.event_ics(meetup))
    assert (error.status, error.code) == (404, "not_found")
    anonymous = ChatClient(owner.base_url)
    try:
        error = await refused(anonymous.event_ics(meetup))
        assert error.status == 401
    finally:
        await anonymous.close()


async def test_upcoming_meetups_across_readable_rooms_by_region_with_friends_going(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    mentor = staff["mentor"]
    me = await make_client("me")
    friend = await make_client("friend")
    stranger = await make_client("stranger")
    region_name = f"Bretagne {slug('r')[-6:]}"
    region = await mentor.create_room(slug("bzh"), region_name, "region")
    other_region = await mentor.create_room(slug("als"), f"Alsace {slug('r')[-6:]}", "region")
    private = await me.create_room(slug("priv"), "Friends only", "topic", visibility="private")
    for client in (me, friend, stranger):
        await client.join(region["id"])
    await befriend(me, friend)
    later = (await mentor.post_message(region["id"], "Later", event=event(starts_at=at(30))))["id"]
    sooner = (await mentor.post_message(region["id"], "Soon", event=event(starts_at=at(3))))["id"]
    elsewhere = (
        await mentor.post_message(other_region["id"], "Kougelhopf", event=event(starts_at=at(5)))
    )["id"]
    hidden = (await me.post_message(private["id"], "Secret", event=event(starts_at=at(4))))["id"]
    await friend.rsvp(sooner, "going")
    await stranger.rsvp(sooner, "going")
    await friend.rsvp(later, "maybe")

    mine = await me.list_events(region=region_name.upper())
    assert [e["message"]["id"] for e in mine] == [sooner, later], "soonest first, any case"
    assert [u["id"] for u in mine[0]["friends_going"]] == [uid(friend)], "friends only"
    assert mine[1]["friends_going"] == [], "maybe is not going"
    assert mine[0]["room"]["id"] == region["id"]
    everything = [e["message"]["id"] for e in await me.list_events()]
    assert {sooner, later, elsewhere, hidden} <= set(everything)
    positions = [everything.index(i) for i in (sooner, hidden, elsewhere, later)]
    assert positions == sorted(positions)
    # The private room's meetup is the stranger's business neither in the list nor alone.
    theirs = [e["message"]["id"] for e in await stranger.list_events()]
    assert hidden not in theirs and sooner in theirs
    error = await refused(stranger.event(hidden))
    assert (error.status, error.code) == (404, "not_found")
    # One meetup alone carries friends going too.
    assert [u["id"] for u in (await me.event(sooner))["friends_going"]] == [uid(friend)]
    # A deleted meetup leaves the list.
    await mentor.delete_message(later)
    assert [e["message"]["id"] for e in await me.list_events(region=region_name)] == [sooner]
    error = await refused(me.http("GET", "/api/events", params={"limit": "0"}))
    assert error.code == "bad_request"
