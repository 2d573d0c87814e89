"""Friends, blocks and direct messages end to end, as two or three people use them."""

from __future__ import annotations

import asyncio

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Session
from tests.support.clients import befriend, name, status_of, uid

USER_KEYS = {"id", "username", "display_name", "role", "region"}


def me(client: ChatClient) -> Frame:
    assert client.user is not None
    return client.user


async def lists(client: ChatClient) -> dict[str, list[str]]:
    """The caller's friends, incoming and outgoing requests, as usernames."""
    found = await client.friends()
    assert set(found) == {"friends", "incoming", "outgoing"}
    return {key: [user["username"] for user in users] for key, users in found.items()}


def nobody() -> dict[str, list[str]]:
    return {"friends": [], "incoming": [], "outgoing": []}


# ---- friends -----------------------------------------------------------------------------


async def test_a_request_reaches_the_target_and_asking_back_makes_friends(
    make_client: ClientFactory,
) -> None:
    """`friend.request` to the target; asking back gives `friends` and `friend.accepted` to both."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob", connect=True)

    assert await alice.add_friend(name(bob).upper()) == "requested"
    request = await bob.next_event("friend.request")
    assert set(request["user"]) >= USER_KEYS
    assert request["user"]["id"] == uid(alice)
    assert await lists(alice) == {**nobody(), "outgoing": [name(bob)]}
    assert await lists(bob) == {**nobody(), "incoming": [name(alice)]}

    assert await bob.add_friend(name(alice)) == "friends"
    accepted_by_alice = await alice.next_event("friend.accepted")
    accepted_by_bob = await bob.next_event("friend.accepted")
    assert accepted_by_alice["user"]["id"] == uid(bob)
    assert accepted_by_bob["user"]["id"] == uid(alice)
    assert await lists(alice) == {**nobody(), "friends": [name(bob)]}
    assert await lists(bob) == {**nobody(), "friends": [name(alice)]}
    assert await alice.add_friend(name(bob)) == "friends"


async def test_asking_twice_delivers_one_request(make_client: ClientFactory) -> None:
    """A repeated request is still `requested`, and the target is told once."""
    alice = await make_client("alice")
    carol = await make_client("carol")
    bob = await make_client("bob", connect=True)

    assert await alice.add_friend(name(bob)) == "requested"
    assert await alice.add_friend(name(bob)) == "requested"
    assert await carol.add_friend(name(bob)) == "requested"  # a fence
    first = await bob.next_event("friend.request")
    second = await bob.next_event("friend.request")
    assert [first["user"]["id"], second["user"]["id"]] == [uid(alice), uid(carol)]
    assert sorted((await lists(bob))["incoming"]) == sorted([name(alice), name(carol)])


async def test_decline_cancel_and_unfriend_are_one_delete(make_client: ClientFactory) -> None:
    """DELETE /api/friends/{id} declines, cancels or unfriends, for both sides."""
    alice = await make_client("alice")
    bob = await make_client("bob")
    carol = await make_client("carol")
    dan = await make_client("dan")

    await alice.add_friend(name(bob))
    await bob.remove_friend(uid(alice))  # decline
    assert await lists(alice) == nobody()
    assert await lists(bob) == nobody()

    await alice.add_friend(name(carol))
    await alice.remove_friend(uid(carol))  # cancel
    assert await lists(alice) == nobody()
    assert await lists(carol) == nobody()

    await befriend(alice, dan)
    await dan.remove_friend(uid(alice))  # unfriend
    assert await lists(alice) == nobody()
    assert await lists(dan) == nobody()

    # Declined is not final: asking again works.
    assert await bob.add_friend(name(alice)) == "requested"
    assert await lists(alice) == {**nobody(), "incoming": [name(bob)]}


async def test_friend_requests_to_nobody_or_oneself_are_refused(
    make_client: ClientFactory,
) -> None:
    """Unknown users are `not_found`; asking oneself is `bad_request`."""
    alice = await make_client("alice")
    assert await status_of(alice.add_friend("no-such-user-here")) == (404, "not_found")
    assert await status_of(alice.add_friend(name(alice))) == (400, "bad_request")
    assert await status_of(alice.remove_friend(10**9)) == (404, "not_found")


# ---- blocks ------------------------------------------------------------------------------


async def test_blocking_ends_friendship_and_stops_requests_and_dms(
    make_client: ClientFactory,
) -> None:
    """After a block: no friendship, no DM either way, and the blocked side's request goes
    nowhere although it looks sent."""
    alice = await make_client("alice")
    carol = await make_client("carol")
    bob = await make_client("bob", connect=True)
    await befriend(alice, bob)
    await bob.next_event("friend.accepted")

    await bob.block(name(alice))
    assert [u["username"] for u in (await bob.http("GET", "/api/blocks"))["blocked"]] == [
        name(alice)
    ]
    assert (await alice.http("GET", "/api/blocks"))["blocked"] == []
    assert await lists(alice) == nobody()
    assert await lists(bob) == nobody()

    assert await status_of(alice.open_dm(name(bob))) == (403, "blocked")
    assert await status_of(bob.open_dm(name(alice))) == (403, "blocked")

    assert await alice.add_friend(name(bob)) == "requested"
    assert await carol.add_friend(name(bob)) == "requested"  # a fence
    delivered = await bob.next_event("friend.request")
    assert delivered["user"]["id"] == uid(carol)
    assert (await lists(bob))["incoming"] == [name(carol)]
    # To alice it looks like any request she sent.
    assert await lists(alice) == {**nobody(), "outgoing": [name(bob)]}
    # The blocker must unblock before asking.
    assert await status_of(bob.add_friend(name(alice))) == (403, "blocked")


async def test_unblocking_allows_dms_and_requests_again(make_client: ClientFactory) -> None:
    """DELETE /api/blocks/{id} lifts the block; the blocked user can DM and ask again."""
    alice = await make_client("alice")
    bob = await make_client("bob", connect=True)
    await bob.block(name(alice))
    await bob.block(name(alice))  # blocking twice is harmless
    await alice.add_friend(name(bob))  # made while blocked: never delivered, even later
    await bob.unblock(uid(alice))
    assert (await bob.http("GET", "/api/blocks"))["blocked"] == []
    assert await lists(bob) == nobody()
    assert await lists(alice) == nobody()

    dm = await alice.open_dm(name(bob))
    assert (await bob.next_event("room.added"))["room"]["id"] == dm["id"]
    assert await alice.add_friend(name(bob)) == "requested"
    assert (await bob.next_event("friend.request"))["user"]["id"] == uid(alice)
    assert await lists(bob) == {**nobody(), "incoming": [name(alice)]}


async def test_nobody_writes_in_an_existing_dm_across_a_block(
    make_client: ClientFactory,
) -> None:
    """Once either side blocks, sending into the DM is `blocked` for both, over WS and HTTP."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob")
    dm = await alice.open_dm(name(bob))
    await alice.send(dm["id"], "salut")

    await bob.block(name(alice))
    assert await status_of(alice.send(dm["id"], "tu es là ?")) == (None, "blocked")
    assert await status_of(alice.post_message(dm["id"], "allo ?")) == (403, "blocked")
    assert await status_of(bob.post_message(dm["id"], "non")) == (403, "blocked")
    assert [m["body"] for m in await alice.history(dm["id"])] == ["salut"]

    await bob.unblock(uid(alice))
    await alice.send(dm["id"], "re")
    assert [m["body"] for m in await bob.history(dm["id"])] == ["salut", "re"]


# ---- direct messages -------------------------------------------------------------------------


async def test_a_dm_is_one_private_room_per_pair_announced_to_both(
    make_client: ClientFactory,
) -> None:
    """Same room both ways, kind `dm`, private, with `peers`; `room.added` to both, once."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob", connect=True)

    dm = await alice.open_dm(name(bob))
    assert (dm["kind"], dm["visibility"], dm["member_count"]) == ("dm", "private", 2)
    assert [p["username"] for p in dm["peers"]] == [name(bob)]
    added_for_alice = await alice.next_event("room.added")
    added_for_bob = await bob.next_event("room.added")
    assert added_for_alice["room"]["id"] == added_for_bob["room"]["id"] == dm["id"]
    assert added_for_bob["room"]["kind"] == "dm"

    again = await bob.open_dm(name(alice))
    assert again["id"] == dm["id"]
    assert [p["username"] for p in again["peers"]] == [name(alice)]
    assert (await alice.open_dm(name(bob)))["id"] == dm["id"]
    listed = [r for r in await bob.rooms(kind="dm") if r["id"] == dm["id"]]
    assert [p["username"] for p in listed[0]["peers"]] == [name(alice)]

    # Opening it again announces nothing: the next room.added is a new DM's.
    carol = await make_client("carol")
    other = await carol.open_dm(name(alice))
    assert other["id"] != dm["id"]
    assert (await alice.next_event("room.added"))["room"]["id"] == other["id"]


async def test_a_dm_does_not_exist_for_anyone_else(make_client: ClientFactory) -> None:
    """A third user gets `not_found` for every way of touching the DM."""
    alice = await make_client("alice")
    bob = await make_client("bob")
    carol = await make_client("carol", connect=True)
    dm = await alice.open_dm(name(bob))
    message = await alice.post_message(dm["id"], "secret")

    assert await status_of(carol.room(dm["id"])) == (404, "not_found")
    assert await status_of(carol.history(dm["id"])) == (404, "not_found")
    assert await status_of(carol.join(dm["id"])) == (404, "not_found")
    assert await status_of(carol.post_message(dm["id"], "hi")) == (404, "not_found")
    assert await status_of(carol.react_http(message["id"], "👍")) == (404, "not_found")
    assert await status_of(carol.send(dm["id"], "hi")) == (None, "not_found")
    assert await status_of(carol.sync(dm["id"], 0)) == (None, "not_found")
    assert dm["id"] not in [r["id"] for r in await carol.rooms()]
    assert await status_of(alice.add_member(dm["id"], uid(carol))) == (403, "forbidden")
    assert await status_of(alice.open_dm(name(alice))) == (400, "bad_request")
    assert await status_of(alice.open_dm("no-such-user-here")) == (404, "not_found")


async def test_dms_work_like_rooms_live_and_on_reconnect(
    make_client: ClientFactory, session: Session
) -> None:
    """Messages and typing live; unread, read markers and `since` replay across a reconnect."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob")
    dm = await alice.open_dm(name(bob))
    bob_socket, ready = await session(bob)
    [state] = [r for r in ready["rooms"] if r["id"] == dm["id"]]
    assert (state["kind"], state["unread"]) == ("dm", 0)
    assert [p["username"] for p in state["peers"]] == [name(alice)]

    first = await alice.send(dm["id"], "tu peux m'aider ?")
    assert (await bob_socket.next_event("message.created", room=dm["id"]))["message"][
        "id"
    ] == first["id"]
    await bob_socket.typing(dm["id"])
    typing = await alice.next_event("typing", room=dm["id"])
    assert typing["user"]["id"] == uid(bob)
    reply = await bob_socket.send(dm["id"], "oui")
    await bob_socket.read(dm["id"], first["seq"])
    await bob_socket.close()

    second = await alice.send(dm["id"], "merci")
    third = await alice.send(dm["id"], "c'est pour l'exercice 3")
    await alice.edit(first["id"], "tu peux m'aider stp ?")

    again, ready = await session(bob, since={dm["id"]: reply["seq"]})
    [state] = [r for r in ready["rooms"] if r["id"] == dm["id"]]
    assert (state["unread"], state["last_read_seq"]) == (2, reply["seq"])
    replay = [await again.next_event(room=dm["id"]) for _ in range(4)]
    assert [(e["type"], e["message"]["id"]) for e in replay[:3]] == [
        ("message.created", second["id"]),
        ("message.created", third["id"]),
        ("message.updated", first["id"]),
    ]
    assert replay[2]["message"]["body"] == "tu peux m'aider stp ?"
    assert [e["seq"] for e in replay] == sorted(e["seq"] for e in replay)
    assert replay[3]["type"] == "room.synced"
    assert replay[3]["seq"] == (await bob.room(dm["id"]))["last_seq"]

    await again.read(dm["id"], third["seq"])
    _, ready = await session(bob)
    [state] = [r for r in ready["rooms"] if r["id"] == dm["id"]]
    assert (state["unread"], state["last_read_seq"]) == (0, third["seq"])
    assert [m["body"] for m in await bob.history(dm["id"])] == [
        "tu peux m'aider stp ?",
        "oui",
        "merci",
        "c'est pour l'exercice 3",
    ]


async def test_a_group_dm_of_three_is_one_room_for_that_set(
    make_client: ClientFactory,
) -> None:
    """`usernames` opens one room per set of people, whoever asks, and not the pair's DM."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob", connect=True)
    carol = await make_client("carol", connect=True)
    dave = await make_client("dave")

    body = await alice.http("POST", "/api/dms", json={"usernames": [name(bob), name(carol)]})
    group = body["room"]
    assert (group["kind"], group["visibility"], group["member_count"]) == ("dm", "private", 3)
    assert sorted(p["username"] for p in group["peers"]) == sorted([name(bob), name(carol)])
    for client in (alice, bob, carol):
        assert (await client.next_event("room.added"))["room"]["id"] == group["id"]

    same = await carol.http("POST", "/api/dms", json={"usernames": [name(bob), name(alice)]})
    assert same["room"]["id"] == group["id"]
    assert (await alice.open_dm(name(bob)))["id"] != group["id"]

    sent = await alice.send(group["id"], "réunion à 14h ?")
    for client in (bob, carol):
        event = await client.next_event("message.created", room=group["id"])
        assert event["message"]["id"] == sent["id"]
    assert await status_of(dave.history(group["id"])) == (404, "not_found")

    await dave.block(name(alice))
    with_blocker = {"usernames": [name(carol), name(dave)]}
    assert await status_of(alice.http("POST", "/api/dms", json=with_blocker)) == (403, "blocked")
    too_many = {"usernames": [f"nobody{i}" for i in range(10)]}
    assert await status_of(alice.http("POST", "/api/dms", json=too_many)) == (400, "bad_request")


async def test_dm_policy_friends_refuses_strangers_and_accepts_friends(
    make_client: ClientFactory,
) -> None:
    """`dm_policy: friends` makes a non-friend's first DM `forbidden`; a friend's works."""
    alice = await make_client("alice")
    bob = await make_client("bob")
    carol = await make_client("carol")
    assert me(bob)["dm_policy"] == "everyone"
    updated = await bob.http("PATCH", "/api/me", json={"dm_policy": "friends"})
    assert updated["user"]["dm_policy"] == "friends"
    assert (await bob.me())["dm_policy"] == "friends"

    assert await status_of(alice.open_dm(name(bob))) == (403, "forbidden")
    group = {"usernames": [name(bob), name(carol)]}
    assert await status_of(alice.http("POST", "/api/dms", json=group)) == (403, "forbidden")

    await befriend(bob, alice)
    dm = await alice.open_dm(name(bob))
    assert dm["kind"] == "dm"
    assert await status_of(bob.http("PATCH", "/api/me", json={"dm_policy": "nobody"})) == (
        400,
        "bad_request",
    )


async def test_opening_a_dm_concurrently_from_both_sides_gives_one_room(
    make_client: ClientFactory,
) -> None:
    """Two people writing to each other at the same moment end up in the same room."""
    alice = await make_client("alice")
    bob = await make_client("bob")
    first, second = await asyncio.gather(alice.open_dm(name(bob)), bob.open_dm(name(alice)))
    assert first["id"] == second["id"]
    assert len([r for r in await alice.rooms(kind="dm") if r["id"] == first["id"]]) == 1


# ---- presence between friends ------------------------------------------------------------------


async def test_friends_see_each_other_come_online_without_sharing_a_room(
    make_client: ClientFactory, session: Session
) -> None:
    """`presence` reaches friends; after a block ends the friendship, it no longer does."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob")
    carol = await make_client("carol")
    await befriend(alice, bob)
    await befriend(alice, carol)

    await session(bob)
    online = await alice.next_event("presence", timeout=10)
    assert (online["user"]["id"], online["status"]) == (uid(bob), "online")
    assert set(online["user"]) >= USER_KEYS

    dave = await make_client("dave")
    erin = await make_client("erin", connect=True)
    await befriend(dave, erin)
    await dave.block(name(alice))
    assert await alice.add_friend(name(dave)) == "requested"  # silently dropped
    await session(dave)
    seen_by_erin = await erin.next_event("presence", timeout=10)
    assert seen_by_erin["user"]["id"] == uid(dave)
    await session(carol)  # a fence: alice's next presence must be carol's, not dave's
    fence = await alice.next_event("presence", timeout=10)
    assert (fence["user"]["id"], fence["status"]) == (uid(carol), "online")
