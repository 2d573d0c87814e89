"""Messages: sending, body rules, nonces, replies, mentions, history, edit, delete, access."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, take_first_account
from tests.support.server import ServerProcess

Slug = Callable[[str], str]
MESSAGE_FIELDS = {
    "id",
    "room",
    "seq",
    "author",
    "body",
    "created_at",
    "edited_at",
    "deleted",
    "reply_to",
    "reactions",
    "mentions",
    "nonce",
}


@pytest.fixture(scope="module", autouse=True)
def first_account_taken(server: ServerProcess) -> None:
    take_first_account(server)


async def refused(call: Awaitable[Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


def uid(client: ChatClient) -> int:
    assert client.user is not None
    user_id: int = client.user["id"]
    return user_id


def uname(client: ChatClient) -> str:
    assert client.user is not None
    name: str = client.user["username"]
    return name


@pytest.fixture
async def pair(
    make_client: ClientFactory, slug: Slug
) -> tuple[ChatClient, ChatClient, dict[str, Any]]:
    """Alice and Bob, connected, in a public topic room Alice created."""
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("msgs"), "Messages", "topic")
    await bob.join(room["id"])
    await alice.connect()
    await bob.connect()
    return alice, bob, room


# -- sending --------------------------------------------------------------------------


async def test_a_message_sent_over_websocket_reaches_the_room(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]],
) -> None:
    alice, bob, room = pair
    sent = await alice.send(room["id"], "hello there")
    assert set(sent) >= MESSAGE_FIELDS
    assert sent["room"] == room["id"]
    assert sent["body"] == "hello there"
    assert sent["author"]["id"] == uid(alice)
    assert sent["author"]["username"] == uname(alice)
    assert "display_name" in sent["author"]
    assert (sent["edited_at"], sent["deleted"], sent["reply_to"], sent["nonce"]) == (
        None,
        False,
        None,
        None,
    )
    assert (sent["reactions"], sent["mentions"]) == ([], [])
    assert sent["created_at"].endswith("Z") and len(sent["created_at"]) == 24

    event = await bob.next_event("message.created", room=room["id"])
    assert event["seq"] == sent["seq"]
    assert event["message"] == sent
    own = await alice.next_event("message.created", room=room["id"])
    assert own["message"]["id"] == sent["id"]


async def test_a_message_posted_over_http_reaches_connected_members(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]],
) -> None:
    alice, bob, room = pair
    posted = await alice.http(
        "POST", f"/api/rooms/{room['id']}/messages", json={"body": "from a script"}
    )
    message = posted["message"]
    assert set(message) >= MESSAGE_FIELDS
    event = await bob.next_event("message.created", room=room["id"])
    assert event["message"]["id"] == message["id"]
    assert event["seq"] == message["seq"]
    history = await bob.history(room["id"])
    assert history[-1]["id"] == message["id"]


@pytest.mark.parametrize("body", ["", "   ", "\n\t \n", None, 42, ["hi"]])
async def test_empty_or_non_text_bodies_are_bad_requests(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], body: object
) -> None:
    alice, _, room = pair
    error = await refused(alice.request("send", room=room["id"], body=body))
    assert error.code == "bad_request"
    error = await refused(
        alice.http("POST", f"/api/rooms/{room['id']}/messages", json={"body": body})
    )
    assert (error.status, error.code) == (400, "bad_request")
    assert await alice.history(room["id"]) == []


async def test_body_length_is_limited_to_4000_characters_after_trimming(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]],
) -> None:
    alice, _, room = pair
    error = await refused(alice.send(room["id"], "x" * 4001))
    assert error.code == "too_large"
    error = await refused(alice.post_message(room["id"], "y" * 4001))
    assert (error.status, error.code) == (413, "too_large")

    longest = await alice.send(room["id"], "z" * 4000)
    assert longest["body"] == "z" * 4000
    padded = await alice.post_message(room["id"], "  " + "w" * 4000 + "\n")
    assert padded["body"].strip() == "w" * 4000
    assert [m["id"] for m in await alice.history(room["id"])] == [longest["id"], padded["id"]]


# -- nonces ---------------------------------------------------------------------------


@pytest.mark.parametrize("nonce", ["c0ffee-1", 12345])
async def test_a_nonce_is_echoed_and_a_repeat_does_not_post_twice(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], nonce: str | int
) -> None:
    alice, bob, room = pair
    first = (await alice.request("send", room=room["id"], body="once", nonce=nonce))["message"]
    assert first["nonce"] == nonce
    event = await bob.next_event("message.created", room=room["id"])
    assert event["message"]["nonce"] == nonce

    again = (await alice.request("send", room=room["id"], body="once", nonce=nonce))["message"]
    posted = await alice.http(
        "POST", f"/api/rooms/{room['id']}/messages", json={"body": "once", "nonce": nonce}
    )
    assert again["id"] == first["id"] == posted["message"]["id"]
    assert again["seq"] == first["seq"]
    assert again["nonce"] == nonce

    marker = await alice.send(room["id"], "after the retries")
    next_event = await bob.next_event("message.created", room=room["id"])
    assert next_event["message"]["id"] == marker["id"]  # no second event for the retry
    assert marker["seq"] == first["seq"] + 1
    assert [m["id"] for m in await bob.history(room["id"])] == [first["id"], marker["id"]]

    # A nonce is the sender's own: someone else using the same one posts normally.
    bobs = (await bob.request("send", room=room["id"], body="mine", nonce=nonce))["message"]
    assert bobs["id"] != first["id"]
    assert bobs["author"]["id"] == uid(bob)


@pytest.mark.parametrize("nonce", [1.5, True, {"a": 1}, ["x"]])
async def test_a_nonce_must_be_a_string_or_an_integer(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], nonce: object
) -> None:
    alice, _, room = pair
    error = await refused(alice.request("send", room=room["id"], body="hi", nonce=nonce))
    assert error.code == "bad_request"


# -- replies --------------------------------------------------------------------------


async def test_replies_point_to_a_live_message_of_the_same_room(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], slug: Slug
) -> None:
    alice, bob, room = pair
    question = await alice.send(room["id"], "question?")
    answer = await bob.send(room["id"], "answer", reply_to=question["id"])
    assert answer["reply_to"] == question["id"]
    event = await alice.next_event("message.created", room=room["id"])
    while event["message"]["id"] != answer["id"]:
        event = await alice.next_event("message.created", room=room["id"])
    assert event["message"]["reply_to"] == question["id"]
    over_http = await bob.post_message(room["id"], "again", reply_to=question["id"])
    assert over_http["reply_to"] == question["id"]

    elsewhere = await alice.create_room(slug("other"), "Other", "topic")
    foreign = await alice.send(elsewhere["id"], "in another room")
    error = await refused(bob.send(room["id"], "reply", reply_to=foreign["id"]))
    assert error.code == "not_found"
    error = await refused(bob.post_message(room["id"], "reply", reply_to=foreign["id"]))
    assert (error.status, error.code) == (404, "not_found")
    error = await refused(bob.send(room["id"], "reply", reply_to=987654321))
    assert error.code == "not_found"

    await alice.delete(question["id"])
    error = await refused(bob.send(room["id"], "too late", reply_to=question["id"]))
    assert error.code == "not_found"


# -- mentions and shortcodes ----------------------------------------------------------


async def test_mentions_name_members_of_the_room_only(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], make_client: ClientFactory
) -> None:
    alice, bob, room = pair
    carol = await make_client("carol")  # not in the room
    b, c = uname(bob), uname(carol)

    assert (await alice.send(room["id"], f"hi @{b}"))["mentions"] == [uid(bob)]
    assert (await alice.send(room["id"], f"thanks @{b}."))["mentions"] == [uid(bob)]
    assert (await alice.send(room["id"], f"(@{b.upper()}), look"))["mentions"] == [uid(bob)]
    assert (await alice.send(room["id"], f"@{b} @{b} again"))["mentions"] == [uid(bob)]
    assert (await alice.send(room["id"], f"hey @{c}"))["mentions"] == []
    assert (await alice.send(room["id"], f"mail someone@{b}.org"))["mentions"] == []
    assert (await alice.send(room["id"], f"`@{b}` is a code sample"))["mentions"] == []
    both = await bob.send(room["id"], f"@{uname(alice)} and @{b}")
    assert both["mentions"] == [uid(alice), uid(bob)]
    event = await alice.next_event("message.created", room=room["id"])
    while event["message"]["id"] != both["id"]:
        event = await alice.next_event("message.created", room=room["id"])
    assert event["message"]["mentions"] == [uid(alice), uid(bob)]


async def test_shortcodes_become_emoji_outside_code(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]],
) -> None:
    alice, _, room = pair
    assert (await alice.send(room["id"], "we shipped :tada:"))["body"] == "we shipped 🎉"
    assert (await alice.send(room["id"], ":+1: ok"))["body"] == "👍 ok"
    assert (await alice.send(room["id"], "type `:tada:` for 🎉"))["body"] == (
        "type `:tada:` for 🎉"
    )
    fenced = "```\nprint(':tada:')\n``` :tada:"
    assert (await alice.send(room["id"], fenced))["body"] == "```\nprint(':tada:')\n``` 🎉"
    assert (await alice.send(room["id"], "10:30 :nosuchcode:"))["body"] == "10:30 :nosuchcode:"
    assert (await alice.history(room["id"]))[0]["body"] == "we shipped 🎉"


# -- history --------------------------------------------------------------------------


async def test_history_pages_by_exclusive_seq_cursors(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    room = await alice.create_room(slug("history"), "History", "topic")
    sent = [await alice.post_message(room["id"], f"m{i}") for i in range(230)]
    seqs = [m["seq"] for m in sent]
    assert seqs == list(range(seqs[0], seqs[0] + 230))

    def bodies(page: list[dict[str, Any]]) -> list[str]:
        return [m["body"] for m in page]

    newest = await alice.history(room["id"])
    assert bodies(newest) == [f"m{i}" for i in range(180, 230)]  # default: the newest 50
    assert [m["seq"] for m in newest] == sorted(m["seq"] for m in newest)
    assert bodies(await alice.history(room["id"], limit=200)) == [f"m{i}" for i in range(30, 230)]
    assert bodies(await alice.history(room["id"], limit=3)) == ["m227", "m228", "m229"]
    assert bodies(await alice.history(room["id"], after=0, limit=3)) == ["m0", "m1", "m2"]
    assert bodies(await alice.history(room["id"], after=seqs[10], limit=2)) == ["m11", "m12"]
    assert bodies(await alice.history(room["id"], before=seqs[10], limit=2)) == ["m8", "m9"]
    assert bodies(await alice.history(room["id"], before=seqs[2])) == ["m0", "m1"]
    assert bodies(await alice.history(room["id"], after=seqs[227])) == ["m228", "m229"]
    assert await alice.history(room["id"], after=seqs[-1]) == []
    assert bodies(await alice.history(room["id"], after=seqs[3], before=seqs[7])) == [
        "m4",
        "m5",
        "m6",
    ]
    # The same pages over the WebSocket.
    await alice.connect()
    assert bodies(await alice.history_ws(room["id"], before=seqs[10], limit=2)) == ["m8", "m9"]
    assert len(await alice.history_ws(room["id"])) == 50

    for params in ({"limit": 201}, {"limit": 0}, {"limit": -1}, {"before": -1}):
        error = await refused(alice.history(room["id"], **params))
        assert (error.status, error.code) == (400, "bad_request")
    error = await refused(
        alice.http("GET", f"/api/rooms/{room['id']}/messages", params={"after": "x"})
    )
    assert error.code == "bad_request"
    error = await refused(alice.history_ws(room["id"], limit=500))
    assert error.code == "bad_request"


# -- edit and delete ------------------------------------------------------------------


async def test_only_the_author_edits_and_the_room_sees_the_edit(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], staff: dict[str, ChatClient]
) -> None:
    alice, bob, room = pair
    original = await alice.send(room["id"], "teh typo")
    await bob.next_event("message.created", room=room["id"])

    error = await refused(bob.edit(original["id"], "hijacked"))
    assert error.code == "forbidden"
    error = await refused(bob.edit_message(original["id"], "hijacked"))
    assert (error.status, error.code) == (403, "forbidden")
    await staff["admin"].join(room["id"])
    error = await refused(staff["admin"].edit_message(original["id"], "moderated"))
    assert error.code == "forbidden"

    edited = await alice.edit(original["id"], f"the fix :tada: @{uname(bob)}")
    assert edited["id"] == original["id"]
    assert edited["seq"] == original["seq"]  # a message keeps its seq for life
    assert edited["body"] == f"the fix 🎉 @{uname(bob)}"
    assert edited["mentions"] == [uid(bob)]
    assert edited["edited_at"] is not None and edited["edited_at"] >= original["created_at"]
    assert edited["created_at"] == original["created_at"]

    event = await bob.next_event("message.updated", room=room["id"])
    assert event["message"]["id"] == original["id"]
    assert event["message"]["body"] == edited["body"]
    assert event["message"]["edited_at"] == edited["edited_at"]
    assert event["seq"] > original["seq"]

    again = await alice.edit_message(original["id"], "edited over HTTP")
    event2 = await bob.next_event("message.updated", room=room["id"])
    assert event2["seq"] == event["seq"] + 1
    assert event2["message"]["body"] == again["body"] == "edited over HTTP"
    assert (await bob.history(room["id"]))[-1]["body"] == "edited over HTTP"

    for body in ("", "x" * 4001):
        error = await refused(alice.edit(original["id"], body))
        assert error.code in ("bad_request", "too_large")


async def test_deleting_leaves_a_tombstone(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]],
) -> None:
    alice, bob, room = pair
    question = await alice.send(room["id"], "q")
    reply = await bob.send(room["id"], f"@{uname(alice)} answer :tada:", reply_to=question["id"])
    await alice.request("react", message=reply["id"], emoji="👍")
    # Bob is a member, not a moderator (Alice owns the room): others' messages are not his.
    error = await refused(bob.delete(question["id"]))
    assert error.code == "forbidden"
    error = await refused(bob.delete_message(question["id"]))
    assert (error.status, error.code) == (403, "forbidden")

    assert (await bob.delete(reply["id"]))["op"] == "ok"
    event = await alice.next_event("message.updated", room=room["id"])
    tombstone = event["message"]
    assert tombstone["id"] == reply["id"]
    assert tombstone["deleted"] is True
    assert (tombstone["body"], tombstone["reactions"], tombstone["mentions"]) == ("", [], [])
    for kept in ("seq", "author", "created_at", "reply_to"):
        assert tombstone[kept] == reply[kept]
    assert event["seq"] > reply["seq"]

    in_history = [m for m in await alice.history(room["id"]) if m["id"] == reply["id"]]
    assert in_history == [tombstone]

    for call in (
        bob.edit(reply["id"], "resurrect"),
        bob.edit_message(reply["id"], "resurrect"),
        alice.request("react", message=reply["id"], emoji="🎉"),
        alice.react_http(reply["id"], "🎉"),
        alice.send(room["id"], "re", reply_to=reply["id"]),
        bob.delete(reply["id"]),
        bob.delete_message(reply["id"]),
    ):
        assert (await refused(call)).code == "not_found"

    over_http = await alice.post_message(room["id"], "short-lived")
    await alice.delete_message(over_http["id"])  # 204: nothing to return


async def test_mentors_and_admins_delete_other_peoples_messages(
    pair: tuple[ChatClient, ChatClient, dict[str, Any]], staff: dict[str, ChatClient]
) -> None:
    alice, bob, room = pair
    for role, client in staff.items():
        await client.join(room["id"])
        spam = await bob.send(room["id"], f"spam for the {role}")
        await client.delete_message(spam["id"])
        event = await alice.next_event("message.updated", room=room["id"])
        assert event["message"]["id"] == spam["id"]
        assert event["message"]["deleted"] is True
        assert event["message"]["author"]["id"] == uid(bob)


# -- who may read and write where -----------------------------------------------------


async def test_non_members_cannot_read_private_rooms_nor_write_anywhere(
    make_client: ClientFactory, slug: Slug
) -> None:
    owner = await make_client("owner")
    outsider = await make_client("outsider")
    public = await owner.create_room(slug("public"), "Public", "topic")
    private = await owner.create_room(slug("private"), "Private", "topic", visibility="private")
    in_public = await owner.post_message(public["id"], "anyone may read this")
    in_private = await owner.post_message(private["id"], "members only")
    await outsider.connect()

    # A public room's history is readable without joining.
    assert [m["id"] for m in await outsider.history(public["id"])] == [in_public["id"]]
    assert [m["id"] for m in await outsider.history_ws(public["id"])] == [in_public["id"]]
    # Writing to it is not.
    error = await refused(outsider.send(public["id"], "hi"))
    assert error.code == "not_member"
    error = await refused(outsider.post_message(public["id"], "hi"))
    assert (error.status, error.code) == (403, "not_member")

    # A private room does not exist for the outsider, whatever they try.
    for call in (
        outsider.history(private["id"]),
        outsider.history_ws(private["id"]),
        outsider.send(private["id"], "hi"),
        outsider.post_message(private["id"], "hi"),
        outsider.edit_message(in_private["id"], "x"),
        outsider.delete_message(in_private["id"]),
        outsider.history(987654321),
        outsider.send(987654321, "hi"),
    ):
        error = await refused(call)
        assert error.code == "not_found"
        assert error.status in (None, 404)
    assert [m["id"] for m in await owner.history(private["id"])] == [in_private["id"]]
