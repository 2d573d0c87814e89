"""Questions for mentors over real sockets: asking, votes, claims, answers, the queue's
order, who may do what, bad input, exact counts under racing votes, live and replayed
`message.updated`, and the `answered` notification."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, Session, Slug
from tests.support.clients import next_update, status_of, uid

pytestmark = pytest.mark.usefixtures("first_account_taken")


async def a_room(
    make_client: ClientFactory, slug: Slug, members: int = 1
) -> tuple[ChatClient, list[ChatClient], int]:
    """A topic room owned (so moderated) by its creator, with `members` students in it."""
    owner = await make_client("owner")
    room = await owner.create_room(slug("qa"), "Q&A", "topic")
    students = [await make_client("student") for _ in range(members)]
    for student in students:
        await student.join(room["id"])
    return owner, students, room["id"]


async def test_a_question_is_asked_voted_claimed_and_answered_live(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, (asker, voter), rid = await a_room(make_client, slug, 2)
    await owner.connect()
    asked = await asker.post_message(rid, "how do closures capture?", question=True)
    assert asked["question"] == {
        "state": "open",
        "votes": 0,
        "my_vote": False,
        "claimed_by": None,
        "answered_by": None,
        "answer": None,
    }
    created = await owner.next_event("message.created", room=rid)
    assert created["message"]["question"]["state"] == "open"

    voted = await voter.vote(asked["id"])
    assert voted["question"]["votes"] == 1 and voted["question"]["my_vote"] is True
    event = await next_update(owner, rid, asked["id"])
    assert event["message"]["question"]["votes"] == 1
    assert event["message"]["question"]["my_vote"] is False  # broadcasts carry no viewer
    assert event["seq"] == asked["seq"] + 1
    again = await voter.vote(asked["id"])  # idempotent: no second vote, no event
    assert again["question"]["votes"] == 1

    claimed = await owner.claim(asked["id"])
    assert claimed["question"]["claimed_by"] == uid(owner)
    assert (await next_update(owner, rid, asked["id"]))["seq"] == asked["seq"] + 2

    reply = await owner.post_message(rid, "they capture variables, not values", asked["id"])
    await owner.next_event("message.created", room=rid)
    answered = await owner.answer(asked["id"], reply["id"])
    assert answered["question"]["state"] == "answered"
    assert answered["question"]["answered_by"] == uid(owner)
    assert answered["question"]["answer"] == reply["id"]
    assert (await next_update(owner, rid, asked["id"]))["seq"] == reply["seq"] + 1
    # History shows the same state, with the reader's own vote.
    seen = {m["id"]: m for m in await voter.history(rid)}
    assert seen[asked["id"]]["question"]["my_vote"] is True
    assert seen[asked["id"]]["question"]["state"] == "answered"
    assert seen[reply["id"]]["question"] is None  # a reply is not a question

    reopened = await asker.ask(asked["id"])
    assert reopened["question"]["state"] == "open" and reopened["question"]["answer"] is None
    assert (await voter.unvote(asked["id"]))["question"]["votes"] == 0


async def test_the_queue_orders_by_votes_then_age_and_by_age(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, students, rid = await a_room(make_client, slug, 3)
    a = await students[0].post_message(rid, "first", question=True)
    b = await students[0].post_message(rid, "second", question=True)
    c = await students[0].post_message(rid, "third", question=True)
    await students[0].post_message(rid, "just chatting")
    for voter in students[1:]:
        await voter.vote(c["id"])
    await students[1].vote(b["id"])
    by_votes = await students[2].questions(rid)
    assert [m["id"] for m in by_votes] == [c["id"], b["id"], a["id"]]
    assert [m["question"]["my_vote"] for m in by_votes] == [True, False, False]
    oldest = await owner.questions(rid, sort="oldest")
    assert [m["id"] for m in oldest] == [a["id"], b["id"], c["id"]]
    await owner.answer(c["id"])
    assert [m["id"] for m in await owner.questions(rid)] == [b["id"], a["id"]]
    assert [m["id"] for m in await owner.questions(rid, state="answered")] == [c["id"]]
    await students[0].delete_message(a["id"])
    assert [m["id"] for m in await owner.questions(rid)] == [b["id"]]


async def test_who_may_do_what_and_nothing_changes_when_refused(
    make_client: ClientFactory, slug: Slug, staff: dict[str, ChatClient]
) -> None:
    owner, (asker, other), rid = await a_room(make_client, slug, 2)
    outsider = await make_client("outsider")
    asked = await asker.post_message(rid, "why?", question=True)
    plain = await other.post_message(rid, "a plain message")
    mid = asked["id"]

    assert await status_of(asker.vote(mid)) == (403, "forbidden")  # one's own question
    assert await status_of(outsider.vote(mid)) == (403, "not_member")
    assert await status_of(other.claim(mid)) == (403, "forbidden")  # students do not claim
    assert await status_of(other.answer(mid)) == (403, "forbidden")  # nor answer others'
    assert await status_of(other.ask(mid)) == (403, "forbidden")
    assert await status_of(other.vote(plain["id"])) == (404, "not_found")  # not a question
    assert await status_of(owner.claim(plain["id"])) == (404, "not_found")
    assert await status_of(owner.answer(plain["id"])) == (404, "not_found")

    elsewhere = await owner.create_room(f"{rid}-elsewhere", "Elsewhere", "topic")
    foreign = await owner.post_message(elsewhere["id"], "an answer from another room")
    assert await status_of(owner.answer(mid, foreign["id"])) == (404, "not_found")
    assert await status_of(owner.answer(mid, mid)) == (400, "bad_request")
    # A mentor moderates a public room without joining it.
    assert (await staff["mentor"].claim(mid))["question"]["claimed_by"] == uid(staff["mentor"])
    # The author answers their own question; then claims are closed.
    assert (await asker.answer(mid))["question"]["state"] == "answered"
    assert await status_of(owner.claim(mid)) == (409, "conflict")

    current = (await owner.questions(rid, state="answered"))[0]["question"]
    assert current["votes"] == 0 and current["answer"] is None
    # The author may turn their own message into a question.
    assert (await other.ask(plain["id"]))["question"]["state"] == "open"


async def test_bad_input_is_refused_with_400(make_client: ClientFactory, slug: Slug) -> None:
    owner, (asker,), rid = await a_room(make_client, slug)
    asked = await asker.post_message(rid, "what?", question=True)
    path = f"/api/messages/{asked['id']}/question"
    for body in (
        {"state": "closed"},
        {"state": 1},
        {},
        {"state": "answered", "answer": "12"},
        {"state": "answered", "answer": 0},
    ):
        assert await status_of(owner.http("PUT", path, json=body)) == (400, "bad_request"), body
    for params in ({"state": "closed"}, {"sort": "newest"}, {"limit": "0"}, {"limit": "x"}):
        call = owner.http("GET", f"/api/rooms/{rid}/questions", params=params)
        assert await status_of(call) == (400, "bad_request"), params
    for question in (1, "true", None):
        call = owner.http(
            "POST", f"/api/rooms/{rid}/messages", json={"body": "x", "question": question}
        )
        assert await status_of(call) == (400, "bad_request"), question
    await owner.connect()
    with pytest.raises(ApiError) as caught:
        await owner.request("send", room=rid, body="hi", question="yes")
    assert caught.value.code == "bad_request"
    assert await status_of(owner.http("PUT", "/api/messages/999999999/question/vote")) == (
        404,
        "not_found",
    )


async def test_vote_counts_are_exact_under_concurrent_votes(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, voters, rid = await a_room(make_client, slug, 24)
    asked = await owner.post_message(rid, "ready?", question=True)
    mid = asked["id"]
    await asyncio.gather(*(v.vote(mid) for v in voters), *(v.vote(mid) for v in voters))
    assert (await owner.questions(rid))[0]["question"]["votes"] == 24
    await asyncio.gather(*(v.unvote(mid) for v in voters[:10]), *(v.vote(mid) for v in voters))
    assert (await owner.questions(rid))[0]["question"]["votes"] == 24
    await asyncio.gather(*(v.unvote(mid) for v in voters[:10]))
    assert (await owner.questions(rid))[0]["question"]["votes"] == 14


async def test_the_queue_converges_after_a_reconnect_with_since(
    make_client: ClientFactory, slug: Slug, session: Session
) -> None:
    owner, (asker, voter), rid = await a_room(make_client, slug, 2)
    asked = await asker.post_message(rid, "away question", question=True)
    since = asked["seq"]
    await voter.vote(asked["id"])
    await owner.claim(asked["id"])
    await owner.answer(asked["id"])
    socket, _ = await session(owner, {rid: since})
    async with asyncio.timeout(5):
        while True:
            event = await socket.next_event("message.updated", room=rid)
            if event["message"]["question"]["state"] == "answered":
                break
    question = event["message"]["question"]
    assert question["votes"] == 1 and question["claimed_by"] == uid(owner)
    assert question["answered_by"] == uid(owner)


async def test_the_asker_is_notified_when_answered_unless_their_level_is_none(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner, (asker, quiet), rid = await a_room(make_client, slug, 2)
    await asker.connect()
    asked = await asker.post_message(rid, "will you answer?", question=True)
    await owner.answer(asked["id"])
    async with asyncio.timeout(5):
        pushed = await asker.next_event("notification")
    assert pushed["notification"]["reason"] == "answered"
    assert pushed["notification"]["message"]["id"] == asked["id"]
    inbox = await asker.notifications()
    assert [(n["reason"], n["message"]["id"]) for n in inbox] == [("answered", asked["id"])]

    await quiet.set_notification_settings(rooms={rid: "none"})
    hushed = await quiet.post_message(rid, "no alerts please", question=True)
    await owner.answer(hushed["id"])
    mine = await asker.post_message(rid, "I will answer myself", question=True)
    await asker.answer(mine["id"])
    assert await quiet.notifications() == []
    assert len(await asker.notifications()) == 1
