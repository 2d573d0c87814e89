"""Images, checked by their content and made safe to serve: for uploads and avatars.

Pillow decodes the four accepted formats only (PNG, JPEG, GIF, WebP: no plugin for
TIFF, PSD, EPS or SVG is ever tried), refuses what it cannot decode whole (a truncated
file), and refuses dimensions past `ImageLimits` from the header, before a pixel is
decoded (a decompression bomb: a small PNG of 50,000 × 50,000 pixels). What is kept is
the picture re-encoded without its metadata: EXIF (GPS position, camera, owner), XMP,
comments and text chunks are gone; the EXIF orientation is applied to the pixels first,
so the picture still stands the right way up. The ICC colour profile stays (colours, no
person).

The work is CPU-bound and long (a 24-megapixel photo takes a few hundred
milliseconds), so `ImageProcessor` runs it on its own threads; Pillow releases the GIL
while it decodes, resizes and encodes, so the event loop keeps serving meanwhile. The
synchronous functions (`inspect`, `process`, `make_avatar`) are public for callers that
already are on a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from chatserver.domain.errors import BadRequest

T = TypeVar("T")

FORMATS: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
"""Pillow's format names → the content types served for them."""
IMAGE_TYPES = frozenset(FORMATS.values())
THUMBNAIL_TYPE = "image/webp"


class BadImage(BadRequest):
    """Not an accepted image, or one that is unsafe to decode (`bad_request`)."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int = 50_000_000
    """Width × height of one frame (a 50-megapixel photo passes)."""
    max_side: int = 20_000
    """Either dimension."""
    max_frames: int = 500
    """Frames of an animated GIF or WebP."""
    max_total_pixels: int = 200_000_000
    """Width × height × frames: what decoding the whole animation costs."""
    thumbnail_side: int = 400
    """A thumbnail fits in this square."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header says, checked against the limits (nothing decoded yet)."""

    content_type: str
    width: int
    height: int
    frames: int


@dataclass(frozen=True, slots=True)
class CleanImage:
    """An image re-encoded without metadata, and its thumbnail (None for avatars)."""

    data: bytes
    content_type: str
    width: int
    height: int
    thumbnail: bytes | None
    thumbnail_type: str = THUMBNAIL_TYPE


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("the image has too many pixels") from None
    except UnidentifiedImageError:
        raise BadImage("the file is not a PNG, JPEG, GIF or WebP image") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise BadImage("the image is damaged or truncated") from None


def _checked(image: Image.Image, limits: ImageLimits) -> ImageInfo:
    width, height = image.size
    if width < 1 or height < 1:
        raise BadImage("the image has no pixels")
    if width > limits.max_side or height > limits.max_side:
        raise BadImage(f"an image is at most {limits.max_side} pixels wide and high")
    if width * height > limits.max_pixels:
        raise BadImage(f"an image has at most {limits.max_pixels} pixels")
    try:
        frames = int(getattr(image, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, EOFError):
        raise BadImage("the image is damaged or truncated") from None
    if frames > limits.max_frames:
        raise BadImage(f"an animation has at most {limits.max_frames} frames")
    if width * height * frames > limits.max_total_pixels:
        raise BadImage("the animation is too large to decode")
    assert image.format is not None
    return ImageInfo(FORMATS[image.format], width, height, frames)


def inspect(data: bytes, limits: ImageLimits = ImageLimits()) -> ImageInfo:
    """The image's type and size from its header, or BadImage; decodes no pixel."""
    with _open(data) as image:
        return _checked(image, limits)


def _decoded(image: Image.Image) -> list[Image.Image]:
    """Every frame decoded (as independent copies), or BadImage for a damaged file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if getattr(image, "n_frames", 1) == 1:
                image.load()
                return [image]
            return [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning):
        raise BadImage("the image is damaged or truncated") from None


def _upright(image: Image.Image) -> Image.Image:
    """The pixels turned as the EXIF orientation says (before the EXIF goes)."""
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return image  # a broken EXIF block: leave the pixels as they are


def _encode(frames: list[Image.Image], fmt: str, source_info: dict[Any, Any]) -> bytes:
    """The frames in `fmt` with no metadata but what drawing them needs."""
    first = frames[0]
    options: dict[str, Any] = {}
    icc = source_info.get("icc_profile")
    if icc and fmt in ("JPEG", "PNG", "WEBP"):
        options["icc_profile"] = icc
    for frame in frames:
        # Whatever Pillow would copy from `info` on its own (exif, xmp, comment, text
        # chunks, dpi) is dropped here: only what the pixels need is passed explicitly.
        frame.info = {k: v for k, v in frame.info.items() if k in ("transparency", "duration")}
    if fmt == "JPEG":
        if first.mode not in ("L", "RGB", "CMYK"):
            first = first.convert("RGB")
        options.update(quality=90, exif=b"", comment=b"")
    elif fmt == "PNG":
        if "transparency" in source_info and "transparency" not in first.info:
            first.info["transparency"] = source_info["transparency"]
        options.update(compress_level=1, exif=b"")
        if first.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            first = first.convert("RGBA")
    elif fmt == "WEBP":
        options.update(quality=90, exif=b"", xmp=b"")
        if first.mode not in ("RGB", "RGBA"):
            first = first.convert("RGBA" if "A" in first.mode else "RGB")
    elif fmt == "GIF" and "transparency" in source_info:
        options["transparency"] = source_info["transparency"]
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=[f.info.get("duration", source_info.get("duration", 100)) for f in frames],
            loop=source_info.get("loop", 0),
        )
    out = io.BytesIO()
    first.save(out, format=fmt, **options)
    return out.getvalue()


def _thumbnail(image: Image.Image, side: int) -> bytes:
    thumb = image.convert("RGBA" if _has_alpha(image) else "RGB")
    thumb.thumbnail((side, side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    out = io.BytesIO()
    thumb.save(out, format="WEBP", quality=80, method=2)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def process(data: bytes, limits: ImageLimits = ImageLimits(), thumbnail: bool = True) -> CleanImage:
    """Check an image, strip its metadata and make its thumbnail; BadImage when refused.

    Synchronous and CPU-bound: call it through `ImageProcessor`, or from a thread.
    """
    with _open(data) as image:
        info = _checked(image, limits)
        source_info = dict(image.info)
        fmt = image.format
        assert fmt is not None
        frames = _decoded(image)
        if len(frames) == 1:
            frames = [_upright(frames[0])]
        cleaned = _encode(frames, fmt, source_info)
        first = frames[0]
        thumb = _thumbnail(first, limits.thumbnail_side) if thumbnail else None
        return CleanImage(
            data=cleaned,
            content_type=info.content_type,
            width=first.width,
            height=first.height,
            thumbnail=thumb,
        )


def make_avatar(data: bytes, side: int = 256, limits: ImageLimits = ImageLimits()) -> CleanImage:
    """A square avatar: the image's centre cropped square, resized to `side` pixels and
    encoded as WebP with no metadata (an animation keeps its first frame); BadImage when
    refused. Synchronous: call it through `ImageProcessor`, or from a thread."""
    if not 16 <= side <= 2048:
        raise ValueError("an avatar's side is 16 to 2048 pixels")
    with _open(data) as image:
        _checked(image, limits)
        first = _upright(_decoded(image)[0])
        first = first.convert("RGBA" if _has_alpha(first) else "RGB")
        square = ImageOps.fit(first, (side, side), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
        out = io.BytesIO()
        square.save(out, format="WEBP", quality=90)
        return CleanImage(out.getvalue(), "image/webp", side, side, None)


class ImageProcessor:
    """Image work off the event loop, on a few threads of its own (`threads` at once:
    more would only queue for the same cores)."""

    def __init__(self, limits: ImageLimits = ImageLimits(), threads: int = 2) -> None:
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="images")

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def inspect(self, data: bytes) -> ImageInfo:
        """Type and size from the header, checked against the limits (BadImage if not)."""
        return await self._run(lambda: inspect(data, self.limits))

    async def process(self, data: bytes, thumbnail: bool = True) -> CleanImage:
        """Validate, strip metadata (EXIF, GPS, XMP, comments) and make the thumbnail."""
        return await self._run(lambda: process(data, self.limits, thumbnail))

    async def avatar(self, data: bytes, side: int = 256) -> CleanImage:
        """Validate, crop the centre square, resize to `side`, strip metadata (WebP)."""
        return await self._run(lambda: make_avatar(data, side, self.limits))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
