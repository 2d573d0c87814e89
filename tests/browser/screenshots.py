"""Screenshots of the main screens for the docs:
`python -m tests.browser.screenshots [OUT_DIR [guests|search|attachments|profiles|keyboard]]`
(`guests`: only the open-day entry; `search`: only the message search; `attachments`: only an
image message, with two images side by side, and the image viewer; `profiles`: only a profile
card; `keyboard`: only the emoji picker searching `fête`, the quick switcher and the shortcuts
help).

Starts a throwaway server, fills it with a small school (people, rooms, a
lively conversation with reactions, a DM, notifications, a pin, a moderator's
delete, a mute and open reports), then photographs the login screen, a chat
room, the emoji picker and the notifications inbox, and the moderation
screens (a message's menu, room settings, members, a muted member's room, the
reports, the admin page and its audit log) and the mentors' question queue at
desktop (1280×800) and phone (390×844) widths, light and dark.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
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
        self.rooms: dict[str, int] = {}

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
        self.rooms[slug] = int(room["id"])
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

    # Moderation: Léa (the room's owner) pins the welcome and removes an ad; a
    # scam in another room is reported twice and waits for staff; Hugo mutes Camille there.
    s.call("lea", "PUT", f"/api/rooms/{pitch}/pins/{m1}")
    ad = s.say("karim", pitch, "🔥 Formation « Devenir riche en 7 jours » à -50 %, écrivez-moi !")
    s.call("lea", "DELETE", f"/api/messages/{ad}")
    scam = s.say("karim", fonds, "Qui veut investir dans ma crypto ? Rendement garanti 300 % 🚀")
    s.call("ines", "POST", f"/api/messages/{scam}/report", {"reason": "Arnaque probable"})
    s.call("hugo", "POST", f"/api/messages/{scam}/report", {"reason": "Spam, déjà posté ailleurs"})
    s.call(
        "hugo",
        "PUT",
        f"/api/rooms/{fonds}/mutes/{s.users['camille']['id']}",
        {"duration_s": 3600, "reason": "On garde le fil sur la levée de fonds"},
    )
    # Questions: Inès's question on the pitch is one, with votes; two more wait in the queue.
    s.call("ines", "PUT", f"/api/messages/{m4}/question", {"state": "open"})
    asked = [
        s.call(who, "POST", f"/api/rooms/{pitch}/messages", {"body": body, "question": True})
        for who, body in (
            ("karim", "Combien de temps pour les questions du jury après le pitch ?"),
            ("camille", "On peut montrer une démo vidéo pendant les 3 minutes ?"),
        )
    ]
    for who in ("camille", "hugo", "karim"):
        s.call(who, "PUT", f"/api/messages/{m4}/question/vote")
    s.call("ines", "PUT", f"/api/messages/{asked[1]['message']['id']}/question/vote")
    s.call("lea", "PUT", f"/api/messages/{m4}/question/claim")
    return s, pitch


def questions_shots(browser: Browser, s: Seed, base: str, size: str, theme: str, out: Path) -> None:
    """The mentors' queue beside the chat (a panel on phones), as the room's owner."""
    page = signed_in(browser, base, s.tokens["lea"], SIZES[size], theme)
    open_room(page, s.rooms["atelier-pitch"], size == "phone")
    page.get_by_role("button", name="Ouvrir les questions").click()
    page.wait_for_selector(".q-item")
    page.mouse.move(0, 0)
    shoot(page, out / f"questions-{size}-{theme}.png")
    page.context.close()


def open_day(s: Seed) -> str:
    """A public room that lets guests in, and the guest invite printed on the poster."""
    room = s.room(
        "lea",
        "portes-ouvertes",
        "Portes ouvertes",
        "topic",
        "Posez vos questions aux mentors de l’école",
        [],
    )
    s.call("lea", "PATCH", f"/api/rooms/{room}", {"guests_allowed": True})
    s.say("lea", room, "Bienvenue ! Les mentors répondent à vos questions jusqu’à 17 h. 👋")
    invite = s.call("lea", "POST", f"/api/rooms/{room}/invites", {"role": "guest"})["invite"]
    return str(invite["url"])


def guest_shots(
    browser: Browser, base: str, invite_url: str, size: str, theme: str, out: Path
) -> None:
    """The open-day entry: the invite page with "continue as a guest", then the chat as
    a guest, with the banner that leads to creating an account."""
    ctx = browser.new_context(
        viewport=SIZES[size],
        color_scheme=theme,  # type: ignore[arg-type]
        locale="fr-FR",
        device_scale_factor=1,
    )
    page = ctx.new_page()
    page.goto(base + invite_url)
    page.wait_for_selector("#invite-guest-name")
    page.fill("#invite-guest-name", "Zoé visiteuse")
    shoot(page, out / f"invite-guest-{size}-{theme}.png")
    page.get_by_role("button", name="Continuer en tant qu’invité·e").click()
    page.wait_for_selector(".guest-banner:not([hidden])")
    page.wait_for_selector("article.msg")
    page.mouse.move(0, 0)
    shoot(page, out / f"guest-banner-{size}-{theme}.png")
    ctx.close()


def typing(base: str, token: str, room: int) -> None:
    """Someone typing in the room, for the indicator (expires a few seconds later)."""
    url = base.replace("http", "ws", 1) + "/ws"
    with connect(url) as ws:
        ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        ws.recv(timeout=5)
        ws.send(json.dumps({"op": "typing", "room": room, "ref": 1}))
        time.sleep(0.3)


def signed_in(browser: Browser, base: str, token: str, viewport: ViewportSize, theme: str) -> Page:
    """A page already signed in with `token` (as after an earlier login)."""
    ctx = browser.new_context(
        viewport=viewport,
        color_scheme=theme,  # type: ignore[arg-type]
        locale="fr-FR",
        device_scale_factor=1,
    )
    ctx.add_init_script(f"localStorage.setItem('chat.token', {json.dumps(token)});")
    page = ctx.new_page()
    page.goto(base + "/")
    page.wait_for_selector(".conn-status.conn-online", state="attached")
    return page


def open_room(page: Page, room: int, phone: bool) -> None:
    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    page.locator(f".room-item[data-room-id='{room}']").click()
    page.wait_for_selector("article.msg")


def moderation_shots(
    browser: Browser, s: Seed, base: str, size: str, theme: str, out: Path
) -> None:
    """The moderation screens: as the room's owner, a muted member, and the admin."""
    tag = f"{size}-{theme}"
    viewport = SIZES[size]
    phone = size == "phone"
    pitch = s.rooms["atelier-pitch"]

    page = signed_in(browser, base, s.tokens["lea"], viewport, theme)
    open_room(page, pitch, phone)
    page.wait_for_selector(".pin-bar")
    msg = page.locator("article.msg", has_text="Je passe en premier")
    msg.hover()
    msg.get_by_role("button", name="Plus d’actions").click()
    page.wait_for_selector(".menu")
    shoot(page, out / f"message-menu-{tag}.png")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Gérer le salon").click()
    page.wait_for_selector("#rs-name")
    page.get_by_label("Mode lent").select_option("30")
    shoot(page, out / f"room-settings-{tag}.png")
    page.get_by_role("button", name="Gérer les membres").click()
    page.wait_for_selector(".member-list .person")
    page.get_by_label("Rechercher quelqu’un").fill("s")
    page.wait_for_selector(".add-people .person")
    shoot(page, out / f"members-{tag}.png")
    page.context.close()

    page = signed_in(browser, base, s.tokens["camille"], viewport, theme)
    open_room(page, s.rooms["levee-de-fonds"], phone)
    page.wait_for_selector(".notice-muted")
    page.mouse.move(0, 0)
    shoot(page, out / f"muted-{tag}.png")
    page.context.close()

    page = signed_in(browser, base, s.tokens["sophie"], viewport, theme)
    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    page.get_by_role("button", name="Signalements").click()
    page.wait_for_selector(".report")
    shoot(page, out / f"reports-{tag}.png")
    page.keyboard.press("Escape")
    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    page.get_by_role("button", name="Administration").click()
    page.get_by_role("tab", name="Salons").click()
    page.wait_for_selector(".admin-panel .directory-item")
    shoot(page, out / f"admin-{tag}.png")
    page.get_by_role("tab", name="Journal").click()
    page.wait_for_selector(".audit-entry")
    shoot(page, out / f"audit-{tag}.png")
    page.context.close()


def search_shots(browser: Browser, s: Seed, base: str, size: str, theme: str, out: Path) -> None:
    """Message search: a word typed without its accent, a filter chip, the words marked."""
    page = signed_in(browser, base, s.tokens["camille"], SIZES[size], theme)
    open_room(page, s.rooms["atelier-pitch"], size == "phone")
    if size == "phone":
        page.get_by_role("button", name="Rechercher dans les messages (Ctrl+/)").click()
    else:
        page.keyboard.press("Control+/")
    box = page.get_by_role("searchbox", name="Rechercher dans les messages")
    box.fill("in:atelier-pitch ")
    box.press_sequentially("QUESTION pitch")
    page.wait_for_selector(".search-chip")
    page.wait_for_selector(".search-hit mark")
    shoot(page, out / f"search-{size}-{theme}.png")
    page.context.close()


def ad_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed (it has the accents), else Pillow's own font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def ad_image(title: str, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A made-up Mother's Day ad, drawn here so no picture has to be shipped."""
    w, h = 800, 600
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):
        mix = y / h
        draw.line(
            [(0, y), (w, y)],
            fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    for i, (cx, cy, r) in enumerate(((620, 150, 90), (700, 330, 60), (160, 470, 110))):
        draw.ellipse(
            [cx - r, cy - r, cx + r, cy + r], fill=(255, 255, 255) if i % 2 else (255, 226, 236)
        )
    draw.text((60, 200), title, fill=(40, 20, 40), font=ad_font(64))
    draw.text(
        (60, 290),
        "Fête des mères · 31 mai",
        fill=(70, 40, 70),
        font=ad_font(34),
    )
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def seed_attachments(s: Seed) -> int:
    """Camille asks "A or B?" with two images, then shares a brief: in a room the other
    screenshots do not show, and as Camille, so her unread counts stay as they were."""
    room = s.rooms["marketing-digital"]

    def upload(name: str, content_type: str, data: bytes) -> int:
        r = httpx.post(
            f"{s.base}/api/uploads",
            params={"name": name},
            content=data,
            headers={
                "Authorization": f"Bearer {s.tokens['camille']}",
                "Content-Type": content_type,
            },
            timeout=30,
        )
        r.raise_for_status()
        return int(r.json()["upload"]["id"])

    a = upload(
        "affiche-a.png", "image/png", ad_image("Merci maman", (255, 183, 197), (255, 236, 210))
    )
    b = upload(
        "affiche-b.png", "image/png", ad_image("Bonne fête !", (186, 220, 255), (236, 226, 255))
    )
    brief = upload(
        "brief-agence.txt",
        "text/plain",
        "Brief : pub fête des mères\nFormat carré, sortie le 20 mai.\n".encode(),
    )
    s.call(
        "camille",
        "POST",
        f"/api/rooms/{room}/messages",
        {
            "body": "Image **A** ou **B** pour la pub de la fête des mères ? 🌷",
            "attachments": [a, b],
        },
    )
    s.call(
        "camille",
        "POST",
        f"/api/rooms/{room}/messages",
        {"body": "Et le brief de l’agence, _pour mémoire_ :", "attachments": [brief]},
    )
    return room


def attachments_shots(
    browser: Browser, s: Seed, base: str, size: str, theme: str, out: Path
) -> None:
    """An image message (two images side by side, A and B), a file chip, and the viewer."""
    page = signed_in(browser, base, s.tokens["ines"], SIZES[size], theme)
    open_room(page, s.rooms["marketing-digital"], size == "phone")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.att-thumb img')]"
        ".filter((img) => img.naturalWidth).length === 2"
    )
    page.wait_for_selector(".att-file")
    page.mouse.move(0, 0)
    shoot(page, out / f"attachments-{size}-{theme}.png")
    page.locator(".att-thumb").first.click()
    page.wait_for_function("() => document.querySelector('.lb-img')?.naturalWidth > 0")
    shoot(page, out / f"lightbox-{size}-{theme}.png")
    page.context.close()


def portrait(hue_rgb: tuple[int, int, int], accent: tuple[int, int, int], wide: bool) -> bytes:
    """A made-up profile picture (a head and shoulders on a coloured ground), drawn here so
    no photo has to be shipped; `wide` ones show the server's square crop."""
    width, height = (640, 420) if wide else (420, 420)
    image = Image.new("RGB", (width, height), hue_rgb)
    draw = ImageDraw.Draw(image)
    cx = width // 2
    draw.ellipse((cx - 170, 250, cx + 170, 560), fill=accent)
    draw.ellipse((cx - 80, 80, cx + 80, 240), fill=(245, 214, 186))
    draw.pieslice((cx - 92, 60, cx + 92, 200), 180, 360, fill=(70, 45, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed_profiles(s: Seed) -> None:
    """Léa's full profile, and pictures for a few others."""
    s.call(
        "lea",
        "PATCH",
        "/api/me",
        {
            "pronouns": "elle",
            "bio": "Mentore pitch et storytelling. Ancienne fondatrice d’une appli de "
            "covoiturage.\nDisponible le mardi soir pour relire vos decks ☕",
        },
    )
    pictures = {
        "lea": ((236, 204, 170), (91, 91, 214), True),
        "hugo": ((186, 220, 200), (40, 120, 90), False),
        "ines": ((240, 200, 210), (190, 60, 90), False),
        "karim": ((200, 210, 240), (60, 80, 160), False),
    }
    for who, (ground, accent, wide) in pictures.items():
        r = httpx.put(
            f"{s.base}/api/me/avatar",
            content=portrait(ground, accent, wide),
            headers={"Authorization": f"Bearer {s.tokens[who]}", "Content-Type": "image/png"},
            timeout=10,
        )
        r.raise_for_status()


def profile_shots(browser: Browser, s: Seed, base: str, size: str, theme: str, out: Path) -> None:
    """Léa's profile card, opened from her name in the pitch workshop, as Camille sees it."""
    page = signed_in(browser, base, s.tokens["camille"], SIZES[size], theme)
    open_room(page, s.rooms["atelier-pitch"], size == "phone")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.msg .avatar-img')].some((img) => img.naturalWidth)"
    )
    page.locator("button.msg-author", has_text="Léa Moreau").first.click()
    page.wait_for_selector(".profile-card-bio")
    page.wait_for_function(
        "() => document.querySelector('.profile-card .avatar-img')?.naturalWidth > 0"
    )
    shoot(page, out / f"profile-card-{size}-{theme}.png")
    page.context.close()
    # Léa edits her own profile in the settings.
    page = signed_in(browser, base, s.tokens["lea"], SIZES[size], theme)
    if size == "phone":
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    page.get_by_role("button", name="Paramètres").click()
    page.wait_for_function("() => document.querySelector('#set-bio')?.value.length > 0")
    page.wait_for_function(
        "() => document.querySelector('.profile-edit-avatar .avatar-img')?.naturalWidth > 0"
    )
    shoot(page, out / f"profile-edit-{size}-{theme}.png")
    page.context.close()


def keyboard_shots(
    browser: Browser, s: Seed, base: str, room: int, size: str, theme: str, out: Path
) -> None:
    """The emoji picker searching a French keyword, the quick switcher and the shortcuts help."""
    tag = f"{size}-{theme}"
    page = signed_in(browser, base, s.tokens["camille"], SIZES[size], theme)
    open_room(page, room, size == "phone")
    page.get_by_role("button", name="Insérer un emoji").click()
    page.get_by_role("dialog", name="Choisir un emoji").get_by_role("searchbox").fill("fête")
    page.wait_for_selector(".emoji-cell[data-emoji='🎉']")
    shoot(page, out / f"emoji-search-fr-{tag}.png")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+k")
    page.get_by_role("combobox").fill("a")
    page.wait_for_selector(".switcher-item")
    shoot(page, out / f"switcher-{tag}.png")
    page.keyboard.press("Escape")
    page.locator(".room-title").click()
    page.keyboard.press("?")
    page.wait_for_selector(".shortcuts-help")
    shoot(page, out / f"shortcuts-{tag}.png")
    page.context.close()


def shoot(page: Page, path: Path) -> None:
    page.wait_for_timeout(400)  # let popovers and transitions settle
    page.screenshot(path=str(path))
    print(f"{path} {path.stat().st_size // 1024} KB")


@contextmanager
def throwaway_server() -> Iterator[tuple[ServerProcess, Browser]]:
    """A fresh server with an empty database in a temporary folder, for a script to fill
    and photograph, and the headless Chromium to photograph it with."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(Path(tmp)) as server,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield server, browser
        finally:
            browser.close()


def main(out: Path, only: str | None = None) -> None:
    """All the screenshots, or with `only="guests"` just the open-day entry's."""
    out.mkdir(parents=True, exist_ok=True)
    with throwaway_server() as (server, browser):
        s, pitch = seed(server.base_url)
        if only == "search":
            for size in SIZES:
                for theme in THEMES:
                    search_shots(browser, s, server.base_url, size, theme, out)
            return
        invite_url = open_day(s)
        for size in SIZES:
            for theme in THEMES:
                guest_shots(browser, server.base_url, invite_url, size, theme, out)
        if only == "guests":
            return
        if only == "attachments":
            seed_attachments(s)
            for size in SIZES:
                for theme in THEMES:
                    attachments_shots(browser, s, server.base_url, size, theme, out)
            return
        if only == "profiles":
            seed_profiles(s)
            for size in SIZES:
                for theme in THEMES:
                    profile_shots(browser, s, server.base_url, size, theme, out)
            return
        if only == "keyboard":
            for size in SIZES:
                for theme in THEMES:
                    keyboard_shots(browser, s, server.base_url, pitch, size, theme, out)
            return
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
                moderation_shots(browser, s, server.base_url, size, theme, out)
                questions_shots(browser, s, server.base_url, size, theme, out)
                search_shots(browser, s, server.base_url, size, theme, out)
                keyboard_shots(browser, s, server.base_url, pitch, size, theme, out)
        seed_attachments(s)
        seed_profiles(s)
        for size in SIZES:
            for theme in THEMES:
                attachments_shots(browser, s, server.base_url, size, theme, out)
                profile_shots(browser, s, server.base_url, size, theme, out)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"),
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
