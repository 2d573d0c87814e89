"""User content is shown as text: markup and script URLs never run."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, Person, create_topic

IMG_PAYLOAD = "<img src=x onerror=alert(1)>"
LINK_PAYLOAD = (
    '[clique ici](javascript:alert(2)) ou javascript:alert(3) <a href="javascript:alert(4)">ici</a>'
)


def test_xss_payloads_are_shown_as_text(make_person: Callable[..., Person]) -> None:
    mallory = make_person("Mallory <b>Evil</b>", open=False)
    alice = make_person("Alice", open=False)
    room = create_topic(mallory, "Sécurité", alice)
    alice.open()
    alice.open_room("Sécurité")

    mallory.api("POST", f"/api/rooms/{room['id']}/messages", {"body": IMG_PAYLOAD})
    mallory.api("POST", f"/api/rooms/{room['id']}/messages", {"body": LINK_PAYLOAD})
    mallory.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": "Programme : https://example.org/atelier?id=1&lang=fr <script>alert(5)</script>"},
    )

    # Alice reads exactly what was typed…
    img_msg = alice.message("onerror")
    expect(img_msg.locator(".msg-body")).to_have_text(IMG_PAYLOAD, timeout=LIVE_MS)
    expect(alice.message("clique ici").locator(".msg-body")).to_have_text(
        LINK_PAYLOAD, timeout=LIVE_MS
    )
    # …the author's name too, markup and all…
    expect(img_msg.locator(".msg-author")).to_have_text("Mallory <b>Evil</b>")
    # …and nothing became an element or ran.
    page = alice.page
    expect(page.locator(".msg-list img")).to_have_count(0)
    expect(page.locator(".msg-list b")).to_have_count(0)
    expect(page.locator(".msg-list a[href^='javascript']")).to_have_count(0)
    expect(page.locator(".msg-list a")).to_have_count(1)
    link = page.locator(".msg-list a")
    expect(link).to_have_attribute("href", "https://example.org/atelier?id=1&lang=fr")
    expect(page.locator(".msg-list script")).to_have_count(0)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")

    # Nothing executed, even after a reload (history from the HTTP API this time).
    page.reload()
    alice.wait_online()
    alice.open_room("Sécurité")
    expect(alice.message("onerror").locator(".msg-body")).to_have_text(IMG_PAYLOAD)
    page.wait_for_timeout(300)
    assert alice.dialogs == []

    # And the page is served with a policy that forbids inline script anyway.
    csp = httpx.get(alice.base_url + "/", timeout=5).headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
