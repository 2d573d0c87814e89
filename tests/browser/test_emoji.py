"""Emoji in French: the picker searches CLDR keywords, ranks the common choice first, shows
French names in sentence case; `:keyword:` shortcodes become emoji in messages."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.browser.conftest import LIVE_MS, Person, create_topic


def _open_reaction_picker(person: Person, text: str) -> Locator:
    msg = person.message(text)
    msg.hover()
    msg.locator(".msg-tools").get_by_role("button", name="Ajouter une réaction").click()
    picker = person.page.get_by_role("dialog", name="Ajouter une réaction")
    expect(picker).to_be_visible()
    return picker


def test_french_keywords_find_emoji_with_or_without_accents(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    create_topic(alice, "Fête de fin d'année")
    alice.open()
    alice.open_room("Fête de fin d'année")
    alice.send("On fait quoi pour la fête ?")
    picker = _open_reaction_picker(alice, "pour la fête")
    search = picker.get_by_role("searchbox")
    cells = picker.locator(".emoji-cell")
    for q in ("fête", "fete", "FETE"):
        search.fill(q)
        expect(cells.first).to_have_attribute("data-emoji", "🎉")
        expect(picker.locator(".emoji-empty")).to_have_count(0)
        assert cells.count() >= 5, q  # 🥳 💃 🎂 🎈… carry the keyword too
    # The name is the CLDR label in sentence case, not Title Case.
    expect(picker.locator(".emoji-preview-text strong")).to_have_text("Cotillons")
    expect(picker.locator(".emoji-preview-text strong")).to_have_css("text-transform", "none")
    search.fill("pouce")
    expect(cells.first).to_have_attribute("data-emoji", "👍")
    expect(picker.locator(".emoji-preview-text strong")).to_have_text("Pouce vers le haut")
    expect(cells.first).to_have_attribute("aria-label", "👍 Pouce vers le haut")


def test_coeur_puts_the_red_heart_first_and_enter_reacts_with_it(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Club lecture", bob)
    alice.open()
    bob.open()
    alice.open_room("Club lecture")
    bob.open_room("Club lecture")
    alice.send("J'ai adoré ce livre")
    picker = _open_reaction_picker(bob, "adoré ce livre")
    search = picker.get_by_role("searchbox")
    search.fill("coeur")
    cells = picker.locator(".emoji-cell")
    expect(cells.first).to_have_attribute("data-emoji", "❤️")
    emoji = [c.get_attribute("data-emoji") for c in cells.all()]
    assert emoji.index("❤️") < emoji.index("🫀"), emoji[:12]
    search.press("Enter")
    expect(picker).to_be_hidden()
    chip = alice.message("adoré ce livre").locator(".reaction[data-emoji='❤️']")
    expect(chip.locator(".reaction-count")).to_have_text("1", timeout=LIVE_MS)


def test_french_keyword_shortcodes_become_emoji_in_messages(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Résultats", bob)
    alice.open()
    bob.open()
    alice.open_room("Résultats")
    bob.open_room("Résultats")
    alice.send("Admis :joie: :bravo: à tous, :fête: ce soir à 18:30:00")
    expect(bob.message("Admis")).to_contain_text(
        "Admis 😂 👏 à tous, 🎉 ce soir à 18:30:00", timeout=LIVE_MS
    )
    # The `:keyword` autocomplete offers the same emoji, with its French name.
    box = alice.composer()
    box.press_sequentially("bravo :fete")
    first = alice.page.locator("#composer-suggestions .ac-item").first
    expect(first.locator(".ac-emoji")).to_have_text("🎉")
    expect(first.locator(".ac-sub")).to_have_text("Cotillons")
    expect(box).not_to_have_attribute("aria-expanded", "true")
