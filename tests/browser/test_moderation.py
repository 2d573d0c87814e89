"""Moderation in the web client: mutes, reports, room settings, pins and room creation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    LIVE_MS,
    Person,
    create_topic,
    register_admin,
    set_role,
    unique,
)
from tests.support.server import ServerProcess


@pytest.fixture(scope="module", autouse=True)
def admin_token(server: ServerProcess) -> Iterator[str]:
    """The server's first account, hence its admin: registered before anyone else here."""
    yield register_admin(server, "directrice")


def post_as(person: Person, room: dict[str, Any], body: str) -> httpx.Response:
    return httpx.post(
        f"{person.base_url}/api/rooms/{room['id']}/messages",
        json={"body": body},
        headers={"Authorization": f"Bearer {person.token}"},
        timeout=10,
    )


def message_menu(page: Page, text: str) -> None:
    """Open the "more actions" menu of the message containing `text`."""
    msg = page.locator("article.msg:not(.pending)", has=page.locator(".msg-body", has_text=text))
    msg.hover()
    msg.get_by_role("button", name="Plus d’actions").click()


def test_a_muted_student_sees_the_banner_and_cannot_send(
    make_person: Callable[..., Person],
) -> None:
    owner = make_person("Nadia", open=False)
    student = make_person("Théo", open=False)
    room = create_topic(owner, "Atelier compta", student)
    owner.open()
    student.open()
    owner.open_room("Atelier compta")
    student.open_room("Atelier compta")
    student.send("Première question")
    expect(owner.message("Première question")).to_be_visible(timeout=LIVE_MS)

    # The room's owner mutes Théo for an hour from the members panel.
    page = owner.page
    page.get_by_role("button", name="Gérer le salon").click()
    page.get_by_role("button", name="Gérer les membres").click()
    panel = page.get_by_role("dialog", name="Membres de # Atelier compta")
    panel.get_by_role("button", name="Actions pour Théo").click()
    page.get_by_role("menuitem", name="Rendre muet·te…").click()
    ask = page.get_by_role("dialog", name="Rendre Théo muet·te")
    ask.get_by_label("Durée").select_option(label="1 heure")
    ask.get_by_label("Motif").fill("Hors sujet")
    ask.get_by_role("button", name="Rendre muet·te").click()
    expect(panel.locator(".person", has_text="Théo").locator(".muted-tag")).to_contain_text(
        "Muet·te jusqu’au", timeout=LIVE_MS
    )

    # Théo sees it at once, with the time left, and the composer no longer writes.
    banner = student.page.locator(".composer-notice")
    expect(banner).to_contain_text("vous a rendu·e muet·te", timeout=LIVE_MS)
    expect(banner).to_contain_text("encore 59 min")
    expect(student.composer()).to_be_disabled()
    expect(student.page.get_by_role("button", name="Envoyer")).to_be_disabled()
    # The server refuses too, whatever the client shows.
    refused = post_as(student, room, "Et maintenant ?")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "muted"
    assert refused.json()["error"]["until"]

    # Lifted: the banner goes and Théo writes again.
    panel.get_by_role("button", name="Actions pour Théo").click()
    page.get_by_role("menuitem", name="Rendre la parole").click()
    expect(banner).to_be_hidden(timeout=LIVE_MS)
    student.send("Merci, je reste dans le sujet")
    expect(owner.message("je reste dans le sujet")).to_be_visible(timeout=LIVE_MS)


def test_a_report_reaches_the_staff_view_and_is_resolved_by_deleting_the_message(
    server: ServerProcess, admin_token: str, make_person: Callable[..., Person]
) -> None:
    author = make_person("Marc", open=False)
    reporter = make_person("Inès", open=False)
    mentor = make_person("Mentor Sarah", open=False)
    set_role(server, admin_token, mentor, "mentor")
    room = create_topic(author, "Levée de fonds", reporter)
    post_as(author, room, "Achetez mes cryptos, rendement garanti 300 %")
    reporter.open()
    reporter.open_room("Levée de fonds")

    message_menu(reporter.page, "rendement garanti")
    reporter.page.get_by_role("menuitem", name="Signaler").click()
    form = reporter.page.get_by_role("dialog", name="Signaler ce message")
    # An empty reason is refused by the form, in French.
    form.get_by_role("button", name="Envoyer le signalement").click()
    assert form.get_by_label("Pourquoi ?").evaluate("e => e.validationMessage") == (
        "Dites en quelques mots ce qui ne va pas."
    )
    form.get_by_label("Pourquoi ?").fill("Arnaque")
    form.get_by_role("button", name="Envoyer le signalement").click()
    expect(form).to_be_hidden(timeout=LIVE_MS)
    expect(reporter.page.get_by_text("le signalement est transmis")).to_be_visible()

    # The mentor, who is not in the room, finds it in the staff view.
    mentor.open()
    mentor.page.get_by_role("button", name="Signalements").click()
    view = mentor.page.get_by_role("dialog", name="Signalements")
    report = view.locator(".report", has_text="Arnaque")
    expect(report).to_contain_text("rendement garanti", timeout=LIVE_MS)
    expect(report).to_contain_text("Levée de fonds")
    expect(report).to_contain_text("signalé par Inès")
    report.get_by_role("button", name="Supprimer le message de Marc").click()
    expect(report).to_have_count(0, timeout=LIVE_MS)
    expect(view.get_by_text("Aucun signalement en attente.")).to_be_visible()
    assert mentor.dialogs and "Supprimer ce message pour tout le monde" in mentor.dialogs[-1]

    # Everyone in the room sees what happened, and the text is gone.
    removed = reporter.page.locator("article.msg", has_text="Retiré par un modérateur")
    expect(removed).to_be_visible(timeout=LIVE_MS)
    expect(reporter.page.get_by_text("rendement garanti")).to_have_count(0)
    history = reporter.api("GET", f"/api/rooms/{room['id']}/messages")["messages"]
    assert history[-1]["deleted"] and history[-1]["deleted_by"] == "moderator"
    assert mentor.api("GET", "/api/reports?state=open")["reports"] == []


def test_room_settings_reach_members_live(make_person: Callable[..., Person]) -> None:
    owner = make_person("Paul", open=False)
    member = make_person("Zoé", open=False)
    create_topic(owner, "Marketing digital", member)
    owner.open()
    member.open()
    owner.open_room("Marketing digital")
    member.open_room("Marketing digital")
    # Members have no moderation tools.
    expect(member.page.get_by_role("button", name="Gérer le salon")).to_be_hidden()

    page = owner.page
    page.get_by_role("button", name="Gérer le salon").click()
    settings = page.get_by_role("dialog", name="Paramètres de # Marketing digital")
    settings.get_by_label("Nom").fill("Annonces marketing")
    settings.get_by_label("Description").fill("Les dates des ateliers")
    settings.get_by_label("Les modérateurs seulement").check()
    settings.get_by_role("button", name="Enregistrer").click()
    expect(settings).to_be_hidden(timeout=LIVE_MS)

    # Zoé sees the new name and topic, and an announcement room she cannot write in.
    expect(member.page.locator(".room-title")).to_have_text("#Annonces marketing", timeout=LIVE_MS)
    expect(member.page.locator(".room-sub")).to_have_text("Les dates des ateliers")
    expect(member.page.locator(".room-item.active .room-name")).to_have_text("Annonces marketing")
    expect(member.page.locator(".composer-notice")).to_have_text(
        "Salon d’annonces : seuls les modérateurs y écrivent."
    )
    expect(member.composer()).to_be_hidden()
    # The owner still writes there.
    owner.send("Atelier SEO jeudi 18 h")
    expect(member.message("Atelier SEO")).to_be_visible(timeout=LIVE_MS)

    # Open again, with a slow mode: after a message Zoé waits, counting down.
    page.get_by_role("button", name="Gérer le salon").click()
    settings = page.get_by_role("dialog", name="Paramètres de # Annonces marketing")
    settings.get_by_label("Tous les membres").check()
    settings.get_by_label("Mode lent").select_option(label="1 minute")
    settings.get_by_role("button", name="Enregistrer").click()
    expect(member.page.locator(".composer-notice")).to_have_text(
        "Mode lent : un message toutes les 1 minute.", timeout=LIVE_MS
    )
    member.send("J’y serai")
    expect(owner.message("J’y serai")).to_be_visible(timeout=LIVE_MS)
    expect(member.page.locator(".composer-notice")).to_contain_text(
        "prochain message dans", timeout=LIVE_MS
    )
    expect(member.page.get_by_role("button", name="Envoyer")).to_be_disabled()
    member.composer().fill("Et moi aussi")
    member.composer().press("Enter")
    expect(member.composer()).to_have_value("Et moi aussi")  # kept for later, not lost
    expect(owner.message("Et moi aussi")).to_have_count(0)


def test_pins_from_the_message_menu_show_in_the_pinned_bar(
    make_person: Callable[..., Person],
) -> None:
    owner = make_person("Julie", open=False)
    member = make_person("Karim", open=False)
    room = create_topic(owner, "Atelier pitch", member)
    for i in range(3):
        post_as(owner, room, f"Programme de la semaine {i}")
    owner.open()
    member.open()
    owner.open_room("Atelier pitch")
    member.open_room("Atelier pitch")
    expect(member.page.locator(".pin-bar")).to_be_hidden()

    message_menu(owner.page, "semaine 1")
    owner.page.get_by_role("menuitem", name="Épingler").click()
    bar = member.page.locator(".pin-bar")
    expect(bar).to_contain_text("Programme de la semaine 1", timeout=LIVE_MS)
    expect(bar).to_contain_text("1 message épinglé")
    expect(member.message("semaine 1").locator(".msg-pinned")).to_have_text("Épinglé")
    # Members may report but not pin.
    message_menu(member.page, "semaine 2")
    expect(member.page.get_by_role("menuitem", name="Épingler")).to_have_count(0)
    expect(member.page.get_by_role("menuitem", name="Signaler")).to_be_visible()
    member.page.keyboard.press("Escape")

    message_menu(owner.page, "semaine 1")
    owner.page.get_by_role("menuitem", name="Désépingler").click()
    expect(bar).to_be_hidden(timeout=LIVE_MS)


def test_students_create_topics_and_mentors_every_kind_of_room(
    server: ServerProcess, admin_token: str, make_person: Callable[..., Person]
) -> None:
    student = make_person("Lina")
    page = student.page
    page.get_by_role("button", name="Créer un salon").first.click()
    form = page.get_by_role("dialog", name="Créer un salon")
    expect(form.get_by_role("radio")).to_have_count(0)  # students: topics only
    form.get_by_label("Nom").fill("🚀🎉")
    expect(form.get_by_label("Identifiant")).to_have_value("fusee-fete")
    # A wrong identifier is explained in French, before anything is sent.
    form.get_by_label("Identifiant").fill("X")
    form.get_by_role("button", name="Créer le salon").click()
    message = form.get_by_label("Identifiant").evaluate("e => e.validationMessage")
    assert message.startswith("L’identifiant doit faire 2 à 32 caractères")
    form.get_by_label("Identifiant").fill(unique("fusee"))
    form.get_by_role("button", name="Créer le salon").click()
    expect(page.locator(".room-title")).to_contain_text("🚀🎉", timeout=LIVE_MS)

    mentor = make_person("Mentor Yann", open=False)
    set_role(server, admin_token, mentor, "mentor")
    mentor.open()
    page = mentor.page
    page.get_by_role("button", name="Créer un salon").first.click()
    form = page.get_by_role("dialog", name="Créer un salon")
    form.get_by_text("Promotion", exact=True).click()
    expect(form.get_by_label("Salon privé")).to_be_checked()  # cohorts are private
    form.get_by_label("Nom").fill("Promo Automne 2026")
    form.get_by_role("button", name="Créer le salon").click()
    expect(page.locator(".room-title")).to_contain_text("Promo Automne 2026", timeout=LIVE_MS)
    expect(page.locator(".room-group", has_text="Promotions")).to_contain_text("Promo Automne 2026")
    created = [
        r for r in mentor.api("GET", "/api/rooms")["rooms"] if r["name"] == "Promo Automne 2026"
    ]
    assert created and created[0]["kind"] == "cohort" and created[0]["visibility"] == "private"


def test_moderators_add_people_by_search_and_by_a_pasted_list(
    make_person: Callable[..., Person],
) -> None:
    owner = make_person("Claire", open=False)
    found = make_person("Bastien", open=False)
    pasted = [make_person(name, open=False) for name in ("Elsa", "Farid")]
    create_topic(owner, "Club lecture")
    owner.open()
    owner.open_room("Club lecture")
    found.open()

    page = owner.page
    page.get_by_role("button", name="Gérer le salon").click()
    page.get_by_role("button", name="Gérer les membres").click()
    panel = page.get_by_role("dialog", name="Membres de # Club lecture")
    panel.get_by_label("Rechercher quelqu’un").fill(found.username)
    panel.get_by_role("button", name="Ajouter Bastien au salon").click()
    expect(panel.locator(".member-list .person", has_text="Bastien")).to_be_visible(timeout=LIVE_MS)
    # Bastien has the room at once, without reloading.
    expect(found.page.locator(".room-item", has_text="Club lecture")).to_be_visible(timeout=LIVE_MS)

    panel.get_by_text("Coller une liste de noms d’utilisateur").click()
    names = f"{pasted[0].username}, @{pasted[1].username}\npersonne-inconnue"
    panel.get_by_label("Noms d’utilisateur").fill(names)
    panel.get_by_role("button", name="Ajouter ces personnes").click()
    expect(panel.locator(".bulk-added")).to_have_text("2 personnes ajoutées.", timeout=LIVE_MS)
    expect(panel.locator(".bulk-missing")).to_have_text("1 nom introuvable : personne-inconnue")
    expect(panel.get_by_label("Noms d’utilisateur")).to_have_value("personne-inconnue")
    expect(panel.locator(".member-list .person")).to_have_count(4)

    # Invites are one click away.
    panel.get_by_role("button", name="Invitations").click()
    expect(page.get_by_role("dialog", name="Invitations · Club lecture")).to_be_visible()


def test_the_admin_page_changes_roles_and_opens_every_room(
    server: ServerProcess,
    admin_token: str,
    browser: Browser,
    make_person: Callable[..., Person],
) -> None:
    student = make_person("Hugo", open=False)
    private = student.api(
        "POST",
        "/api/rooms",
        {
            "slug": unique("secret"),
            "name": "Projet secret",
            "kind": "topic",
            "visibility": "private",
        },
    )["room"]
    me = httpx.get(
        f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
    ).json()["user"]
    admin = Person(
        me["username"],
        me["display_name"],
        admin_token,
        me,
        server.base_url,
        browser,
        {"width": 1280, "height": 800},
        "light",
    )
    try:
        admin.open()
        page = admin.page
        page.get_by_role("button", name="Administration").click()
        dlg = page.get_by_role("dialog", name="Administration")
        dlg.get_by_label("Rechercher une personne").fill(student.username)
        dlg.get_by_label("Rôle de Hugo").select_option("mentor")
        expect(page.get_by_text("Hugo est maintenant Mentor.")).to_be_visible(timeout=LIVE_MS)
        assert student.api("GET", "/api/me")["user"]["role"] == "mentor"

        # Every room, private ones included; entering one is seen and logged.
        dlg.get_by_role("tab", name="Salons").click()
        dlg.get_by_label("Filtrer les salons").fill("Projet secret")
        dlg.get_by_role("button", name="Entrer dans Projet secret").click()
        expect(page.locator(".room-title")).to_contain_text("Projet secret", timeout=LIVE_MS)
        members = student.api("GET", f"/api/rooms/{private['id']}/members")["members"]
        assert me["id"] in [m["id"] for m in members]

        page.get_by_role("button", name="Administration").click()
        dlg.get_by_role("tab", name="Journal").click()
        log = dlg.locator(".audit-entry")
        expect(log.filter(has_text="Rôle dans l’école").first).to_contain_text(
            "Hugo", timeout=LIVE_MS
        )
        expect(log.filter(has_text="Membre ajouté").first).to_contain_text("# Projet secret")
    finally:
        if admin.context is not None:
            admin.context.close()


def test_a_banned_member_loses_the_room_at_once_until_the_ban_is_lifted(
    make_person: Callable[..., Person],
) -> None:
    owner = make_person("Amélie", open=False)
    member = make_person("Victor", open=False)
    room = create_topic(owner, "Jeux de société", member)
    owner.open()
    member.open()
    member.open_room("Jeux de société")

    page = owner.page
    owner.open_room("Jeux de société")
    page.get_by_role("button", name="Gérer le salon").click()
    page.get_by_role("button", name="Gérer les membres").click()
    panel = page.get_by_role("dialog", name="Membres de # Jeux de société")
    panel.get_by_role("button", name="Actions pour Victor").click()
    page.get_by_role("menuitem", name="Bannir…").click()
    ask = page.get_by_role("dialog", name="Bannir Victor")
    ask.get_by_label("Motif").fill("Insultes répétées")
    ask.get_by_role("button", name="Bannir").click()

    # Victor is told, and the room leaves his screen without a reload.
    expect(
        member.page.get_by_text("Un modérateur vous a retiré·e de « Jeux de société »")
    ).to_be_visible(timeout=LIVE_MS)
    expect(member.page.locator(".room-item", has_text="Jeux de société")).to_have_count(0)
    joined = httpx.post(
        f"{member.base_url}/api/rooms/{room['id']}/join",
        headers={"Authorization": f"Bearer {member.token}"},
        timeout=10,
    )
    assert joined.status_code == 403 and joined.json()["error"]["code"] == "forbidden"

    banned = panel.locator("section", has=page.get_by_role("heading", name="Personnes bannies"))
    expect(banned).to_contain_text("Insultes répétées", timeout=LIVE_MS)
    expect(panel.locator(".member-list .person", has_text="Victor")).to_have_count(0)
    banned.get_by_role("button", name="Lever le bannissement de Victor").click()
    expect(banned).to_be_hidden(timeout=LIVE_MS)
    member.api("POST", f"/api/rooms/{room['id']}/join")
    expect(member.page.locator(".room-item", has_text="Jeux de société")).to_be_visible(
        timeout=LIVE_MS
    )
