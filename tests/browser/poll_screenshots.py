"""Screenshots of polls for the docs: `python -m tests.browser.poll_screenshots [OUT_DIR]`.

Starts a throwaway server and fills it with a topic room where a student asked "where
do we eat on Saturday?" as a poll that six classmates voted in (the viewer among
them), and an anonymous multiple-choice poll that was closed; then photographs the
room's stream at desktop (1280×800) and phone (390×844) widths, light and dark
(`poll-<size>-<theme>.png`), and the poll dialog of the composer on a phone
(`poll-dialog-phone-<theme>.png`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.browser.conftest import PASSWORD
from tests.browser.screenshots import (
    SIZES,
    THEMES,
    Seed,
    open_room,
    shoot,
    signed_in,
    throwaway_server,
)

PEOPLE = [
    ("camille", "Camille Dubois"),
    ("hugo", "Hugo Leroy"),
    ("ines", "Inès Haddad"),
    ("lucas", "Lucas Martin"),
    ("maya", "Maya Janssens"),
    ("noah", "Noah Peeters"),
    ("sofia", "Sofia Rossi"),
]


def seed(base: str) -> int:
    s = Seed(base)
    for username, display in PEOPLE:
        s.person(username, display)
    others = [u for u, _ in PEOPLE[1:]]
    room = s.room("camille", "belgique", "Belgique", "topic", "Les élèves de Belgique", others)
    s.say("hugo", room, "On s’organise un repas entre élèves de la région samedi ?")
    s.say("maya", room, "Carrément ! Je peux réserver si on sait où 🙂")
    dinner = s.call(
        "ines",
        "POST",
        f"/api/rooms/{room}/messages",
        {
            "body": "",
            "poll": {
                "question": "On mange où samedi soir ?",
                "options": ["Pizzeria du Sablon", "Sushis à Ixelles", "Friterie Flagey"],
            },
        },
    )["message"]["id"]
    votes = {"camille": 1, "hugo": 1, "lucas": 3, "maya": 1, "noah": 2, "sofia": 3}
    for who, one in votes.items():
        s.call(who, "PUT", f"/api/messages/{dinner}/poll/vote", {"options": [one]})
    s.say("lucas", room, "Va pour la pizzeria si ça reste en tête 🍕")
    days = s.call(
        "maya",
        "POST",
        f"/api/rooms/{room}/messages",
        {
            "body": "Et pour la visite de Bruges, quels jours vous arrangent ?",
            "poll": {
                "question": "Jours possibles",
                "options": ["Vendredi", "Samedi", "Dimanche"],
                "multiple": True,
                "anonymous": True,
            },
        },
    )["message"]["id"]
    for who, several in {"camille": [2, 3], "hugo": [2], "ines": [1, 2], "noah": [3]}.items():
        s.call(who, "PUT", f"/api/messages/{days}/poll/vote", {"options": several})
    s.call("maya", "POST", f"/api/messages/{days}/poll/close")
    return room


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with throwaway_server() as (server, browser):
        room = seed(server.base_url)
        token = _token(server.base_url)
        for size in SIZES:
            for theme in THEMES:
                page = signed_in(browser, server.base_url, token, SIZES[size], theme)
                open_room(page, room, size == "phone")
                page.wait_for_selector(".poll.closed")
                # Both polls in view: the stream opens at the "new messages" line.
                page.locator(".msg-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
                page.mouse.move(0, 0)
                shoot(page, out / f"poll-{size}-{theme}.png")
                if size == "phone":
                    page.get_by_role("button", name="Créer un sondage").click()
                    dialog = page.get_by_role("dialog", name="Nouveau sondage")
                    dialog.get_by_role("textbox", name="Question").fill("Qui vient au marché ?")
                    dialog.get_by_role("textbox", name="Choix 1", exact=True).fill("Moi !")
                    dialog.get_by_role("textbox", name="Choix 2", exact=True).fill("Pas cette fois")
                    dialog.get_by_role("checkbox", name="Sondage anonyme").check()
                    shoot(page, out / f"poll-dialog-{size}-{theme}.png")
                page.context.close()


def _token(base: str) -> str:
    """Camille's session (she voted in the first poll)."""
    r = httpx.post(
        f"{base}/api/auth/login", json={"username": "camille", "password": PASSWORD}, timeout=10
    )
    r.raise_for_status()
    return str(r.json()["token"])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
