"""Who is in which room when an e2e test begins: the casts several room tests share."""

from __future__ import annotations

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Frame, Slug, topic_room
from tests.support.clients import uid


async def room_with(
    make_client: ClientFactory, slug: Slug, *names: str
) -> tuple[Frame, list[ChatClient]]:
    """A public topic room created (so owned and moderated) by a new user named after the
    first of `names`, and joined by new users named after the others."""
    clients = [await make_client(name) for name in names]
    room = await topic_room(clients[0], slug, *clients[1:])
    return room, clients


async def connected_room(make_client: ClientFactory, slug: Slug) -> tuple[Frame, list[ChatClient]]:
    """`room_with` an owner and a member, both sockets open: the owner's from before the
    room exists (so it hears the member join), the member's once in the room."""
    owner = await make_client("owner", connect=True)
    member = await make_client("member")
    room = await topic_room(owner, slug, member)
    await member.connect()
    return room, [owner, member]


async def public_and_private(
    make_client: ClientFactory, slug: Slug
) -> tuple[ChatClient, ChatClient, ChatClient, Frame, Frame]:
    """For "who may" tests: an owner's public topic room and private room, a member in
    both and an outsider in neither. Returns the owner, the member, the outsider, the
    public and the private room."""
    public, (owner, member) = await room_with(make_client, slug, "owner", "member")
    outsider = await make_client("outsider")
    private = await owner.create_room(slug("priv"), "Private", "topic", visibility="private")
    await owner.add_member(private["id"], uid(member))
    return owner, member, outsider, public, private
