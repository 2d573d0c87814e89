"""Questions in the web client: a student asks, a classmate votes, a mentor's
queue shows it live, the mentor claims and answers it, and the student sees it answered."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    LIVE_MS,
    Person,
    create_topic,
    register_admin,
    set_role,
)
from tests.support.server import ServerProcess


@pytest.fixture(scope="module", autouse=True)
def admin_token(server: ServerProcess) -> Iterator[str]:
    """The server's first account, hence its admin: it makes the mentor a mentor."""
    yield register_admin(server, "directeur")


def test_a_question_is_asked_voted_claimed_and_answered(
    make_person: Callable[..., Person], server: ServerProcess, admin_token: str
) -> None:
    mentor = make_person("Inès", open=False)
    set_role(server, admin_token, mentor, "mentor")
    student = make_person("Lucas", open=False)
    classmate = make_person("Maya", open=False)
    room = create_topic(mentor, "Atelier Python", student, classmate)
    for p in (mentor, student, classmate):
        p.open()
        p.open_room("Atelier Python")

    # The mentor keeps the queue open beside the chat: empty for now.
    mentor.page.get_by_role("button", name="Ouvrir les questions").click()
    queue = mentor.page.get_by_role("complementary", name="Questions")
    expect(queue).to_contain_text("Aucune question ouverte.", timeout=LIVE_MS)
    # Students have no queue.
    expect(student.page.get_by_role("button", name="Ouvrir les questions")).to_be_hidden()

    # Lucas asks with the composer's toggle; a plain message after it is not a question.
    ask = student.page.get_by_role("button", name="Poser comme question")
    ask.click()
    expect(ask).to_have_attribute("aria-pressed", "true")
    student.send("Comment lire un fichier CSV ?")
    expect(ask).to_have_attribute("aria-pressed", "false")
    student.send("Merci d’avance")
    asked = student.message("Comment lire un fichier CSV")
    expect(asked.locator(".q-badge")).to_contain_text("0 vote", timeout=LIVE_MS)
    expect(student.message("Merci d’avance").locator(".q-badge")).to_have_count(0)
    # No voting for one's own question.
    expect(asked.get_by_role("button", name="Voter pour cette question")).to_have_count(0)

    # It reaches the mentor's queue live; Maya's vote shows there too.
    item = queue.locator(".q-item", has_text="Comment lire un fichier CSV")
    expect(item).to_be_visible(timeout=LIVE_MS)
    expect(queue).not_to_contain_text("Merci d’avance")
    vote = classmate.message("Comment lire un fichier CSV").get_by_role(
        "button", name="Voter pour cette question"
    )
    vote.click()
    expect(
        classmate.message("Comment lire un fichier CSV").get_by_role(
            "button", name="Retirer mon vote"
        )
    ).to_have_attribute("aria-pressed", "true", timeout=LIVE_MS)
    expect(item.locator(".q-votes")).to_have_text("1 vote", timeout=LIVE_MS)
    expect(asked.locator(".q-badge")).to_contain_text("1 vote", timeout=LIVE_MS)

    # "I'm on it": Lucas sees who took it.
    item.get_by_role("button", name="Je m’en occupe").click()
    expect(item).to_contain_text("Inès s’en occupe", timeout=LIVE_MS)
    expect(asked.locator(".q-badge")).to_contain_text("Inès s’en occupe", timeout=LIVE_MS)

    # Inès replies, then answers the question with that reply.
    question_id = mentor.api("GET", f"/api/rooms/{room['id']}/questions")["questions"][0]["id"]
    mentor.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": "Avec le module csv : csv.reader(f)", "reply_to": question_id},
    )
    expect(mentor.message("Avec le module csv")).to_be_visible(timeout=LIVE_MS)
    item.get_by_label("Choisir une réponse").select_option(
        label="Inès: Avec le module csv : csv.reader(f)"
    )
    expect(queue.locator(".q-item:not(.q-done)")).to_have_count(0, timeout=LIVE_MS)
    expect(queue).to_contain_text("Aucune question ouverte.")

    # Lucas sees it answered, and the link leads to the answer.
    badge = asked.locator(".q-badge")
    expect(badge).to_contain_text("Répondue", timeout=LIVE_MS)
    badge.get_by_role("button", name="Voir la réponse").click()
    expect(student.message("Avec le module csv")).to_be_in_viewport()
    # And the bell says so.
    student.page.locator("button.bell").click()
    expect(student.page.locator(".notif", has_text="Comment lire")).to_contain_text(
        "votre question a une réponse", timeout=LIVE_MS
    )
    student.page.keyboard.press("Escape")

    # A wrong click is undone: reopened, it is back in the queue and no longer answered.
    queue.locator(".q-done").get_by_role("button", name="Rouvrir").click()
    expect(queue.locator(".q-item:not(.q-done)", has_text="Comment lire")).to_be_visible(
        timeout=LIVE_MS
    )
    expect(badge).not_to_contain_text("Répondue", timeout=LIVE_MS)


def test_on_a_phone_the_queue_is_a_panel_over_the_chat(
    make_person: Callable[..., Person], server: ServerProcess, admin_token: str
) -> None:
    mentor = make_person("Sacha", open=False, viewport={"width": 390, "height": 844})
    set_role(server, admin_token, mentor, "mentor")
    student = make_person("Zoé", open=False)
    room = create_topic(mentor, "Atelier réseau", student)
    student.api(
        "POST",
        f"/api/rooms/{room['id']}/messages",
        {"body": "C’est quoi un masque ?", "question": True},
    )
    mentor.open()
    # Their only room opens by itself (on phones the room list is a closed drawer).
    expect(mentor.page.locator(".room-title")).to_contain_text("Atelier réseau")
    mentor.page.get_by_role("button", name="Ouvrir les questions").click()
    queue = mentor.page.get_by_role("complementary", name="Questions")
    expect(queue).to_contain_text("C’est quoi un masque ?", timeout=LIVE_MS)
    box = queue.bounding_box()
    assert box is not None and box["width"] >= 380  # the whole screen, not a squeezed column
    # Marking it answered without a reply works too, and closing gives the chat back.
    queue.get_by_role("button", name="Marquer répondue").click()
    expect(queue).to_contain_text("Aucune question ouverte.", timeout=LIVE_MS)
    queue.get_by_role("button", name="Fermer les questions").click()
    expect(queue).to_be_hidden()
    expect(mentor.composer()).to_be_visible()


def test_a_workshop_counts_down_makes_questions_and_ends_with_its_summary(
    make_person: Callable[..., Person], server: ServerProcess, admin_token: str
) -> None:
    mentor = make_person("Hugo", open=False)
    set_role(server, admin_token, mentor, "mentor")
    student = make_person("Léa", open=False)
    create_topic(mentor, "Atelier web", student)
    for p in (mentor, student):
        p.open()
        p.open_room("Atelier web")

    # The mentor starts a workshop of 15 minutes from the questions panel.
    mentor.page.get_by_role("button", name="Ouvrir les questions").click()
    queue = mentor.page.get_by_role("complementary", name="Questions")
    queue.get_by_role("button", name="Lancer un atelier").click()
    start = mentor.page.get_by_role("dialog", name="Lancer un atelier")
    start.get_by_label("Durée").select_option(label="15 minutes")
    start.get_by_role("button", name="Lancer un atelier").click()
    expect(start).to_be_hidden(timeout=LIVE_MS)

    # Everyone sees the countdown; a plain message is asked as a question.
    for p in (mentor, student):
        expect(p.page.get_by_role("timer")).to_contain_text("Atelier : encore", timeout=LIVE_MS)
    student.send("Pourquoi mon CSS ne s’applique pas ?")
    expect(student.message("Pourquoi mon CSS").locator(".q-badge")).to_be_visible(timeout=LIVE_MS)
    expect(queue.locator(".q-item", has_text="Pourquoi mon CSS")).to_be_visible(timeout=LIVE_MS)

    # Ended early: the summary counts the question, and the countdown goes.
    queue.get_by_role("button", name="Terminer l’atelier").click()
    summary = mentor.page.get_by_role("dialog", name="Bilan de l’atelier")
    expect(summary).to_contain_text(
        "Questions posées : 1 · répondues : 0 · ouvertes : 1", timeout=LIVE_MS
    )
    expect(summary).to_contain_text("Pourquoi mon CSS")
    expect(student.page.get_by_role("timer")).to_be_hidden(timeout=LIVE_MS)
    expect(student.message("Workshop over: 1 questions asked")).to_be_visible(timeout=LIVE_MS)
