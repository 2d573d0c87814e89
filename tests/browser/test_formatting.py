"""Formatting in the web client: the Markdown subset renders as elements on the
other side, hostile links stay text, spoilers open on a click, and plain-text
places (the inbox, reply quotes) show the words without the markers."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, Person, create_topic


def test_bold_lists_quotes_and_spoilers_render(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Mise en forme", bob)
    alice.open()
    bob.open()
    alice.open_room("Mise en forme")
    bob.open_room("Mise en forme")

    alice.send(
        "**Ordre du jour** pour _mardi_ :\n- le pitch\n- la ~~démo~~ vidéo\n"
        "1. Karim\n2. Inès\n> citation `code`\nLa fin : ||c’est Rosebud||"
    )
    msg = bob.message("Ordre du jour")
    expect(msg).to_be_visible(timeout=LIVE_MS)
    body = msg.locator(".msg-body")
    expect(body.locator("strong")).to_have_text("Ordre du jour")
    expect(body.locator("em")).to_have_text("mardi")
    expect(body.locator("ul > li")).to_have_text(["le pitch", "la démo vidéo"])
    expect(body.locator("ul s")).to_have_text("démo")
    expect(body.locator("ol > li")).to_have_text(["Karim", "Inès"])
    expect(body.locator("blockquote code")).to_have_text("code")
    # The markers themselves are gone; the spoiler is masked until clicked.
    assert "**" not in body.inner_text()
    spoiler = body.get_by_role("button", name="Spoiler masqué : cliquer pour révéler")
    expect(spoiler).to_be_visible()
    expect(body.locator(".spoiler.revealed")).to_have_count(0)
    spoiler.focus()
    bob.page.keyboard.press("Enter")
    expect(body.locator(".spoiler.revealed")).to_have_text("c’est Rosebud")

    # A reply quotes the message as one line of plain text.
    msg.hover()
    msg.get_by_role("button", name="Répondre").click()
    quote = bob.page.locator(".reply-bar-quote")
    expect(quote).to_contain_text("Ordre du jour pour mardi : • le pitch • la démo vidéo 1. Karim")
    assert "**" not in quote.inner_text()


def test_hostile_links_are_not_clickable(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    room = create_topic(alice, "Liens", bob)
    bob.open()
    bob.open_room("Liens")

    alice.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {
            "body": "[gagnez](javascript:alert(1)) ou [ici](data:text/html,<b>x</b>) "
            "JavaScript:alert(2) <img src=x onerror=alert(3)> "
            "[la doc](https://example.org/doc) [https://banque.example](https://evil.example/)"
        },
    )
    msg = bob.message("gagnez")
    expect(msg).to_be_visible(timeout=LIVE_MS)
    links = msg.locator(".msg-body a")
    # Only the two http(s) targets are links, and the address is never disguised.
    expect(links).to_have_count(2)
    assert links.nth(0).get_attribute("href") == "https://example.org/doc"
    expect(links.nth(0)).to_have_text("la doc")
    assert links.nth(1).get_attribute("href") == "https://evil.example/"
    expect(links.nth(1)).to_have_text("https://evil.example/")
    body = msg.locator(".msg-body")
    expect(body).to_contain_text("[gagnez](javascript:alert(1))")
    expect(body).to_contain_text("<img src=x onerror=alert(3)>")
    expect(body.locator("img")).to_have_count(0)
    assert bob.dialogs == []


def test_inbox_shows_plain_text(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    room = create_topic(alice, "Annonces", bob)
    create_topic(alice, "Détente", bob)
    bob.open()
    # Bob reads another room: a mention in the room he is reading would be read at once.
    bob.open_room("Détente")
    alice.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": f"**Important** @{bob.username} : lisez _ceci_ ||la réponse||"},
    )
    bell = bob.page.locator("button.bell")
    expect(bell.locator(".badge")).to_have_text("1", timeout=LIVE_MS)
    bell.click()
    item = bob.page.get_by_role("dialog", name="Notifications").locator(".notif").first
    expect(item).to_contain_text(f"Important @{bob.username} : lisez ceci ▒▒▒▒▒")
    assert "**" not in item.inner_text()
    assert "la réponse" not in item.inner_text()


def test_keyboard_formatting_and_its_help(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Raccourcis", bob)
    alice.open()
    bob.open()
    alice.open_room("Raccourcis")
    bob.open_room("Raccourcis")

    box = alice.composer()
    box.fill("Rendez-vous demain")
    box.evaluate("el => el.setSelectionRange(12, 18)")  # "demain"
    box.press("Control+b")
    expect(box).to_have_value("Rendez-vous **demain**")
    box.press("Control+b")  # again: back as it was
    expect(box).to_have_value("Rendez-vous demain")
    box.press("Control+i")
    box.press("End")
    box.type(" sans ")
    box.press("Control+Shift+X")
    box.type("faute")
    expect(box).to_have_value("Rendez-vous *demain* sans ~~faute~~")
    box.press("Enter")
    msg = bob.message("Rendez-vous")
    expect(msg.locator(".msg-body em")).to_have_text("demain", timeout=LIVE_MS)
    expect(msg.locator(".msg-body s")).to_have_text("faute")

    # The shortcuts help lists them, with the syntax of the rest.
    alice.page.locator("main.chat").click(position={"x": 400, "y": 200})
    alice.page.keyboard.press("?")
    help_dialog = alice.page.get_by_role("dialog", name="Raccourcis clavier")
    expect(help_dialog).to_contain_text("Gras (**texte**)")
    expect(help_dialog).to_contain_text("Spoiler, masqué jusqu’au clic")
