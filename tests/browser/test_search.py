"""Message search in the web client: the shortcut, a word typed without its accent, a filter
chip, the matched words marked, and the jump to an old message with its context loaded."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import Person, create_topic

MakePerson = Callable[..., Person]


def test_search_a_word_with_an_accent_and_jump_to_the_message(make_person: MakePerson) -> None:
    nora = make_person("Nora Benali")
    camille = make_person("Camille Dubois", open=False)
    room = create_topic(nora, "Entraide contrats", camille)
    other = create_topic(nora, "Bavardage", camille)
    camille.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": "Voici les Réponses à vos questions sur le contrat de juillet"},
    )
    # An ordinary page of history lies between the answer and the newest message, so the
    # jump has to load the answer's context rather than find it on screen.
    for i in range(80):
        nora.api("POST", f"/api/rooms/{room['id']}/messages", {"body": f"suite {i}"})
    nora.api("POST", f"/api/rooms/{other['id']}/messages", {"body": "réponse sans rapport"})

    page = nora.page
    nora.open_room("Bavardage")
    page.keyboard.press("Control+/")
    box = page.get_by_role("searchbox", name="Rechercher dans les messages")
    expect(box).to_be_focused()
    box.fill("reponse")
    hits = page.locator(".search-hit")
    expect(hits).to_have_count(2)
    # A filter chip narrows to one room.
    box.fill(f"in:{room['slug']} reponse")
    expect(page.locator(".search-chip")).to_contain_text(room["slug"])
    expect(box).to_have_value("reponse")
    expect(hits).to_have_count(1)
    hit = hits.first
    expect(hit.locator("mark")).to_have_text(["Réponses"])
    expect(hit.locator(".search-room")).to_contain_text("Entraide contrats")
    hit.click()

    expect(page.locator("dialog.search-dialog")).to_have_count(0)
    expect(page.locator(".room-title")).to_contain_text("Entraide contrats")
    target = nora.message("Voici les Réponses")
    expect(target).to_be_visible()
    expect(target).to_be_in_viewport()
    # Its context is there, and the list still reaches the newest message.
    expect(nora.message("suite 0")).to_be_attached()
    expect(nora.message("suite 79")).to_be_attached()


def test_slash_opens_the_search_outside_text_fields_and_chips_come_off(
    make_person: MakePerson,
) -> None:
    lea = make_person("Léa Moreau")
    room = create_topic(lea, "Meetups Lyon")
    lea.api("POST", f"/api/rooms/{room['id']}/messages", {"body": "Two **meetups** in _July_"})
    page = lea.page
    lea.open_room("Meetups Lyon")
    # In the composer, / is text.
    lea.composer().press("/")
    expect(page.locator("dialog.search-dialog")).to_have_count(0)
    expect(lea.composer()).to_have_value("/")
    lea.composer().fill("")
    page.locator(".room-title").click()
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Rechercher dans les messages")
    expect(box).to_be_focused()
    box.press_sequentially("has:link ")
    expect(page.locator(".search-chip")).to_have_text("has:link")
    box.press_sequentially("meetup")
    expect(page.locator(".search-status")).to_have_text("Aucun message trouvé.")
    # Backspace in the empty box removes the last chip; the search runs again.
    box.fill("")
    box.press("Backspace")
    expect(page.locator(".search-chip")).to_have_count(0)
    box.fill("meetup")
    expect(page.locator(".search-hit mark")).to_have_text(["meetups"])
    # The result reads as the message does, without its formatting markers.
    expect(page.locator(".search-hit .search-body")).to_have_text("Two meetups in July")
    page.keyboard.press("Escape")
    expect(page.locator("dialog.search-dialog")).to_have_count(0)
