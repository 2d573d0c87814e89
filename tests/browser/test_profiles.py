"""Profiles in the browser: a card opens on a name and starts a DM or a friend request;
a profile is edited in the settings, picture included; a rename and a new picture show
live in another person's browser."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import httpx
from PIL import Image
from playwright.sync_api import FilePayload, expect

from tests.browser.conftest import LIVE_MS, Person, create_topic


def picture(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (30, 140, 90))
    image.paste((250, 200, 40), (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def set_avatar(person: Person, data: bytes) -> None:
    r = httpx.put(
        person.base_url + "/api/me/avatar",
        content=data,
        headers={"Authorization": f"Bearer {person.token}", "Content-Type": "image/png"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_a_profile_card_opens_on_a_name_and_starts_a_dm(
    make_person: Callable[..., Person],
) -> None:
    camille = make_person("Camille", open=False)
    lucas = make_person("Lucas", open=False)
    room = create_topic(camille, "Entraide design", lucas)
    camille.api(
        "PATCH",
        "/api/me",
        {"bio": "Graphiste en reconversion.", "pronouns": "elle", "region": "Lyon"},
    )
    set_avatar(camille, picture(400, 300))
    camille.api("POST", f"/api/rooms/{room['id']}/messages", {"body": "Bonjour à tous !"})

    lucas.open()
    lucas.open_room("Entraide design")
    message = lucas.message("Bonjour à tous !")
    expect(message).to_be_visible(timeout=LIVE_MS)
    # Her picture is drawn from the token-fetched image, over her initials.
    avatar = message.locator(".msg-gutter .avatar-img")
    expect(avatar).to_have_attribute("src", _blob(), timeout=LIVE_MS)

    message.get_by_role("button", name="Camille", exact=True).click()
    card = lucas.page.get_by_role("dialog", name="Camille")
    expect(card).to_be_visible()
    expect(card).to_contain_text("elle")
    expect(card).to_contain_text("Lyon")
    expect(card).to_contain_text("Graphiste en reconversion.")
    expect(card).not_to_contain_text("null")

    # Add friend: the request goes, and the button says so.
    card.get_by_role("button", name="Ajouter en ami").click()
    expect(card.get_by_role("button", name="Demande envoyée")).to_be_disabled()
    outgoing = lucas.api("GET", "/api/friends")["outgoing"]
    assert [u["username"] for u in outgoing] == [camille.username]

    # Send a message: the DM opens, ready to write in.
    card.get_by_role("button", name="Envoyer un message").click()
    expect(card).to_be_hidden()
    expect(lucas.page.locator(".room-title")).to_contain_text("Camille", timeout=LIVE_MS)
    lucas.send("Salut Camille, tu as une minute ?")
    expect(lucas.message("Salut Camille, tu as une minute ?")).to_be_visible(timeout=LIVE_MS)
    dms = [r for r in lucas.api("GET", "/api/rooms")["rooms"] if r["kind"] == "dm"]
    assert len(dms) == 1

    # The avatar opens the same card; Escape closes it.
    lucas.open_room("Entraide design")
    lucas.message("Bonjour à tous !").locator(".msg-gutter .profile-link").click()
    expect(lucas.page.get_by_role("dialog", name="Camille")).to_be_visible()
    lucas.page.keyboard.press("Escape")
    expect(lucas.page.get_by_role("dialog", name="Camille")).to_be_hidden()


def _blob() -> re.Pattern[str]:
    return re.compile(r"^blob:")


def test_a_rename_and_a_new_picture_show_live_in_another_browser(
    make_person: Callable[..., Person],
) -> None:
    nora = make_person("Nora", open=False)
    hugo = make_person("Hugo", open=False)
    room = create_topic(nora, "Atelier Python", hugo)
    nora.api("POST", f"/api/rooms/{room['id']}/messages", {"body": "Qui a fini l’exercice 3 ?"})

    hugo.open()
    hugo.open_room("Atelier Python")
    message = hugo.message("Qui a fini l’exercice 3 ?")
    expect(message.locator(".msg-author")).to_have_text("Nora", timeout=LIVE_MS)
    expect(message.locator(".msg-gutter .avatar-img")).to_have_count(0)

    # Nora renames herself in her settings and picks a picture.
    nora.open()
    nora.page.get_by_role("button", name="Paramètres").click()
    settings = nora.page.get_by_role("dialog", name="Paramètres")
    settings.get_by_label("Nom affiché").fill("Nora Benali")
    settings.get_by_label("Pronoms (facultatif)").fill("elle")
    settings.get_by_label("Bio").fill("Mentore Python, le mardi soir.")
    settings.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(nora.page.locator(".toast")).to_contain_text("Enregistré", timeout=LIVE_MS)

    # Hugo sees the new name in place, without reloading.
    expect(message.locator(".msg-author")).to_have_text("Nora Benali", timeout=LIVE_MS)

    chosen: FilePayload = {"name": "nora.png", "mimeType": "image/png", "buffer": picture(320, 480)}
    settings.locator("#set-avatar").set_input_files(files=[chosen])
    preview = settings.locator(".profile-edit-avatar .avatar-img")
    expect(preview).to_have_attribute("src", _blob())
    settings.get_by_role("button", name="Enregistrer la photo").click()
    expect(nora.page.locator(".toast", has_text="Photo de profil enregistrée.")).to_be_visible(
        timeout=LIVE_MS
    )
    expect(message.locator(".msg-gutter .avatar-img")).to_have_attribute(
        "src", _blob(), timeout=LIVE_MS
    )

    # A bio over the limit is flagged before anything is sent.
    settings.get_by_label("Bio").fill("x" * 301)
    expect(settings.locator("#set-bio-count")).to_contain_text("300")
    expect(settings.get_by_label("Bio")).to_have_attribute("aria-invalid", "true")
