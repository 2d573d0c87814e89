"""Guests in the web client: a visitor follows an invite link to a room that allows
guests, continues as a guest under a display name, posts, and is shown as a guest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LIVE_MS, PASSWORD, Person, set_role_by_operator, unique
from tests.support.server import ServerProcess


def mentor_with_open_day(
    server: ServerProcess, make_person: Callable[..., Person]
) -> tuple[Person, dict[str, Any]]:
    """A mentor and a public topic room that lets guests in (setup, through the API)."""
    mentor = make_person("Léa Mentor", open=False)
    set_role_by_operator(server, mentor, "mentor")
    room: dict[str, Any] = mentor.api(
        "POST",
        "/api/rooms",
        {"slug": unique("portes")[:32], "name": "Portes ouvertes", "kind": "topic"},
    )["room"]
    mentor.api("PATCH", f"/api/rooms/{room['id']}", {"guests_allowed": True})
    return mentor, room


def test_a_visitor_continues_as_a_guest_and_posts(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_open_day(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {"role": "guest"})["invite"]
    page = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}).new_page()
    try:
        page.goto(server.base_url + invite["url"])
        expect(page.get_by_role("heading", name="Portes ouvertes")).to_be_visible(timeout=LIVE_MS)
        page.get_by_label("Votre nom affiché").fill("Zoé visiteuse")
        page.get_by_role("button", name="Continuer en tant qu’invité·e").click()

        expect(page.locator(".room-title")).to_contain_text("Portes ouvertes", timeout=LIVE_MS)
        expect(page.locator(".conn-status.conn-online")).to_be_attached(timeout=LIVE_MS)
        box = page.get_by_role("textbox", name="Message")
        box.fill("Bonjour, je visite !")
        box.press("Enter")
        sent = page.locator("article.msg:not(.pending)", has_text="Bonjour, je visite !")
        expect(sent).to_be_visible(timeout=LIVE_MS)
        expect(sent.locator(".role-tag.role-guest")).to_have_text("Invité·e")
    finally:
        page.context.close()

    history = mentor.api("GET", f"/api/rooms/{room['id']}/messages")["messages"]
    [message] = history
    assert message["body"] == "Bonjour, je visite !"
    assert message["author"]["role"] == "guest"
    assert message["author"]["display_name"] == "Zoé visiteuse"


def test_a_guest_asks_gets_an_answer_then_creates_an_account_and_keeps_it(
    server: ServerProcess, browser: Browser, make_person: Callable[..., Person]
) -> None:
    mentor, room = mentor_with_open_day(server, make_person)
    invite = mentor.api("POST", f"/api/rooms/{room['id']}/invites", {"role": "guest"})["invite"]
    mentor.open()
    mentor.open_room("Portes ouvertes")
    mentor.page.get_by_role("button", name="Ouvrir les questions").click()
    queue = mentor.page.get_by_role("complementary", name="Questions")
    expect(queue).to_contain_text("Aucune question ouverte.", timeout=LIVE_MS)

    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        # The visitor follows the link on the poster and comes in as a guest.
        page.goto(server.base_url + invite["url"])
        page.get_by_label("Votre nom affiché").fill("Noé visiteur")
        page.get_by_role("button", name="Continuer en tant qu’invité·e").click()
        expect(page.locator(".room-title")).to_contain_text("Portes ouvertes", timeout=LIVE_MS)
        expect(page.locator(".conn-status.conn-online")).to_be_attached(timeout=LIVE_MS)
        banner = page.get_by_role("region", name="Accès invité")
        expect(banner).to_contain_text("Accès invité jusqu’au")
        expect(banner).to_contain_text("Créez votre compte pour garder vos conversations.")

        # They ask a question with the composer's toggle.
        page.get_by_role("button", name="Poser comme question").click()
        box = page.get_by_role("textbox", name="Message")
        box.fill("Combien d’heures de cours par semaine ?")
        box.press("Enter")
        asked = page.locator(
            "article.msg:not(.pending)",
            has=page.locator(".msg-body", has_text="Combien d’heures de cours par semaine ?"),
        )
        expect(asked.locator(".q-badge")).to_contain_text("0 vote", timeout=LIVE_MS)
        expect(asked.locator(".role-tag.role-guest")).to_have_text("Invité·e")

        # The mentor sees it in the queue, claims it, replies and links the reply.
        item = queue.locator(".q-item", has_text="Combien d’heures de cours")
        expect(item).to_be_visible(timeout=LIVE_MS)
        expect(item).to_contain_text("Noé visiteur")
        item.get_by_role("button", name="Je m’en occupe").click()
        expect(asked.locator(".q-badge")).to_contain_text("Léa Mentor s’en occupe", timeout=LIVE_MS)
        question_id = int(asked.get_attribute("data-id") or 0)
        mentor.api(
            "POST",
            f"/api/rooms/{room['id']}/messages",
            {"body": "Environ 25 heures, plus les projets.", "reply_to": question_id},
        )
        expect(mentor.message("Environ 25 heures")).to_be_visible(timeout=LIVE_MS)
        item.get_by_label("Choisir une réponse").select_option(
            label="Léa Mentor: Environ 25 heures, plus les projets."
        )
        expect(queue).to_contain_text("Aucune question ouverte.", timeout=LIVE_MS)

        # Everyone sees who asked: a guest.
        on_mentor_screen = mentor.message("Combien d’heures de cours")
        expect(on_mentor_screen.locator(".role-tag.role-guest")).to_have_text("Invité·e")

        # The guest sees their question answered.
        expect(asked.locator(".q-badge")).to_contain_text("Répondue", timeout=LIVE_MS)
        guest_token = page.evaluate("localStorage.getItem('chat.token')")
        guest = httpx.get(
            server.base_url + "/api/me",
            headers={"Authorization": f"Bearer {guest_token}"},
            timeout=10,
        ).json()["user"]
        assert guest["role"] == "guest" and guest["expires_at"]

        # The settings say until when, and lead to the same dialog as the banner.
        page.get_by_role("button", name="Paramètres").click()
        settings = page.get_by_role("dialog", name="Paramètres")
        expect(settings).to_contain_text("Accès invité jusqu’au")
        settings.get_by_role("button", name="Créer mon compte").click()
        dialog = page.get_by_role("dialog", name="Créer mon compte")
        expect(dialog).to_be_visible()
        expect(settings).to_be_hidden()

        # A name with accents is explained in French before anything is sent...
        dialog.get_by_label("Nom d’utilisateur").fill("élève")
        dialog.get_by_label("Mot de passe").fill(PASSWORD)
        dialog.get_by_role("button", name="Créer mon compte").click()
        error = dialog.get_by_role("alert")
        expect(error).to_contain_text("sans accents ni espaces")
        # ... and a taken one is the server's refusal (409), worded for the person.
        dialog.get_by_label("Nom d’utilisateur").fill(mentor.username)
        dialog.get_by_role("button", name="Créer mon compte").click()
        expect(error).to_contain_text("Ce nom d’utilisateur est déjà pris. Choisissez-en un autre.")
        expect(dialog.get_by_label("Nom d’utilisateur")).to_have_attribute("aria-invalid", "true")

        username = unique("noe").replace("-", "")
        dialog.get_by_label("Nom d’utilisateur").fill(username)
        dialog.get_by_role("button", name="Créer mon compte").click()
        expect(dialog).to_be_hidden(timeout=LIVE_MS)
        expect(page.locator(".toast")).to_contain_text(f"vous êtes maintenant @{username}")

        # Same session, no reload: the guest marks go, the conversation stays.
        expect(banner).to_be_hidden()
        expect(asked.locator(".role-tag")).to_have_count(0)
        expect(asked.locator(".q-badge")).to_contain_text("Répondue")
        expect(page.locator(".conn-status.conn-online")).to_be_attached()
        # Live on the others' screens too: no longer marked as a guest.
        expect(on_mentor_screen.locator(".role-tag.role-guest")).to_have_count(0, timeout=LIVE_MS)
        box.fill("Merci, je m’inscris !")
        box.press("Enter")
        expect(
            page.locator("article.msg:not(.pending)", has_text="Merci, je m’inscris !")
        ).to_be_visible(timeout=LIVE_MS)

        # After a reload too (same token): the same account and the whole conversation.
        page.reload()
        expect(page.locator(".room-title")).to_contain_text("Portes ouvertes", timeout=LIVE_MS)
        expect(asked.locator(".q-badge")).to_contain_text("Répondue", timeout=LIVE_MS)
        expect(page.locator("article.msg", has_text="Environ 25 heures")).to_be_visible()
        expect(banner).to_be_hidden()
        assert page.evaluate("localStorage.getItem('chat.token')") == guest_token
    finally:
        context.close()

    me = httpx.get(
        server.base_url + "/api/me",
        headers={"Authorization": f"Bearer {guest_token}"},
        timeout=10,
    ).json()["user"]
    assert me["id"] == guest["id"]
    assert me["role"] == "student" and me["username"] == username
    assert "expires_at" not in me
    history = mentor.api("GET", f"/api/rooms/{room['id']}/messages")["messages"]
    mine = [m["body"] for m in history if m["author"]["id"] == guest["id"]]
    assert mine == ["Combien d’heures de cours par semaine ?", "Merci, je m’inscris !"]
    question = next(m for m in history if m["id"] == question_id)["question"]
    assert question["state"] == "answered"


def test_on_an_invite_only_server_the_upgrade_asks_for_a_student_invite(
    browser: Browser, tmp_path: Path
) -> None:
    with ServerProcess(tmp_path, env={"CHAT_REGISTRATION": "invite"}) as server:
        # The first account of an empty server is its admin, registered without an invite.
        r = httpx.post(
            f"{server.base_url}/api/auth/register",
            json={"username": "direction", "password": PASSWORD},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        admin = {"Authorization": f"Bearer {r.json()['token']}"}

        def call(method: str, path: str, body: Any = None) -> Any:
            answer = httpx.request(
                method, server.base_url + path, headers=admin, json=body, timeout=10
            )
            assert answer.status_code < 400, answer.text
            return answer.json()

        room = call(
            "POST", "/api/rooms", {"slug": "journee", "name": "Journée portes", "kind": "topic"}
        )["room"]
        call("PATCH", f"/api/rooms/{room['id']}", {"guests_allowed": True})
        guest_invite = call("POST", f"/api/rooms/{room['id']}/invites", {"role": "guest"})["invite"]
        student_invite = call("POST", f"/api/rooms/{room['id']}/invites", {})["invite"]

        page = browser.new_context(locale="fr-FR").new_page()
        try:
            page.goto(server.base_url + guest_invite["url"])
            page.get_by_label("Votre nom affiché").fill("Yanis")
            page.get_by_role("button", name="Continuer en tant qu’invité·e").click()
            banner = page.get_by_role("region", name="Accès invité")
            banner.get_by_role("button", name="Créer mon compte").click()
            dialog = page.get_by_role("dialog", name="Créer mon compte")
            invite_field = dialog.get_by_label("Lien ou code d’invitation")
            expect(invite_field).to_be_hidden()
            dialog.get_by_label("Nom d’utilisateur").fill("yanis")
            dialog.get_by_label("Mot de passe").fill(PASSWORD)
            dialog.get_by_role("button", name="Créer mon compte").click()

            # Refused without an invite: the field appears, with why.
            error = dialog.get_by_role("alert")
            expect(error).to_contain_text("n’ouvre de comptes que sur invitation")
            expect(invite_field).to_be_visible()
            expect(invite_field).to_be_focused()
            # The poster's guest invite does not open an account either.
            invite_field.fill(server.base_url + guest_invite["url"])
            dialog.get_by_role("button", name="Créer mon compte").click()
            expect(error).to_contain_text("Cette invitation n’ouvre pas de compte")
            # A student invite link does.
            invite_field.fill(server.base_url + student_invite["url"])
            dialog.get_by_role("button", name="Créer mon compte").click()
            expect(dialog).to_be_hidden(timeout=LIVE_MS)
            expect(banner).to_be_hidden()
            expect(page.locator(".toast")).to_contain_text("vous êtes maintenant @yanis")
        finally:
            page.context.close()
        me = httpx.post(
            f"{server.base_url}/api/auth/login",
            json={"username": "yanis", "password": PASSWORD},
            timeout=10,
        ).json()["user"]
        assert me["role"] == "student"
