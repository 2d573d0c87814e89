"""The account in the web client: password, export, deletion, and a reset link's page."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import LIVE_MS, PASSWORD, Person
from tests.support.server import ServerProcess

NEW_PASSWORD = "pluie-sur-la-sambre"


def login_status(server: ServerProcess, username: str, password: str) -> int:
    r = httpx.post(
        f"{server.base_url}/api/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    return r.status_code


def test_changing_the_password_exporting_and_deleting_from_the_settings(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    camille = make_person("Camille")
    page = camille.page
    page.get_by_role("button", name="Paramètres").click()
    settings = page.get_by_role("dialog", name="Paramètres")

    # A wrong current password is said so, and changes nothing.
    settings.get_by_label("Mot de passe actuel").fill("pas le bon mot de passe")
    settings.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    settings.get_by_role("button", name="Changer de mot de passe").click()
    expect(settings.get_by_text("Ce mot de passe est incorrect.")).to_be_visible(timeout=LIVE_MS)
    settings.get_by_label("Mot de passe actuel").fill(PASSWORD)
    settings.get_by_role("button", name="Changer de mot de passe").click()
    expect(page.get_by_text("Mot de passe changé.")).to_be_visible(timeout=LIVE_MS)
    assert login_status(server, camille.username, NEW_PASSWORD) == 200
    camille.wait_online()  # this session stays

    with page.expect_download() as downloaded:
        settings.get_by_role("button", name="Télécharger mes données").click()
    exported = json.loads(downloaded.value.path().read_text(encoding="utf-8"))
    assert exported["user"]["username"] == camille.username

    settings.get_by_label("Confirmez avec votre mot de passe").fill(NEW_PASSWORD)
    settings.get_by_role("button", name="Supprimer mon compte").click()
    expect(page.get_by_role("heading", name="Bienvenue !")).to_be_visible(timeout=LIVE_MS)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert camille.dialogs and "irréversible" in camille.dialogs[-1]
    assert login_status(server, camille.username, NEW_PASSWORD) == 401


def test_a_reset_link_opens_a_new_password_form_that_works_once(
    server: ServerProcess, make_person: Callable[..., Person]
) -> None:
    lucas = make_person("Lucas", open=False)
    done = subprocess.run(
        [sys.executable, "-m", "chatserver", "user", "reset-link", lucas.username],
        env={**server.env, "CHAT_PUBLIC_URL": server.base_url},
        capture_output=True,
        text=True,
        cwd=server.workdir,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()

    context = lucas.browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.get_by_role("heading", name="Choisir un nouveau mot de passe")).to_be_visible()
        page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Répétez-le").fill(NEW_PASSWORD + "x")
        page.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(page.get_by_text("Les deux mots de passe diffèrent.")).to_be_visible()
        page.get_by_label("Répétez-le").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(page.get_by_text("Mot de passe enregistré.")).to_be_visible(timeout=LIVE_MS)
        assert login_status(server, lucas.username, NEW_PASSWORD) == 200

        page.get_by_role("button", name="Aller à la connexion").click()
        expect(page.get_by_role("heading", name="Bienvenue !")).to_be_visible()
        assert page.url.rstrip("/") == server.base_url

        # The same link a second time is refused, in words.
        page.goto(link)
        page.get_by_label("Nouveau mot de passe", exact=True).fill("encore-un-autre")
        page.get_by_label("Répétez-le").fill("encore-un-autre")
        page.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(page.get_by_text("Ce lien est inconnu, déjà utilisé ou expiré.")).to_be_visible(
            timeout=LIVE_MS
        )
    finally:
        context.close()
