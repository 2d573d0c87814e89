"""Two people chatting in real time, reacting from the picker, and a DM."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Browser, expect

from tests.browser.conftest import LIVE_MS, PASSWORD, Person, create_topic, unique
from tests.support.server import ServerProcess


def test_two_people_chat_in_real_time(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Atelier pitch", bob)
    alice.open()
    bob.open()
    alice.open_room("Atelier pitch")
    bob.open_room("Atelier pitch")

    alice.send("Bonjour Bob, prêt pour le pitch ?")
    expect(bob.message("prêt pour le pitch")).to_be_visible(timeout=LIVE_MS)
    expect(bob.message("prêt pour le pitch").locator(".msg-author")).to_have_text("Alice")

    # Bob starts typing: Alice sees it before the message arrives.
    bob.composer().press_sequentially("Oui ")
    expect(alice.page.locator(".typing")).to_contain_text(
        "Bob est en train d’écrire…", timeout=LIVE_MS
    )
    bob.composer().press_sequentially("j'arrive 🚀")
    bob.composer().press("Enter")
    expect(alice.message("j'arrive 🚀")).to_be_visible(timeout=LIVE_MS)
    expect(alice.page.locator(".typing")).to_have_text("", timeout=LIVE_MS)

    # Shift+Enter is a new line, Enter sends; consecutive messages of one author are grouped.
    box = alice.composer()
    box.press_sequentially("ligne 1")
    box.press("Shift+Enter")
    box.press_sequentially("ligne 2")
    box.press("Enter")
    alice.send("et une suite")
    expect(bob.message("ligne 1")).to_contain_text("ligne 1\nligne 2", timeout=LIVE_MS)
    expect(bob.message("et une suite")).to_have_class("msg grouped", timeout=LIVE_MS)

    # Everyone sees the same conversation, in the same order, each message once.
    bodies = [
        "Bonjour Bob, prêt pour le pitch ?",
        "Oui j'arrive 🚀",
        "ligne 1\nligne 2",
        "et une suite",
    ]
    for person in (alice, bob):
        expect(person.page.locator("article.msg:not(.pending) .msg-body")).to_have_text(bodies)


def test_reaction_from_the_picker_is_seen_by_the_other(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Journée portes ouvertes", bob)
    alice.open()
    bob.open()
    alice.open_room("Journée portes ouvertes")
    bob.open_room("Journée portes ouvertes")

    alice.send("Image A ou B ?")
    msg_for_bob = bob.message("Image A ou B")
    msg_for_bob.hover()
    msg_for_bob.locator(".msg-tools").get_by_role("button", name="Ajouter une réaction").click()
    picker = bob.page.get_by_role("dialog", name="Ajouter une réaction")
    expect(picker).to_be_visible()
    picker.get_by_role("searchbox").fill("cotillons")  # French search
    picker.locator(".emoji-cell[data-emoji='🎉']").click()
    expect(picker).to_be_hidden()

    # Bob's own reaction is highlighted for him…
    bob_chip = msg_for_bob.locator(".reaction[data-emoji='🎉']")
    expect(bob_chip).to_have_attribute("aria-pressed", "true", timeout=LIVE_MS)
    expect(bob_chip.locator(".reaction-count")).to_have_text("1")
    # …and Alice sees it live, counted, and not as hers.
    alice_chip = alice.message("Image A ou B").locator(".reaction[data-emoji='🎉']")
    expect(alice_chip.locator(".reaction-count")).to_have_text("1", timeout=LIVE_MS)
    expect(alice_chip).to_have_attribute("aria-pressed", "false")

    # Alice adds hers with one click on the chip: both see two.
    alice_chip.click()
    expect(alice_chip).to_have_attribute("aria-pressed", "true", timeout=LIVE_MS)
    expect(bob_chip.locator(".reaction-count")).to_have_text("2", timeout=LIVE_MS)
    expect(bob_chip).to_have_attribute("aria-pressed", "true")

    # Bob takes his back.
    bob_chip.click()
    expect(bob_chip).to_have_attribute("aria-pressed", "false", timeout=LIVE_MS)
    expect(alice_chip.locator(".reaction-count")).to_have_text("1", timeout=LIVE_MS)

    # The picker remembers what Bob used.
    msg_for_bob.hover()
    msg_for_bob.locator(".msg-tools").get_by_role("button", name="Ajouter une réaction").click()
    expect(
        picker.locator("section", has_text="Récents").locator(".emoji-cell").first
    ).to_have_attribute("data-emoji", "🎉")
    bob.page.keyboard.press("Escape")
    expect(picker).to_be_hidden()


def test_direct_message(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice")
    bob = make_person("Bob")

    # Alice finds Bob and writes to him.
    alice.page.get_by_role("button", name="Amis").click()
    dialog = alice.page.get_by_role("dialog", name="Amis")
    dialog.get_by_role("searchbox").fill(bob.username[:6])
    dialog.get_by_role("button", name="Envoyer un message à Bob").click()
    expect(alice.page.locator(".room-title")).to_have_text("Bob")
    alice.send("Salut Bob, une question sur ton business plan 🙂")

    # Bob gets the conversation in his sidebar, unread, named after Alice.
    dm_item = (
        bob.page.locator("#group-dm").locator("xpath=../..").locator(".room-item", has_text="Alice")
    )
    expect(dm_item).to_be_visible(timeout=LIVE_MS)
    expect(dm_item.locator(".badge")).to_have_text("1", timeout=LIVE_MS)
    dm_item.click()
    expect(bob.message("business plan")).to_be_visible()
    expect(dm_item.locator(".badge")).to_have_count(0, timeout=LIVE_MS)

    bob.send("Avec plaisir !")
    expect(alice.message("Avec plaisir")).to_be_visible(timeout=LIVE_MS)
    # Both are online, and each sees the other's presence in the DM header.
    expect(alice.page.locator(".room-sub")).to_contain_text("En ligne", timeout=LIVE_MS)


def test_sign_up_profile_log_out_and_back_in(server: ServerProcess, browser: Browser) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    username = unique("Nadia")
    try:
        page.goto(server.base_url + "/")
        page.get_by_role("tab", name="Créer un compte").click()
        page.get_by_label("Nom d’utilisateur").fill(username)
        page.get_by_label("Mot de passe").fill("court")
        page.get_by_role("button", name="Créer mon compte").click()
        expect(page.get_by_role("alert")).to_have_text(
            "Le mot de passe doit faire au moins 8 caractères."
        )
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_label("Nom affiché (facultatif)").fill("Nadia")
        page.get_by_role("button", name="Créer mon compte").click()
        expect(page.get_by_role("heading", name="Choisissez une discussion")).to_be_visible()
        expect(page.locator(".me-name")).to_have_text("Nadia")

        # Profile: display name and region.
        page.get_by_role("button", name="Paramètres").click()
        settings = page.get_by_role("dialog", name="Paramètres")
        settings.get_by_label("Nom affiché").fill("Nadia Benali")
        settings.get_by_label("Région").fill("Marseille")
        settings.get_by_role("button", name="Enregistrer").click()
        expect(page.locator(".toast")).to_contain_text("Enregistré")
        settings.get_by_role("button", name="Fermer").click()
        expect(page.locator(".me-name")).to_have_text("Nadia Benali")
        expect(page.locator(".me-sub")).to_have_text(f"@{username} · Marseille")

        page.get_by_role("button", name="Se déconnecter").click()
        expect(page.get_by_role("heading", name="Bienvenue !")).to_be_visible()
        page.get_by_label("Nom d’utilisateur").fill(username)
        page.get_by_label("Mot de passe").fill("pas le bon mot de passe")
        page.get_by_role("button", name="Se connecter", exact=True).last.click()
        expect(page.get_by_role("alert")).to_have_text(
            "Nom d’utilisateur ou mot de passe incorrect."
        )
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).last.click()
        expect(page.locator(".me-name")).to_have_text("Nadia Benali")
    finally:
        context.close()
