"""Attachments over real sockets (PROTOCOL-COMMUNITY section 6), on both file stores: a
local directory and an S3-compatible bucket (moto's server, a process of its own).

Uploads checked by their content, limits, quota, metadata stripped, thumbnails, who may
download a file before and after it is sent, deleted messages' files, and that a refused
upload leaves nothing behind on disk or in the bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from PIL import Image, ImageOps

from chatserver.sdk import ApiError, ChatClient
from tests.e2e.conftest import ClientFactory, take_first_account
from tests.support import media
from tests.support.clients import refused, uid
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, new_bucket, start_s3_server
from tests.support.server import ServerProcess

Slug = Callable[[str], str]
Frame = dict[str, Any]
MAX_BYTES = 300_000
QUOTA = 1_000_000


class Stored:
    """What the server's file store holds, read behind its back (the directory or bucket)."""

    def __init__(self, root: Path | None = None, s3: S3Server | None = None, bucket: str = ""):
        self.root, self.s3, self.bucket = root, s3, bucket

    def keys(self) -> list[str]:
        if self.root is not None:
            if not self.root.exists():
                return []
            return sorted(
                p.relative_to(self.root).as_posix()
                for p in self.root.rglob("*")
                if p.is_file() and ".tmp" not in p.relative_to(self.root).parts
            )
        assert self.s3 is not None
        client = boto3.client(
            "s3",
            endpoint_url=self.s3.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        listing = client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def of(self, user_id: int) -> list[str]:
        return [k for k in self.keys() if k.startswith(f"uploads/{user_id}/")]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["local", "s3"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Stored]]:
    workdir = tmp_path_factory.mktemp(f"uploads-{request.param}")
    env = {
        "CHAT_UPLOAD_MAX_BYTES": str(MAX_BYTES),
        "CHAT_UPLOAD_QUOTA_BYTES": str(QUOTA),
        "CHAT_UPLOAD_SWEEP_SECONDS": "0.3",
    }
    if request.param == "local":
        stored = Stored(root=workdir / "chat.db-files")
    else:
        s3: S3Server = request.getfixturevalue("s3_server")
        bucket = new_bucket()
        boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_bucket(Bucket=bucket)
        env.update(s3.settings_env(bucket))
        stored = Stored(s3=s3, bucket=bucket)
    with ServerProcess(workdir, env=env) as process:
        take_first_account(process)
        yield process, stored


@pytest.fixture
def server(backend: tuple[ServerProcess, Stored]) -> ServerProcess:
    return backend[0]


@pytest.fixture
def stored(backend: tuple[ServerProcess, Stored]) -> Stored:
    return backend[1]


async def private_room(owner: ChatClient, slug: Slug, *members: ChatClient) -> int:
    room = await owner.create_room(slug("files"), "Files", "topic", visibility="private")
    for member in members:
        await owner.add_member(room["id"], uid(member))
    return int(room["id"])


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for the store to change behind the server's back (nothing to be woken by)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.1)


# -- uploading and downloading ----------------------------------------------------------


async def test_an_image_loses_its_metadata_and_gets_a_thumbnail(
    make_client: ClientFactory, stored: Stored
) -> None:
    alice = await make_client("alice")
    upload = await alice.upload(media.photo(1200, 800), "holiday.jpg", "image/jpeg")
    assert upload["name"] == "holiday.jpg"
    assert upload["content_type"] == "image/jpeg"
    assert (upload["width"], upload["height"]) == (1200, 800)
    assert upload["url"] == f"/api/uploads/{upload['id']}/file"
    assert upload["thumbnail_url"] == f"/api/uploads/{upload['id']}/thumbnail"

    data, headers = await alice.download(upload["url"])
    assert len(data) == upload["size"]
    assert media.SECRET.encode() not in data and b"SecretCam" not in data
    image = Image.open(io.BytesIO(data))
    assert image.size == (1200, 800)
    assert not image.getexif()
    assert "exif" not in image.info and "xmp" not in image.info and "comment" not in image.info
    assert headers["content-type"] == "image/jpeg"
    assert headers["x-content-type-options"].startswith("nosniff")
    assert headers["content-disposition"].startswith("inline;")
    assert headers["cache-control"] == "private, no-cache"
    assert "sandbox" in headers["content-security-policy"]

    thumb, thumb_headers = await alice.download(upload["thumbnail_url"])
    assert thumb_headers["content-type"] == "image/webp"
    small = Image.open(io.BytesIO(thumb))
    assert small.format == "WEBP" and max(small.size) == 400
    assert len(stored.of(uid(alice))) == 2  # the file and its thumbnail


async def test_a_photos_orientation_is_kept_alone(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    upload = await alice.upload(media.photo(600, 300, orientation=6), "turned.jpg", "image/jpeg")
    assert (upload["width"], upload["height"]) == (300, 600)
    data, _ = await alice.download(upload["url"])
    stored = Image.open(io.BytesIO(data))
    assert dict(stored.getexif()) == {0x0112: 6}  # the orientation, and nothing else
    assert ImageOps.exif_transpose(stored).size == (300, 600)
    assert media.SECRET.encode() not in data
    thumb, _ = await alice.download(upload["thumbnail_url"])
    assert Image.open(io.BytesIO(thumb)).size == (200, 400)  # stands up too


@pytest.mark.parametrize(
    ("make", "content_type"),
    [
        (media.png_with_text, "image/png"),
        (lambda: media.photo(200, 100, fmt="WEBP"), "image/webp"),
        (media.animated_gif, "image/gif"),
    ],
)
async def test_every_image_format_is_cleaned(
    make_client: ClientFactory, make: Callable[[], bytes], content_type: str
) -> None:
    alice = await make_client("alice")
    upload = await alice.upload(make(), "picture", content_type)
    assert upload["content_type"] == content_type
    data, headers = await alice.download(upload["url"])
    assert headers["content-type"] == content_type
    assert media.SECRET.encode() not in data
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    if content_type == "image/gif":
        assert getattr(image, "n_frames", 1) == 4  # the animation stays


async def test_whatever_follows_a_jpeg_is_cut(make_client: ClientFactory) -> None:
    """A picture with a zip after its end (a polyglot) is stored without the zip."""
    alice = await make_client("alice")
    upload = await alice.upload(media.photo(80, 60) + media.ZIP, "poly.jpg", "image/jpeg")
    data, _ = await alice.download(upload["url"])
    assert media.ZIP not in data and data.endswith(b"\xff\xd9")
    Image.open(io.BytesIO(data)).load()


async def test_other_files_download_as_attachments(make_client: ClientFactory) -> None:
    alice = await make_client("alice")
    pdf = await alice.upload(media.PDF, "contrat final.pdf", "application/pdf")
    assert "width" not in pdf and "thumbnail_url" not in pdf
    data, headers = await alice.download(pdf["url"])
    assert data == media.PDF
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''contrat%20final.pdf" in headers["content-disposition"]
    await refused(alice.download(f"/api/uploads/{pdf['id']}/thumbnail"))

    text = "Réunion à Bruxelles en juillet ☀\n".encode()
    note = await alice.upload(text, "notes-été.txt", "text/plain; charset=utf-8")
    data, headers = await alice.download(note["url"])
    assert data == text
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-disposition"].startswith('attachment; filename="notes-_t_.txt"')


async def test_the_type_is_told_from_the_content_when_not_declared(
    make_client: ClientFactory,
) -> None:
    alice = await make_client("alice")
    upload = await alice.upload(media.photo(50, 50), "x", "application/octet-stream")
    assert upload["content_type"] == "image/jpeg"


async def test_an_unchanged_file_is_not_sent_again(
    make_client: ClientFactory, server: ServerProcess
) -> None:
    import httpx

    alice = await make_client("alice")
    upload = await alice.upload(media.PDF, "a.pdf", "application/pdf")
    auth = {"Authorization": f"Bearer {alice.token}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        first = await http.get(upload["url"], headers=auth)
        again = await http.get(
            upload["url"], headers={**auth, "If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
        anonymous = await http.get(upload["url"])
        assert anonymous.status_code == 401


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (media.PDF, "image/png", "a PDF declared as PNG"),
        (media.photo(40, 40), "text/plain", "a JPEG declared as text"),
        (media.EXE, "application/pdf", "a program declared as PDF"),
        (media.EXE, "application/octet-stream", "a program"),
        (media.ZIP, "application/octet-stream", "a zip archive"),
        (media.ZIP, "application/zip", "a zip declared as such"),
        (media.SVG, "image/svg+xml", "SVG"),
        (media.SVG, "text/plain", "SVG declared as text"),
        (media.SVG, "application/octet-stream", "SVG undeclared"),
        (b"\x00\x01\x02binary", "text/plain", "binary declared as text"),
        (b"caf\xe9 latin-1", "text/plain", "text that is not UTF-8"),
        (media.truncated(media.photo(300, 300, fmt="PNG")), "image/png", "a truncated PNG"),
        (media.truncated(media.photo(300, 300, noise=True)), "image/jpeg", "a truncated JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "image/png", "a PNG header and nothing"),
        (b"", "text/plain", "an empty file"),
        (b"hello", "text/html", "HTML"),
        (b"hello", "application/javascript", "a script"),
    ],
)
async def test_files_that_are_not_what_they_say_or_not_allowed(
    make_client: ClientFactory, stored: Stored, body: bytes, content_type: str, why: str
) -> None:
    alice = await make_client("alice")
    error = await refused(alice.upload(body, "file", content_type))
    assert (error.status, error.code) == (400, "bad_request"), why
    assert stored.of(uid(alice)) == [], why


async def test_decompression_bombs_and_huge_dimensions(
    make_client: ClientFactory, stored: Stored
) -> None:
    alice = await make_client("alice")
    bomb = media.png_bomb()
    assert len(bomb) < MAX_BYTES
    error = await refused(alice.upload(bomb, "bomb.png", "image/png"))
    assert (error.code, error.message) == ("bad_request", "the image has too many pixels")
    error = await refused(alice.upload(media.wide_png(), "wide.png", "image/png"))
    assert error.code == "bad_request" and "pixels wide" in error.message
    assert stored.of(uid(alice)) == []


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "a/b.txt",
        "a\\b.txt",
        "..",
        "nul\x00.txt",
        "line\nbreak.txt",
        "tab\there.txt",
        "invoice\u202egnp.exe",
        "x" * 256,
        "",
        "   ",
    ],
)
async def test_bad_file_names(make_client: ClientFactory, name: str) -> None:
    alice = await make_client("alice")
    error = await refused(alice.upload(b"hello", name, "text/plain"))
    assert (error.status, error.code) == (400, "bad_request")


async def test_a_missing_name_and_no_token(
    make_client: ClientFactory, server: ServerProcess
) -> None:
    import httpx

    alice = await make_client("alice")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(
            "/api/uploads",
            content=b"hi",
            headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "text/plain"},
        )
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_request"
        answer = await http.post("/api/uploads?name=a.txt", content=b"hi")
        assert answer.status_code == 401


async def test_the_size_limit_is_inclusive(make_client: ClientFactory, stored: Stored) -> None:
    alice = await make_client("alice")
    exact = await alice.upload(b"a" * MAX_BYTES, "exact.txt", "text/plain")
    assert exact["size"] == MAX_BYTES
    error = await refused(alice.upload(b"a" * (MAX_BYTES + 1), "over.txt", "text/plain"))
    assert (error.status, error.code) == (413, "too_large")
    assert len(stored.of(uid(alice))) == 1


def raw_upload(server: ServerProcess, head: dict[str, str], body: Iterator[bytes]) -> bytes:
    """Send a request's head then its body piece by piece, and return the first bytes of
    the answer as soon as there are any (the server answers before the body is done)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        lines = ["POST /api/uploads?name=big.txt HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in head.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.setblocking(False)
        answer = b""
        for piece in body:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.sendall(piece)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer or len(answer) < _answer_length(answer):
            more = sock.recv(65536)
            if not more:
                break
            answer += more
        return answer


def _answer_length(answer: bytes) -> int:
    """The length of a whole answer (head and body), once its head is in."""
    head, _, _ = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(head) + 4


def chunked(pieces: int, size: int = 16_384) -> Iterator[bytes]:
    for _ in range(pieces):
        yield f"{size:x}\r\n".encode() + b"a" * size + b"\r\n"
    yield b"0\r\n\r\n"


async def test_a_body_over_the_limit_is_not_read_to_its_end(
    make_client: ClientFactory, server: ServerProcess, stored: Stored
) -> None:
    alice = await make_client("alice")
    head = {"Authorization": f"Bearer {alice.token}", "Content-Type": "text/plain"}
    # Declared too large: refused before any of the body is read.
    declared = {**head, "Content-Length": str(50 * MAX_BYTES)}
    answer = await asyncio.to_thread(raw_upload, server, declared, iter([b"a" * 65536] * 10))
    assert answer.startswith(b"HTTP/1.1 413")
    # Streamed with no length: refused at the first chunk past the limit, 50 times over.
    streamed = {**head, "Transfer-Encoding": "chunked"}
    answer = await asyncio.to_thread(
        raw_upload, server, streamed, chunked(50 * MAX_BYTES // 16_384)
    )
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"too_large" in answer
    assert stored.of(uid(alice)) == []


async def test_the_quota_counts_kept_files_and_stops_an_upload_midway(
    make_client: ClientFactory, server: ServerProcess, stored: Stored, slug: Slug
) -> None:
    alice = await make_client("alice")
    kept = [await alice.upload(b"q" * 250_000, f"part{i}.txt", "text/plain") for i in range(3)]
    # 750,000 of 1,000,000 used: 300,000 more passes no limit but the quota.
    error = await refused(alice.upload(b"q" * 300_000, "more.txt", "text/plain"))
    assert (error.status, error.code) == (409, "limit_reached")
    head = {
        "Authorization": f"Bearer {alice.token}",
        "Content-Type": "text/plain",
        "Transfer-Encoding": "chunked",
    }
    answer = await asyncio.to_thread(raw_upload, server, head, chunked(18))
    assert answer.startswith(b"HTTP/1.1 409") and b"limit_reached" in answer
    assert len(stored.of(uid(alice))) == 3
    # A smaller file still fits; dropping one frees its bytes.
    await alice.upload(b"q" * 200_000, "small.txt", "text/plain")
    await refused(alice.upload(b"q" * 100_000, "more.txt", "text/plain"))
    await alice.delete_upload(kept[0]["id"])
    await alice.upload(b"q" * 100_000, "more.txt", "text/plain")
    # A deleted message's files free theirs too.
    room = await private_room(alice, slug)
    message = await alice.post_message(room, "", attachments=[kept[1]["id"]])
    # 800,000 used: 250,000 more would pass the quota.
    await refused(alice.upload(b"q" * 250_000, "more.txt", "text/plain"))
    await alice.delete_message(message["id"])
    await alice.upload(b"q" * 250_000, "more.txt", "text/plain")


# -- attaching --------------------------------------------------------------------------


async def test_attachments_over_http_and_the_websocket(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob", connect=True)
    room = await private_room(alice, slug, bob)
    a = await alice.upload(media.photo(300, 200), "a.jpg", "image/jpeg")
    b = await alice.upload(media.photo(200, 300), "b.jpg", "image/jpeg")
    sent = await alice.send(room, "A or B?", attachments=[a["id"], b["id"]])
    assert [f["id"] for f in sent["attachments"]] == [a["id"], b["id"]]
    assert sent["attachments"][0] == a
    event = await bob.next_event("message.created", room=room)
    assert [f["name"] for f in event["message"]["attachments"]] == ["a.jpg", "b.jpg"]
    for upload in (a, b):
        data, _ = await bob.download(upload["url"])
        assert Image.open(io.BytesIO(data)).size in ((300, 200), (200, 300))
        await bob.download(upload["thumbnail_url"])

    pdf = await alice.upload(media.PDF, "contract.pdf", "application/pdf")
    only_files = await alice.post_message(room, "", attachments=[pdf["id"]])
    assert only_files["body"] == "" and only_files["attachments"][0]["name"] == "contract.pdf"
    history = await bob.history(room)
    assert [len(m["attachments"]) for m in history] == [2, 1]
    plain = await alice.post_message(room, "no files")
    assert plain["attachments"] == []


async def test_what_may_not_be_attached(make_client: ClientFactory, slug: Slug) -> None:
    alice = await make_client("alice", connect=True)
    bob = await make_client("bob")
    room = await private_room(alice, slug, bob)
    mine = await alice.upload(b"mine", "mine.txt", "text/plain")
    theirs = await bob.upload(b"theirs", "theirs.txt", "text/plain")

    error = await refused(alice.post_message(room, "x", attachments=[theirs["id"]]))
    assert (error.status, error.code) == (404, "not_found")
    error = await refused(alice.post_message(room, "x", attachments=[987_654_321]))
    assert error.code == "not_found"
    error = await refused(alice.post_message(room, "x", attachments=[mine["id"], mine["id"]]))
    assert error.code == "bad_request"
    error = await refused(alice.post_message(room, "x", attachments=list(range(1, 12))))
    assert error.code == "bad_request"
    error = await refused(alice.post_message(room, "x", attachments=["1"]))  # type: ignore[list-item]
    assert error.code == "bad_request"
    error = await refused(alice.post_message(room, "   "))
    assert error.code == "bad_request"  # no files: the body is still required
    # Nothing was attached by the refusals: it still goes, once.
    await alice.send(room, "", attachments=[mine["id"]])
    error = await refused(alice.send(room, "again", attachments=[mine["id"]]))
    assert error.code == "conflict"
    error = await refused(alice.delete_upload(mine["id"]))
    assert error.code == "not_found"  # an attached upload goes with its message only


async def test_ten_attachments_at_most(make_client: ClientFactory, slug: Slug) -> None:
    alice = await make_client("alice")
    room = await private_room(alice, slug)
    ids = [(await alice.upload(b"f%d" % i, f"f{i}.txt", "text/plain"))["id"] for i in range(11)]
    error = await refused(alice.post_message(room, "too many", attachments=ids))
    assert error.code == "bad_request"
    message = await alice.post_message(room, "ten", attachments=ids[:10])
    assert [f["id"] for f in message["attachments"]] == ids[:10]


async def test_a_racing_pair_of_sends_attaches_an_upload_once(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    room = await private_room(alice, slug)
    upload = await alice.upload(b"once", "once.txt", "text/plain")
    results = await asyncio.gather(
        *(alice.post_message(room, f"try {i}", attachments=[upload["id"]]) for i in range(4)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, ApiError)]
    assert len(won) == 1 and len(lost) == 3
    assert {e.code for e in lost} == {"conflict"}


# -- who may download -------------------------------------------------------------------


async def test_before_it_is_sent_only_the_uploader_reads_it(make_client: ClientFactory) -> None:
    alice, bob = await make_client("alice"), await make_client("bob")
    upload = await alice.upload(media.photo(64, 64), "draft.jpg", "image/jpeg")
    for url in (upload["url"], upload["thumbnail_url"]):
        error = await refused(bob.download(url))
        assert (error.status, error.code) == (404, "not_found")
    error = await refused(bob.delete_upload(upload["id"]))
    assert error.code == "not_found"
    await alice.download(upload["url"])


async def test_a_private_rooms_files_follow_its_membership(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice, bob, eve = await make_client("alice"), await make_client("bob"), await make_client("eve")
    room = await private_room(alice, slug, bob)
    upload = await alice.upload(media.photo(64, 64), "team.jpg", "image/jpeg")
    await alice.post_message(room, "team photo", attachments=[upload["id"]])
    await bob.download(upload["url"])
    for url in (upload["url"], upload["thumbnail_url"]):
        assert (await refused(eve.download(url))).code == "not_found"
    await alice.remove_member(room, uid(bob))
    for url in (upload["url"], upload["thumbnail_url"]):
        assert (await refused(bob.download(url))).code == "not_found"


async def test_a_public_rooms_files_are_read_as_its_history_is(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice, carol = await make_client("alice"), await make_client("carol")
    room = await alice.create_room(slug("pub"), "Public", "topic")
    upload = await alice.upload(b"for everyone", "open.txt", "text/plain")
    await alice.post_message(room["id"], "", attachments=[upload["id"]])
    data, _ = await carol.download(upload["url"])  # not a member: public history is open
    assert data == b"for everyone"


async def test_a_deleted_messages_files_are_gone(
    make_client: ClientFactory, slug: Slug, stored: Stored
) -> None:
    alice, bob = await make_client("alice"), await make_client("bob")
    room = await private_room(alice, slug, bob)
    upload = await alice.upload(media.photo(64, 64), "oops.jpg", "image/jpeg")
    message = await alice.post_message(room, "oops", attachments=[upload["id"]])
    assert len(stored.of(uid(alice))) == 2
    await alice.delete_message(message["id"])
    for client in (alice, bob):
        for url in (upload["url"], upload["thumbnail_url"]):
            assert (await refused(client.download(url))).code == "not_found"
    tombstone = (await bob.history(room))[-1]
    assert tombstone["deleted"] and tombstone["attachments"] == []
    await until(lambda: stored.of(uid(alice)) == [])


async def test_bad_upload_ids_in_paths(make_client: ClientFactory, server: ServerProcess) -> None:
    import httpx

    alice = await make_client("alice")
    auth = {"Authorization": f"Bearer {alice.token}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for raw in ("abc", "-1", "0", "١٢", str(2**63), "1.5"):
            answer = await http.get(f"/api/uploads/{raw}/file", headers=auth)
            assert answer.status_code == 400, raw
            assert answer.json()["error"]["code"] == "bad_request"
        answer = await http.get("/api/uploads/99999999/file", headers=auth)
        assert answer.status_code == 404


# -- collection of unattached uploads ---------------------------------------------------


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("uploads-gc")
    env = {"CHAT_UPLOAD_UNATTACHED_TTL": "2", "CHAT_UPLOAD_SWEEP_SECONDS": "0.3"}
    with ServerProcess(workdir, env=env) as process:
        take_first_account(process)
        yield process


@pytest.fixture
async def gc_client(short_lived: ServerProcess) -> AsyncIterator[Callable[[str], Any]]:
    clients: list[ChatClient] = []

    async def make(name: str) -> ChatClient:
        import uuid

        client = ChatClient(short_lived.base_url)
        clients.append(client)
        await client.register(f"{name}{uuid.uuid4().hex[:8]}", "correct horse battery")
        return client

    yield make
    for client in clients:
        await client.close()


async def test_unattached_uploads_are_collected_attached_ones_kept(
    gc_client: Callable[[str], Any], short_lived: ServerProcess, slug: Slug
) -> None:
    alice: ChatClient = await gc_client("alice")
    files = Stored(root=short_lived.workdir / "chat.db-files")
    room = await alice.create_room(slug("gc"), "GC", "topic", visibility="private")
    kept = await alice.upload(media.photo(64, 64), "kept.jpg", "image/jpeg")
    await alice.post_message(room["id"], "", attachments=[kept["id"]])
    dropped = await alice.upload(media.photo(64, 64), "dropped.jpg", "image/jpeg")
    assert len(files.of(uid(alice))) == 4
    await until(lambda: len(files.of(uid(alice))) == 2)
    assert (await refused(alice.download(dropped["url"]))).code == "not_found"
    error = await refused(alice.post_message(room["id"], "", attachments=[dropped["id"]]))
    assert error.code == "not_found"
    await alice.download(kept["url"])
    await alice.download(kept["thumbnail_url"])
