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
    "MPO": "image/jpeg",
}
"""Pillow's format names → the content types served for them (MPO: a JPEG that carries
more pictures after its first, as phone cameras write; only the first is kept)."""
IMAGE_TYPES = frozenset(FORMATS.values())
_PLUGINS = ["PNG", "JPEG", "GIF", "WEBP"]
"""The only decoders ever tried (the JPEG one opens MPO files too)."""
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
            return Image.open(io.BytesIO(data), formats=_PLUGINS)
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
    if image.format not in FORMATS:
        raise BadImage("the file is not a PNG, JPEG, GIF or WebP image")
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
        if image.format in ("JPEG", "MPO"):
            return _process_jpeg(data, image, info, limits, thumbnail)
        if image.format == "PNG":
            return _process_png(data, image, info, limits, thumbnail)
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


_JPEG_KEPT = frozenset(
    {
        0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF,  # SOFn
        0xC4,  # DHT
        0xCC,  # DAC
        0xDB,  # DQT
        0xDC,  # DNL
        0xDD,  # DRI
    }
)  # fmt: skip
"""Segments a JPEG's pixels need; every other one (APP0-APP15 but the ICC profile and
Adobe's colour transform, COM) is metadata or an embedded picture, and goes."""


def _jpeg_without_metadata(data: bytes) -> bytes:
    """The JPEG's own compressed pixels, losslessly, with only the segments decoding needs:
    no EXIF or XMP (APP1), IPTC (APP13), comments, JFIF or EXIF thumbnails, MPF pictures
    (APP2), and nothing after the end of the image (a polyglot's other half)."""
    out = [b"\xff\xd8"]
    i, end = 2, len(data)
    while i < end:
        if data[i] != 0xFF:
            raise BadImage("the image is damaged or truncated")
        while i < end and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= end:
            break
        marker = data[i]
        i += 1
        if marker == 0xD9:  # end of image
            out.append(b"\xff\xd9")
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(bytes((0xFF, marker)))
            continue
        if i + 2 > end:
            break
        length = int.from_bytes(data[i : i + 2], "big")
        segment_end = i + length
        if length < 2 or segment_end > end:
            break
        if marker == 0xDA:  # start of scan: the header, then entropy-coded data
            scan = segment_end
            while True:
                scan = data.find(b"\xff", scan)
                if scan < 0 or scan + 1 >= end:
                    raise BadImage("the image is damaged or truncated")
                follower = data[scan + 1]
                if follower == 0x00 or 0xD0 <= follower <= 0xD7 or follower == 0xFF:
                    scan += 2 if follower != 0xFF else 1
                    continue
                break
            out.append(data[i - 2 : scan])
            i = scan
            continue
        body = data[i + 2 : segment_end]
        keep = marker in _JPEG_KEPT or (
            (marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"))
            or (marker == 0xEE and body.startswith(b"Adobe"))
        )
        if keep:
            out.append(data[i - 2 : segment_end])
        i = segment_end
    raise BadImage("the image is damaged or truncated")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _process_jpeg(
    data: bytes, image: Image.Image, info: ImageInfo, limits: ImageLimits, thumbnail: bool
) -> CleanImage:
    """A JPEG keeps its own compressed pixels (no loss, no re-encoding): its metadata
    segments are cut out. Its orientation, if any, is the one EXIF entry written back, so
    viewers still stand it up. Every scan is decoded (at a reduced scale, which still reads
    all of the entropy-coded data) to refuse a truncated or damaged file, and to make the
    thumbnail."""
    orientation = _orientation(image)
    side = limits.thumbnail_side
    image.draft("RGB", (side, side))
    first = _upright_as(_decoded(image)[0], orientation)
    stripped = _jpeg_without_metadata(data)
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        payload = exif.tobytes()
        segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
        stripped = stripped[:2] + segment + stripped[2:]
    with _open(stripped) as check:  # what is stored must still be this very picture
        if check.size != (info.width, info.height):
            raise BadImage("the image is damaged or truncated")
    turned = orientation in (5, 6, 7, 8)
    width, height = (info.height, info.width) if turned else (info.width, info.height)
    return CleanImage(
        data=stripped,
        content_type="image/jpeg",
        width=width,
        height=height,
        thumbnail=_thumbnail(first, side) if thumbnail else None,
    )


_PNG_KEPT = frozenset(
    {
        *(b"IHDR", b"PLTE", b"IDAT", b"IEND"),  # the picture
        *(b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs"),  # its look
        *(b"acTL", b"fcTL", b"fdAT"),  # an animation's frames (APNG)
    }
)
"""Chunks drawing the picture needs; the rest (tEXt, zTXt, iTXt, eXIf, tIME, and any
private chunk) is metadata, and goes."""


def _png_without_metadata(data: bytes) -> bytes:
    """The PNG's own chunks that draw it, losslessly; nothing after IEND."""
    out = [data[:8]]
    i, end = 8, len(data)
    while i + 12 <= end:
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        chunk_end = i + 12 + length
        if chunk_end > end:
            break
        if kind in _PNG_KEPT:
            out.append(data[i:chunk_end])
        i = chunk_end
        if kind == b"IEND":
            return b"".join(out)
    raise BadImage("the image is damaged or truncated")


def _process_png(
    data: bytes, image: Image.Image, info: ImageInfo, limits: ImageLimits, thumbnail: bool
) -> CleanImage:
    """A PNG keeps its own compressed pixels (no re-encoding: a 10 MiB picture would take
    seconds to compress again): its metadata chunks are cut out. Every frame is decoded
    to refuse a truncated or damaged file, and the first makes the thumbnail. An EXIF
    orientation in a PNG (rare) goes with the rest of its EXIF."""
    first = _decoded(image)[0]
    stripped = _png_without_metadata(data)
    with _open(stripped) as check:
        if check.size != (info.width, info.height):
            raise BadImage("the image is damaged or truncated")
    return CleanImage(
        data=stripped,
        content_type="image/png",
        width=info.width,
        height=info.height,
        thumbnail=_thumbnail(first, limits.thumbnail_side) if thumbnail else None,
    )


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright_as(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


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
