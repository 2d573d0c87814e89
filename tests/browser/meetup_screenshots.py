"""Screenshots of meetups for the docs: `python -m tests.browser.meetup_screenshots [OUT_DIR]`.

Starts a throwaway server and fills it with a region room where a mentor posted two
meetups (one full, with a waitlist, that a friend is going to; one cancelled), then
photographs the event card in the room's stream and the "upcoming meetups" view, at
desktop (1280×800) and phone (390×844) widths, light and dark:
`meetup-card-<size>-<theme>.png` and `meetups-upcoming-<size>-<theme>.png`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.browser.screenshots import SIZES, THEMES, Seed, shoot, signed_in, throwaway_server


def _at(days: int, hour: int, minute: int = 0) -> str:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00.000Z"


def seed(base: str) -> tuple[Seed, int]:
    s = Seed(base)
    s.person("direction", "Direction")  # the first account: the admin
    s.person("ines", "Inès Moreau", "Bretagne")
    s.call("direction", "PUT", f"/api/users/{s.users['ines']['id']}/role", {"role": "mentor"})
    names = [
        ("lucas", "Lucas Bernard"),
        ("maya", "Maya Petit"),
        ("tom", "Tom Leroy"),
        ("nina", "Nina Garcia"),
        ("hugo", "Hugo Roux"),
        ("lea", "Léa Fontaine"),
    ]
    for username, display in names:
        s.person(username, display, "Bretagne")
    members = [username for username, _ in names]
    room = s.room("ines", "bretagne", "Bretagne", "region", "Élèves de Bretagne", members)
    other = s.room("ines", "alsace", "Alsace", "region", None, [])
    for friend in ("lucas", "maya"):
        s.call("ines", "POST", "/api/friends", {"username": friend})
        s.call(friend, "POST", "/api/friends", {"username": "ines"})
    s.say("lucas", room, "On s'organise un repas entre élèves de la région ?")
    s.say("maya", room, "Carrément ! Plutôt à Rennes ?")
    meetup = s.call(
        "ines",
        "POST",
        f"/api/rooms/{room}/messages",
        {
            "body": "Repas galettes pour les élèves de Bretagne : inscrivez-vous !",
            "event": {
                "title": "Galettes à Rennes",
                "starts_at": _at(9, 17, 30),
                "ends_at": _at(9, 20, 0),
                "place": "Crêperie Ty Breiz, 12 rue Saint-Georges, Rennes",
                "capacity": 4,
            },
        },
    )["message"]["id"]
    for username in ("lucas", "maya", "tom", "nina", "hugo"):
        s.call(username, "PUT", f"/api/messages/{meetup}/rsvp", {"status": "going"})
    s.call("lea", "PUT", f"/api/messages/{meetup}/rsvp", {"status": "maybe"})
    hike = s.call(
        "ines",
        "POST",
        f"/api/rooms/{room}/messages",
        {
            "body": "",
            "event": {
                "title": "Balade à Brocéliande",
                "starts_at": _at(16, 8, 0),
                "place": "Paimpont",
            },
        },
    )["message"]["id"]
    s.call("maya", "PUT", f"/api/messages/{hike}/rsvp", {"status": "going"})
    s.call("ines", "PUT", f"/api/messages/{hike}/rsvp", {"status": "maybe"})
    s.call(
        "ines",
        "POST",
        f"/api/rooms/{other}/messages",
        {
            "body": "",
            "event": {"title": "Marché de Noël de Strasbourg", "starts_at": _at(3, 16, 0)},
        },
    )
    return s, room


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with throwaway_server() as (server, browser):
        s, _ = seed(server.base_url)
        for size in SIZES:
            for theme in THEMES:
                page = signed_in(browser, server.base_url, s.tokens["ines"], SIZES[size], theme)
                if size == "phone":
                    page.get_by_role("button", name="Ouvrir la liste des salons").click()
                page.locator(".room-item", has_text="Bretagne").first.click()
                card = page.locator(".event-card", has_text="Galettes à Rennes")
                card.wait_for(timeout=15_000)
                page.locator(".event-friends").first.wait_for(timeout=15_000)
                card.scroll_into_view_if_needed()
                shoot(page, out / f"meetup-card-{size}-{theme}.png")
                if size == "phone":
                    page.get_by_role("button", name="Ouvrir la liste des salons").click()
                page.get_by_role("button", name="Rendez-vous à venir").click()
                page.locator(".events-item").first.wait_for(timeout=15_000)
                shoot(page, out / f"meetups-upcoming-{size}-{theme}.png")
                page.context.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
