"""The web client as a student uses it every day: what used to trip people up.

The "new messages" line under a reader's eyes, the create-room dialog, errors
in the interface's language, long pastes and the send rate, drafts, presence
while offline, a confirmation shown over a dialog, and the notification sound.
This module's server has a small message budget, so that sending fast meets the
rate limit as a student would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from tests.browser.conftest import LIVE_MS, PASSWORD, Person, create_topic
from tests.support.server import ServerProcess

# Reconnecting waits a backoff (at most 8 s) after the server is back.
RECONNECT_MS = 25_000
MAX_BODY = 4000
# Starting the server takes a few seconds, many more on a machine shared by several test runs.
START_S = 120.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir: Path = tmp_path_factory.mktemp("everyday-server")
    # A small message budget (5 at once, then 1 a second): reached by typing fast,
    # however slow the machine running the tests is.
    env = {"CHAT_RATE_LIMIT_SCALE": "1", "CHAT_MESSAGE_BURST": "5", "CHAT_MESSAGE_RATE": "1"}
    process = ServerProcess(workdir, env=env)
    process.start(timeout=START_S)
    try:
        yield process
    finally:
        process.stop()


def test_no_new_messages_line_above_a_message_read_as_it_arrives(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Atelier marketing", bob)
    create_topic(alice, "Café", bob)
    alice.open()
    bob.open()
    alice.open_room("Atelier marketing")
    bob.open_room("Atelier marketing")

    # Alice is watching the room, at its end, in a focused tab: what arrives is read.
    bob.send("Tu as vu le brief ?")
    expect(alice.message("Tu as vu le brief ?")).to_be_visible(timeout=LIVE_MS)
    bob.send("Et la deadline ?")
    expect(alice.message("Et la deadline ?")).to_be_visible(timeout=LIVE_MS)
    alice.page.wait_for_timeout(300)  # a late render would bring the line back
    expect(alice.page.locator(".new-marker")).to_have_count(0)

    # Away in another room, the line is there when she comes back, above what she missed.
    alice.open_room("Café")
    bob.send("Pendant ton absence")
    expect(alice.page.locator(".room-item.unread", has_text="Atelier marketing")).to_be_visible(
        timeout=LIVE_MS
    )
    alice.open_room("Atelier marketing")
    marker = alice.page.locator(".new-marker")
    expect(marker).to_have_count(1)
    following = alice.page.locator(".new-marker + article.msg")
    expect(following).to_contain_text("Pendant ton absence")


def test_create_room_dialog_derives_an_id_and_explains_in_french(
    make_person: Callable[..., Person],
) -> None:
    lina = make_person("Lina")
    page = lina.page
    console: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.append(message.text)

    page.on("console", keep)
    page.on("pageerror", lambda e: console.append(str(e)))
    page.get_by_role("button", name="Créer un salon").first.click()
    form = page.get_by_role("dialog", name="Créer un salon")
    expect(form).to_be_visible()
    assert not [m for m in console if "pattern" in m.lower()], console

    # A name made only of emoji gets an identifier all the same.
    form.get_by_label("Nom").fill("🦄🌈")
    slug = form.get_by_label("Identifiant")
    value = slug.input_value()
    assert re.fullmatch(r"[a-z0-9-]{2,32}", value), value

    # Problems are said in the interface's language, under the field, not in the
    # browser's own bubble.
    slug.fill("")
    form.get_by_role("button", name="Créer le salon").click()
    slug_error = form.locator("#new-room-slug-error")
    expect(slug_error).to_be_visible()
    expect(slug_error).to_have_text(re.compile(r"^L’identifiant doit faire 2 à 32 caractères"))
    expect(slug).to_have_attribute("aria-invalid", "true")
    expect(slug).to_be_focused()
    slug.fill("x")
    expect(slug_error).to_be_hidden()  # edited: the message goes until the next check
    form.get_by_label("Nom").fill("")
    form.get_by_role("button", name="Créer le salon").click()
    expect(form.locator("#new-room-name-error")).to_have_text("Donnez un nom au salon.")

    form.get_by_label("Nom").fill("🦄🌈")
    slug.fill(value)
    form.get_by_role("button", name="Créer le salon").click()
    expect(page.locator(".room-title")).to_contain_text("🦄🌈", timeout=LIVE_MS)
    assert not [m for m in console if "pattern" in m.lower()], console


def test_refusals_are_explained_in_french_with_the_server_words_as_a_detail(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    taken = make_person("Chloé", open=False)
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(server.base_url + "/")
        page.get_by_role("tab", name="Créer un compte").click()
        page.fill("#auth-username", "élève")
        page.fill("#auth-password", PASSWORD)
        page.get_by_role("button", name="Créer mon compte").click()
        error = page.locator("#auth-error")
        expect(error).to_contain_text("sans accents ni espaces")
        expect(error).not_to_contain_text("username must")

        # Refused by the server (the name is taken): French first, its words as a detail.
        page.fill("#auth-username", taken.username)
        page.get_by_role("button", name="Créer mon compte").click()
        expect(error).to_contain_text("Ce nom d’utilisateur est déjà pris.")
        detail = error.locator(".error-detail")
        expect(detail).to_contain_text("Détail :")
        main_text = error.evaluate("e => e.firstChild.textContent")
        assert main_text == "Ce nom d’utilisateur est déjà pris. Choisissez-en un autre."
    finally:
        context.close()


def test_a_long_paste_is_kept_and_explained_not_cut(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    alice = make_person("Alice", open=False)
    create_topic(alice, "Rapports")
    alice.open()
    alice.open_room("Rapports")
    assert alice.context is not None
    alice.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    page = alice.page
    long_text = ("Le rapport de stage complet. " * 200)[:4500]
    page.evaluate("text => navigator.clipboard.writeText(text)", long_text)
    box = alice.composer()
    box.click()
    page.keyboard.press("Control+V")

    # Nothing cut: all of it is in the box, with a counter and a notice saying why it cannot go.
    expect(box).to_have_value(long_text)
    notice = page.locator("#composer-too-long")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(
        re.compile(r"Message trop long : 4\s?500 caractères pour 4\s?000")
    )
    expect(page.locator(".char-count")).to_have_text("-500")
    expect(box).to_have_attribute("aria-invalid", "true")
    box.press("Enter")
    page.wait_for_timeout(500)
    expect(box).to_have_value(long_text)  # not sent, not emptied
    assert alice.api("GET", f"/api/rooms/{room_id(alice, 'Rapports')}/messages")["messages"] == []

    # Shortened under the limit, it goes.
    box.fill(long_text[:MAX_BODY])
    expect(notice).to_be_hidden()
    box.press("Enter")
    expect(alice.page.locator("article.msg:not(.pending) .msg-body")).to_have_count(
        1, timeout=LIVE_MS
    )
    expect(box).to_have_value("")


def room_id(person: Person, name: str) -> int:
    rooms = person.api("GET", "/api/rooms")["rooms"]
    return int(next(r["id"] for r in rooms if r["name"] == name))


def test_sending_faster_than_the_rate_shows_a_notice_with_the_wait(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    room = create_topic(alice, "Rafale")
    alice.open()
    alice.open_room("Rafale")
    page = alice.page
    # She types fast: past the budget, the messages queue, and the page says so.
    page.evaluate(
        """() => {
          const box = document.getElementById('composer-input');
          for (let i = 1; i <= 12; i++) {
            box.value = `Message rapide ${i}`;
            box.dispatchEvent(new Event('input', { bubbles: true }));
            const enter = { key: 'Enter', bubbles: true, cancelable: true };
            box.dispatchEvent(new KeyboardEvent('keydown', enter));
          }
        }"""
    )
    notice = page.locator(".composer-notice.notice-rate")
    expect(notice).to_be_visible(timeout=LIVE_MS)
    expect(notice).to_contain_text("Envoi ralenti")
    expect(notice).to_contain_text(re.compile(r"Prochain envoi dans \d+\s?s"))
    expect(notice).to_contain_text(re.compile(r"\d+ messages? attend"))
    # Still possible to write and queue more meanwhile.
    expect(page.locator(".send-btn")).to_be_enabled()

    expect(alice.message("Message rapide 12")).to_be_visible(timeout=LIVE_MS * 2)
    expect(notice).to_be_hidden(timeout=LIVE_MS)
    history = alice.api("GET", f"/api/rooms/{room['id']}/messages?limit=100")["messages"]
    typed = [m["body"] for m in history if m["body"].startswith("Message rapide")]
    assert typed == [f"Message rapide {i}" for i in range(1, 13)]


def test_a_draft_survives_a_reload_and_a_room_switch(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    create_topic(alice, "Projet A")
    create_topic(alice, "Projet B")
    alice.open()
    page = alice.page
    alice.open_room("Projet A")
    alice.composer().fill("Brouillon pour A, à finir")
    alice.open_room("Projet B")
    expect(alice.composer()).to_have_value("")
    alice.composer().fill("Brouillon pour B")
    alice.open_room("Projet A")
    expect(alice.composer()).to_have_value("Brouillon pour A, à finir")

    page.reload()
    alice.wait_online()
    expect(page.locator(".room-title")).to_contain_text("Projet A")
    expect(alice.composer()).to_have_value("Brouillon pour A, à finir")
    alice.open_room("Projet B")
    expect(alice.composer()).to_have_value("Brouillon pour B")

    # Sent, it is no longer a draft, here or after a reload.
    alice.composer().press("Enter")
    expect(alice.message("Brouillon pour B")).to_be_visible(timeout=LIVE_MS)
    expect(alice.composer()).to_have_value("")
    page.reload()
    alice.wait_online()
    alice.open_room("Projet B")
    expect(alice.composer()).to_have_value("")
    alice.open_room("Projet A")
    expect(alice.composer()).to_have_value("Brouillon pour A, à finir")


def test_others_are_not_shown_online_while_i_am_offline(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Présence", bob)
    bob.api("POST", f"/api/rooms/{room_id(alice, 'Présence')}/messages", {"body": "Coucou"})
    bob.open()
    alice.open()
    alice.open_room("Présence")
    dot = alice.message("Coucou").locator(".presence")
    expect(dot).to_have_class(re.compile(r"\bonline\b"), timeout=LIVE_MS)

    server.stop()
    try:
        expect(alice.page.locator(".conn-banner")).to_be_visible(timeout=RECONNECT_MS)
        # Alice cannot know who is online any more: not green.
        expect(dot).not_to_have_class(re.compile(r"\bonline\b"))
        expect(dot).to_have_class(re.compile(r"\bunknown\b"))
        expect(dot).to_have_attribute("aria-label", "Présence inconnue")
    finally:
        server.start(timeout=START_S)
    expect(alice.page.locator(".conn-status.conn-online")).to_be_attached(timeout=RECONNECT_MS)
    expect(bob.page.locator(".conn-status.conn-online")).to_be_attached(timeout=RECONNECT_MS)
    expect(dot).to_have_class(re.compile(r"\bonline\b"), timeout=LIVE_MS)


def test_the_saved_confirmation_shows_above_the_dialog(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    create_topic(alice, "Réglages")
    alice.open()
    alice.open_room("Réglages")
    page = alice.page
    page.get_by_role("button", name="Détails du salon").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Notifications de ce salon").select_option(label="Tous les messages")
    toast = page.locator(".toast", has_text="Enregistré ✓")
    expect(toast).to_be_visible(timeout=LIVE_MS)
    expect(dialog).to_be_visible()
    # What is drawn at the toast's centre is the toast, not the dialog or its backdrop
    # (toasts let clicks through: hit-test it as if it did not).
    on_top = toast.evaluate(
        """t => {
          t.style.pointerEvents = 'auto';
          t.parentElement.style.pointerEvents = 'auto';
          const r = t.getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return hit ? (t.contains(hit) ? 'toast' : hit.tagName) : null;
        }"""
    )
    assert on_top == "toast"


SPY_SOUND = """
window.__chimes = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__chimes += 1;
  return start.apply(this, args);
};
"""


def test_a_notification_sound_when_turned_on(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    elsewhere = create_topic(bob, "Ailleurs", alice)
    create_topic(alice, "Ici", bob)
    alice.open()
    assert alice.context is not None
    alice.context.add_init_script(SPY_SOUND)
    alice.page.reload()
    alice.wait_online()
    alice.open_room("Ici")
    page = alice.page
    chimes = "() => window.__chimes"

    # Off by default: a mention elsewhere makes no sound.
    bob.api("POST", f"/api/rooms/{elsewhere['id']}/messages", {"body": f"@{alice.username} un"})
    expect(page.locator("button.bell .badge")).to_have_text("1", timeout=LIVE_MS)
    assert page.evaluate(chimes) == 0

    # Turned on in the settings (it plays once to be heard), then each notification chimes.
    page.get_by_role("button", name="Paramètres").click()
    settings = page.get_by_role("dialog", name="Paramètres")
    settings.get_by_label("Jouer un son bref quand une notification arrive").check()
    page.wait_for_function("() => window.__chimes > 0")
    heard = page.evaluate(chimes)
    settings.get_by_role("button", name="Fermer").click()
    bob.api("POST", f"/api/rooms/{elsewhere['id']}/messages", {"body": f"@{alice.username} deux"})
    expect(page.locator("button.bell .badge")).to_have_text("2", timeout=LIVE_MS)
    page.wait_for_function(f"() => window.__chimes > {heard}")
    assert page.evaluate("() => localStorage.getItem('chat.sound')") == "on"
