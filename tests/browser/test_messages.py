"""The message view and composer: history, replies, edits, deletes, suggestions."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, Person, create_topic


def test_history_loads_upward_as_you_scroll(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    room = create_topic(alice, "Archives")
    for i in range(1, 131):
        alice.api("POST", f"/api/rooms/{room['id']}/messages", {"body": f"Message numéro {i}"})
    alice.open()
    alice.open_room("Archives")

    # The newest page is shown, scrolled to the bottom.
    expect(alice.message("Message numéro 130")).to_be_in_viewport()
    expect(alice.page.get_by_text("Message numéro 1", exact=True)).to_have_count(0)
    scroller = alice.page.locator(".msg-scroll")
    for _ in range(10):
        if alice.page.get_by_text("C’est le début de la discussion.").is_visible():
            break
        scroller.evaluate("el => { el.scrollTop = 0; }")
        alice.page.wait_for_timeout(300)
    expect(alice.page.get_by_text("C’est le début de la discussion.")).to_be_visible()
    bodies = alice.page.locator("article.msg .msg-body").all_inner_texts()
    assert bodies == [f"Message numéro {i}" for i in range(1, 131)]
    # One author, minutes apart at most: a single group under one name.
    expect(alice.page.locator("article.msg:not(.grouped)")).to_have_count(1)


def test_reply_edit_delete_and_suggestions(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Démo day", bob)
    alice.open()
    bob.open()
    alice.open_room("Démo day")
    bob.open_room("Démo day")

    bob.send("Quelle date pour la démo ?")
    question = alice.message("Quelle date")
    question.hover()
    question.get_by_role("button", name="Répondre").click()
    expect(alice.page.locator(".reply-bar")).to_contain_text("Réponse à Bob")

    # `:shortcode` suggestions insert the emoji.
    box = alice.composer()
    box.press_sequentially("Jeudi :tada")
    suggestions = alice.page.get_by_role("listbox", name="Suggestions")
    expect(suggestions.get_by_role("option").first).to_contain_text("🎉")
    box.press("Enter")
    expect(box).to_have_value("Jeudi 🎉 ")
    box.press("Enter")

    answer = bob.message("Jeudi 🎉")
    expect(answer.locator(".msg-reply")).to_contain_text(
        "Quelle date pour la démo ?", timeout=LIVE_MS
    )
    answer.locator(".msg-reply").click()
    expect(bob.message("Quelle date")).to_be_focused()

    # Up arrow in an empty composer edits my last message; Enter saves.
    box.press("ArrowUp")
    editor = alice.page.get_by_role("textbox", name="Modifier le message")
    expect(editor).to_be_focused()
    editor.fill("Jeudi 14 h 🎉")
    editor.press("Enter")
    expect(bob.message("Jeudi 14 h")).to_contain_text("(modifié)", timeout=LIVE_MS)

    # `@` suggestions complete a member's username; the mention is highlighted for them.
    box.press_sequentially("Merci @bo")
    expect(suggestions.get_by_role("option").first).to_contain_text("Bob")
    box.press("Tab")
    expect(box).to_have_value(f"Merci @{bob.username} ")
    box.press("Enter")
    expect(bob.message("Merci").locator(".mention-me")).to_have_text(
        f"@{bob.username}", timeout=LIVE_MS
    )

    # Deleting my message leaves a tombstone for everyone.
    mine = alice.message("Merci")
    mine.hover()
    mine.get_by_role("button", name="Supprimer").click()
    assert alice.dialogs[-1] == "Supprimer ce message ?"
    tombstone = bob.page.locator("article.msg.deleted")
    expect(tombstone).to_contain_text("Message supprimé", timeout=LIVE_MS)
    expect(bob.page.locator(".msg-body", has_text="Merci @")).to_have_count(0)


def test_directory_join_and_create_a_topic(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice")
    bob = make_person("Bob")

    alice.page.get_by_role("button", name="Créer un salon").click()
    form = alice.page.get_by_role("dialog", name="Créer un salon")
    form.get_by_label("Nom").fill("Design produit")
    form.get_by_label("Description (facultatif)").fill("Maquettes, UX et retours")
    form.get_by_role("button", name="Créer le salon").click()
    expect(alice.page.locator(".room-title")).to_contain_text("Design produit")
    expect(alice.page.locator(".room-sub")).to_have_text("Maquettes, UX et retours")

    bob.page.get_by_role("button", name="Explorer les salons").first.click()
    directory = bob.page.get_by_role("dialog", name="Annuaire des salons")
    directory.get_by_role("button", name="Sujet", exact=True).click()
    directory.get_by_role("searchbox").fill("Design")
    directory.get_by_role("button", name="Rejoindre Design produit").click()
    expect(bob.page.locator(".room-title")).to_contain_text("Design produit")
    bob.send("Je peux relire les maquettes ✏️")
    expect(alice.message("relire les maquettes")).to_be_visible(timeout=LIVE_MS)


def test_phone_drawer_keyboard_and_language(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False, viewport={"width": 390, "height": 844})
    create_topic(alice, "Entraide")
    alice.open()
    page = alice.page
    sidebar = page.get_by_role("navigation", name="Salons et messages privés")
    expect(sidebar).not_to_be_in_viewport()

    page.get_by_role("button", name="Ouvrir la liste des salons").click()
    expect(sidebar).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(sidebar).not_to_be_in_viewport()

    page.get_by_role("button", name="Ouvrir la liste des salons").click()
    sidebar.get_by_role("button", name="Paramètres").click()
    page.get_by_role("dialog", name="Paramètres").get_by_label("Langue").select_option("en")
    # Everything switches to English, and stays so after a reload.
    expect(page.get_by_role("button", name="Open the room list")).to_be_visible()
    page.reload()
    alice.wait_online()
    expect(page.locator(".room-title")).to_contain_text("Entraide")
    expect(alice.composer()).to_have_attribute("placeholder", "Message Entraide")
    expect(page.locator("html")).to_have_attribute("lang", "en")
