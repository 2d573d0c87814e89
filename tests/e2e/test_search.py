"""Message search over real servers, once on SQLite (FTS5) and once on PostgreSQL (tsvector):
the same tests, the same answers. Accents, case and inflections; filters and pages; the
history's authorization from every side; edits and deletions; bad input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory
from tests.support.clients import name, refused, uid
from tests.support.server import ServerProcess
from tests.support.services import postgres_database

Frame = dict[str, Any]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """This module's server, on each database in turn."""
    workdir = tmp_path_factory.mktemp(f"search-{request.param}")
    if request.param == "sqlite":
        with ServerProcess(workdir) as process:
            yield process
        return
    with postgres_database() as url, ServerProcess(workdir, database_url=url) as process:
        yield process


def marker() -> str:
    """A word no other test posts, so tests sharing a server do not see each other."""
    return "zq" + uuid.uuid4().hex[:10]


def bodies(found: Frame) -> list[str]:
    return [hit["message"]["body"] for hit in found["results"]]


def marked(body: str, hit: Frame) -> list[str]:
    return [body[start:end] for start, end in hit["highlights"]]


async def topic(owner: ChatClient, visibility: str = "public") -> Frame:
    slug = f"s-{uuid.uuid4().hex[:12]}"
    return await owner.create_room(slug, "Search " + slug[-4:], "topic", visibility=visibility)


async def test_accents_case_and_inflections_in_french_and_english(
    make_client: ClientFactory,
) -> None:
    alice = await make_client("alice")
    room = await topic(alice)
    word = marker()
    body = f"Les Réponses du {word} : trois MEETUPS à Bruxelles en juillet"
    await alice.post_message(room["id"], body)
    for q in ("reponse", "RÉPONSE", "réponses", "meetup", "Meetups", "bruxelle", "juillet"):
        found = await alice.search(f"{q} {word}")
        assert bodies(found) == [body], q
    hit = (await alice.search(f"reponse meetup {word}"))["results"][0]
    assert marked(body, hit) == ["Réponses", word, "MEETUPS"]
    assert hit["room"]["id"] == room["id"] and hit["room"]["name"] == room["name"]
    assert hit["message"]["author"]["id"] == uid(alice)
    # A word that is not there finds nothing; a word excluded removes the message.
    assert bodies(await alice.search(f"questions {word}")) == []
    assert bodies(await alice.search(f"{word} -bruxelles")) == []
    assert bodies(await alice.search(f"{word} -lyon")) == [body]


async def test_newest_first_in_pages(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    room = await topic(alice)
    word = marker()
    sent = [(await alice.post_message(room["id"], f"{word} number {i}"))["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        found = await alice.search(word, limit=3, cursor=cursor)
        seen += [hit["message"]["id"] for hit in found["results"]]
        pages += 1
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert seen == sent[::-1] and pages == 3


async def test_filters(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    first, second = await topic(alice), await topic(alice)
    await bob.join(first["id"])
    word = marker()
    plain = await alice.post_message(first["id"], f"{word} plain")
    link = await alice.post_message(first["id"], f"{word} see https://example.org/x")
    asked = await alice.post_message(first["id"], f"{word} how does this work?", question=True)
    by_bob = await bob.post_message(first["id"], f"{word} from bob")
    upload = await alice.upload(b"minutes of the meeting\n", "notes.txt", "text/plain")
    filed = await alice.post_message(first["id"], f"{word} the notes", attachments=[upload["id"]])
    elsewhere = await alice.post_message(second["id"], f"{word} elsewhere")
    await alice.pin(first["id"], plain["id"])

    def ids(found: Frame) -> list[int]:
        return [hit["message"]["id"] for hit in found["results"]]

    assert ids(await alice.search(word)) == [
        m["id"] for m in (elsewhere, filed, by_bob, asked, link, plain)
    ]
    assert ids(await alice.search(word, room=second["id"])) == [elsewhere["id"]]
    assert ids(await alice.search(word, from_=name(bob))) == [by_bob["id"]]
    assert ids(await alice.search(word, from_=name(bob).upper())) == [by_bob["id"]]
    assert ids(await alice.search(word, from_="nobody-here")) == []
    assert ids(await alice.search(word, has="link")) == [link["id"]]
    assert ids(await alice.search(word, has="question")) == [asked["id"]]
    assert ids(await alice.search(word, has="pin")) == [plain["id"]]
    assert ids(await alice.search(word, has="attachment")) == [filed["id"]]
    created = datetime.fromisoformat(by_bob["created_at"].replace("Z", "+00:00"))
    later = (created + timedelta(milliseconds=1)).isoformat()
    assert ids(await alice.search(word, before=by_bob["created_at"])) == [
        m["id"] for m in (asked, link, plain)
    ]
    assert by_bob["id"] in ids(await alice.search(word, before=later))
    assert ids(await alice.search(word, after=by_bob["created_at"])) == [
        elsewhere["id"],
        filed["id"],
    ]


async def test_edits_and_deletions_keep_the_index_exact(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    room = await topic(alice)
    old, new = marker(), marker()
    message = await alice.post_message(room["id"], f"first draft {old}")
    assert len((await alice.search(old))["results"]) == 1
    await alice.edit_message(message["id"], f"second thoughts {new}")
    assert (await alice.search(old))["results"] == []
    found = await alice.search(f"thought {new}")
    assert bodies(found) == [f"second thoughts {new}"]
    await alice.delete_message(message["id"])
    assert (await alice.search(new))["results"] == []
    # A moderator's deletion too.
    bob = await make_client("bob")
    await bob.join(room["id"])
    gone = marker()
    theirs = await bob.post_message(room["id"], f"to be moderated {gone}")
    await alice.delete_message(theirs["id"])
    assert (await bob.search(gone))["results"] == []
    assert (await alice.search(gone))["results"] == []


async def test_only_rooms_the_caller_may_read(make_client: ClientFactory) -> None:
    owner = await make_client("owner")
    member = await make_client("member")
    outsider = await make_client("outsider")
    secret = await topic(owner, "private")
    public = await topic(owner, "public")
    await owner.add_member(secret["id"], uid(member))
    word = marker()
    await owner.post_message(secret["id"], f"{word} private plans")
    await owner.post_message(public["id"], f"{word} public notes")

    assert bodies(await member.search(word)) == [f"{word} public notes", f"{word} private plans"]
    # Public rooms are searchable without joining them, as their history is readable.
    assert bodies(await outsider.search(word)) == [f"{word} public notes"]
    # A private room stays invisible to outsiders: 404, as for its history.
    assert (await refused(outsider.search(word, room=secret["id"]))).code == "not_found"
    assert (await refused(outsider.search(word, room=10**15))).code == "not_found"

    # A removed member loses the private room at once, and keeps the public one.
    await owner.remove_member(secret["id"], uid(member))
    assert bodies(await member.search(word)) == [f"{word} public notes"]
    assert (await refused(member.search(word, room=secret["id"]))).code == "not_found"
    # A member who leaves, likewise.
    await owner.add_member(secret["id"], uid(outsider))
    assert len((await outsider.search(word))["results"]) == 2
    await outsider.leave(secret["id"])
    assert bodies(await outsider.search(word)) == [f"{word} public notes"]


async def test_direct_messages_and_blocks(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    carol = await make_client("carol")
    dm = await alice.open_dm(name(bob))
    word = marker()
    await alice.post_message(dm["id"], f"{word} between us")
    for side in (alice, bob):
        found = await side.search(word)
        assert bodies(found) == [f"{word} between us"]
        assert found["results"][0]["room"]["kind"] == "dm"
    assert bodies(await carol.search(word)) == []
    assert (await refused(carol.search(word, room=dm["id"]))).code == "not_found"

    # After a block, each side searches exactly what its history still shows; a third
    # person still sees nothing.
    await alice.block(name(bob))
    for side in (alice, bob):
        history = [m["body"] for m in await side.history(dm["id"]) if not m.get("deleted")]
        assert bodies(await side.search(word)) == [b for b in history if word in b]
    assert bodies(await carol.search(word)) == []


async def test_history_around_a_message(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    room = await topic(alice)
    sent = [await alice.post_message(room["id"], f"line {i}") for i in range(30)]
    centre = sent[20]
    page = await alice.history(room["id"], around=centre["id"], limit=9)
    assert [m["id"] for m in page] == [m["id"] for m in sent[16:25]]
    edge = await alice.history(room["id"], around=sent[1]["id"], limit=9)
    assert [m["id"] for m in edge] == [m["id"] for m in sent[0:9]]
    last = await alice.history(room["id"], around=sent[-1]["id"], limit=9)
    assert [m["id"] for m in last][-1] == sent[-1]["id"] and len(last) == 5
    other = await topic(alice)
    foreign = await alice.post_message(other["id"], "elsewhere")
    assert (await refused(alice.history(room["id"], around=foreign["id"]))).code == "not_found"
    refusal = await refused(alice.history(room["id"], around=centre["id"], before=3))
    assert refusal.code == "bad_request"


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 201},
        {"q": "-"},
        {"q": "- -- ---"},
        {"q": '"" * () : OR'.replace("OR", "")},
        {"q": "-word"},
        {"q": "-alpha -beta"},
        {"q": "!!! ???"},
        {"q": " ".join(f"w{i}" for i in range(17))},
        {"q": "ok", "cursor": "nope"},
        {"q": "ok", "cursor": "m0"},
        {"q": "ok", "cursor": "m99999999999999999999"},
        {"q": "ok", "has": "video"},
        {"q": "ok", "before": "yesterday"},
        {"q": "ok", "after": "2026-13-45T00:00:00Z"},
        {"q": "ok", "limit": 0},
        {"q": "ok", "limit": 51},
        {"q": "ok", "limit": "ten"},
        {"q": "ok", "room": "abc"},
        {"q": "ok", "room": -1},
        {"q": "ok", "from": "no spaces allowed"},
    ],
)
async def test_bad_queries_are_bad_requests(make_client: ClientFactory, params: Frame) -> None:
    alice = await make_client("alice")
    error = await refused(alice.http("GET", "/api/search", params=params))
    assert error.code == "bad_request", params


async def test_engine_syntax_is_only_ever_text(make_client: ClientFactory) -> None:
    """What FTS5 or tsquery would read as syntax is punctuation here: no error, no
    injection, and the words around it are still found."""
    alice = await make_client("alice")
    room = await topic(alice)
    word = marker()
    body = f"{word} NEAR the OR gate AND not"
    await alice.post_message(room["id"], body)
    for q in (
        f'"{word}"',
        f"{word}*",
        f"NEAR({word} gate)",
        f"{word} OR gate",
        f"{word} & gate | !gate",
        f"{word}:* gate",
        f"'{word}' '' \\",
        f"{word} ^gate {{near}} [gate]",
        f"{word}:the",
    ):
        found = await alice.search(q)
        assert bodies(found) == [body], q
    assert (await alice.search(f"{word} -gate"))["results"] == []
    # Words, like any other: no such message, and nothing dropped.
    assert (await alice.search(f"{word}'); DROP TABLE messages; --"))["results"] == []
    assert bodies(await alice.search(word)) == [body]


async def test_search_needs_a_token(server: ServerProcess) -> None:
    anonymous = ChatClient(server.base_url)
    try:
        assert (await refused(anonymous.search("anything"))).code == "unauthorized"
    finally:
        await anonymous.close()


async def test_concurrent_sends_are_all_found(make_client: ClientFactory) -> None:
    """Sends batched by group commit are each indexed in their own right."""
    alice = await make_client("alice")
    room = await topic(alice)
    word = marker()
    await asyncio.gather(*(alice.post_message(room["id"], f"{word} burst {i}") for i in range(20)))
    found = await alice.search(word, limit=50)
    assert sorted(bodies(found)) == sorted(f"{word} burst {i}" for i in range(20))
