"""Friends: requests, accepting, blocking; and browser notifications for DMs."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, Person, create_topic

# Records what the page shows as system notifications (headless Chromium displays none).
NOTIFICATION_SPY = """
window.__shown = [];
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__shown.push({ title, body: (options || {}).body }); }
  close() {}
};
"""


def test_friend_request_accept_and_block(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice")
    bob = make_person("Bob")

    alice.page.get_by_role("button", name="Amis").click()
    dialog = alice.page.get_by_role("dialog", name="Amis")
    dialog.get_by_role("searchbox").fill(bob.username)
    dialog.get_by_role("button", name="Ajouter Bob en ami").click()
    expect(alice.page.locator(".toast")).to_contain_text("Demande envoyée à Bob")
    expect(dialog.locator(".friend-section", has_text="Demandes envoyées")).to_contain_text("Bob")

    # Bob is told at once, and accepts.
    friends_button = bob.page.locator(".foot-actions .with-badge")
    expect(friends_button.locator(".badge")).to_have_text("1", timeout=LIVE_MS)
    friends_button.click()
    bob_dialog = bob.page.get_by_role("dialog", name="Amis")
    bob_dialog.get_by_role("button", name="Accepter la demande de Alice").click()
    expect(bob_dialog.locator(".friend-section", has_text="Mes amis")).to_contain_text("Alice")
    expect(dialog.locator(".friend-section", has_text="Mes amis")).to_contain_text(
        "Bob", timeout=LIVE_MS
    )

    # Bob blocks Alice: she is gone from his friends and listed as blocked.
    bob_dialog.get_by_role("button", name="Bloquer Alice").click()
    assert bob.dialogs and "Bloquer Alice" in bob.dialogs[-1]
    expect(bob_dialog.locator(".friend-section", has_text="Personnes bloquées")).to_contain_text(
        "Alice"
    )
    expect(bob_dialog.locator(".friend-section", has_text="Mes amis")).not_to_contain_text("Alice")

    # Alice can no longer open a DM with him.
    alice.page.keyboard.press("Escape")
    alice.page.get_by_role("button", name="Nouveau message privé").click()
    new_dm = alice.page.get_by_role("dialog", name="Nouveau message privé")
    new_dm.get_by_role("searchbox").fill(bob.username)
    new_dm.get_by_role("button", name="Ajouter Bob à la conversation").click()
    new_dm.get_by_role("button", name="Démarrer la conversation").click()
    expect(alice.page.locator(".toast-error")).to_contain_text(
        "Impossible d’écrire à cette personne."
    )


def test_browser_notification_for_a_dm(make_person: Callable[..., Person]) -> None:
    chloe = make_person("Chloé", open=False)
    hugo = make_person("Hugo", open=False)
    create_topic(chloe, "Ailleurs")
    chloe.open()
    assert chloe.context is not None
    chloe.context.add_init_script(NOTIFICATION_SPY)
    chloe.page.reload()
    chloe.wait_online()
    chloe.open_room("Ailleurs")

    dm = hugo.api("POST", "/api/dms", {"username": chloe.username})["room"]
    hugo.api("POST", f"/api/rooms/{dm['id']}/messages", {"body": "Tu relis mon deck ? 🙏"})

    chloe.page.wait_for_function("window.__shown.length > 0", timeout=LIVE_MS)
    shown = chloe.page.evaluate("window.__shown")
    assert shown[0]["title"] == "Hugo — message privé"
    assert "Tu relis mon deck ? 🙏" in shown[0]["body"]
    expect(chloe.page.locator("button.bell .badge")).to_have_text("1")
