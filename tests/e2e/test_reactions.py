"""Emoji reactions end to end: every emoji family, limits, idempotency, `me`, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Session, Slug
from tests.support.clients import uid
from tests.support.rooms import room_with

REACTION_EVENTS = ("reaction.added", "reaction.removed")
SEQUENCED = ("message.created", "message.updated", *REACTION_EVENTS, "member.joined")
REACTION_EVENT_KEYS = {"op", "type", "room", "seq", "message", "emoji", "user", "count"}


async def collect(
    client: ChatClient, room: int, count: int, types: tuple[str, ...], timeout: float = 10.0
) -> list[Frame]:
    """The next `count` events of `types` in `room`, skipping anything else."""
    found: list[Frame] = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            event = await client.next_event(room=room, timeout=timeout)
            if event.get("type") in types:
                found.append(event)
    return found


def summary(reactions: list[Frame]) -> list[tuple[str, int, bool]]:
    return [(r["emoji"], r["count"], r["me"]) for r in reactions]


async def reactions_seen_by(client: ChatClient, room: int, message: int) -> list[Frame]:
    """The message's reactions in `client`'s own HTTP history of the room."""
    for item in await client.history(room, limit=200):
        if item["id"] == message:
            found: list[Frame] = item["reactions"]
            return found
    raise AssertionError(f"message {message} not in history")


# ---- react / unreact over both transports ------------------------------------------------


async def test_react_and_unreact_over_websocket_announce_added_and_removed(
    make_client: ClientFactory, slug: Slug
) -> None:
    """A reaction over WS is acknowledged with the caller's view and announced with its count."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    message = await alice.post_message(room["id"], "image A or B?")
    await alice.connect()
    await bob.connect()

    assert summary(await bob.react(message["id"], "👍")) == [("👍", 1, True)]
    added = await alice.next_event("reaction.added", room=room["id"])
    assert set(added) == REACTION_EVENT_KEYS
    assert added == {
        "op": "event",
        "type": "reaction.added",
        "room": room["id"],
        "seq": message["seq"] + 1,
        "message": message["id"],
        "emoji": "👍",
        "user": uid(bob),
        "count": 1,
    }

    assert await bob.unreact(message["id"], "👍") == []
    removed = await alice.next_event("reaction.removed", room=room["id"])
    assert removed["seq"] == message["seq"] + 2
    assert (removed["emoji"], removed["user"], removed["count"]) == ("👍", uid(bob), 0)
    assert await reactions_seen_by(alice, room["id"], message["id"]) == []


async def test_react_and_unreact_over_http_announce_to_connected_members(
    make_client: ClientFactory, slug: Slug
) -> None:
    """PUT and DELETE on the URL-encoded emoji behave like the WebSocket ops."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    message = await alice.post_message(room["id"], "on vote ?")
    await alice.connect()

    assert summary(await bob.react_http(message["id"], "🎉")) == [("🎉", 1, True)]
    assert summary(await alice.react_http(message["id"], "🎉")) == [("🎉", 2, True)]
    events = await collect(alice, room["id"], 2, REACTION_EVENTS)
    assert [(e["type"], e["user"], e["count"]) for e in events] == [
        ("reaction.added", uid(bob), 1),
        ("reaction.added", uid(alice), 2),
    ]

    assert summary(await bob.unreact_http(message["id"], "🎉")) == [("🎉", 1, False)]
    removed = await alice.next_event("reaction.removed", room=room["id"])
    assert (removed["emoji"], removed["user"], removed["count"]) == ("🎉", uid(bob), 1)
    assert removed["seq"] == events[-1]["seq"] + 1


# ---- emoji families, spellings and shortcodes ----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        pytest.param("🎉", "🎉", id="plain"),
        pytest.param("👍🏽", "👍🏽", id="skin-tone"),
        pytest.param("👨‍👩‍👧", "👨‍👩‍👧", id="zwj-family"),
        pytest.param("🇧🇪", "🇧🇪", id="flag"),
        pytest.param("1️⃣", "1️⃣", id="keycap"),
        pytest.param("1⃣", "1️⃣", id="keycap-unqualified"),
        pytest.param("#️⃣", "#️⃣", id="keycap-hash"),
        pytest.param("🧑🏽‍🤝‍🧑🏿", "🧑🏽‍🤝‍🧑🏿", id="zwj-mixed-skin-tones"),
        pytest.param("👩🏽‍💻", "👩🏽‍💻", id="zwj-with-skin-tone"),
        pytest.param("🏳‍🌈", "🏳️‍🌈", id="zwj-flag-unqualified"),
        pytest.param("🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", id="subdivision-flag"),
        pytest.param("❤︎", "❤️", id="heart-text-presentation"),
        pytest.param("❤", "❤️", id="heart-without-selector"),
        pytest.param("❤️", "❤️", id="heart-with-selector"),
        pytest.param(":thumbs_up:", "👍", id="shortcode"),
        pytest.param(":+1:", "👍", id="alias"),
        pytest.param(":tada:", "🎉", id="alias-tada"),
        pytest.param(":pouce_vers_le_haut:", "👍", id="french"),
        pytest.param(":cœur_rouge:", "❤️", id="french-accented"),
        pytest.param(":coeur_rouge:", "❤️", id="french-unaccented"),
        pytest.param(":drapeau_belgique:", "🇧🇪", id="french-flag"),
    ],
)
async def test_every_emoji_family_is_accepted_and_stored_as_the_emoji(
    make_client: ClientFactory, slug: Slug, typed: str, stored: str
) -> None:
    """HTTP and WS both accept the input; events, replies and history carry the stored form."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    message = await alice.post_message(room["id"], "emoji")
    await alice.connect()
    await bob.connect()

    assert summary(await alice.react_http(message["id"], typed)) == [(stored, 1, True)]
    assert summary(await bob.react(message["id"], typed)) == [(stored, 2, True)]
    events = await collect(alice, room["id"], 2, REACTION_EVENTS)
    assert [(e["emoji"], e["count"]) for e in events] == [(stored, 1), (stored, 2)]
    assert summary(await reactions_seen_by(alice, room["id"], message["id"])) == [(stored, 2, True)]


async def test_heart_with_and_without_variation_selector_is_one_reaction(
    make_client: ClientFactory, slug: Slug
) -> None:
    """❤ and ❤️ count together, and either spelling removes the reaction."""
    room, (alice, bob, carol) = await room_with(make_client, slug, "alice", "bob", "carol")
    message = await alice.post_message(room["id"], "merci !")

    await alice.react_http(message["id"], "❤")
    await bob.react_http(message["id"], "❤️")
    assert summary(await carol.react_http(message["id"], ":heart:")) == [("❤️", 3, True)]
    assert summary(await alice.react_http(message["id"], "❤️")) == [("❤️", 3, True)]

    assert summary(await bob.unreact_http(message["id"], "❤")) == [("❤️", 2, False)]
    assert summary(await reactions_seen_by(alice, room["id"], message["id"])) == [("❤️", 2, True)]


async def test_aliases_and_french_names_of_one_emoji_are_one_reaction(
    make_client: ClientFactory, slug: Slug
) -> None:
    """`:thumbs_up:`, `:+1:`, the French name and 👍 itself are the same reaction."""
    room, clients = await room_with(make_client, slug, "ann", "ben", "cid", "dan")
    message = await clients[0].post_message(room["id"], "d'accord ?")
    for client, spelling in zip(
        clients, [":thumbs_up:", ":+1:", ":pouce_vers_le_haut:", "👍"], strict=True
    ):
        await client.react_http(message["id"], spelling)
    assert summary(await reactions_seen_by(clients[1], room["id"], message["id"])) == [
        ("👍", 4, True)
    ]
    assert summary(await clients[2].unreact_http(message["id"], ":+1:")) == [("👍", 3, False)]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("hello", id="text"),
        pytest.param("a", id="letter"),
        pytest.param("1", id="digit"),
        pytest.param("👍👍", id="same-twice"),
        pytest.param("👍🎉", id="two-emoji"),
        pytest.param("👍 ok", id="emoji-and-text"),
        pytest.param(":not_an_emoji_at_all:", id="unknown-shortcode"),
        pytest.param(":thumbs_up", id="unclosed-shortcode"),
        pytest.param("::", id="empty-shortcode"),
    ],
)
async def test_anything_but_one_emoji_is_invalid_emoji(
    make_client: ClientFactory, slug: Slug, bad: str
) -> None:
    """Refused with `invalid_emoji` over WS and HTTP (400), and nothing is stored."""
    room, (alice,) = await room_with(make_client, slug, "alice")
    message = await alice.post_message(room["id"], "react to me")
    await alice.connect()

    with pytest.raises(ApiError) as over_ws:
        await alice.react(message["id"], bad)
    assert over_ws.value.code == "invalid_emoji"
    with pytest.raises(ApiError) as over_http:
        await alice.react_http(message["id"], bad)
    assert (over_http.value.status, over_http.value.code) == (400, "invalid_emoji")
    assert (await alice.room(room["id"]))["last_seq"] == message["seq"]
    assert await reactions_seen_by(alice, room["id"], message["id"]) == []


@pytest.mark.parametrize("bad", ["", "   "])
async def test_an_empty_reaction_is_invalid_emoji(
    make_client: ClientFactory, slug: Slug, bad: str
) -> None:
    """An empty or blank emoji is refused, over react and unreact."""
    room, (alice,) = await room_with(make_client, slug, "alice")
    message = await alice.post_message(room["id"], "react to me")
    await alice.connect()
    for op in (alice.react, alice.unreact):
        with pytest.raises(ApiError) as refused:
            await op(message["id"], bad)
        assert refused.value.code == "invalid_emoji"


# ---- idempotency and limits ------------------------------------------------------------


async def test_adding_and_removing_twice_changes_nothing_and_announces_nothing(
    make_client: ClientFactory, slug: Slug
) -> None:
    """A repeated add or remove keeps the count and takes no seq; the next event follows on."""
    room, (alice, bob, carol) = await room_with(make_client, slug, "alice", "bob", "carol")
    message = await alice.post_message(room["id"], "twice")
    await carol.connect()

    first = await bob.react_http(message["id"], "👍")
    assert await bob.react_http(message["id"], "👍") == first
    await bob.connect()
    assert await bob.react(message["id"], ":+1:") == first
    await alice.react_http(message["id"], "🎉")  # the next change, as a fence
    events = await collect(carol, room["id"], 2, REACTION_EVENTS)
    assert [(e["emoji"], e["user"], e["count"], e["seq"]) for e in events] == [
        ("👍", uid(bob), 1, message["seq"] + 1),
        ("🎉", uid(alice), 1, message["seq"] + 2),
    ]

    await bob.unreact_http(message["id"], "👍")
    assert summary(await bob.unreact_http(message["id"], "👍")) == [("🎉", 1, False)]
    assert summary(await bob.unreact(message["id"], "👍")) == [("🎉", 1, False)]
    assert summary(await carol.unreact_http(message["id"], "🎉")) == [("🎉", 1, False)]
    await alice.unreact_http(message["id"], "🎉")  # the fence
    events = await collect(carol, room["id"], 2, REACTION_EVENTS)
    assert [(e["type"], e["emoji"], e["count"], e["seq"]) for e in events] == [
        ("reaction.removed", "👍", 0, message["seq"] + 3),
        ("reaction.removed", "🎉", 0, message["seq"] + 4),
    ]
    assert (await carol.room(room["id"]))["last_seq"] == message["seq"] + 4


TWENTY = [
    "👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👏", "🔥", "✅",
    "👀", "💯", "🤔", "😄", "😍", "🚀", "👎", "🙌", "😅", "🤝",
]  # fmt: skip


async def test_twenty_distinct_emoji_at_most_but_existing_ones_still_count(
    make_client: ClientFactory, slug: Slug
) -> None:
    """The 21st distinct emoji is `limit_reached`; joining an existing one is fine; a freed
    slot can be reused."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    message = await alice.post_message(room["id"], "vote for everything")
    for emoji in TWENTY:
        await alice.react_http(message["id"], emoji)

    for react in (alice.react_http, bob.react_http):
        with pytest.raises(ApiError) as refused:
            await react(message["id"], "🐱")
        assert (refused.value.status, refused.value.code) == (409, "limit_reached")
    await bob.connect()
    with pytest.raises(ApiError) as over_ws:
        await bob.react(message["id"], ":cat:")
    assert over_ws.value.code == "limit_reached"

    after_bob = await bob.react(message["id"], "🔥")
    assert len(after_bob) == 20
    assert ("🔥", 2, True) in summary(after_bob)

    await alice.unreact_http(message["id"], "🚀")  # its count falls to 0: a slot frees up
    after_cat = await bob.react_http(message["id"], "🐱")
    assert [r["emoji"] for r in after_cat] == [e for e in TWENTY if e != "🚀"] + ["🐱"]
    with pytest.raises(ApiError) as again:
        await alice.react_http(message["id"], "🚀")
    assert again.value.code == "limit_reached"


# ---- where a reaction is allowed ---------------------------------------------------------


async def test_reacting_to_a_deleted_message_is_not_found(
    make_client: ClientFactory, slug: Slug
) -> None:
    """A deleted message drops its reactions and refuses new ones with `not_found`."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    message = await alice.post_message(room["id"], "oops")
    await bob.react_http(message["id"], "👍")
    await alice.delete_message(message["id"])

    [tombstone] = await bob.history(room["id"])
    assert tombstone["deleted"] is True
    assert tombstone["reactions"] == []
    await bob.connect()
    for call in (bob.react_http, bob.unreact_http):
        with pytest.raises(ApiError) as refused:
            await call(message["id"], "👍")
        assert (refused.value.status, refused.value.code) == (404, "not_found")
    for op in (bob.react, bob.unreact):
        with pytest.raises(ApiError) as over_ws:
            await op(message["id"], "🎉")
        assert over_ws.value.code == "not_found"
    with pytest.raises(ApiError) as unknown:
        await bob.react_http(10**9, "👍")
    assert unknown.value.code == "not_found"


async def test_reacting_needs_membership(make_client: ClientFactory, slug: Slug) -> None:
    """Public room: `not_member` (403) until joined; private room: `not_found` (404)."""
    room, (alice,) = await room_with(make_client, slug, "alice")
    outsider = await make_client("outsider")
    message = await alice.post_message(room["id"], "members only")
    await outsider.connect()

    with pytest.raises(ApiError) as over_http:
        await outsider.react_http(message["id"], "👍")
    assert (over_http.value.status, over_http.value.code) == (403, "not_member")
    with pytest.raises(ApiError) as over_ws:
        await outsider.react(message["id"], "👍")
    assert over_ws.value.code == "not_member"

    await outsider.join(room["id"])
    assert summary(await outsider.react(message["id"], "👍")) == [("👍", 1, True)]

    friend = await make_client("friend")
    assert friend.user is not None
    dm = await alice.open_dm(friend.user["username"])
    secret = await alice.post_message(dm["id"], "private")
    with pytest.raises(ApiError) as hidden:
        await outsider.react_http(secret["id"], "👍")
    assert (hidden.value.status, hidden.value.code) == (404, "not_found")


# ---- events, order and `me` --------------------------------------------------------------


async def test_reaction_events_take_consecutive_seqs_between_messages(
    make_client: ClientFactory, slug: Slug
) -> None:
    """Messages and reactions share the room's counter: no gaps, no repeats."""
    room, (alice, bob, watcher) = await room_with(make_client, slug, "alice", "bob", "watcher")
    await watcher.connect()
    await alice.connect()
    first = await alice.send(room["id"], "first")
    await bob.react_http(first["id"], "👀")
    second = await bob.post_message(room["id"], "second")
    await alice.react(second["id"], "🙌")
    await bob.unreact_http(first["id"], "👀")

    seen = await collect(watcher, room["id"], 5, SEQUENCED)
    assert [e["type"] for e in seen] == [
        "message.created",
        "reaction.added",
        "message.created",
        "reaction.added",
        "reaction.removed",
    ]
    assert [e["seq"] for e in seen] == list(range(first["seq"], first["seq"] + 5))
    assert seen[1]["message"] == seen[4]["message"] == first["id"]
    assert seen[3]["message"] == second["id"]
    assert (await watcher.room(room["id"]))["last_seq"] == first["seq"] + 4
    # A message keeps its seq for life.
    assert [m["seq"] for m in await watcher.history(room["id"])] == [first["seq"], second["seq"]]


async def test_reactions_are_listed_in_first_reacted_order_with_me_per_viewer(
    make_client: ClientFactory, slug: Slug
) -> None:
    """Each viewer's history says which reactions are theirs; a stranger sees none as theirs."""
    room, (alice, bob, carol) = await room_with(make_client, slug, "alice", "bob", "carol")
    stranger = await make_client("stranger")
    message = await alice.post_message(room["id"], "A ou B ?")
    await bob.react_http(message["id"], "🅰️")
    await alice.react_http(message["id"], "🅱️")
    await carol.react_http(message["id"], "🅰️")
    await bob.react_http(message["id"], "🅱️")
    await carol.react_http(message["id"], "😂")

    views = {
        "alice": [("🅰️", 2, False), ("🅱️", 2, True), ("😂", 1, False)],
        "bob": [("🅰️", 2, True), ("🅱️", 2, True), ("😂", 1, False)],
        "carol": [("🅰️", 2, True), ("🅱️", 2, False), ("😂", 1, True)],
        "stranger": [("🅰️", 2, False), ("🅱️", 2, False), ("😂", 1, False)],
    }
    for name, client in zip(views, (alice, bob, carol, stranger), strict=True):
        assert summary(await reactions_seen_by(client, room["id"], message["id"])) == views[name]
    await carol.connect()
    [over_ws] = await carol.history_ws(room["id"])
    assert summary(over_ws["reactions"]) == views["carol"]

    # An emoji whose count falls to 0 leaves the list; added again, it is the newest.
    await carol.unreact_http(message["id"], "😂")
    await bob.unreact_http(message["id"], "🅰️")
    await carol.unreact_http(message["id"], "🅰️")
    assert summary(await reactions_seen_by(bob, room["id"], message["id"])) == [("🅱️", 2, True)]
    await alice.react_http(message["id"], "🅰️")
    assert summary(await reactions_seen_by(bob, room["id"], message["id"])) == [
        ("🅱️", 2, True),
        ("🅰️", 1, False),
    ]


async def test_broadcast_messages_say_me_false_and_replays_compute_me(
    make_client: ClientFactory, slug: Slug, session: Session
) -> None:
    """A live `message.updated` is the same for all (`me` false); a `since` replay is per user."""
    room, (alice, bob, carol) = await room_with(make_client, slug, "alice", "bob", "carol")
    message = await alice.post_message(room["id"], "draft")
    await bob.react_http(message["id"], "👍")
    bob_socket, ready = await session(bob)
    seen_seq = next(r for r in ready["rooms"] if r["id"] == room["id"])["last_seq"]

    await alice.edit_message(message["id"], "final")
    updated = await bob_socket.next_event("message.updated", room=room["id"])
    assert updated["message"]["body"] == "final"
    assert summary(updated["message"]["reactions"]) == [("👍", 1, False)]
    await bob_socket.close()

    await carol.react_http(message["id"], "👍")
    await alice.react_http(message["id"], "🎉")
    await alice.react_http(message["id"], "🔥")
    await alice.unreact_http(message["id"], "🔥")
    last_seq = (await bob.room(room["id"]))["last_seq"]

    replayed, _ = await session(bob, since={room["id"]: seen_seq})
    replay = [
        await replayed.next_event("message.updated", room=room["id"]),
        await replayed.next_event("room.synced", room=room["id"]),
    ]
    assert replay[0]["message"]["id"] == message["id"]
    assert replay[0]["message"]["body"] == "final"
    assert summary(replay[0]["message"]["reactions"]) == [("👍", 2, True), ("🎉", 1, False)]
    assert replay[1]["seq"] == last_seq
    assert "reset" not in replay[1]

    # The same replay asked of a live connection with `sync`, for another viewer.
    carol_socket, _ = await session(carol)
    await carol_socket.sync(room["id"], seen_seq)
    replay_for_carol = await carol_socket.next_event("message.updated", room=room["id"])
    assert summary(replay_for_carol["message"]["reactions"]) == [("👍", 2, True), ("🎉", 1, False)]


# ---- many people at once -----------------------------------------------------------------


async def test_concurrent_reactions_from_thirty_clients_end_with_exact_counts(
    make_client: ClientFactory, slug: Slug
) -> None:
    """30 sockets react (and some un-react) at once; every client's last event count is final."""
    # Registered one by one: the concurrency under test is the reactions'.
    clients = [await make_client(f"crowd{i}") for i in range(30)]
    room = await clients[0].create_room(slug("crowd"), "Crowd", "topic")
    await asyncio.gather(*(c.join(room["id"]) for c in clients[1:]))
    message = await clients[0].post_message(room["id"], "image A ou B ?")
    await asyncio.gather(*(c.connect() for c in clients))

    async def act(i: int, client: ChatClient) -> None:
        await client.react(message["id"], "👍")
        if i < 10:
            await client.react(message["id"], "🎉")
        if i < 5:
            await client.unreact(message["id"], "👍")

    await asyncio.gather(*(act(i, c) for i, c in enumerate(clients)))
    final = {"👍": 25, "🎉": 10}
    total_events = 30 + 10 + 5

    async def watch(client: ChatClient) -> list[Frame]:
        return await collect(client, room["id"], total_events, REACTION_EVENTS, timeout=30)

    streams = await asyncio.gather(*(watch(c) for c in clients))
    for stream in streams:
        assert [e["seq"] for e in stream] == list(
            range(message["seq"] + 1, message["seq"] + 1 + total_events)
        )
        running = {"👍": 0, "🎉": 0}
        for event in stream:
            running[event["emoji"]] += 1 if event["type"] == "reaction.added" else -1
            assert event["count"] == running[event["emoji"]]
        last = {e["emoji"]: e["count"] for e in stream}
        assert last == final
    for i, client in enumerate(clients):
        mine = summary(await reactions_seen_by(client, room["id"], message["id"]))
        assert mine == [("👍", 25, i >= 5), ("🎉", 10, i < 10)]


async def test_one_reaction_sent_several_times_at_once_counts_once(
    make_client: ClientFactory, slug: Slug
) -> None:
    """The same reaction by one user, over both transports at once, is one reaction, one event."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    message = await alice.post_message(room["id"], "vite !")
    await alice.connect()
    await bob.connect()
    await asyncio.gather(
        bob.react(message["id"], "👍"),
        bob.react(message["id"], ":+1:"),
        bob.react_http(message["id"], "👍"),
        bob.react_http(message["id"], ":thumbs_up:"),
    )
    await alice.react_http(message["id"], "🎉")  # a fence
    events = await collect(alice, room["id"], 2, REACTION_EVENTS)
    assert [(e["emoji"], e["count"]) for e in events] == [("👍", 1), ("🎉", 1)]
    assert summary(await reactions_seen_by(bob, room["id"], message["id"])) == [
        ("👍", 1, True),
        ("🎉", 1, False),
    ]


async def test_the_distinct_emoji_limit_holds_under_concurrent_reactions(
    make_client: ClientFactory, slug: Slug
) -> None:
    """25 people adding 25 different emoji at once: exactly 20 get in, 5 get `limit_reached`."""
    # Registered one by one: the concurrency under test is the reactions'.
    clients = [await make_client(f"many{i}") for i in range(25)]
    room = await clients[0].create_room(slug("many"), "Many", "topic")
    await asyncio.gather(*(c.join(room["id"]) for c in clients[1:]))
    message = await clients[0].post_message(room["id"], "choisissez")
    emoji = [*TWENTY, "🐱", "🐶", "🦊", "🐼", "🐸"]

    async def attempt(client: ChatClient, choice: str) -> str:
        try:
            await client.react_http(message["id"], choice)
        except ApiError as error:
            return error.code
        return "ok"

    outcomes = await asyncio.gather(*(attempt(c, e) for c, e in zip(clients, emoji, strict=True)))
    assert sorted(outcomes) == ["limit_reached"] * 5 + ["ok"] * 20
    final = await reactions_seen_by(clients[0], room["id"], message["id"])
    accepted = [e for e, outcome in zip(emoji, outcomes, strict=True) if outcome == "ok"]
    assert sorted(r["emoji"] for r in final) == sorted(accepted)
    assert all(r["count"] == 1 for r in final)


# ---- the emoji picker and bodies ------------------------------------------------------------


async def test_emoji_search_in_english_ranks_prefixes_first_and_groups_skins(
    make_client: ClientFactory,
) -> None:
    """`cat` finds 🐈 (labelled `cat`), then the cats with the keyword, before names that
    merely contain it; 👍 carries its five tones."""
    alice = await make_client("alice")
    body = await alice.http("GET", "/api/emoji", params={"q": "cat", "lang": "en"})
    assert set(body) == {"emoji", "recent"}
    results = body["emoji"]
    assert results[0]["emoji"] == "🐈"
    assert (results[0]["name"], results[0]["label"]) == ("cat", "Cat")
    assert {"emoji", "name", "aliases", "skins", "label"} <= set(results[0])
    cats = [e["emoji"] for e in results[:12]]
    assert {"🐱", "😺", "😹", "🐈‍⬛"} <= set(cats)
    assert "🎓" in [e["emoji"] for e in results], "`graduation cap` merely contains `cat`"
    assert max(map(cats.index, ["🐱", "😺"])) < [e["emoji"] for e in results].index("🎓")

    thumbs = await alice.http("GET", "/api/emoji", params={"q": "thumbs up", "lang": "en"})
    top = thumbs["emoji"][0]
    assert (top["emoji"], top["name"]) == ("👍", "thumbs_up")
    assert "+1" in top["aliases"]
    assert top["skins"] == ["👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿"]
    assert all("🏽" not in e["emoji"] for e in thumbs["emoji"]), "tones are grouped, not listed"
    limited = await alice.http("GET", "/api/emoji", params={"q": "face", "limit": 3})
    assert len(limited["emoji"]) == 3


async def test_emoji_search_in_french_folds_accents_and_falls_back_to_english(
    make_client: ClientFactory,
) -> None:
    """`coeur` finds ❤️ first; `fête` (with or without its accent) finds 🎉; `pouce` finds 👍;
    English names still work in French."""
    alice = await make_client("alice")

    async def search(q: str) -> list[Frame]:
        found: list[Frame] = (await alice.http("GET", "/api/emoji", params={"q": q, "lang": "fr"}))[
            "emoji"
        ]
        return found

    hearts = await search("coeur")
    red = hearts[0]
    assert (red["emoji"], red["name"], red["label"]) == ("❤️", "cœur_rouge", "Cœur rouge")
    assert "red_heart" in red["aliases"]
    assert (await search("fête"))[0]["emoji"] == (await search("fete"))[0]["emoji"] == "🎉"
    assert (await search("pouce"))[0]["emoji"] == "👍"
    assert (await search("chat"))[0]["emoji"] == "🐈"
    assert (await search("thumbs"))[0]["emoji"] == "👍"
    with pytest.raises(ApiError) as refused:
        await alice.http("GET", "/api/emoji", params={"q": "chat", "lang": "de"})
    assert refused.value.code == "bad_request"


async def test_emoji_picker_lists_the_callers_recent_reactions_newest_first(
    make_client: ClientFactory, slug: Slug
) -> None:
    """`recent` is per user, newest first, without repeats."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    first = await alice.post_message(room["id"], "one")
    second = await alice.post_message(room["id"], "two")
    assert (await alice.http("GET", "/api/emoji"))["recent"] == []

    await alice.react_http(first["id"], "🎉")
    await alice.react_http(first["id"], "👍🏽")
    await alice.react_http(second["id"], ":drapeau_belgique:")
    await bob.react_http(second["id"], "🚀")
    await asyncio.sleep(0.01)  # recent order is by reaction time (milliseconds)
    await alice.react_http(second["id"], "🎉")

    recent = (await alice.http("GET", "/api/emoji", params={"q": "", "lang": "fr"}))["recent"]
    assert recent == ["🎉", "🇧🇪", "👍🏽"]
    assert (await bob.http("GET", "/api/emoji"))["recent"] == ["🚀"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        pytest.param("bravo :tada: :+1:", "bravo 🎉 👍", id="english"),
        pytest.param("merci :cœur_rouge: :pouce_vers_le_haut:", "merci ❤️ 👍", id="french"),
        pytest.param("super :coeur_rouge:", "super ❤️", id="french-unaccented"),
        pytest.param("rdv à 10:30:tada:", "rdv à 10:30🎉", id="time-then-shortcode"),
        pytest.param("`:tada:` :tada:", "`:tada:` 🎉", id="code-span"),
        pytest.param("```\n:tada:\n```\n:tada:", "```\n:tada:\n```\n🎉", id="code-block"),
        pytest.param(":pas_un_emoji: :tada:", ":pas_un_emoji: 🎉", id="unknown"),
    ],
)
async def test_shortcodes_in_message_bodies_become_emoji_outside_code(
    make_client: ClientFactory, slug: Slug, typed: str, stored: str
) -> None:
    """What everyone sees (reply, live event, history) is the emoji, code left as typed."""
    room, (alice, bob) = await room_with(make_client, slug, "alice", "bob")
    await alice.connect()
    await bob.connect()
    sent = await alice.send(room["id"], typed)
    assert sent["body"] == stored
    assert (await bob.next_event("message.created", room=room["id"]))["message"]["body"] == stored
    assert [m["body"] for m in await bob.history(room["id"])] == [stored]
    edited = await alice.edit_message(sent["id"], typed + " :fire:")
    assert edited["body"] == stored + " 🔥"
