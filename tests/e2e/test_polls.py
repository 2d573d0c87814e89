"""Polls over real sockets: creating, voting, changing and withdrawing a vote, closing,
the voters list, every refusal (each changing nothing), `my_vote` per caller and null in
broadcasts, exact counts under racing voters (SQLite and PostgreSQL), and anonymous
polls whose voters no API lists and the database does not name."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, take_first_account, unique_slug
from tests.support.clients import refused, uid
from tests.support.server import ServerProcess
from tests.support.services import postgres_database

Slug = Callable[[str], str]
Frame = dict[str, Any]
PASSWORD = "correct horse battery"
LUNCH = {"question": "Where do we eat?", "options": ["Pizza", "Sushi", "Falafel"]}


@pytest.fixture(scope="module", autouse=True)
def first_account_taken(server: ServerProcess) -> None:
    take_first_account(server)


async def a_room(
    make_client: ClientFactory, slug: Slug, members: int = 2
) -> tuple[ChatClient, list[ChatClient], int]:
    """A topic room owned (so moderated) by its creator, with `members` students in it."""
    owner = await make_client("owner")
    room = await owner.create_room(slug("poll"), "Polls", "topic")
    students = [await make_client("student") for _ in range(members)]
    for student in students:
        await student.join(room["id"])
    return owner, students, room["id"]


async def next_update(
    client: ChatClient, room_id: int, message_id: int, until: Callable[[Frame], bool] | None = None
) -> Frame:
    """The next `message.updated` of that message (the first whose poll passes `until`),
    skipping anything else."""
    async with asyncio.timeout(5):
        while True:
            event = await client.next_event("message.updated", room=room_id)
            poll = event["message"]["poll"]
            if event["message"]["id"] == message_id and (until is None or until(poll)):
                return event


def counts(message: Frame) -> list[int]:
    return [o["votes"] for o in message["poll"]["options"]]


async def last_seq(client: ChatClient, room_id: int) -> int:
    return int((await client.room(room_id))["last_seq"])


async def test_a_poll_is_created_voted_changed_withdrawn_and_closed_live(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, (ana, bob), rid = await a_room(make_client, slug)
    await owner.connect()
    sent = await ana.post_message(rid, "", poll=LUNCH)
    assert sent["body"] == "Where do we eat?"  # an empty body takes the question
    assert sent["poll"] == {
        "question": "Where do we eat?",
        "options": [
            {"id": 1, "text": "Pizza", "votes": 0},
            {"id": 2, "text": "Sushi", "votes": 0},
            {"id": 3, "text": "Falafel", "votes": 0},
        ],
        "multiple": False,
        "anonymous": False,
        "closed": False,
        "voters": 0,
        "my_vote": [],
    }
    created = await owner.next_event("message.created", room=rid)
    assert created["message"]["poll"]["my_vote"] is None  # broadcasts carry no viewer
    mid = sent["id"]

    voted = await bob.vote_poll(mid, [2])
    assert counts(voted) == [0, 1, 0] and voted["poll"]["voters"] == 1
    assert voted["poll"]["my_vote"] == [2]
    event = await next_update(owner, rid, mid)
    assert counts(event["message"]) == [0, 1, 0]
    assert event["message"]["poll"]["my_vote"] is None
    assert event["seq"] == sent["seq"] + 1

    changed = await bob.vote_poll(mid, [3])
    assert counts(changed) == [0, 0, 1] and changed["poll"]["voters"] == 1
    await ana.vote_poll(mid, [3])
    # Each reader sees their own vote in history; the owner has not voted.
    for client, mine in ((ana, [3]), (bob, [3]), (owner, [])):
        (seen,) = [m for m in await client.history(rid) if m["id"] == mid]
        assert seen["poll"]["my_vote"] == mine and counts(seen) == [0, 0, 2]

    withdrawn = await bob.vote_poll(mid, [])
    assert counts(withdrawn) == [0, 0, 1] and withdrawn["poll"]["voters"] == 1
    assert withdrawn["poll"]["my_vote"] == []

    before = await last_seq(owner, rid)
    again = await ana.vote_poll(mid, [3])  # the same vote again changes nothing
    assert again["poll"]["my_vote"] == [3] and await last_seq(owner, rid) == before

    closed = await ana.close_poll(mid)
    assert closed["poll"]["closed"] is True and closed["poll"]["my_vote"] == [3]
    event = await next_update(owner, rid, mid, lambda poll: poll["closed"])
    assert counts(event["message"]) == [0, 0, 1] and event["message"]["poll"]["my_vote"] is None
    seq = await last_seq(owner, rid)
    assert (await ana.close_poll(mid))["poll"]["closed"] is True  # idempotent
    assert await last_seq(owner, rid) == seq
    error = await refused(bob.vote_poll(mid, [1]))
    assert (error.status, error.code) == (409, "conflict")
    after = (await bob.history(rid))[-1]
    assert counts(after) == [0, 0, 1] and after["poll"]["my_vote"] == []


async def test_a_multiple_choice_poll_counts_voters_once(
    make_client: ClientFactory, slug: Slug
) -> None:
    _, (ana, bob), rid = await a_room(make_client, slug)
    poll = {"question": "Which days?", "options": ["Mon", "Tue", "Wed", "Thu"], "multiple": True}
    await ana.connect()
    sent = await ana.send(rid, "Pick all that suit you", poll=poll)  # over the WebSocket
    assert sent["body"] == "Pick all that suit you" and sent["poll"]["multiple"] is True
    assert sent["poll"]["my_vote"] == []
    mid = sent["id"]
    assert counts(await ana.vote_poll(mid, [1, 3, 4])) == [1, 0, 1, 1]
    both = await bob.vote_poll(mid, [3, 2])
    assert counts(both) == [1, 1, 2, 1] and both["poll"]["voters"] == 2
    assert both["poll"]["my_vote"] == [2, 3]
    changed = await ana.vote_poll(mid, [2])
    assert counts(changed) == [0, 2, 1, 0] and changed["poll"]["voters"] == 2


async def test_the_author_and_moderators_close_a_poll_and_nobody_else(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    owner, (ana, bob), rid = await a_room(make_client, slug)
    first = (await ana.post_message(rid, "", poll=LUNCH))["id"]
    error = await refused(bob.close_poll(first))
    assert (error.status, error.code) == (403, "forbidden")
    assert (await bob.history(rid))[-1]["poll"]["closed"] is False
    assert (await owner.close_poll(first))["poll"]["closed"] is True  # the room's owner
    second = (await ana.post_message(rid, "", poll=LUNCH))["id"]
    await owner.set_room_role(rid, uid(bob), "moderator")
    assert (await bob.close_poll(second))["poll"]["closed"] is True
    third = (await ana.post_message(rid, "", poll=LUNCH))["id"]
    admin = staff["admin"]  # staff moderate public rooms
    assert (await admin.close_poll(third))["poll"]["closed"] is True


async def test_who_may_vote_and_see_a_poll(make_client: ClientFactory, slug: Slug) -> None:
    owner, (ana,), rid = await a_room(make_client, slug, 1)
    mid = (await ana.post_message(rid, "", poll=LUNCH))["id"]
    stranger = await make_client("stranger")
    error = await refused(stranger.vote_poll(mid, [1]))  # public room, not joined
    assert (error.status, error.code) == (403, "not_member")
    private = await owner.create_room(slug("secret"), "Secret", "topic", visibility="private")
    hidden = (await owner.post_message(private["id"], "", poll=LUNCH))["id"]
    for call in (
        stranger.vote_poll(hidden, [1]),
        stranger.close_poll(hidden),
        stranger.poll_voters(hidden),
    ):
        error = await refused(call)
        assert (error.status, error.code) == (404, "not_found")
    plain = (await ana.post_message(rid, "not a poll"))["id"]
    for call in (ana.vote_poll(plain, [1]), ana.close_poll(plain), ana.poll_voters(plain)):
        error = await refused(call)
        assert (error.status, error.code) == (404, "not_found")
    # Anyone who reads a public room may see who voted, without joining.
    await ana.vote_poll(mid, [1])
    (pizza, _, _) = await stranger.poll_voters(mid)
    assert [u["id"] for u in pizza["voters"]] == [uid(ana)]


async def test_a_muted_member_cannot_vote_and_an_archived_poll_is_frozen(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, (ana, bob), rid = await a_room(make_client, slug)
    mid = (await ana.post_message(rid, "", poll=LUNCH))["id"]
    await bob.vote_poll(mid, [2])
    await owner.mute(rid, uid(bob), 600)
    error = await refused(bob.vote_poll(mid, [1]))
    assert (error.status, error.code) == (403, "muted")
    await owner.update_room(rid, archived=True)
    for call in (ana.vote_poll(mid, [1]), ana.close_poll(mid), owner.close_poll(mid)):
        error = await refused(call)
        assert (error.status, error.code) == (403, "forbidden")
    (after,) = [m for m in await ana.history(rid) if m["id"] == mid]
    assert counts(after) == [0, 1, 0] and after["poll"]["closed"] is False
    assert len((await ana.poll_voters(mid))[1]["voters"]) == 1  # still readable


BAD_POLLS: list[tuple[str, Any, int, str]] = [
    ("duplicate options", {"question": "Q?", "options": ["Tea", "Coffee", "Tea"]}, 400, ""),
    ("duplicates but case", {"question": "Q?", "options": ["Tea", " tea "]}, 400, ""),
    ("duplicates but spaces", {"question": "Q?", "options": ["Green  tea", "green tea"]}, 400, ""),
    ("an empty option", {"question": "Q?", "options": ["Tea", ""]}, 400, ""),
    ("a blank option", {"question": "Q?", "options": ["Tea", "   "]}, 400, ""),
    ("one option", {"question": "Q?", "options": ["Tea"]}, 400, ""),
    ("no options", {"question": "Q?", "options": []}, 400, ""),
    ("eleven options", {"question": "Q?", "options": [f"o{i}" for i in range(11)]}, 400, ""),
    ("an empty question", {"question": "  ", "options": ["a", "b"]}, 400, ""),
    ("no question", {"options": ["a", "b"]}, 400, ""),
    ("a long question", {"question": "q" * 301, "options": ["a", "b"]}, 413, ""),
    ("a long option", {"question": "Q?", "options": ["a", "b" * 101]}, 413, ""),
    ("an option not a string", {"question": "Q?", "options": ["a", 2]}, 400, ""),
    (
        "multiple as a string",
        {"question": "Q?", "options": ["a", "b"], "multiple": "true"},
        400,
        "",
    ),
    ("anonymous as a number", {"question": "Q?", "options": ["a", "b"], "anonymous": 1}, 400, ""),
    ("a poll that is a list", ["a", "b"], 400, ""),
    ("a NUL in an option", {"question": "Q?", "options": ["a\x00", "b"]}, 400, ""),
]


@pytest.mark.parametrize(("case", "poll", "status", "_"), BAD_POLLS, ids=[c[0] for c in BAD_POLLS])
async def test_a_bad_poll_is_refused_and_changes_nothing(
    make_client: ClientFactory, slug: Slug, case: str, poll: Any, status: int, _: str
) -> None:
    owner, _students, rid = await a_room(make_client, slug, 0)
    before = await last_seq(owner, rid)
    error = await refused(
        owner.http("POST", f"/api/rooms/{rid}/messages", json={"body": "x", "poll": poll})
    )
    assert (error.status, error.code) == (status, "bad_request" if status == 400 else "too_large")
    await owner.connect()
    ws_error = await refused(owner.send(rid, "x", poll=poll))
    assert ws_error.code == error.code
    assert await last_seq(owner, rid) == before
    assert await owner.history(rid) == []


BAD_VOTES: list[tuple[str, Any, str]] = [
    ("an option that does not exist", [4], "bad_request"),
    ("option zero", [0], "bad_request"),
    ("a negative option", [-1], "bad_request"),
    ("two options in a single-choice poll", [1, 2], "bad_request"),
    ("the same option twice", [1, 1], "bad_request"),
    ("an option as a string", ["1"], "bad_request"),
    ("options not a list", 1, "bad_request"),
    ("eleven options", list(range(1, 12)), "bad_request"),
]


@pytest.mark.parametrize(("case", "options", "code"), BAD_VOTES, ids=[c[0] for c in BAD_VOTES])
async def test_a_bad_vote_is_refused_and_changes_nothing(
    make_client: ClientFactory, slug: Slug, case: str, options: Any, code: str
) -> None:
    owner, (ana,), rid = await a_room(make_client, slug, 1)
    mid = (await owner.post_message(rid, "", poll=LUNCH))["id"]
    await ana.vote_poll(mid, [3])
    before = await last_seq(owner, rid)
    error = await refused(
        ana.http("PUT", f"/api/messages/{mid}/poll/vote", json={"options": options})
    )
    assert (error.status, error.code) == (400, code)
    (after,) = await ana.history(rid)
    assert counts(after) == [0, 0, 1] and after["poll"]["my_vote"] == [3]
    assert await last_seq(owner, rid) == before


async def test_a_multiple_choice_poll_refuses_unknown_and_repeated_options(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, (ana,), rid = await a_room(make_client, slug, 1)
    poll = {**LUNCH, "multiple": True}
    mid = (await owner.post_message(rid, "", poll=poll))["id"]
    for options in ([1, 4], [2, 2], [1, 2, 3, 3]):
        error = await refused(ana.vote_poll(mid, options))
        assert (error.status, error.code) == (400, "bad_request")
    assert counts((await ana.history(rid))[-1]) == [0, 0, 0]
    assert counts(await ana.vote_poll(mid, [1, 2, 3])) == [1, 1, 1]


async def test_the_voters_list_says_who_chose_what(make_client: ClientFactory, slug: Slug) -> None:
    owner, (ana, bob), rid = await a_room(make_client, slug)
    poll = {**LUNCH, "multiple": True}
    mid = (await owner.post_message(rid, "", poll=poll))["id"]
    await ana.vote_poll(mid, [1, 3])
    await bob.vote_poll(mid, [3])
    listed = await bob.poll_voters(mid)
    assert [(o["id"], o["text"]) for o in listed] == [(1, "Pizza"), (2, "Sushi"), (3, "Falafel")]
    assert [sorted(u["id"] for u in o["voters"]) for o in listed] == [
        [uid(ana)],
        [],
        sorted([uid(ana), uid(bob)]),
    ]
    assert {"username", "display_name", "role"} <= set(listed[0]["voters"][0])
    await bob.vote_poll(mid, [])
    assert [len(o["voters"]) for o in await owner.poll_voters(mid)] == [1, 0, 1]


async def test_an_anonymous_poll_lists_its_voters_to_nobody_and_the_database_names_none(
    server: ServerProcess,
    make_client: ClientFactory,
    slug: Slug,
    staff: dict[str, ChatClient],
) -> None:
    owner, (ana, bob), rid = await a_room(make_client, slug)
    poll = {**LUNCH, "anonymous": True}
    sent = await ana.post_message(rid, "", poll=poll)
    mid = sent["id"]
    assert sent["poll"]["anonymous"] is True
    await ana.vote_poll(mid, [1])
    voted = await bob.vote_poll(mid, [2])
    assert counts(voted) == [1, 1, 0] and voted["poll"]["my_vote"] == [2]
    # Each voter still finds their own vote (to change it), and only their own.
    assert (await ana.history(rid))[-1]["poll"]["my_vote"] == [1]
    assert counts(await bob.vote_poll(mid, [1])) == [2, 0, 0]
    for role, client in (
        ("author", ana),
        ("voter", bob),
        ("room owner", owner),
        ("admin", staff["admin"]),
        ("mentor", staff["mentor"]),
    ):
        error = await refused(client.poll_voters(mid))
        assert (error.status, error.code) == (403, "forbidden"), role
    # The database keeps no user id and no time with these votes, and no voter column
    # holds a user id in the clear.
    with sqlite3.connect(server.workdir / "chat.db") as db:
        rows = db.execute(
            "SELECT voter, option_id, user_id FROM poll_votes WHERE message_id = ?", (mid,)
        ).fetchall()
        columns = [c[1] for c in db.execute("PRAGMA table_info(poll_votes)")]
    assert sorted(option for _, option, _ in rows) == [1, 1]
    assert all(user_id is None for _, _, user_id in rows)
    assert not {str(uid(ana)), str(uid(bob))} & {voter for voter, _, _ in rows}
    assert all(len(voter) == 64 for voter, _, _ in rows)
    assert not any("time" in c or c.endswith("_ms") for c in columns)


async def test_a_replay_brings_the_voters_own_vote(
    make_client: ClientFactory, slug: Slug, session: Any
) -> None:
    owner, (ana, bob), rid = await a_room(make_client, slug)
    mid = (await owner.post_message(rid, "", poll=LUNCH))["id"]
    seen = await last_seq(ana, rid)
    await ana.vote_poll(mid, [2])
    await bob.vote_poll(mid, [1])
    socket, _ = await session(ana, since={rid: seen})
    async with asyncio.timeout(5):
        while True:
            event = await socket.next_event("message.updated", room=rid)
            if event["message"]["id"] == mid:
                break
    assert counts(event["message"]) == [1, 1, 0]
    assert event["message"]["poll"]["my_vote"] == [2]  # a replay is computed for its reader


async def race(clients: list[ChatClient], mid: int, options: int, multiple: bool) -> list[int]:
    """Every client votes, withdraws and votes again at once; returns the counts
    that their final votes must add up to."""
    rng = random.Random(7)
    finals: list[list[int]] = []
    for _ in clients:
        k = rng.randint(1, options) if multiple else 1
        finals.append(sorted(rng.sample(range(1, options + 1), k)))

    async def one(client: ChatClient, final: list[int]) -> None:
        first = [rng.randint(1, options)]
        await client.vote_poll(mid, first)
        await client.vote_poll(mid, [])
        await client.vote_poll(mid, final)

    await asyncio.gather(*(one(c, f) for c, f in zip(clients, finals, strict=True)))
    return [sum(1 for f in finals if o in f) for o in range(1, options + 1)]


async def check_exact_counts_under_racing_voters(
    make: Callable[[str], Awaitable[ChatClient]], voters: int
) -> None:
    owner = await make("owner")
    room = await owner.create_room(unique_slug("race"), "Race", "topic")
    rid = room["id"]
    accounts = [await make("voter") for _ in range(voters)]
    await asyncio.gather(*(c.join(rid) for c in accounts))
    # Every vote of a poll queues on its row lock: on a busy machine the last of a few
    # hundred may wait longer than the SDK's default 10 s, which is not what is tested.
    async with httpx.AsyncClient(base_url=owner.base_url, timeout=120) as http:
        clients = [ChatClient(owner.base_url, c.token, http=http) for c in accounts]
        for multiple in (False, True):
            poll = {"question": "Race?", "options": ["a", "b", "c", "d"], "multiple": multiple}
            mid = (await owner.post_message(rid, "", poll=poll))["id"]
            expected = await race(clients, mid, 4, multiple)
            (message,) = [m for m in await owner.history(rid) if m["id"] == mid]
            assert counts(message) == expected
            assert message["poll"]["voters"] == voters
            listed = await owner.poll_voters(mid)
            assert [len(o["voters"]) for o in listed] == expected
            # Half withdraw at once: the voters count follows exactly.
            await asyncio.gather(*(c.vote_poll(mid, []) for c in clients[: voters // 2]))
            (message,) = [m for m in await owner.history(rid) if m["id"] == mid]
            assert message["poll"]["voters"] == voters - voters // 2
            listed = await owner.poll_voters(mid)
            assert counts(message) == [len(o["voters"]) for o in listed]


async def test_counts_are_exact_under_racing_voters(make_client: ClientFactory) -> None:
    await check_exact_counts_under_racing_voters(make_client, 40)


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with (
        postgres_database() as url,
        ServerProcess(tmp_path_factory.mktemp("pg"), database_url=url) as process,
    ):
        yield process


@pytest.fixture
async def pg_client(postgres_server: ServerProcess) -> AsyncIterator[Callable[[str], Any]]:
    clients: list[ChatClient] = []

    async def make(name: str) -> ChatClient:
        client = ChatClient(postgres_server.base_url)
        clients.append(client)
        await client.register(f"{name[:8]}{unique_slug('u')[-12:]}".replace("-", ""), PASSWORD)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.mark.postgres
async def test_counts_are_exact_under_racing_voters_on_postgresql(
    postgres_server: ServerProcess, pg_client: Callable[[str], Awaitable[ChatClient]]
) -> None:
    await pg_client("founder")  # the first account is the admin
    await check_exact_counts_under_racing_voters(pg_client, 40)


@pytest.mark.postgres
async def test_a_vote_racing_the_close_is_counted_only_before_it_on_postgresql(
    postgres_server: ServerProcess, pg_client: Callable[[str], Awaitable[ChatClient]]
) -> None:
    await pg_client("founder")
    owner = await pg_client("owner")
    rid = (await owner.create_room(unique_slug("close"), "Close", "topic"))["id"]
    voters = [await pg_client("voter") for _ in range(20)]
    await asyncio.gather(*(v.join(rid) for v in voters))
    mid = (await owner.post_message(rid, "", poll=LUNCH))["id"]

    async def vote(client: ChatClient) -> bool:
        try:
            await client.vote_poll(mid, [1])
        except Exception as error:
            assert getattr(error, "code", None) == "conflict"
            return False
        return True

    results = await asyncio.gather(*(vote(v) for v in voters[:10]), owner.close_poll(mid))
    results += await asyncio.gather(*(vote(v) for v in voters[10:]))
    accepted = sum(1 for r in results if r is True)
    (message,) = [m for m in await owner.history(rid) if m["id"] == mid]
    assert message["poll"]["closed"] is True
    assert counts(message) == [accepted, 0, 0] and message["poll"]["voters"] == accepted
    assert accepted <= 10
