"""Notification settings decide what alerts a person: "friends only" in practice."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, Person, create_topic, make_friends


def test_friends_only_setting_decides_which_message_notifies(
    make_person: Callable[..., Person],
) -> None:
    chloe = make_person("Chloé", open=False)
    friend = make_person("Farid", open=False)
    stranger = make_person("Sam", open=False)
    room = create_topic(stranger, "Levée de fonds", chloe, friend)
    make_friends(chloe, friend)
    chloe.open()

    # Chloé chooses "friends and mentions" as her default level in the settings.
    chloe.page.get_by_role("button", name="Paramètres").click()
    settings = chloe.page.get_by_role("dialog", name="Paramètres")
    settings.get_by_label("Par défaut").select_option("friends")
    expect(chloe.page.locator(".toast")).to_contain_text("Enregistré")
    settings.get_by_role("button", name="Fermer").click()
    # She is reading another room, so the new messages are not in front of her.
    other = create_topic(chloe, "Mon coin")
    chloe.page.reload()
    chloe.wait_online()
    chloe.open_room("Mon coin")
    bell = chloe.page.locator("button.bell")
    expect(bell.locator(".badge")).to_be_hidden()

    # A message from someone who is not her friend: shown in the room, no alert.
    stranger.api(
        "POST", f"/api/rooms/{room['id']}/messages", {"body": "Qui vient au meetup de Lyon ?"}
    )
    # A message from her friend: an alert.
    friend.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": "Chloé, j'ai trouvé un investisseur !"},
    )

    expect(bell.locator(".badge")).to_have_text("1", timeout=LIVE_MS)
    room_item = chloe.page.locator(".room-item", has_text="Levée de fonds")
    expect(room_item.locator(".badge")).to_have_text("2")  # both are unread in the room

    bell.click()
    inbox = chloe.page.get_by_role("dialog", name="Notifications")
    items = inbox.locator(".notif")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Farid")
    expect(items.first).to_contain_text("message d’un ami")
    expect(items.first).to_contain_text("j'ai trouvé un investisseur")
    expect(inbox).not_to_contain_text("meetup de Lyon")

    # Clicking it opens the room at that message and marks it read.
    items.first.click()
    expect(chloe.page.locator(".room-title")).to_contain_text("Levée de fonds")
    target = chloe.message("j'ai trouvé un investisseur")
    expect(target).to_be_visible()
    expect(target).to_be_focused()
    expect(bell.locator(".badge")).to_be_hidden(timeout=LIVE_MS)
    expect(chloe.message("meetup de Lyon")).to_be_visible()
    assert other["id"] != room["id"]


def test_per_room_level_and_mentions(make_person: Callable[..., Person]) -> None:
    chloe = make_person("Chloé", open=False)
    sam = make_person("Sam", open=False)
    room = create_topic(sam, "Marketing", chloe)
    quiet = create_topic(chloe, "Calme")
    chloe.open()
    chloe.open_room("Calme")

    # Per room: "all messages" for Marketing, from the room's own details.
    chloe.open_room("Marketing")
    chloe.page.get_by_role("button", name="Détails du salon").click()
    details = chloe.page.get_by_role("dialog", name="Marketing")
    details.get_by_label("Notifications de ce salon").select_option("all")
    expect(chloe.page.locator(".toast")).to_contain_text("Enregistré")
    details.get_by_role("button", name="Fermer").click()
    chloe.open_room("Calme")

    sam.api("POST", f"/api/rooms/{room['id']}/messages", {"body": "Nouveau post sur le blog"})
    bell = chloe.page.locator("button.bell")
    expect(bell.locator(".badge")).to_have_text("1", timeout=LIVE_MS)

    # A mention is highlighted in the sidebar, and in the message itself.
    sam.api("POST", f"/api/rooms/{room['id']}/messages", {"body": f"@{chloe.username} tu relis ?"})
    item = chloe.page.locator(".room-item", has_text="Marketing")
    expect(item).to_have_class("room-item unread mentioned", timeout=LIVE_MS)
    expect(bell.locator(".badge")).to_have_text("2", timeout=LIVE_MS)
    bell.click()
    inbox = chloe.page.get_by_role("dialog", name="Notifications")
    expect(inbox.locator(".notif").first).to_contain_text("vous a mentionné")
    inbox.get_by_role("button", name="Tout marquer comme lu").click()
    expect(bell.locator(".badge")).to_be_hidden(timeout=LIVE_MS)
    chloe.page.keyboard.press("Escape")
    item.click()
    mention = chloe.message("tu relis").locator(".mention-me")
    expect(mention).to_have_text(f"@{chloe.username}")
    assert quiet["id"] != room["id"]
