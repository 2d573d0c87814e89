"""axe-core on every main screen — sign-in, chat, emoji picker, notifications, settings,
room directory, room details, a profile card, upcoming meetups, message search, a new
poll, quick switcher, shortcuts help and the phone's drawer; and, for a mentor, a room
with a poll card and a meetup card, the questions queue, the image viewer, the room's
settings, its members with their moderation menu and the mute dialog, the reports; a
guest's chat with the create-account dialog; and, for an admin, the friends dialog, the
create-room form with a refused name, a message's menu and the report form, a poll's
voters, the new-meetup form, the workshop dialog, a room's invites and moderation log, and
the administration page's three tabs — in the light and dark themes, on a desktop and at
phone width: no critical or serious violation, WCAG 2.x AA contrast included."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.axe import describe, violations
from tests.browser.conftest import (
    LIVE_MS,
    Person,
    create_topic,
    make_friends,
    set_role_by_operator,
    unique,
)
from tests.browser.test_attachments import drop_files, png
from tests.support.server import ServerProcess

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


class Sweep:
    """Runs axe on each screen and keeps every finding, so one run reports them all."""

    def __init__(self, page: Page, label: str) -> None:
        self.page = page
        self.label = label
        self.failures: list[str] = []
        self.screens: list[str] = []

    def check(self, screen: str) -> None:
        self.page.wait_for_timeout(250)  # let opening animations end (contrast mid-fade)
        self.screens.append(screen)
        found = violations(self.page)
        if found:
            self.failures.append(f"--- {self.label} / {screen}\n{describe(found)}")

    def close_with_escape(self) -> None:
        self.page.keyboard.press("Escape")
        expect(self.page.locator("dialog[open], .popover")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_main_screens_have_no_serious_accessibility_violation(
    make_person: Callable[..., Person], scheme: str, viewport: ViewportSize
) -> None:
    phone = viewport["width"] < 700
    alice = make_person("Alice Martin", open=False, viewport=viewport, color_scheme=scheme)
    bob = make_person("Bob Durand", open=False)
    create_topic(alice, "Atelier pitch", bob)
    make_friends(alice, bob)
    bob.api("POST", "/api/dms", {"username": alice.username})
    label = f"{scheme} {'phone' if phone else 'desktop'}"

    # The sign-in screen, in a browser with no session.
    anonymous = alice.browser.new_context(
        locale="fr-FR",
        viewport=viewport,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    try:
        page = anonymous.new_page()
        page.goto(alice.base_url + "/")
        expect(page.locator("form")).to_be_visible()
        sweep = Sweep(page, label)
        sweep.check("sign-in")
        page.get_by_role("tab", name="Créer un compte").click()
        sweep.check("sign-up")
    finally:
        anonymous.close()

    alice.open()
    page = alice.page
    sweep.page = page
    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    alice.open_room("Atelier pitch")
    alice.send("Bonjour à tous, le pitch commence à 14 h :fête:")
    alice.send(f"@{bob.username} tu peux relire ?")
    expect(alice.message("tu peux relire")).to_be_visible(timeout=LIVE_MS)
    sweep.check("chat")

    page.get_by_role("button", name="Insérer un emoji").click()
    expect(page.locator(".emoji-picker .emoji-cell").first).to_be_visible()
    sweep.check("emoji picker")
    page.get_by_role("dialog", name="Choisir un emoji").get_by_role("searchbox").fill("coeur")
    expect(page.locator(".emoji-picker .emoji-cell").first).to_have_attribute("data-emoji", "❤️")
    sweep.check("emoji picker, search")
    sweep.close_with_escape()

    page.get_by_role("button", name="Notifications").click()
    expect(page.locator(".popover, dialog[open]").first).to_be_visible()
    sweep.check("notifications")
    sweep.close_with_escape()

    def from_sidebar(name: str) -> None:
        if phone:
            page.get_by_role("button", name="Ouvrir la liste des salons").click()
            expect(page.locator("nav.sidebar")).to_be_in_viewport()
        page.locator("nav.sidebar").get_by_role("button", name=name).click()

    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
        expect(page.locator("nav.sidebar")).to_be_in_viewport()
        sweep.check("rooms drawer")
        page.keyboard.press("Escape")

    from_sidebar("Paramètres")
    expect(page.locator("dialog[open]")).to_be_visible()
    sweep.check("settings")
    sweep.close_with_escape()

    from_sidebar("Explorer les salons")
    expect(page.locator("dialog[open]")).to_be_visible()
    sweep.check("room directory")
    sweep.close_with_escape()

    page.get_by_role("button", name="Détails du salon").click()
    expect(page.locator("dialog[open]")).to_be_visible()
    sweep.check("room info")
    sweep.close_with_escape()

    alice.message("le pitch commence").locator("[data-profile]").first.click()
    expect(page.locator(".profile-card, dialog[open]").first).to_be_visible()
    sweep.check("profile card")
    sweep.close_with_escape()

    from_sidebar("Rendez-vous à venir")
    expect(page.locator("dialog[open], .popover").first).to_be_visible()
    sweep.check("upcoming meetups")
    sweep.close_with_escape()

    page.get_by_role("button", name="Rechercher dans les messages").click()
    expect(page.locator("dialog[open]")).to_be_visible()
    page.keyboard.type("pitch")
    expect(page.locator("dialog[open]")).to_contain_text("le pitch commence", timeout=LIVE_MS)
    sweep.check("message search")
    sweep.close_with_escape()

    page.get_by_role("button", name="Créer un sondage").click()
    expect(page.get_by_role("dialog", name="Nouveau sondage")).to_be_visible()
    sweep.check("new poll")
    sweep.close_with_escape()

    page.keyboard.press("Control+k")
    expect(page.get_by_role("dialog", name="Aller à…")).to_be_visible()
    page.get_by_role("combobox").fill("bo")
    expect(page.get_by_role("option").first).to_be_visible()
    sweep.check("quick switcher")
    sweep.close_with_escape()

    page.locator(".room-title").click()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Raccourcis clavier")).to_be_visible()
    sweep.check("shortcuts help")
    sweep.close_with_escape()

    assert not sweep.failures, "\n".join(sweep.failures)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_mentor_and_guest_screens_have_no_serious_accessibility_violation(
    server: ServerProcess, make_person: Callable[..., Person], scheme: str, viewport: ViewportSize
) -> None:
    phone = viewport["width"] < 700
    label = f"{scheme} {'phone' if phone else 'desktop'}"
    mentor = make_person("Léa Mentor", open=False, viewport=viewport, color_scheme=scheme)
    set_role_by_operator(server, mentor, "mentor")
    student = make_person("Théo Petit", open=False)
    room = create_topic(mentor, "Portes ouvertes", student)
    rid = room["id"]
    mentor.api("PATCH", f"/api/rooms/{rid}", {"guests_allowed": True})
    posted = f"/api/rooms/{rid}/messages"
    student.api(
        "POST", posted, {"body": "Combien d’heures de cours par semaine ?", "question": True}
    )
    spam = student.api("POST", posted, {"body": "Achetez mes cryptos, rendement garanti"})
    student.api("POST", f"/api/messages/{spam['message']['id']}/report", {"reason": "spam"})
    poll = {"question": "On mange où samedi ?", "options": ["Pizzeria", "Sushis", "Crêpes"]}
    mentor.api("POST", posted, {"body": "", "poll": poll})
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    event = {
        "title": "Galettes à Rennes",
        "starts_at": start.isoformat().replace("+00:00", "Z"),
        "ends_at": (start + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "place": "Crêperie Ty Breiz, Rennes",
        "capacity": 4,
    }
    mentor.api("POST", posted, {"body": "Repas galettes : inscrivez-vous !", "event": event})
    invite = mentor.api("POST", f"/api/rooms/{rid}/invites", {"role": "guest"})["invite"]

    mentor.open()
    page = mentor.page
    sweep = Sweep(page, label)
    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    mentor.open_room("Portes ouvertes")
    expect(page.locator("article.msg .poll")).to_be_visible(timeout=LIVE_MS)
    expect(mentor.message("inscrivez-vous")).to_be_visible()
    sweep.check("poll and meetup cards")

    page.get_by_role("button", name="Ouvrir les questions").click()
    queue = page.get_by_role("complementary", name="Questions")
    expect(queue.locator(".q-item")).to_have_count(1, timeout=LIVE_MS)
    sweep.check("questions queue")
    if phone:
        queue.get_by_role("button", name="Fermer les questions").click()
    else:
        page.get_by_role("button", name="Ouvrir les questions").click()
    expect(queue).to_be_hidden()

    drop_files(page, "main.chat", [("affiche.png", "image/png", png("#2e86ab"))])
    tray = page.get_by_role("list", name="Fichiers joints au message")
    expect(tray.locator(".upload-done")).to_have_count(1, timeout=LIVE_MS)
    mentor.send("L’affiche de la journée")
    thumb = mentor.message("L’affiche de la journée").locator(".att-thumb")
    expect(thumb.locator("img")).to_have_attribute("src", re.compile(r"^blob:"), timeout=LIVE_MS)
    thumb.click()
    expect(page.get_by_role("dialog", name="affiche.png")).to_be_visible()
    sweep.check("image viewer")
    sweep.close_with_escape()

    page.get_by_role("button", name="Gérer le salon").click()
    expect(page.get_by_role("dialog", name="Paramètres de # Portes ouvertes")).to_be_visible()
    sweep.check("room settings")
    sweep.close_with_escape()

    page.get_by_role("button", name="Gérer le salon").click()
    page.get_by_role("button", name="Gérer les membres").click()
    members = page.get_by_role("dialog", name="Membres de # Portes ouvertes")
    expect(members.locator(".person", has_text="Théo Petit")).to_be_visible(timeout=LIVE_MS)
    sweep.check("members")
    members.get_by_role("button", name="Actions pour Théo Petit").click()
    expect(page.get_by_role("menuitem", name="Rendre muet·te…")).to_be_visible()
    sweep.check("member actions")
    page.get_by_role("menuitem", name="Rendre muet·te…").click()
    expect(page.get_by_role("dialog", name="Rendre Théo Petit muet·te")).to_be_visible()
    sweep.check("mute dialog")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Rendre Théo Petit muet·te")).to_be_hidden()
    # Focus is back on the button that opened the menu, inside the members dialog, so
    # that the next Esc (and a screen reader) carries on from there.
    expect(members.get_by_role("button", name="Actions pour Théo Petit")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open], .popover")).to_have_count(0)

    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
        expect(page.locator("nav.sidebar")).to_be_in_viewport()
    page.get_by_role("button", name="Signalements").click()
    reports = page.get_by_role("dialog", name="Signalements")
    expect(reports.locator(".report").first).to_contain_text("rendement garanti", timeout=LIVE_MS)
    sweep.check("reports")
    sweep.close_with_escape()

    # A visitor comes in as a guest, then opens the create-account dialog from the banner.
    guest = mentor.browser.new_context(
        locale="fr-FR",
        viewport=viewport,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    try:
        gpage = guest.new_page()
        sweep.page = gpage
        gpage.goto(mentor.base_url + invite["url"])
        gpage.get_by_label("Votre nom affiché").fill(unique("Zoé"))
        sweep.check("guest invite")
        gpage.get_by_role("button", name="Continuer en tant qu’invité·e").click()
        expect(gpage.locator(".conn-status.conn-online")).to_be_attached(timeout=LIVE_MS)
        banner = gpage.get_by_role("region", name="Accès invité")
        expect(banner).to_be_visible()
        sweep.check("guest chat")
        banner.get_by_role("button").first.click()
        expect(gpage.get_by_role("dialog", name="Créer mon compte")).to_be_visible()
        sweep.check("guest upgrade")
    finally:
        guest.close()

    assert not sweep.failures, "\n".join(sweep.failures)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_forms_and_menus_have_no_serious_accessibility_violation(
    server: ServerProcess, make_person: Callable[..., Person], scheme: str, viewport: ViewportSize
) -> None:
    phone = viewport["width"] < 700
    label = f"{scheme} {'phone' if phone else 'desktop'}"
    admin = make_person("Camille Admin", open=False, viewport=viewport, color_scheme=scheme)
    set_role_by_operator(server, admin, "admin")
    student = make_person("Hugo Lambert", open=False)
    make_friends(admin, student)
    region = f"Bretagne {unique('r')[-5:]}"
    room = admin.api(
        "POST",
        "/api/rooms",
        {
            "slug": unique("bretagne")[:32],
            "name": region,
            "kind": "region",
            "visibility": "private",
        },
    )["room"]
    admin.api("POST", f"/api/rooms/{room['id']}/members", {"usernames": [student.username]})
    posted = f"/api/rooms/{room['id']}/messages"
    student.api("POST", posted, {"body": "Qui vient au repas de juillet ?"})
    poll = {"question": "Quel jour ?", "options": ["Vendredi", "Samedi"]}
    made = admin.api("POST", posted, {"body": "", "poll": poll})["message"]
    saturday = made["poll"]["options"][1]["id"]
    student.api("PUT", f"/api/messages/{made['id']}/poll/vote", {"options": [saturday]})

    admin.open()
    page = admin.page
    sweep = Sweep(page, label)

    def from_sidebar(name: str) -> None:
        if phone:
            page.get_by_role("button", name="Ouvrir la liste des salons").click()
            expect(page.locator("nav.sidebar")).to_be_in_viewport()
        page.locator("nav.sidebar").get_by_role("button", name=name).first.click()

    from_sidebar("Amis")
    expect(page.get_by_role("dialog", name="Amis")).to_contain_text("Hugo Lambert")
    sweep.check("friends")
    sweep.close_with_escape()

    from_sidebar("Créer un salon")
    create = page.get_by_role("dialog", name="Créer un salon")
    expect(create).to_be_visible()
    sweep.check("create room")
    create.get_by_label("Nom").fill("Sortie 🎉")
    create.get_by_label("Identifiant").fill("")
    create.get_by_role("button", name="Créer le salon").click()
    expect(create.locator(".field-error").first).to_be_visible()
    sweep.check("create room, refused name")
    sweep.close_with_escape()

    if phone:
        page.get_by_role("button", name="Ouvrir la liste des salons").click()
    admin.open_room(region)
    question = admin.message("Qui vient au repas")
    expect(question).to_be_visible(timeout=LIVE_MS)
    question.hover()
    question.get_by_role("button", name="Plus d’actions").click()
    expect(page.get_by_role("menu")).to_be_visible()
    sweep.check("message menu")
    page.get_by_role("menuitem", name="Signaler").click()
    expect(page.get_by_role("dialog", name="Signaler ce message")).to_be_visible()
    sweep.check("report form")
    sweep.close_with_escape()

    card = page.locator("article.msg .poll")
    expect(card).to_contain_text("1 votant", timeout=LIVE_MS)
    card.get_by_role("button", name="Voir les votants").click()
    voters = page.get_by_role("dialog", name="Qui a voté quoi")
    expect(voters).to_contain_text("Hugo Lambert", timeout=LIVE_MS)
    sweep.check("poll voters")
    sweep.close_with_escape()

    page.get_by_role("button", name="Organiser un rendez-vous").click()
    expect(page.locator("dialog.event-dialog")).to_be_visible()
    sweep.check("new meetup")
    sweep.close_with_escape()

    page.get_by_role("button", name="Ouvrir les questions").click()
    queue = page.get_by_role("complementary", name="Questions")
    queue.get_by_role("button", name="Lancer un atelier").click()
    expect(page.get_by_role("dialog", name="Lancer un atelier")).to_be_visible()
    sweep.check("start a workshop")
    sweep.close_with_escape()
    if phone:
        queue.get_by_role("button", name="Fermer les questions").click()
    else:
        page.get_by_role("button", name="Ouvrir les questions").click()
    expect(queue).to_be_hidden()

    page.get_by_role("button", name="Gérer le salon").click()
    page.get_by_role("button", name="Gérer les membres").click()
    members = page.get_by_role("dialog", name=f"Membres de # {region}")
    members.get_by_role("button", name="Invitations").click()
    expect(page.get_by_role("dialog", name=f"Invitations · {region}")).to_be_visible()
    sweep.check("invites")
    sweep.close_with_escape()

    page.get_by_role("button", name="Gérer le salon").click()
    page.get_by_role("button", name="Journal de modération").click()
    expect(page.get_by_role("dialog", name=f"Journal de # {region}")).to_be_visible()
    sweep.check("room moderation log")
    sweep.close_with_escape()

    from_sidebar("Administration")
    panel = page.get_by_role("dialog", name="Administration")
    panel.get_by_label("Rechercher une personne").fill(student.username)
    expect(panel.get_by_label("Rôle de Hugo Lambert")).to_be_visible(timeout=LIVE_MS)
    sweep.check("administration, people")
    panel.get_by_role("tab", name="Salons").click()
    panel.get_by_label("Filtrer les salons").fill(region)
    expect(panel.get_by_role("button", name=f"Ouvrir {region}")).to_be_visible(timeout=LIVE_MS)
    sweep.check("administration, rooms")
    panel.get_by_role("tab", name="Journal").click()
    expect(panel.get_by_role("tabpanel")).to_be_visible()
    sweep.check("administration, log")
    sweep.close_with_escape()

    assert not sweep.failures, "\n".join(sweep.failures)
