"""Polls in the web client: created from the composer's dialog, voted, changed and
withdrawn with live bars on both sides, the voters list, and closed by its author."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.browser.conftest import LIVE_MS, Person, create_topic


def option(card: Locator, text: str) -> Locator:
    return card.locator(".poll-option", has_text=text)


def test_a_poll_is_created_voted_and_closed(make_person: Callable[..., Person]) -> None:
    ana = make_person("Ana", open=False)
    bob = make_person("Bob", open=False)
    create_topic(ana, "Repas de région", bob)
    for p in (ana, bob):
        p.open()
        p.open_room("Repas de région")

    # Ana opens the dialog from the composer; the form refuses two identical options.
    ana.page.get_by_role("button", name="Créer un sondage").click()
    dialog = ana.page.get_by_role("dialog", name="Nouveau sondage")
    dialog.get_by_role("textbox", name="Question").fill("On mange où samedi ?")
    dialog.get_by_role("textbox", name="Choix 1", exact=True).fill("Pizzeria")
    dialog.get_by_role("textbox", name="Choix 2", exact=True).fill("pizzeria ")
    dialog.get_by_role("button", name="Publier le sondage").click()
    expect(dialog).to_contain_text("Deux choix sont identiques.")
    dialog.get_by_role("textbox", name="Choix 2", exact=True).fill("Sushis")
    dialog.get_by_role("button", name="Ajouter un choix").click()
    dialog.get_by_role("textbox", name="Choix 3", exact=True).fill("Falafels")
    dialog.get_by_role("button", name="Ajouter un choix").click()
    dialog.get_by_role("button", name="Retirer le choix 4").click()
    dialog.get_by_role("button", name="Publier le sondage").click()
    expect(dialog).to_be_hidden()

    ana_card = ana.message("On mange où samedi").locator(".poll")
    bob_card = bob.message("On mange où samedi").locator(".poll")
    expect(bob_card).to_be_visible(timeout=LIVE_MS)
    expect(bob_card.locator(".poll-option")).to_have_count(3)
    expect(bob_card).to_contain_text("0 votant")
    # Only the author (or a moderator) may close it.
    expect(bob_card.get_by_role("button", name="Clore le sondage")).to_have_count(0)

    # Bob votes: his card says so; Ana's bars move live, without "you voted" for her.
    option(bob_card, "Sushis").click()
    expect(bob_card).to_contain_text("Vous avez voté", timeout=LIVE_MS)
    expect(option(bob_card, "Sushis")).to_have_attribute("aria-checked", "true")
    expect(option(ana_card, "Sushis").locator(".poll-pct")).to_have_text("100 %", timeout=LIVE_MS)
    expect(ana_card).to_contain_text("1 votant")
    expect(ana_card).not_to_contain_text("Vous avez voté")

    # Ana votes too: Bob's card halves live and still knows his own vote.
    option(ana_card, "Pizzeria").click()
    expect(option(bob_card, "Pizzeria").locator(".poll-pct")).to_have_text("50 %", timeout=LIVE_MS)
    expect(bob_card).to_contain_text("2 votants")
    expect(option(bob_card, "Sushis")).to_have_attribute("aria-checked", "true")
    expect(bob_card).to_contain_text("Vous avez voté")

    # Bob changes his mind, then withdraws.
    option(bob_card, "Pizzeria").click()
    expect(option(ana_card, "Pizzeria").locator(".poll-pct")).to_have_text("100 %", timeout=LIVE_MS)
    expect(option(ana_card, "Sushis").locator(".poll-pct")).to_have_text("0 %")
    bob_card.get_by_role("button", name="Retirer mon vote").click()
    expect(ana_card).to_contain_text("1 votant", timeout=LIVE_MS)
    expect(bob_card).not_to_contain_text("Vous avez voté")

    # Who voted for what: Ana under Pizzeria, nobody else.
    bob_card.get_by_role("button", name="Voir les votants").click()
    voters = bob.page.get_by_role("dialog", name="Qui a voté quoi")
    expect(voters.locator(".poll-voters-option", has_text="Pizzeria")).to_contain_text("Ana")
    expect(voters.locator(".poll-voters-option", has_text="Sushis")).to_contain_text("Personne")
    voters.get_by_role("button", name="Fermer").click()

    # Ana closes it: both cards say so, and nobody can vote any more.
    ana_card.get_by_role("button", name="Clore le sondage").click()
    expect(bob_card).to_contain_text("Sondage clos", timeout=LIVE_MS)
    expect(option(bob_card, "Sushis")).to_be_disabled()
    expect(ana_card.get_by_role("button", name="Clore le sondage")).to_have_count(0)
    expect(ana_card).to_contain_text("Vous avez voté")
