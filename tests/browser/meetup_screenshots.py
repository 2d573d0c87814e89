"""Screenshots of meetups for the docs: `python -m tests.browser.meetup_screenshots [OUT_DIR]`.

Starts a throwaway server and fills it with a region room where a mentor posted two
meetups (one full, with a waitlist, that a friend is going to; one cancelled), then
photographs the event card in the room's stream and the "upcoming meetups" view, at
desktop (1280×800) and phone (390×844) widths, light and dark:
`meetup-card-<size>-<theme>.png` and `meetups-upcoming-<size>-<theme>.png`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD
from tests.browser.screenshots import SIZES, THEMES, shoot
from tests.support.server import ServerProcess


class Seed:
    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(
            method,
            self.base + path,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            json=body,
            timeout=10,
        )
        r.raise_for_status()
        return r.json() if r.content else None

    def person(self, username: str, display: str, region: str | None = None) -> None:
        r = httpx.post(
            self.base + "/api/auth/register",
            json={"username": username, "password": PASSWORD, "display_name": display},
            timeout=10,
        )
        r.raise_for_status()
        self.tokens[username] = r.json()["token"]
        self.users[username] = r.json()["user"]
        if region:
            self.call(username, "PATCH", "/api/me", {"region": region})


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
    room = s.call(
        "ines",
        "POST",
        "/api/rooms",
        {"slug": "bretagne", "name": "Bretagne", "kind": "region", "topic": "Élèves de Bretagne"},
    )["room"]["id"]
    other = s.call(
        "ines", "POST", "/api/rooms", {"slug": "alsace", "name": "Alsace", "kind": "region"}
    )
    for username, _ in names:
        s.call(username, "POST", f"/api/rooms/{room}/join")
    for friend in ("lucas", "maya"):
        s.call("ines", "POST", "/api/friends", {"username": friend})
        s.call(friend, "POST", "/api/friends", {"username": "ines"})
    s.call(
        "lucas",
        "POST",
        f"/api/rooms/{room}/messages",
        {"body": "On s'organise un repas entre élèves de la région ?"},
    )
    s.call("maya", "POST", f"/api/rooms/{room}/messages", {"body": "Carrément ! Plutôt à Rennes ?"})
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
        f"/api/rooms/{other['room']['id']}/messages",
        {
            "body": "",
            "event": {"title": "Marché de Noël de Strasbourg", "starts_at": _at(3, 16, 0)},
        },
    )
    return s, room


def _page(browser: Any, base: str, token: str, size: str, theme: str) -> Page:
    ctx = browser.new_context(
        viewport=SIZES[size], color_scheme=theme, locale="fr-FR", device_scale_factor=1
    )
    ctx.add_init_script(f"localStorage.setItem('chat.token', {json.dumps(token)});")
    page: Page = ctx.new_page()
    page.goto(base + "/")
    page.locator(".conn-status.conn-online").wait_for(state="attached", timeout=15_000)
    return page


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(Path(tmp)) as server,
        sync_playwright() as p,
    ):
        s, _ = seed(server.base_url)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for size in SIZES:
            for theme in THEMES:
                page = _page(browser, server.base_url, s.tokens["ines"], size, theme)
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
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
