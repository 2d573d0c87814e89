"""Two people in one room see each other's messages live, in order."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.conftest import ClientFactory


async def test_two_users_receive_each_others_messages_with_consecutive_seqs(
    make_client: ClientFactory, slug: Callable[[str], str]
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("live"), "Live", "topic")
    await bob.join(room["id"])
    await alice.connect()
    await bob.connect()

    sent_by_alice = await alice.send(room["id"], "hello bob")
    sent_by_bob = await bob.send(room["id"], "hello alice")

    seen_by_bob = await bob.next_event("message.created", room=room["id"])
    seen_by_alice = [await alice.next_event("message.created", room=room["id"]) for _ in range(2)]
    assert seen_by_bob["message"]["body"] == "hello bob"
    assert [e["message"]["body"] for e in seen_by_alice] == ["hello bob", "hello alice"]
    assert sent_by_bob["seq"] == sent_by_alice["seq"] + 1
    assert [e["seq"] for e in seen_by_alice] == [sent_by_alice["seq"], sent_by_bob["seq"]]
