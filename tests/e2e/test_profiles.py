"""Profiles over real sockets: who may see one (a stranger, a room-mate, a friend, someone
blocked, a guest, an admin), editing one's own within its limits, `user.updated` reaching
those who see the user and no one else, and the avatar: cropped square, resized, served
with the profile's authorization and `nosniff`."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory
from tests.support.clients import name, refused, uid
from tests.support.server import ServerProcess

Frame = dict[str, Any]
Slug = Callable[[str], str]
Guests = Callable[..., Awaitable[ChatClient]]


@pytest.fixture(autouse=True)
def founded(staff_tokens: dict[str, str]) -> None:
    """The staff accounts come first, so no student here is the server's first (admin)."""


@pytest.fixture
async def guests(server: ServerProcess) -> AsyncIterator[Guests]:
    made: list[ChatClient] = []

    async def make(display_name: str = "Visitor", invite: str | None = None) -> ChatClient:
        client = ChatClient(server.base_url)
        made.append(client)
        await client.guest(display_name, invite)
        return client

    yield make
    for client in made:
        await client.close()


async def not_found(client: ChatClient, user_id: int) -> None:
    error = await refused(client.get_user(user_id))
    assert (error.status, error.code) == (404, "not_found")


async def share_a_room(owner: ChatClient, *others: ChatClient, slug: Slug) -> Frame:
    room = await owner.create_room(slug("prof"), "Profiles", "topic")
    for other in others:
        await other.join(room["id"])
    return room


async def befriend(a: ChatClient, b: ChatClient) -> None:
    assert await a.add_friend(name(b)) == "requested"
    assert await b.add_friend(name(a)) == "friends"


# ---- who sees a profile ----------------------------------------------------------------


async def test_a_profile_is_seen_by_room_mates_and_friends_and_by_no_stranger(
    make_client: ClientFactory, slug: Slug
) -> None:
    camille = await make_client("camille")
    await camille.update_profile(
        bio="Étudiante en design.\nJ'aime le vélo.", pronouns="elle", region="Bruxelles"
    )
    mate = await make_client("mate")
    friend = await make_client("friend")
    stranger = await make_client("stranger")
    await share_a_room(camille, mate, slug=slug)
    await befriend(camille, friend)

    seen = await mate.get_profile(uid(camille))
    assert seen["friendship"] == "none" and seen["blocked"] is False
    user = seen["user"]
    assert user["bio"] == "Étudiante en design.\nJ'aime le vélo."
    assert user["pronouns"] == "elle" and user["region"] == "Bruxelles"
    assert user["avatar"] is None and user["role"] == "student"
    assert "dm_policy" not in user

    by_friend = await friend.get_profile(uid(camille))
    assert by_friend["friendship"] == "friends"
    assert by_friend["user"]["bio"] == user["bio"]

    # A stranger gets exactly what an id never used gets.
    await not_found(stranger, uid(camille))
    await not_found(stranger, 2**62)
    # One's own profile, always.
    own = await stranger.get_user(uid(stranger))
    assert own["bio"] is None and own["pronouns"] is None

    # Leaving the only shared room ends it; a friend request does not open it.
    rooms = await mate.rooms()
    shared = [r for r in rooms if r["joined"] and r["kind"] == "topic"]
    await mate.leave(shared[0]["id"])
    await not_found(mate, uid(camille))
    assert await mate.add_friend(name(camille)) == "requested"
    await not_found(mate, uid(camille))
    # The requests show on each side once they share a room again.
    await mate.join(shared[0]["id"])
    assert (await mate.get_profile(uid(camille)))["friendship"] == "requested"
    assert (await camille.get_profile(uid(mate)))["friendship"] == "incoming"


async def test_a_dm_is_a_shared_room(make_client: ClientFactory) -> None:
    a = await make_client("dma")
    b = await make_client("dmb")
    await not_found(a, uid(b))
    await a.open_dm(name(b))
    assert (await a.get_user(uid(b)))["id"] == uid(b)
    assert (await b.get_user(uid(a)))["id"] == uid(a)


async def test_blocking_hides_the_blockers_profile_from_the_blocked(
    make_client: ClientFactory, slug: Slug
) -> None:
    lucas = await make_client("lucas")
    nora = await make_client("nora")
    await share_a_room(lucas, nora, slug=slug)
    await nora.block(name(lucas))
    # Nora blocked Lucas: he no longer sees her profile; she still sees his (to unblock).
    await not_found(lucas, uid(nora))
    seen = await nora.get_profile(uid(lucas))
    assert seen["blocked"] is True and seen["user"]["id"] == uid(lucas)
    await nora.unblock(uid(lucas))
    assert (await lucas.get_user(uid(nora)))["id"] == uid(nora)


async def test_guests_see_and_are_seen_by_the_people_of_their_rooms_only(
    make_client: ClientFactory,
    staff: dict[str, ChatClient],
    guests: Guests,
    slug: Slug,
) -> None:
    mentor, admin = staff["mentor"], staff["admin"]
    room = await mentor.create_room(slug("open"), "Open day", "topic")
    await mentor.update_room(room["id"], guests_allowed=True)
    invite = await mentor.create_invite(room["id"], role="guest")
    visitor = await guests("Zoé", invite["code"])
    other_visitor = await guests("Léa")
    student = await make_client("student")

    # The mentor and the guest share the open-day room.
    seen = await mentor.get_profile(uid(visitor))
    assert seen["user"]["role"] == "guest" and "expires_at" in seen["user"]
    assert (await visitor.get_user(uid(mentor)))["id"] == uid(mentor)
    # A student elsewhere and a guest elsewhere do not.
    await not_found(student, uid(visitor))
    await not_found(visitor, uid(student))
    await not_found(other_visitor, uid(visitor))
    # Admins see everyone's (they answer reports about anyone).
    assert (await admin.get_user(uid(other_visitor)))["display_name"] == "Léa"
    # A guest edits their own profile like anyone.
    await visitor.update_profile(pronouns="iel")
    assert (await mentor.get_user(uid(visitor)))["pronouns"] == "iel"


# ---- editing one's own -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"bio": "x" * 301}, 413, "too_large"),
        ({"bio": "a\n" * 6 + "b"}, 400, "bad_request"),
        ({"bio": "bell\x07"}, 400, "bad_request"),
        ({"bio": "rtl \u202e override"}, 400, "bad_request"),
        ({"bio": 5}, 400, "bad_request"),
        ({"pronouns": "p" * 33}, 413, "too_large"),
        ({"pronouns": "il\nlui"}, 400, "bad_request"),
        ({"pronouns": ["elle"]}, 400, "bad_request"),
        ({"region": "r" * 65}, 413, "too_large"),
        ({"display_name": ""}, 400, "bad_request"),
        ({"display_name": "n" * 65}, 413, "too_large"),
    ],
)
async def test_profile_fields_have_limits(
    make_client: ClientFactory, changes: Frame, status: int, code: str
) -> None:
    client = await make_client("limits")
    await client.update_profile(bio="kept", pronouns="il")
    error = await refused(client.update_profile(**changes))
    assert (error.status, error.code) == (status, code)
    own = await client.get_user(uid(client))
    assert own["bio"] == "kept" and own["pronouns"] == "il"


async def test_fields_are_trimmed_at_the_limit_and_cleared_by_null_or_empty(
    make_client: ClientFactory,
) -> None:
    client = await make_client("edit")
    bio = "é" * 300
    await client.update_profile(bio=f"  {bio}\r\n", pronouns=" she/her ")
    own = await client.get_user(uid(client))
    assert own["bio"] == bio and own["pronouns"] == "she/her"
    await client.update_profile(bio="one\r\ntwo\nthree\nfour\nfive\nsix")
    assert (await client.get_user(uid(client)))["bio"] == "one\ntwo\nthree\nfour\nfive\nsix"
    await client.update_profile(bio=None, pronouns="  ")
    own = await client.get_user(uid(client))
    assert own["bio"] is None and own["pronouns"] is None
    # Fields left out keep their values; unknown ones are ignored.
    await client.update_profile(pronouns="il", favourite_colour="blue")
    await client.update_profile(region="Liège")
    own = await client.get_user(uid(client))
    assert own["pronouns"] == "il" and own["region"] == "Liège"
    # The data export carries the profile.
    exported = await client.export()
    assert exported["profile"]["pronouns"] == "il" and exported["profile"]["bio"] is None


# ---- user.updated ------------------------------------------------------------------------


async def test_a_rename_reaches_room_mates_friends_and_own_sockets_live_and_no_stranger(
    make_client: ClientFactory, slug: Slug, session: Any
) -> None:
    camille = await make_client("camille", connect=True)
    mate = await make_client("mate", connect=True)
    friend = await make_client("friend", connect=True)
    stranger = await make_client("stranger", connect=True)
    blocked = await make_client("blocked", connect=True)
    room = await share_a_room(camille, mate, blocked, slug=slug)
    await befriend(camille, friend)
    await camille.block(name(blocked))
    other_tab, _ = await session(camille)

    await camille.update_profile(display_name="Camille D.", bio="Bonjour")
    for client in (mate, friend, other_tab):
        event = await client.next_event("user.updated")
        assert event["user"]["id"] == uid(camille)
        assert event["user"]["display_name"] == "Camille D."
        assert event["user"]["bio"] == "Bonjour"
    # Neither a stranger nor someone she blocked hears of it.
    for client in (stranger, blocked):
        with pytest.raises(TimeoutError):
            await client.next_event("user.updated", timeout=0.7)

    # Her open socket now speaks as the new name: a message sent over it carries it.
    sent = await camille.send(room["id"], "hello")
    assert sent["author"]["display_name"] == "Camille D."
    heard = await mate.next_event("message.created")
    assert heard["message"]["author"]["display_name"] == "Camille D."

    # A change others do not see (the DM policy) is not announced; one event per change.
    await camille.update_profile(dm_policy="friends")
    await camille.update_profile(bio="Bonjour")  # the same value: nothing changed
    with pytest.raises(TimeoutError):
        await mate.next_event("user.updated", timeout=0.7)


# ---- avatars -----------------------------------------------------------------------------


def picture(width: int, height: int, fmt: str = "PNG", **save: Any) -> bytes:
    """An image whose left half is red and right half blue (to see which part is kept)."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


async def test_an_avatar_is_cropped_square_resized_and_seen_as_the_profile_is(
    make_client: ClientFactory, slug: Slug, server: ServerProcess
) -> None:
    camille = await make_client("camille", connect=True)
    mate = await make_client("mate", connect=True)
    stranger = await make_client("stranger")
    room = await share_a_room(camille, mate, slug=slug)

    me = await camille.set_avatar(picture(1200, 600), "image/png")
    url = me["avatar"]
    assert url is not None and url.startswith(f"/api/users/{uid(camille)}/avatar/")
    event = await mate.next_event("user.updated")
    assert event["user"]["avatar"] == url

    async with httpx.AsyncClient(base_url=server.base_url) as raw:
        resp = await raw.get(url, headers={"Authorization": f"Bearer {mate.token}"})
        assert resp.status_code == 200
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["content-type"].startswith("image/")
        image = Image.open(io.BytesIO(resp.content))
        assert image.width == image.height <= 512
        # The centre of a 2:1 picture is kept: red on the left, blue on the right.
        rgb = image.convert("RGB")
        left = rgb.getpixel((2, image.height // 2))
        right = rgb.getpixel((image.width - 3, image.height // 2))
        assert isinstance(left, tuple) and isinstance(right, tuple)
        assert left[0] > 200 and right[2] > 200
        # Without a token, with a stranger's, or with a wrong key: not found.
        assert (await raw.get(url)).status_code == 401
        resp = await raw.get(url, headers={"Authorization": f"Bearer {stranger.token}"})
        assert resp.status_code == 404
        wrong = url.rsplit("/", 1)[0] + "/AAAAAAAAAAAAAAAAAAAAAA"
        resp = await raw.get(wrong, headers={"Authorization": f"Bearer {mate.token}"})
        assert resp.status_code == 404

    # Messages carry it in their author.
    sent = await camille.send(room["id"], "with a face")
    assert sent["author"]["avatar"] == url

    # A new one replaces it (the old URL stops); removing it clears it, live too.
    again = await camille.set_avatar(picture(300, 300, "JPEG"), "image/jpeg")
    assert again["avatar"] != url
    assert (await mate.next_event("user.updated"))["user"]["avatar"] == again["avatar"]
    error = await refused(mate.avatar(url))
    assert error.status == 404
    assert len(await mate.avatar(again["avatar"])) > 0
    cleared = await camille.remove_avatar()
    assert cleared["avatar"] is None
    assert (await mate.next_event("user.updated"))["user"]["avatar"] is None
    error = await refused(mate.avatar(again["avatar"]))
    assert error.status == 404


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"", "image/png", 400, "bad_request"),
        (b"not an image at all", "image/png", 400, "bad_request"),
        (b"%PDF-1.4\n%" + b"x" * 100, "image/png", 400, "bad_request"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
            400,
            "bad_request",
        ),
    ],
)
async def test_an_avatar_must_be_an_image_by_its_bytes(
    make_client: ClientFactory, data: bytes, content_type: str, status: int, code: str
) -> None:
    client = await make_client("badpic")
    error = await refused(client.set_avatar(data, content_type))
    assert (error.status, error.code) == (status, code)
    assert (await client.me())["avatar"] is None


async def test_a_truncated_or_enormous_avatar_is_refused(make_client: ClientFactory) -> None:
    client = await make_client("bigpic")
    whole = picture(400, 400)
    error = await refused(client.set_avatar(whole[: len(whole) // 2], "image/png"))
    assert (error.status, error.code) == (400, "bad_request")
    # Far more pixels than any avatar needs, in a few bytes (a decompression bomb).
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")
    error = await refused(client.set_avatar(bomb.getvalue(), "image/png"))
    assert error.code in ("bad_request", "too_large")
    assert (await client.me())["avatar"] is None


@pytest.fixture(scope="module")
def small_avatars(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Avatars of at most 20,000 bytes, stored 64 pixels wide."""
    env = {"CHAT_AVATAR_MAX_BYTES": "20000", "CHAT_AVATAR_SIDE": "64"}
    with ServerProcess(tmp_path_factory.mktemp("avatars"), env=env) as process:
        yield process


async def test_the_avatar_settings_limit_its_bytes_and_set_its_side(
    small_avatars: ServerProcess,
) -> None:
    async with ChatClient(small_avatars.base_url) as client:
        await client.register("smallpics", "correct horse battery")
        error = await refused(client.set_avatar(b"\x89PNG" + b"\0" * 20_000, "image/png"))
        assert (error.status, error.code) == (413, "too_large")
        error = await refused(client.set_avatar(picture(64, 64), "application/octet-stream"))
        assert (error.status, error.code) == (400, "bad_request")
        # Exactly at the limit is accepted (as far as size goes: these bytes are no image).
        error = await refused(client.set_avatar(b"\0" * 20_000, "image/png"))
        assert (error.status, error.code) == (400, "bad_request")
        # A photo's metadata (here the camera and a GPS block) does not survive.
        exif = Image.Exif()
        exif[0x010F] = "Camera maker"
        exif[0x8825] = {1: "N", 2: (50.0, 51.0, 0.0)}
        photo = picture(500, 300, "JPEG", quality=60, exif=exif.tobytes())
        assert b"Camera maker" in photo
        me = await client.set_avatar(photo, "image/jpeg")
        stored = await client.avatar(me["avatar"])
        image = Image.open(io.BytesIO(stored))
        assert image.size == (64, 64) and image.format == "WEBP"
        assert b"Camera maker" not in stored and not image.getexif()


async def test_guests_cannot_upload_an_avatar(guests: Guests) -> None:
    visitor = await guests("Zoé")
    error = await refused(visitor.set_avatar(picture(64, 64), "image/png"))
    assert (error.status, error.code) == (403, "forbidden")


async def test_a_deleted_account_loses_its_profile_and_avatar(
    make_client: ClientFactory, slug: Slug
) -> None:
    gone = await make_client("gone")
    mate = await make_client("mate")
    await share_a_room(gone, mate, slug=slug)
    me = await gone.set_avatar(picture(64, 64), "image/png")
    await gone.update_profile(bio="bientôt parti")
    await gone.delete_account("correct horse battery")
    await not_found(mate, uid(gone))
    with pytest.raises(ApiError) as caught:
        await mate.avatar(me["avatar"])
    assert caught.value.status == 404


async def test_profile_changes_do_not_block_each_other(make_client: ClientFactory) -> None:
    """Several quick edits land in order; the last wins."""
    client = await make_client("quick")
    await asyncio.gather(*(client.update_profile(pronouns=f"p{i}") for i in range(5)))
    assert (await client.get_user(uid(client)))["pronouns"] in {f"p{i}" for i in range(5)}


# ---- several nodes ---------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_rename_crosses_nodes(two_nodes: list[ServerProcess]) -> None:
    """Camille renames herself through node 0; Lucas, connected to node 1, hears it, a
    stranger there does not, and her socket on node 0 speaks as the new name."""
    async with (
        ChatClient(two_nodes[0].base_url) as camille,
        ChatClient(two_nodes[1].base_url) as lucas,
        ChatClient(two_nodes[1].base_url) as stranger,
    ):
        for client, name in ((camille, "camille"), (lucas, "lucas"), (stranger, "str")):
            await client.register(f"{name}{uuid.uuid4().hex[:8]}", "correct horse battery")
        room = await camille.create_room(f"n-{uuid.uuid4().hex[:10]}", "Nodes", "topic")
        await lucas.join(room["id"])
        for client in (camille, lucas, stranger):
            await client.connect()
        await camille.update_profile(display_name="Camille (node 0)")
        event = await lucas.next_event("user.updated", timeout=10)
        assert event["user"]["display_name"] == "Camille (node 0)"
        with pytest.raises(TimeoutError):
            await stranger.next_event("user.updated", timeout=1)
        await camille.send(room["id"], "depuis le nœud 0")
        heard = await lucas.next_event("message.created", timeout=10)
        assert heard["message"]["author"]["display_name"] == "Camille (node 0)"
