"""Meetups in the web client: a mentor creates one from a region room with the date and time
pickers, a friend answers "going" from the card, and the creator's card (and the upcoming
view) shows "1 friend going"; the .ics downloads; a full meetup puts the next one on the
waitlist with their place in line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    LIVE_MS,
    Person,
    make_friends,
    register_admin,
    set_role,
    unique,
)
from tests.support.server import ServerProcess


@pytest.fixture(scope="module", autouse=True)
def admin_token(server: ServerProcess) -> Iterator[str]:
    """The server's first account, hence its admin: it makes the organiser a mentor."""
    yield register_admin(server, "direction")


def region_room(owner: Person, name: str, *members: Person) -> int:
    slug = unique(name)[:32].strip("-")
    room = owner.api("POST", "/api/rooms", {"slug": slug, "name": name, "kind": "region"})
    for m in members:
        m.api("POST", f"/api/rooms/{room['room']['id']}/join")
    return int(room["room"]["id"])


def test_a_meetup_is_created_in_a_region_room_and_the_creator_sees_a_friend_going(
    make_person: Callable[..., Person], server: ServerProcess, admin_token: str
) -> None:
    organiser = make_person("Inès", open=False)
    set_role(server, admin_token, organiser, "mentor")
    friend = make_person("Lucas", open=False)
    stranger = make_person("Maya", open=False)
    make_friends(organiser, friend)
    region = f"Bretagne {unique('r')[-5:]}"
    region_room(organiser, region, friend, stranger)
    for p in (organiser, friend):
        p.open()
        p.open_room(region)

    # The organiser creates it with the header's button: date and time pickers.
    page = organiser.page
    page.get_by_role("button", name="Organiser un rendez-vous").click()
    dialog = page.locator("dialog.event-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Heures de votre fuseau")
    dialog.get_by_label("Titre").fill("Galettes à Rennes")
    day = (date.today() + timedelta(days=10)).isoformat()
    dialog.get_by_label("Date").fill(day)
    dialog.get_by_label("Heure", exact=True).fill("19:30")
    dialog.get_by_label("Lieu").fill("Crêperie Ty Breiz")
    dialog.get_by_label("Places").fill("2")
    dialog.get_by_role("button", name="Publier le rendez-vous").click()
    expect(dialog).to_be_hidden(timeout=LIVE_MS)
    card = page.locator(".event-card", has_text="Galettes à Rennes")
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card).to_contain_text("Crêperie Ty Breiz")
    expect(card).to_contain_text("19:30")
    expect(card).to_contain_text("0 participant sur 2")

    # The friend sees it live and answers "going".
    theirs = friend.page.locator(".event-card", has_text="Galettes à Rennes")
    expect(theirs).to_be_visible(timeout=LIVE_MS)
    theirs.get_by_role("button", name="J’y vais").click()
    expect(theirs).to_contain_text("Vous y allez", timeout=LIVE_MS)
    expect(theirs.get_by_role("button", name="J’y vais")).to_have_attribute("aria-pressed", "true")

    # The creator's card: the count, and their friend going.
    expect(card).to_contain_text("1 participant sur 2", timeout=LIVE_MS)
    expect(card).to_contain_text("1 ami y va : Lucas", timeout=LIVE_MS)

    # A stranger fills the last place; the next would wait (checked through the API).
    meetup_id = int(card.get_attribute("data-event") or 0)
    stranger.api("PUT", f"/api/messages/{meetup_id}/rsvp", {"status": "going"})
    expect(card).to_contain_text("2 participants sur 2", timeout=LIVE_MS)

    # The upcoming view, from the sidebar: the user's region first, the friend going.
    page.get_by_role("button", name="Rendez-vous à venir").click()
    view = page.locator("dialog.events-dialog")
    expect(view).to_be_visible()
    item = view.locator(".events-item", has_text="Galettes à Rennes")
    expect(item).to_be_visible(timeout=LIVE_MS)
    expect(item).to_contain_text("1 ami y va : Lucas")
    expect(item).to_contain_text(region)

    # "Add to my calendar" downloads the .ics.
    with page.expect_download() as caught:
        item.get_by_role("button", name="Ajouter à mon agenda").click()
    download = caught.value
    assert download.suggested_filename == f"meetup-{meetup_id}.ics"
    text = open(download.path(), encoding="utf-8").read()  # noqa: SIM115
    assert "BEGIN:VCALENDAR" in text and "SUMMARY:Galettes à Rennes" in text
    assert "LOCATION:Crêperie Ty Breiz" in text


def test_the_next_one_waits_with_their_place_in_line_and_moves_up(
    make_person: Callable[..., Person], server: ServerProcess, admin_token: str
) -> None:
    organiser = make_person("Chloé", open=False)
    set_role(server, admin_token, organiser, "mentor")
    first = make_person("Nina", open=False)
    second = make_person("Tom", open=False)
    region = f"Alsace {unique('r')[-5:]}"
    room = region_room(organiser, region, first, second)
    starts = f"{(date.today() + timedelta(days=5)).isoformat()}T18:00:00Z"
    organiser.api(
        "POST",
        f"/api/rooms/{room}/messages",
        {"body": "", "event": {"title": "Bretzels", "starts_at": starts, "capacity": 1}},
    )
    first_id = organiser.api("GET", f"/api/rooms/{room}/messages")["messages"][-1]["id"]
    first.api("PUT", f"/api/messages/{first_id}/rsvp", {"status": "going"})
    second.open()
    second.open_room(region)
    card = second.page.locator(".event-card", has_text="Bretzels")
    expect(card).to_contain_text("1 participant sur 1", timeout=LIVE_MS)
    card.get_by_role("button", name="J’y vais").click()
    expect(card).to_contain_text("Liste d’attente : vous êtes n° 1", timeout=LIVE_MS)
    # The one going leaves: Tom moves up, and his card says so without a reload.
    first.api("PUT", f"/api/messages/{first_id}/rsvp", {"status": "no"})
    expect(card).to_contain_text("Vous y allez", timeout=LIVE_MS)
    expect(card).not_to_contain_text("Liste d’attente")
