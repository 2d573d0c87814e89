"""The keyboard: the quick switcher (Ctrl+K) over rooms, DMs and people; Alt+arrows
between rooms and unread rooms; Esc closes panels; `?` shows every shortcut."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, Person, create_topic, make_friends


def test_quick_switcher_opens_rooms_dms_and_people(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob Marchal", open=False)
    chloe = make_person("Chloé Dupont", open=False)
    create_topic(alice, "Physique quantique")
    create_topic(alice, "Maths")
    make_friends(alice, bob)
    alice.api("POST", "/api/dms", {"usernames": [bob.username]})
    alice.open()
    alice.open_room("Maths")
    page = alice.page
    expect(alice.composer()).to_be_focused()

    # From the message box, Ctrl+K opens the switcher; a word of the name is enough.
    page.keyboard.press("Control+k")
    switcher = page.get_by_role("dialog", name="Aller à…")
    expect(switcher).to_be_visible()
    box = switcher.get_by_role("combobox", name="Salon, message privé ou personne")
    expect(box).to_be_focused()
    box.fill("quant")
    options = switcher.get_by_role("option")
    expect(options.first).to_contain_text("Physique quantique")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(switcher).to_be_hidden()
    expect(page.locator(".room-title")).to_contain_text("Physique quantique")

    # A DM by the other person's name; arrows move the choice.
    page.keyboard.press("Control+k")
    box.fill("marchal")
    expect(options.first).to_contain_text("Bob Marchal")
    expect(options.first).to_have_attribute("data-kind", "dm")
    box.press("Enter")
    expect(page.locator(".room-title")).to_contain_text("Bob Marchal")

    # Someone with no conversation yet, found by the server, accents ignored: a new DM.
    page.keyboard.press("Control+k")
    box.fill("chloe")
    person = switcher.locator(".switcher-item[data-kind='person']", has_text="Chloé Dupont")
    expect(person).to_be_visible(timeout=LIVE_MS)
    selected = switcher.locator("[aria-selected='true']")
    for _ in range(len(options.all())):
        if selected.get_attribute("data-kind") == "person":
            break
        box.press("ArrowDown")
    expect(selected).to_contain_text("Chloé Dupont")
    box.press("Enter")
    expect(page.locator(".room-title")).to_contain_text("Chloé Dupont", timeout=LIVE_MS)
    expect(page.locator(".room-item", has_text="Chloé Dupont")).to_be_visible()
    assert chloe.username  # Chloé never opened the client: she was found by search

    # Esc closes it and nothing changes.
    page.keyboard.press("Control+k")
    box.fill("maths")
    page.keyboard.press("Escape")
    expect(switcher).to_be_hidden()
    expect(page.locator(".room-title")).to_contain_text("Chloé Dupont")


def test_alt_arrows_move_between_rooms_and_unread_rooms(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Algèbre", bob)
    create_topic(alice, "Biologie", bob)
    create_topic(alice, "Chimie", bob)
    bob.open()
    alice.open()
    alice.open_room("Algèbre")
    page = alice.page
    title = page.locator(".room-title")

    page.keyboard.press("Alt+ArrowDown")  # from the message box, in the sidebar's order
    expect(title).to_contain_text("Biologie")
    page.keyboard.press("Alt+ArrowDown")
    expect(title).to_contain_text("Chimie")
    page.keyboard.press("Alt+ArrowUp")
    expect(title).to_contain_text("Biologie")
    page.keyboard.press("Alt+ArrowUp")
    expect(title).to_contain_text("Algèbre")

    # Unread: Bob writes in Chimie; Alt+Shift+↓ skips Biologie (nothing new there).
    bob.open_room("Chimie")
    bob.send("TP de chimie demain")
    expect(page.locator(".room-item.unread", has_text="Chimie")).to_be_visible(timeout=LIVE_MS)
    page.keyboard.press("Alt+Shift+ArrowDown")
    expect(title).to_contain_text("Chimie")
    expect(alice.message("TP de chimie demain")).to_be_visible()
    # Nothing else is unread: Alt+Shift+↑ stays put.
    page.keyboard.press("Alt+Shift+ArrowUp")
    expect(title).to_contain_text("Chimie")
    bob.open_room("Algèbre")
    bob.send("Exercice 3 ?")
    expect(page.locator(".room-item.unread", has_text="Algèbre")).to_be_visible(timeout=LIVE_MS)
    page.keyboard.press("Alt+Shift+ArrowUp")
    expect(title).to_contain_text("Algèbre")


def test_question_mark_shows_every_shortcut_and_esc_closes_panels(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    create_topic(alice, "Atelier")
    alice.open()
    alice.open_room("Atelier")
    page = alice.page
    help_panel = page.get_by_role("dialog", name="Raccourcis clavier")

    # While typing, `?` is just a character.
    alice.composer().press_sequentially("Une question ?")
    expect(alice.composer()).to_have_value("Une question ?")
    expect(help_panel).to_have_count(0)

    # Elsewhere it opens the help, which lists the shortcuts.
    page.locator(".room-title").click()
    page.keyboard.press("?")
    expect(help_panel).to_be_visible()
    for label in (
        "Aller à un salon, un message privé ou une personne",
        "Salon précédent ou suivant",
        "Salon non lu précédent ou suivant",
        "Fermer la fenêtre ou le panneau ouvert",
        "Afficher cette aide",
        "Envoyer le message",
    ):
        expect(help_panel.locator("dd", has_text=label)).to_be_visible()
    expect(help_panel.locator("dt").first).to_have_text("Ctrl+K")  # the switcher comes first
    page.keyboard.press("Escape")
    expect(help_panel).to_be_hidden()

    # Esc closes a popover (the emoji picker) and a dialog (the settings).
    page.get_by_role("button", name="Paramètres").click()
    settings = page.locator("dialog[open]")
    expect(settings).to_be_visible()
    page.keyboard.press("Escape")
    expect(settings).to_have_count(0)
