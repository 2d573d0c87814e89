"""A server restart in the middle of a conversation loses nothing."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import Person, create_topic
from tests.support.server import ServerProcess

# Reconnecting waits a backoff (at most 8 s) after the server is back.
RECONNECT_MS = 25_000


def test_server_restart_loses_nothing(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    room = create_topic(alice, "Atelier compta", bob)
    alice.open()
    bob.open()
    alice.open_room("Atelier compta")
    bob.open_room("Atelier compta")
    alice.send("Avant la coupure")
    expect(bob.message("Avant la coupure")).to_be_visible()

    server.stop()
    expect(alice.page.locator(".conn-banner")).to_be_visible(timeout=RECONNECT_MS)
    expect(bob.page.locator(".conn-status")).not_to_have_class("conn-status conn-online")

    # Typed while the server is down: kept, and shown as waiting.
    alice.send("Écrit pendant la coupure")
    pending = alice.page.locator("article.msg.pending", has_text="Écrit pendant la coupure")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text("En attente de connexion")
    expect(alice.page.locator(".conn-banner")).to_contain_text("1 message en attente")

    server.start()
    expect(alice.page.locator(".conn-status.conn-online")).to_be_attached(timeout=RECONNECT_MS)
    expect(bob.page.locator(".conn-status.conn-online")).to_be_attached(timeout=RECONNECT_MS)

    # Delivered once, to both, and no longer pending for its author.
    expect(bob.message("Écrit pendant la coupure")).to_have_count(1, timeout=RECONNECT_MS)
    expect(alice.message("Écrit pendant la coupure")).to_have_count(1, timeout=RECONNECT_MS)
    expect(pending).to_have_count(0)
    expect(alice.page.locator(".conn-banner")).to_be_hidden()

    # The conversation goes on live in both directions.
    bob.send("Bien reçu après le redémarrage")
    expect(alice.message("Bien reçu après le redémarrage")).to_be_visible()
    alice.send("Parfait")
    expect(bob.message("Parfait")).to_be_visible()

    # The server stored each message exactly once, in order.
    history = alice.api("GET", f"/api/rooms/{room['id']}/messages")["messages"]
    assert [m["body"] for m in history] == [
        "Avant la coupure",
        "Écrit pendant la coupure",
        "Bien reçu après le redémarrage",
        "Parfait",
    ]
    for person in (alice, bob):
        expect(person.page.locator("article.msg:not(.pending) .msg-body")).to_have_text(
            [m["body"] for m in history]
        )
