"""Screenshots of the main screens for the docs: `python -m tests.browser.screenshots [OUT_DIR]`.

Starts a throwaway server, fills it with a small school (people, rooms, a
lively conversation with reactions, a DM, notifications), then photographs
the login screen, a chat room, the emoji picker and the notifications inbox
at desktop (1280×800) and phone (390×844) widths, light and dark.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, ViewportSize, sync_playwright
from websockets.sync.client import connect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD
from tests.support.server import ServerProcess

SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
THEMES: tuple[Literal["light"], Literal["dark"]] = ("light", "dark")


class Seed:
    """Fills a fresh server through its HTTP API."""

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

    def person(self, username: str, display_name: str, region: str | None = None) -> None:
        r = httpx.post(
            f"{self.base}/api/auth/register",
            json={"username": username, "password": PASSWORD, "display_name": display_name},
            timeout=10,
        )
        r.raise_for_status()
        self.tokens[username] = r.json()["token"]
        self.users[username] = r.json()["user"]
        if region:
            self.call(username, "PATCH", "/api/me", {"region": region})

    def room(
        self, owner: str, slug: str, name: str, kind: str, topic: str | None, members: list[str]
    ) -> int:
        body = {"slug": slug, "name": name, "kind": kind, **({"topic": topic} if topic else {})}
        room = self.call(owner, "POST", "/api/rooms", body)["room"]
        for m in members:
            if kind == "cohort":
                self.call(
                    owner,
                    "POST",
                    f"/api/rooms/{room['id']}/members",
                    {"user_id": self.users[m]["id"]},
                )
            else:
                self.call(m, "POST", f"/api/rooms/{room['id']}/join")
        return int(room["id"])

    def say(self, who: str, room: int, body: str, reply_to: int | None = None) -> int:
        payload: dict[str, Any] = {"body": body}
        if reply_to:
            payload["reply_to"] = reply_to
        return int(self.call(who, "POST", f"/api/rooms/{room}/messages", payload)["message"]["id"])

    def react(self, who: str, message: int, emoji: str) -> None:
        self.call(who, "PUT", f"/api/messages/{message}/reactions/{quote(emoji, safe='')}")


def seed(base: str) -> tuple[Seed, int]:
    s = Seed(base)
    s.person("sophie", "Sophie Lefèvre", "Paris")  # the first account: the school's admin
    s.person("camille", "Camille Roux", "Lyon")
    s.person("hugo", "Hugo Bernard", "Lyon")
    s.person("ines", "Inès Dubois", "Bretagne")
    s.person("karim", "Karim Haddad", "Marseille")
    s.person("lea", "Léa Moreau", "Lyon")
    everyone = ["camille", "hugo", "ines", "karim", "lea"]
    s.call("camille", "POST", "/api/friends", {"username": "hugo"})
    s.call("hugo", "POST", "/api/friends", {"username": "camille"})
    s.call("camille", "POST", "/api/friends", {"username": "ines"})
    s.call("karim", "POST", "/api/friends", {"username": "camille"})

    s.room(
        "sophie",
        "promo-printemps-2026",
        "Promo Printemps 2026",
        "cohort",
        "La promo du printemps : annonces et entraide",
        everyone,
    )
    lyon = s.room(
        "sophie",
        "lyon",
        "Lyon",
        "region",
        "Meetups et cafés entrepreneurs à Lyon",
        ["camille", "hugo", "lea"],
    )
    s.room("sophie", "bretagne", "Bretagne", "region", None, ["ines"])
    pitch = s.room(
        "lea",
        "atelier-pitch",
        "Atelier pitch",
        "topic",
        "Mardi 18 h : on s’entraîne à pitcher en 3 minutes",
        everyone,
    )
    fonds = s.room(
        "hugo",
        "levee-de-fonds",
        "Levée de fonds",
        "topic",
        "BA, VC, BPI : questions et retours",
        everyone,
    )
    s.room("ines", "marketing-digital", "Marketing digital", "topic", None, ["camille", "ines"])

    m1 = s.say(
        "lea", pitch, "Bonjour à toutes et à tous ! 👋 L’atelier pitch commence dans 10 minutes."
    )
    s.say("lea", pitch, "Le support est ici : https://example.org/atelier-pitch/support.pdf")
    m3 = s.say("karim", pitch, "Je passe en premier si personne ne veut ? 🙋")
    m4 = s.say(
        "ines", pitch, "Question : on garde la slide « concurrence » dans un pitch de 3 minutes ?"
    )
    m5 = s.say(
        "lea",
        pitch,
        "Oui, mais une seule slide, et montrez pourquoi vous gagnez. "
        "@camille tu peux montrer ta matrice ?",
        reply_to=m4,
    )
    m6 = s.say("camille", pitch, "Avec plaisir ! Je la partage juste après Karim 🙂")
    s.say("hugo", pitch, "Image A ou B pour la couverture ? 🅰️ / 🅱️")
    for who in ("hugo", "ines", "camille", "karim"):
        s.react(who, m1, "👋")
    for who in ("lea", "hugo", "ines"):
        s.react(who, m3, "💪")
    s.react("camille", m5, "👍")
    s.react("hugo", m5, "👍")
    s.react("karim", m5, "🔥")
    s.react("lea", m6, "🎉")
    s.react("hugo", m6, "🎉")

    # Elsewhere: unread messages, a mention, a DM and a friend's message make badges.
    s.say("hugo", lyon, "Qui vient au café entrepreneurs jeudi ? ☕")
    s.say("lea", lyon, "Moi ! On réserve pour 8 ?")
    s.say("karim", fonds, "@camille tu as eu un retour de la BPI ?")
    dm = s.call("hugo", "POST", "/api/dms", {"username": "camille"})["room"]["id"]
    s.say("hugo", dm, "Tu relis mon deck avant mardi ? 🙏")
    s.call("camille", "PUT", "/api/settings/notifications", {"default": "friends"})
    s.say("ines", fonds, "Super article sur les BSA Air, je vous le mets demain.")
    return s, pitch


def typing(base: str, token: str, room: int) -> None:
    """Someone typing in the room, for the indicator (expires a few seconds later)."""
    url = base.replace("http", "ws", 1) + "/ws"
    with connect(url) as ws:
        ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        ws.recv(timeout=5)
        ws.send(json.dumps({"op": "typing", "room": room, "ref": 1}))
        time.sleep(0.3)


def shoot(page: Page, path: Path) -> None:
    page.wait_for_timeout(400)  # let popovers and transitions settle
    page.screenshot(path=str(path))
    print(f"{path} {path.stat().st_size // 1024} KB")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(Path(tmp)) as server,
        sync_playwright() as p,
    ):
        s, pitch = seed(server.base_url)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for size, viewport in SIZES.items():
            for theme in THEMES:
                tag = f"{size}-{theme}"
                ctx = browser.new_context(
                    viewport=viewport, color_scheme=theme, locale="fr-FR", device_scale_factor=1
                )
                page = ctx.new_page()
                page.goto(server.base_url + "/")
                page.wait_for_selector("#auth-username")
                shoot(page, out / f"login-{tag}.png")

                page.fill("#auth-username", "camille")
                page.fill("#auth-password", PASSWORD)
                page.click("form.auth-form button[type=submit]")
                page.wait_for_selector(".conn-status.conn-online", state="attached")
                if size == "phone":
                    page.get_by_role("button", name="Ouvrir la liste des salons").click()
                    shoot(page, out / f"sidebar-{tag}.png")
                page.locator(f".room-item[data-room-id='{pitch}']").click()
                page.wait_for_selector(".msg-reactions")
                page.mouse.move(0, 0)
                typing(server.base_url, s.tokens["hugo"], pitch)
                page.wait_for_selector(".typing-dots")
                shoot(page, out / f"chat-{tag}.png")

                page.get_by_role("button", name="Insérer un emoji").click()
                page.wait_for_selector(".emoji-cell")
                shoot(page, out / f"emoji-picker-{tag}.png")
                page.keyboard.press("Escape")

                page.locator("button.bell").click()
                page.wait_for_selector(".notif")
                shoot(page, out / f"notifications-{tag}.png")
                ctx.close()
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
