"""Notification filters end to end: for each message, exactly who is alerted and why."""

from __future__ import annotations

from typing import Any

import pytest

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Session, Slug
from tests.support.clients import befriend, name, uid

NOTIFICATION_KEYS = {"id", "reason", "room", "message", "created_at", "read"}


async def room_of(slug: Slug, owner: ChatClient, *members: ChatClient) -> int:
    room = await owner.create_room(slug("notify"), "Notifications", "topic")
    for member in members:
        await member.join(room["id"])
    return int(room["id"])


async def alerts(people: dict[str, ChatClient], message: Frame) -> dict[str, str | None]:
    """Each person's notification reason for `message` (None: not notified), from the inbox.

    Notifications are stored in the sender's transaction, so the inbox is complete as
    soon as the send is acknowledged.
    """
    out: dict[str, str | None] = {}
    for who, client in people.items():
        reasons = [
            n["reason"] for n in await client.notifications() if n["message"]["id"] == message["id"]
        ]
        assert len(reasons) <= 1, f"{who} was notified twice"
        out[who] = reasons[0] if reasons else None
    return out


async def settings(client: ChatClient, **changes: Any) -> Frame:
    return await client.set_notification_settings(**changes)


# ---- levels --------------------------------------------------------------------------------


async def test_default_level_is_mentions_and_only_mentions_notify(
    make_client: ClientFactory, slug: Slug
) -> None:
    """With nobody's settings touched, only a mentioned member is alerted, with `mention`."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    outsider = await make_client("outsider")
    room = await room_of(slug, alice, bob, carol)
    people = {"alice": alice, "bob": bob, "carol": carol, "outsider": outsider}
    assert await bob.notification_settings() == {"default": "mentions", "rooms": {}}

    plain = await alice.post_message(room, "bonjour à tous")
    assert await alerts(people, plain) == dict.fromkeys(people)

    mention = await alice.post_message(room, f"@{name(bob)} et @{name(outsider)}, regardez")
    assert mention["mentions"] == [uid(bob)]
    assert await alerts(people, mention) == {
        "alice": None,
        "bob": "mention",
        "carol": None,
        "outsider": None,
    }


async def test_level_all_alerts_for_every_message_with_the_strongest_reason(
    make_client: ClientFactory, slug: Slug
) -> None:
    """`all`: a stranger's message is `all`, a friend's is `friend`, a mention is `mention`."""
    alice, bob, fred, quiet = [await make_client(n) for n in ("alice", "bob", "fred", "quiet")]
    room = await room_of(slug, alice, bob, fred, quiet)
    await befriend(alice, fred)
    for client in (bob, fred):
        assert (await settings(client, default="all"))["default"] == "all"
    people = {"alice": alice, "bob": bob, "fred": fred, "quiet": quiet}

    hello = await alice.post_message(room, "nouvelle session demain")
    assert await alerts(people, hello) == {
        "alice": None,
        "bob": "all",
        "fred": "friend",
        "quiet": None,
    }
    mention = await alice.post_message(room, f"@{name(bob)} @{name(fred)} vous venez ?")
    assert await alerts(people, mention) == {
        "alice": None,
        "bob": "mention",
        "fred": "mention",
        "quiet": None,
    }
    by_bob = await bob.post_message(room, "oui !")
    assert await alerts(people, by_bob) == {
        "alice": None,
        "bob": None,
        "fred": "all",
        "quiet": None,
    }


async def test_level_friends_alerts_for_friends_and_mentions_only(
    make_client: ClientFactory, slug: Slug
) -> None:
    """`friends`: a friend's message is `friend`; a stranger's is nothing unless it mentions."""
    alice, bob, nina, rita = [await make_client(n) for n in ("alice", "bob", "nina", "rita")]
    room = await room_of(slug, alice, bob, nina, rita)
    await befriend(alice, bob)
    await rita.add_friend(name(bob))  # a request, not yet a friendship
    await settings(bob, default="friends")
    people = {"alice": alice, "bob": bob, "nina": nina, "rita": rita}

    by_friend = await alice.post_message(room, "tu as fini le TP ?")
    assert await alerts(people, by_friend) == {
        "alice": None,
        "bob": "friend",
        "nina": None,
        "rita": None,
    }
    by_stranger = await nina.post_message(room, "quelqu'un a fini le TP ?")
    assert (await alerts(people, by_stranger))["bob"] is None
    by_requester = await rita.post_message(room, "moi pas encore")
    assert (await alerts(people, by_requester))["bob"] is None
    stranger_mention = await nina.post_message(room, f"@{name(bob)} tu as fini ?")
    assert await alerts(people, stranger_mention) == {
        "alice": None,
        "bob": "mention",
        "nina": None,
        "rita": None,
    }

    await bob.remove_friend(uid(alice))
    after_unfriend = await alice.post_message(room, "ok")
    assert (await alerts(people, after_unfriend))["bob"] is None


async def test_level_none_silences_everything_even_mentions(
    make_client: ClientFactory, slug: Slug
) -> None:
    """`none`: neither a friend's message nor a mention alerts."""
    alice, bob = await make_client("alice"), await make_client("bob")
    room = await room_of(slug, alice, bob)
    await befriend(alice, bob)
    await settings(bob, default="none")
    people = {"alice": alice, "bob": bob}

    for body in ("salut", f"@{name(bob)} urgent !"):
        message = await alice.post_message(room, body)
        assert await alerts(people, message) == {"alice": None, "bob": None}


async def test_no_notification_for_ones_own_message(make_client: ClientFactory, slug: Slug) -> None:
    """Even at `all`, mentioning yourself, your own message alerts nobody but the others."""
    alice, bob = await make_client("alice"), await make_client("bob")
    room = await room_of(slug, alice, bob)
    await settings(alice, default="all", rooms={room: "all"})
    await settings(bob, default="all")

    message = await alice.post_message(room, f"note pour moi @{name(alice)}")
    assert message["mentions"] == [uid(alice)]
    assert await alerts({"alice": alice, "bob": bob}, message) == {"alice": None, "bob": "all"}
    assert await alice.notifications() == []


# ---- direct messages -----------------------------------------------------------------------


@pytest.mark.parametrize("default", ["mentions", "none", "friends", "all"])
async def test_dms_alert_with_reason_dm_whatever_the_default(
    make_client: ClientFactory, default: str
) -> None:
    """A DM uses `all`, not the user's default, and says `dm`; a mention in it says `mention`."""
    alice, bob = await make_client("alice"), await make_client("bob")
    await settings(bob, default=default)
    dm = await alice.open_dm(name(bob))
    people = {"alice": alice, "bob": bob}

    message = await alice.post_message(dm["id"], "tu as une minute ?")
    assert await alerts(people, message) == {"alice": None, "bob": "dm"}
    mention = await alice.post_message(dm["id"], f"@{name(bob)} ?")
    assert await alerts(people, mention) == {"alice": None, "bob": "mention"}
    reply = await bob.post_message(dm["id"], "oui")
    assert await alerts(people, reply) == {"alice": "dm", "bob": None}


async def test_a_friends_dm_says_dm_and_a_group_dm_alerts_everyone_else(
    make_client: ClientFactory,
) -> None:
    """`dm` outranks `friend`; in a group DM each other member gets `dm`."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    await befriend(alice, bob)
    dm = await alice.open_dm(name(bob))
    message = await alice.post_message(dm["id"], "coucou")
    assert await alerts({"alice": alice, "bob": bob}, message) == {"alice": None, "bob": "dm"}

    group = (await alice.http("POST", "/api/dms", json={"usernames": [name(bob), name(carol)]}))[
        "room"
    ]
    people = {"alice": alice, "bob": bob, "carol": carol}
    sent = await carol.post_message(group["id"], "on se retrouve où ?")
    assert await alerts(people, sent) == {"alice": "dm", "bob": "dm", "carol": None}


async def test_a_dm_override_replaces_the_dm_default(
    make_client: ClientFactory, session: Session
) -> None:
    """A DM's own override decides: `none` silences it, `mentions` lets only mentions through."""
    alice, bob = await make_client("alice"), await make_client("bob")
    await settings(bob, default="none")
    dm = await alice.open_dm(name(bob))
    people = {"alice": alice, "bob": bob}
    _, ready = await session(bob)
    assert next(r for r in ready["rooms"] if r["id"] == dm["id"])["notify_level"] == "all"

    await settings(bob, rooms={dm["id"]: "none"})
    for body in ("tu es là ?", f"@{name(bob)} ?"):
        assert (await alerts(people, await alice.post_message(dm["id"], body)))["bob"] is None

    await settings(bob, rooms={dm["id"]: "mentions"})
    assert (await alerts(people, await alice.post_message(dm["id"], "allo")))["bob"] is None
    mention = await alice.post_message(dm["id"], f"@{name(bob)} allo")
    assert (await alerts(people, mention))["bob"] == "mention"

    _, ready = await session(bob)
    assert next(r for r in ready["rooms"] if r["id"] == dm["id"])["notify_level"] == "mentions"

    await settings(bob, rooms={dm["id"]: "friends"})
    assert (await alerts(people, await alice.post_message(dm["id"], "hé")))["bob"] is None
    await befriend(alice, bob)
    assert (await alerts(people, await alice.post_message(dm["id"], "hé ho")))["bob"] == "dm"
    await settings(bob, rooms={dm["id"]: None})
    assert (await alerts(people, await alice.post_message(dm["id"], "re")))["bob"] == "dm"


# ---- per-room overrides ------------------------------------------------------------------------


async def test_a_room_override_beats_the_default_and_null_removes_it(
    make_client: ClientFactory, slug: Slug, session: Session
) -> None:
    """Overrides are per room, shown in settings and `ready`; a `null` level drops one."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    busy = await room_of(slug, alice, bob, carol)
    calm = await room_of(slug, alice, bob, carol)
    await settings(bob, default="all")
    await settings(carol, default="none")
    assert await settings(bob, rooms={busy: "none"}) == {
        "default": "all",
        "rooms": {str(busy): "none"},
    }
    await settings(carol, rooms={busy: "all"})
    people = {"alice": alice, "bob": bob, "carol": carol}

    in_busy = await alice.post_message(busy, f"@{name(bob)} annonce")
    assert await alerts(people, in_busy) == {"alice": None, "bob": None, "carol": "all"}
    in_calm = await alice.post_message(calm, "annonce")
    assert await alerts(people, in_calm) == {"alice": None, "bob": "all", "carol": None}

    _, ready = await session(bob)
    levels = {r["id"]: r["notify_level"] for r in ready["rooms"]}
    assert (levels[busy], levels[calm]) == ("none", "all")

    assert await settings(bob, rooms={busy: None}) == {"default": "all", "rooms": {}}
    assert await bob.notification_settings() == {"default": "all", "rooms": {}}
    again = await alice.post_message(busy, "annonce 2")
    assert (await alerts(people, again))["bob"] == "all"

    await settings(bob, rooms={calm: "friends"}, default="mentions")
    assert await bob.notification_settings() == {
        "default": "mentions",
        "rooms": {str(calm): "friends"},
    }
    assert (await alerts(people, await alice.post_message(busy, "x")))["bob"] is None
    assert (await alerts(people, await alice.post_message(calm, "y")))["bob"] is None
    await befriend(alice, bob)
    assert (await alerts(people, await alice.post_message(calm, "z")))["bob"] == "friend"


async def test_invalid_settings_are_refused(make_client: ClientFactory, slug: Slug) -> None:
    """Unknown levels and rooms one is not in are `bad_request`; nothing changes."""
    alice, bob = await make_client("alice"), await make_client("bob")
    room = await room_of(slug, alice)
    for changes in ({"default": "loud"}, {"rooms": {room: "loud"}}, {"rooms": {room: "all"}}):
        with pytest.raises(ApiError) as refused:
            await settings(bob, **changes)
        assert (refused.value.status, refused.value.code) == (400, "bad_request")
    assert await bob.notification_settings() == {"default": "mentions", "rooms": {}}


# ---- blocks --------------------------------------------------------------------------------------


async def test_no_notification_across_a_block_either_way(
    make_client: ClientFactory, slug: Slug
) -> None:
    """Whoever blocked whom, neither alerts the other; everyone else is unaffected."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    room = await room_of(slug, alice, bob, carol)
    for client in (alice, bob, carol):
        await settings(client, default="all")
    await befriend(alice, bob)
    await bob.block(name(alice))
    people = {"alice": alice, "bob": bob, "carol": carol}

    by_blocked = await alice.post_message(room, f"@{name(bob)} pourquoi ?")
    assert await alerts(people, by_blocked) == {"alice": None, "bob": None, "carol": "all"}
    by_blocker = await bob.post_message(room, f"@{name(alice)} @{name(carol)} bonjour")
    assert await alerts(people, by_blocker) == {"alice": None, "bob": None, "carol": "mention"}

    await bob.unblock(uid(alice))
    after = await alice.post_message(room, f"@{name(bob)} merci")
    assert (await alerts(people, after))["bob"] == "mention"


# ---- the inbox, live pushes and read marks -------------------------------------------------------


async def test_offline_recipients_find_notifications_stored_and_counted(
    make_client: ClientFactory, slug: Slug, session: Session
) -> None:
    """Stored while away, counted in `ready`, listed newest first, marked read by ids or all."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    room = await room_of(slug, alice, bob, carol)
    sent = []
    for i in range(3):
        sent.append(await alice.post_message(room, f"@{name(bob)} question {i}"))
        await alice.post_message(room, "sans mention")

    _, ready = await session(bob)
    assert ready["notifications_unread"] == 3
    [state] = [r for r in ready["rooms"] if r["id"] == room]
    assert state["mentions_unread"] == 3
    assert state["unread"] == 6

    unread = await bob.notifications(unread=True)
    assert [n["message"]["id"] for n in unread] == [m["id"] for m in reversed(sent)]
    for item, message in zip(unread, reversed(sent), strict=True):
        assert set(item) == NOTIFICATION_KEYS
        assert (item["reason"], item["room"], item["read"]) == ("mention", room, False)
        assert item["message"]["body"] == message["body"]
        assert item["message"]["author"]["id"] == uid(alice)
        assert item["created_at"].endswith("Z")
    assert [n["id"] for n in unread] == sorted((n["id"] for n in unread), reverse=True)

    oldest = unread[-1]["id"]
    await carol.mark_notifications_read([oldest])  # someone else's id changes nothing
    assert len(await bob.notifications(unread=True)) == 3
    await bob.mark_notifications_read([oldest])
    assert [n["id"] for n in await bob.notifications(unread=True)] == [n["id"] for n in unread[:2]]
    everything = await bob.notifications()
    assert [(n["id"], n["read"]) for n in everything] == [
        (unread[0]["id"], False),
        (unread[1]["id"], False),
        (oldest, True),
    ]
    _, ready = await session(bob)
    assert ready["notifications_unread"] == 2

    await bob.mark_notifications_read(all=True)
    assert await bob.notifications(unread=True) == []
    assert all(n["read"] for n in await bob.notifications())
    _, ready = await session(bob)
    assert ready["notifications_unread"] == 0
    with pytest.raises(ApiError) as refused:
        await bob.http("POST", "/api/notifications/read", json={"ids": "all"})
    assert refused.value.code == "bad_request"


async def test_online_recipients_get_the_notification_pushed(
    make_client: ClientFactory, slug: Slug
) -> None:
    """The pushed `notification` is the stored one; non-recipients get the message, no alert."""
    alice, bob, carol = [await make_client(n, connect=True) for n in ("alice", "bob", "carol")]
    room = await room_of(slug, alice, bob, carol)

    sent = await alice.send(room, f"@{name(bob)} tu peux relire ?")
    pushed = (await bob.next_event("notification"))["notification"]
    assert set(pushed) == NOTIFICATION_KEYS
    assert (pushed["reason"], pushed["room"], pushed["read"]) == ("mention", room, False)
    assert pushed["message"]["id"] == sent["id"]
    [stored] = await bob.notifications(unread=True)
    assert stored["id"] == pushed["id"]
    assert stored["created_at"] == pushed["created_at"]

    assert (await carol.next_event("message.created", room=room))["message"]["id"] == sent["id"]
    fence = await alice.send(room, f"@{name(carol)} et toi ?")
    first_for_carol = (await carol.next_event("notification"))["notification"]
    assert first_for_carol["message"]["id"] == fence["id"]


async def test_message_created_reaches_every_member_whatever_their_filters(
    make_client: ClientFactory, slug: Slug
) -> None:
    """Filters decide alerts, not what the room shows: `none` still sees every message."""
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob", connect=True)
    carol = await make_client("carol", connect=True)
    room = await room_of(slug, alice, bob, carol)
    await settings(bob, default="none")
    await settings(carol, rooms={room: "none"})
    await bob.block(name(alice))

    sent = await alice.send(room, f"@{name(bob)} @{name(carol)} réunion")
    for client in (alice, bob, carol):
        event = await client.next_event("message.created", room=room)
        assert event["message"]["id"] == sent["id"]
    assert await alerts({"bob": bob, "carol": carol}, sent) == {"bob": None, "carol": None}


async def test_deleting_a_message_removes_its_notifications(
    make_client: ClientFactory, slug: Slug, session: Session
) -> None:
    """Once the message is gone, so is every alert about it, read or not."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    room = await room_of(slug, alice, bob, carol)
    await settings(carol, default="all")
    kept = await alice.post_message(room, f"@{name(bob)} garde ça")
    gone = await alice.post_message(room, f"@{name(bob)} oublie ça")
    [carol_alert, _] = await carol.notifications()
    await carol.mark_notifications_read([carol_alert["id"]])

    await alice.delete_message(gone["id"])
    assert [n["message"]["id"] for n in await bob.notifications()] == [kept["id"]]
    assert [n["message"]["id"] for n in await carol.notifications()] == [kept["id"]]
    _, ready = await session(bob)
    assert ready["notifications_unread"] == 1
    assert next(r for r in ready["rooms"] if r["id"] == room)["mentions_unread"] == 1


async def test_alerts_from_a_private_room_one_has_left_are_gone(
    make_client: ClientFactory, session: Session
) -> None:
    """A private room one left does not exist for one: neither listed nor counted."""
    alice, bob, carol = [await make_client(n) for n in ("alice", "bob", "carol")]
    group = (await alice.http("POST", "/api/dms", json={"usernames": [name(bob), name(carol)]}))[
        "room"
    ]
    elsewhere = await alice.open_dm(name(bob))
    await alice.post_message(group["id"], "le code du casier est 4512")
    kept = await alice.post_message(elsewhere["id"], "à demain")
    assert len(await bob.notifications(unread=True)) == 2

    await bob.leave(group["id"])
    with pytest.raises(ApiError) as hidden:
        await bob.history(group["id"])
    assert hidden.value.code == "not_found"
    assert [n["message"]["id"] for n in await bob.notifications()] == [kept["id"]]
    assert [n["message"]["id"] for n in await bob.notifications(unread=True)] == [kept["id"]]
    _, ready = await session(bob)
    assert ready["notifications_unread"] == 1
    assert len(await carol.notifications()) == 1


async def test_ready_counts_unread_messages_per_room_from_read_markers(
    make_client: ClientFactory, slug: Slug, session: Session
) -> None:
    """`unread` counts others' messages above the marker, per room; markers never go back."""
    alice, bob = await make_client("alice"), await make_client("bob")
    general = await room_of(slug, alice, bob)
    other = await room_of(slug, alice, bob)
    await bob.post_message(general, "le mien ne compte pas")
    sent = [await alice.post_message(general, f"message {i}") for i in range(3)]
    await alice.post_message(other, "ailleurs")

    socket, ready = await session(bob)
    unread = {r["id"]: r["unread"] for r in ready["rooms"]}
    assert (unread[general], unread[other]) == (3, 1)
    await socket.read(general, sent[1]["seq"])
    await socket.read(general, sent[0]["seq"])  # never backwards

    _, ready = await session(bob)
    states = {r["id"]: r for r in ready["rooms"]}
    assert (states[general]["unread"], states[general]["last_read_seq"]) == (1, sent[1]["seq"])
    assert states[other]["unread"] == 1
    # Writing in a room reads it: what came before one's own message is not unread.
    await bob.post_message(general, "j'ai tout lu")
    _, ready = await session(bob)
    assert {r["id"]: r["unread"] for r in ready["rooms"]}[general] == 0
    _, ready = await session(alice)
    assert {r["id"]: r["unread"] for r in ready["rooms"]}[general] == 1
