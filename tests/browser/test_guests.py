"""Guests in the web client: a visitor follows an invite link to a room that allows
guests, continues as a guest under a display name, posts, and is shown as a guest."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, expect

from tests.browser.conftest import LIVE_MS, Person, unique
from tests.support.server import ServerProcess


def mentor_with_open_day(
    server: ServerProcess, make_person: Callable[..., Person]
) -> tuple[Person, dict[str, Any]]:
    """A mentor and a public topic room that lets guests in (setup, through the API)."""
    mentor = make_person("Léa Mentor", open=False)
    done = subprocess.run(
        [sys.executable, "-m", "chatserver", "user", "set-role", mentor.username, "mentor"],
        env=server.env,
        capture_output=True,
        cwd=server.workdir,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    room: dict[str, Any] = mentor.api(
        "POST",
        "/api/rooms",
        {"slug": unique("portes")[:32], "name": "Portes ouvertes", "kind": "topic"},
    )["room"]
    mentor.api("PATCH", f"/api/rooms/{room['id']}", {"guests_allowed": True})
    return mentor, room


def test_a_visitor_continues_as_a_guest_and_posts(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_open_day(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {"role": "guest"})["invite"]
    page = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}).new_page()
    try:
        page.goto(server.base_url + invite["url"])
        expect(page.get_by_role("heading", name="Portes ouvertes")).to_be_visible(timeout=LIVE_MS)
        page.get_by_label("Votre nom affiché").fill("Zoé visiteuse")
        page.get_by_role("button", name="Continuer en tant qu’invité·e").click()

        expect(page.locator(".room-title")).to_contain_text("Portes ouvertes", timeout=LIVE_MS)
        expect(page.locator(".conn-status.conn-online")).to_be_attached(timeout=LIVE_MS)
        box = page.get_by_role("textbox", name="Message")
        box.fill("Bonjour, je visite !")
        box.press("Enter")
        sent = page.locator("article.msg:not(.pending)", has_text="Bonjour, je visite !")
        expect(sent).to_be_visible(timeout=LIVE_MS)
        expect(sent.locator(".role-tag.role-guest")).to_have_text("Invité·e")
    finally:
        page.context.close()

    history = mentor.api("GET", f"/api/rooms/{room['id']}/messages")["messages"]
    [message] = history
    assert message["body"] == "Bonjour, je visite !"
    assert message["author"]["role"] == "guest"
    assert message["author"]["display_name"] == "Zoé visiteuse"
