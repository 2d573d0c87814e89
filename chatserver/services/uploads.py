"""Uploads (PROTOCOL-COMMUNITY section 6): receiving a file, checking it by its content,
storing it, attaching it to a message, serving it to those who may read that message,
and sweeping the files nobody may read any more.

Receiving: the body is read in chunks and reading stops at the first byte past
`max_bytes` (`too_large`) or past what the owner's quota leaves (`limit_reached`), so
nothing is stored and nothing of the rest is read. The type is the one the bytes have
(magic numbers, Pillow for images, strict UTF-8 for text); a declared type that says
otherwise, SVG, or a type not allowed is `bad_request`. Images are stored re-encoded
without their metadata, with a thumbnail made here (`services/images.py`, off the loop).

Storing: the row goes in first as `pending`, the files are written, then the row turns
`ready`; a file is served and attachable only when ready. A write that fails deletes
what it wrote and gives the row up; a node that dies meanwhile leaves a pending row that
the sweep collects. So the store never holds a file without a row leading to it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass

from chatserver.domain.errors import BadRequest, LimitReached, NotFound, TooLarge
from chatserver.domain.models import Upload, User, now_ms
from chatserver.files.base import FileStore
from chatserver.services.images import IMAGE_TYPES, BadImage, ImageProcessor
from chatserver.services.messages import message_in_view
from chatserver.store import uploads as store
from chatserver.store.engine import Database

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 255
SWEEP_BATCH = 200
TEXT_TYPE = "text/plain"
PDF_TYPE = "application/pdf"
UNKNOWN_TYPE = "application/octet-stream"
"""A declared type that asks the server to tell the type from the content."""
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_SVG_TYPES = frozenset({"image/svg+xml", "image/svg", "image/svg-xml"})
_DISGUISING = frozenset(
    {
        "\u061c",
        "\u200e",
        "\u200f",
        *(chr(c) for c in range(0x202A, 0x202F)),
        *(chr(c) for c in range(0x2066, 0x206A)),
    }
)
"""Bidirectional controls: `invoice\u202egnp.exe` shows as `invoiceexe.png`."""


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    max_bytes: int = 10 * 1024 * 1024
    """The largest upload, inclusive."""
    quota_bytes: int = 1024 * 1024 * 1024
    """Bytes of files one user may keep."""
    types: frozenset[str] = frozenset({*IMAGE_TYPES, PDF_TYPE, TEXT_TYPE})
    unattached_ms: int = 86_400_000
    """How long an upload no message uses is kept."""
    pending_ms: int = 3_600_000
    """A row still pending after this was left by a node that died writing its files."""
    lease_ms: int = 600_000
    """How long a sweep's claim on a gone row holds before another node may take it."""


@dataclass(frozen=True, slots=True)
class Served:
    """What to send for a file: where it is, its type and length, and its name."""

    key: str
    content_type: str
    size: int | None
    name: str
    inline: bool
    etag: str


def clean_name(raw: str | None) -> str:
    """The file's name as shown to others: NFC, trimmed, 1–255 characters; names with a
    path separator, a control character or a bidirectional override are refused."""
    if raw is None:
        raise BadRequest("name the file: ?name=")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise BadRequest("name the file: ?name=")
    if len(name) > MAX_NAME_CHARS:
        raise BadRequest(f"a file name is at most {MAX_NAME_CHARS} characters")
    if "/" in name or "\\" in name:
        raise BadRequest("a file name has no path separator (/ or \\)")
    if name in (".", ".."):
        raise BadRequest("that is not a file name")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn") or char in _DISGUISING:
            raise BadRequest("a file name has no control or direction characters")
    return name


def declared_type(header: str | None) -> str:
    """The Content-Type's media type, lower-cased, aliases resolved."""
    media = (header or "").partition(";")[0].strip().lower()
    return _ALIASES.get(media, media) or UNKNOWN_TYPE


def sniff(data: bytes) -> str | None:
    """The type the bytes have, among the allowed ones and SVG; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return PDF_TYPE
    if _looks_like_svg(data):
        return "image/svg+xml"
    if _is_text(data):
        return TEXT_TYPE
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return (
        head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in data[:65536].lower()
    )


_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
"""C0 controls but tab, line feed, carriage return, form feed and escape; and DEL."""


def _is_text(data: bytes) -> bool:
    """Plain text: strict UTF-8 with no NUL and no other C0 control but tab, newlines,
    form feed and escape."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(data) is None


class UploadService:
    def __init__(
        self, db: Database, files: FileStore, images: ImageProcessor, policy: UploadPolicy
    ) -> None:
        self._db = db
        self._files = files
        self._images = images
        self.policy = policy

    async def receive(
        self,
        user: User,
        raw_name: str | None,
        content_type: str | None,
        declared_length: int | None,
        body: AsyncIterator[bytes],
    ) -> Upload:
        """Read, check and store one upload (see the module's docstring)."""
        policy = self.policy
        name = clean_name(raw_name)
        declared = declared_type(content_type)
        if declared in _SVG_TYPES:
            raise BadRequest("SVG files are not accepted: they can carry scripts")
        if declared != UNKNOWN_TYPE and declared not in policy.types:
            raise BadRequest(f"{declared} files are not accepted here")
        async with self._db.read() as conn:
            room_left = policy.quota_bytes - await store.used_bytes(conn, user.id)
        if declared_length is not None and declared_length > policy.max_bytes:
            raise TooLarge(f"a file is at most {policy.max_bytes} bytes")
        if room_left <= 0 or (declared_length is not None and declared_length > room_left):
            raise self._quota_full()
        data = await self._read(body, room_left)
        # 10 MiB of text takes milliseconds to check: off the event loop.
        kind = await asyncio.to_thread(sniff, data)
        if kind == "image/svg+xml":
            raise BadRequest("SVG files are not accepted: they can carry scripts")
        if kind is None or kind not in policy.types:
            raise BadRequest("this kind of file is not accepted here")
        if declared not in (UNKNOWN_TYPE, kind):
            raise BadRequest(f"the file is {kind}, not the {declared} its Content-Type says")
        token = secrets.token_urlsafe(18)
        draft = Upload(
            id=0,
            owner_id=user.id,
            name=name,
            content_type=kind,
            size=len(data),
            width=None,
            height=None,
            file_key=f"uploads/{user.id}/{token}",
            thumbnail_key=None,
            created_at_ms=now_ms(),
        )
        thumbnail: bytes | None = None
        if kind in IMAGE_TYPES:
            try:
                clean = await self._images.process(data)
            except BadImage:
                raise
            except MemoryError:
                raise BadImage("the image is too large to decode") from None
            data, thumbnail = clean.data, clean.thumbnail
            draft = Upload(
                id=0,
                owner_id=user.id,
                name=name,
                content_type=clean.content_type,
                size=len(data),
                width=clean.width,
                height=clean.height,
                file_key=draft.file_key,
                thumbnail_key=f"uploads/{user.id}/{token}.thumb" if thumbnail else None,
                created_at_ms=draft.created_at_ms,
            )
        return await self._store(draft, data, thumbnail)

    def _quota_full(self) -> LimitReached:
        return LimitReached(
            f"your files take all of your {self.policy.quota_bytes} bytes: "
            "delete messages with files, or wait for unused uploads to expire"
        )

    async def _read(self, body: AsyncIterator[bytes], room_left: int) -> bytes:
        """The body, refused at the first byte past the size limit or the quota."""
        limit = self.policy.max_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in body:
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"a file is at most {limit} bytes")
            if size > room_left:
                raise self._quota_full()
            chunks.append(chunk)
        if size == 0:
            raise BadRequest("the file is empty")
        return b"".join(chunks)

    async def _store(self, draft: Upload, data: bytes, thumbnail: bytes | None) -> Upload:
        async with self._db.write() as conn:
            await store.lock_owner(conn, draft.owner_id)
            if await store.used_bytes(conn, draft.owner_id) + draft.size > self.policy.quota_bytes:
                raise self._quota_full()
            upload = await store.insert_pending(conn, draft)
        try:
            await self._files.put(upload.file_key, data, upload.content_type)
            if thumbnail is not None and upload.thumbnail_key is not None:
                await self._files.put(upload.thumbnail_key, thumbnail, "image/webp")
            async with self._db.write() as conn:
                if not await store.mark_ready(conn, upload.id):
                    raise NotFound("the upload was given up")
        except BaseException:
            await asyncio.shield(self._give_up(upload))
            raise
        return upload

    async def _give_up(self, upload: Upload) -> None:
        """Delete what a failed store wrote, and the row; the sweep retries what fails."""
        try:
            await self._files.delete(upload.file_key)
            if upload.thumbnail_key is not None:
                await self._files.delete(upload.thumbnail_key)
            async with self._db.write() as conn:
                await store.give_up(conn, upload.id, now_ms())
                await store.remove(conn, upload.id)
        except Exception as exc:
            log.warning("upload %d not cleaned up (the sweep will): %s", upload.id, exc)

    async def serve(self, user: User, upload_id: int, thumbnail: bool) -> Served:
        """Where a file is, for a caller who may read it: the uploader before it is sent,
        then whoever may read its message (the history's rule). NotFound otherwise, the
        same as for an id never used."""
        async with self._db.read() as conn:
            upload = await store.get_ready(conn, upload_id)
            if upload is None:
                raise NotFound("no such file")
            if upload.message_id is None:
                if upload.owner_id != user.id:
                    raise NotFound("no such file")
            else:
                try:
                    await message_in_view(conn, user, upload.message_id)
                except NotFound:
                    raise NotFound("no such file") from None
        if thumbnail:
            if upload.thumbnail_key is None:
                raise NotFound("this file has no thumbnail")
            return Served(
                upload.thumbnail_key,
                "image/webp",
                None,
                f"{upload.name}.webp",
                True,
                upload.thumbnail_key.rsplit("/", 1)[-1],
            )
        return Served(
            upload.file_key,
            upload.content_type,
            upload.size,
            upload.name,
            upload.is_image,
            upload.file_key.rsplit("/", 1)[-1],
        )

    async def discard(self, user: User, upload_id: int) -> None:
        """The uploader drops an upload no message uses: its bytes leave their quota now."""
        async with self._db.write() as conn:
            upload = await store.unattached_of(conn, user.id, upload_id)
            if upload is None or not await store.discard(conn, upload_id, now_ms()):
                raise NotFound("no unattached upload of yours with this id")
        await self._delete_files(upload)
        async with self._db.write() as conn:
            await store.remove(conn, upload_id)

    async def used(self, user: User) -> int:
        async with self._db.read() as conn:
            return await store.used_bytes(conn, user.id)

    async def sweep(self) -> int:
        """Delete the files of unattached uploads past their time, of deleted messages and
        of writes a dead node left; each row is claimed by one node. Returns how many."""
        now = now_ms()
        bounds = {
            "unattached_before": now - self.policy.unattached_ms,
            "pending_before": now - self.policy.pending_ms,
            "lease_before": now - self.policy.lease_ms,
        }
        async with self._db.read() as conn:
            due = await store.sweepable(conn, now, limit=SWEEP_BATCH, **bounds)
        removed = 0
        for upload_id in due:
            async with self._db.write() as conn:
                claimed = await store.claim(conn, upload_id, now, **bounds)
            if claimed is None:
                continue  # another node has it, or it was attached meanwhile
            await self._delete_files(claimed)
            async with self._db.write() as conn:
                await store.remove(conn, upload_id)
            removed += 1
        return removed

    async def _delete_files(self, upload: Upload) -> None:
        await self._files.delete(upload.file_key)
        if upload.thumbnail_key is not None:
            await self._files.delete(upload.thumbnail_key)


async def sweep_periodically(uploads: UploadService, every: float) -> None:
    """The upload sweep, every `every` seconds, on every node."""
    while True:
        await asyncio.sleep(every)
        try:
            removed = await uploads.sweep()
        except Exception as exc:  # the database or the store may be restarting
            log.warning("upload sweep failed: %s", exc)
            continue
        if removed:
            log.info("upload sweep: %d files removed", removed)
