"""Invites in the web client: the page an invite link opens (sign up and land in the room,
or join with one click when signed in; unknown and spent invites say so), and the
moderators' invites panel (make, copy, QR code, revoke)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LIVE_MS, PASSWORD, Person, set_role_by_operator, unique
from tests.support.server import ServerProcess


def mentor_with_cohort(
    server: ServerProcess, make_person: Callable[..., Person], *, open: bool = False
) -> tuple[Person, dict[str, Any]]:
    """A mentor (made one by the operator) and the cohort she runs (setup, through the API)."""
    mentor = make_person("Léa Mentor", open=False)
    set_role_by_operator(server, mentor, "mentor")
    name = "Promo Lyon 2026"
    room: dict[str, Any] = mentor.api(
        "POST", "/api/rooms", {"slug": unique("lyon")[:32], "name": name, "kind": "cohort"}
    )["room"]
    if open:
        mentor.open()
    return mentor, room


def fresh_page(browser: Browser) -> Page:
    """A browser nobody ever signed in with."""
    return browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}).new_page()


def test_a_newcomer_opens_the_link_signs_up_and_lands_in_the_cohort(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_cohort(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {"max_uses": 30})["invite"]
    assert invite["url"].startswith("/invite/")

    page = fresh_page(browser)
    try:
        page.goto(server.base_url + invite["url"])
        expect(page.get_by_role("heading", name="Promo Lyon 2026")).to_be_visible(timeout=LIVE_MS)
        expect(page.get_by_text("Promotion · 1 membre")).to_be_visible()
        username = unique("chloe").replace("-", "")
        page.get_by_label("Nom d’utilisateur").fill(username)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_label("Nom affiché (facultatif)").fill("Chloé")
        page.get_by_role("button", name="Créer mon compte et rejoindre").click()

        # In the cohort, signed in, at the app's address, able to write.
        expect(page.locator(".room-title")).to_contain_text("Promo Lyon 2026", timeout=LIVE_MS)
        expect(page.locator(".conn-status.conn-online")).to_be_attached(timeout=LIVE_MS)
        assert page.url == server.base_url + "/"
        box = page.get_by_role("textbox", name="Message")
        box.fill("Bonjour la promo !")
        box.press("Enter")
        expect(
            page.locator("article.msg:not(.pending)", has_text="Bonjour la promo !")
        ).to_be_visible(timeout=LIVE_MS)
    finally:
        page.context.close()

    history = mentor.api("GET", f"/api/rooms/{room['id']}/messages")["messages"]
    assert [(m["author"]["username"], m["body"]) for m in history] == [
        (username, "Bonjour la promo !")
    ]
    [listed] = mentor.api("GET", f"/api/rooms/{room['id']}/invites")["invites"]
    assert listed["uses"] == 1


def test_a_signed_in_student_joins_with_one_click(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_cohort(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {})["invite"]
    student = make_person("Hugo")
    page = student.page
    page.goto(server.base_url + invite["url"])
    expect(page.get_by_role("heading", name="Promo Lyon 2026")).to_be_visible(timeout=LIVE_MS)
    expect(page.get_by_text(f"Connecté·e en tant que @{student.username}")).to_be_visible()
    expect(page.get_by_label("Mot de passe")).to_have_count(0)
    page.get_by_role("button", name="Rejoindre", exact=True).click()
    expect(page.locator(".room-title")).to_contain_text("Promo Lyon 2026", timeout=LIVE_MS)
    student.wait_online()
    assert room["id"] in [r["id"] for r in student.api("GET", "/api/rooms")["rooms"]]


def test_an_account_holder_logs_in_from_the_link_and_joins(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_cohort(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {})["invite"]
    ines = make_person("Inès", open=False)
    page = fresh_page(browser)
    try:
        page.goto(server.base_url + invite["url"])
        page.get_by_role("button", name="J’ai déjà un compte").click()
        page.get_by_label("Nom d’utilisateur").fill(ines.username)
        page.get_by_label("Mot de passe").fill("not the password")
        page.get_by_role("button", name="Se connecter et rejoindre").click()
        expect(page.get_by_text("Nom d’utilisateur ou mot de passe incorrect.")).to_be_visible(
            timeout=LIVE_MS
        )
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter et rejoindre").click()
        expect(page.locator(".room-title")).to_contain_text("Promo Lyon 2026", timeout=LIVE_MS)
    finally:
        page.context.close()


def test_unknown_and_spent_invites_say_so(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_cohort(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {})["invite"]
    mentor.api("DELETE", f"/api/invites/{invite['code']}")
    page = fresh_page(browser)
    try:
        page.goto(server.base_url + "/invite/" + "n" * 32)
        expect(page.get_by_role("alert")).to_have_text(
            "Cette invitation n’existe pas. Vérifiez le lien ou demandez-en un nouveau.",
            timeout=LIVE_MS,
        )
        page.goto(server.base_url + invite["url"])
        expect(page.get_by_role("alert")).to_contain_text(
            "Cette invitation n’est plus valable", timeout=LIVE_MS
        )
        expect(page.get_by_label("Mot de passe")).to_have_count(0)
        page.get_by_role("button", name="Aller au chat").click()
        expect(page.get_by_role("heading", name="Bienvenue !")).to_be_visible(timeout=LIVE_MS)
    finally:
        page.context.close()


def test_the_invites_panel_makes_copies_shows_the_qr_code_and_revokes(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_cohort(server, make_person, open=True)
    assert mentor.context is not None
    mentor.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = mentor.page
    mentor.open_room("Promo Lyon 2026")
    # The moderators' way in: the room's details, then its invites.
    page.get_by_role("button", name="Détails du salon").click()
    page.get_by_role("dialog").get_by_role("button", name="Invitations").click()
    panel = page.get_by_role("dialog", name="Invitations · Promo Lyon 2026")
    expect(panel.get_by_text("Aucune invitation pour l’instant.")).to_be_visible(timeout=LIVE_MS)

    panel.get_by_label("Nombre d’utilisations").fill("2")
    panel.get_by_label("Valable").select_option(label="1 jour")
    panel.get_by_role("button", name="Créer l’invitation").click()
    item = panel.locator(".invite-item")
    expect(item).to_have_count(1, timeout=LIVE_MS)
    expect(item.get_by_text("0 / 2 utilisations")).to_be_visible()
    expect(item.get_by_text("Active")).to_be_visible()
    [made] = mentor.api("GET", f"/api/rooms/{room['id']}/invites")["invites"]
    assert made["max_uses"] == 2
    link = f"{server.base_url}/invite/{made['code']}"
    expect(item.get_by_label("Lien d’invitation")).to_have_value(link)

    item.get_by_role("button", name="Copier le lien").click()
    expect(page.get_by_text("Lien copié.")).to_be_visible(timeout=LIVE_MS)
    assert page.evaluate("navigator.clipboard.readText()") == link

    item.get_by_role("button", name="QR code").click()
    qr = item.get_by_role("img", name="QR code de l’invitation à Promo Lyon 2026")
    expect(qr).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle(), timeout=LIVE_MS
    )
    download = item.get_by_role("link", name="Télécharger pour une affiche (SVG)")
    poster = httpx.get(server.base_url + str(download.get_attribute("href")), timeout=10)
    assert poster.headers["content-type"] == "image/svg+xml"

    item.get_by_role("button", name="Révoquer").click()
    expect(item.get_by_text("Révoquée")).to_be_visible(timeout=LIVE_MS)
    assert mentor.dialogs and "Révoquer cette invitation" in mentor.dialogs[-1]
    expect(item.get_by_role("button", name="Copier le lien")).to_have_count(0)
    assert mentor.api("GET", f"/api/rooms/{room['id']}/invites")["invites"][0]["revoked"]
