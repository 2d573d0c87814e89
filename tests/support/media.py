"""Files for upload tests, made here: photos with EXIF and GPS, damaged and hostile images."""

from __future__ import annotations

import functools
import io
import struct
import zlib

from PIL import Image

SECRET = "Hidden Valley Road 42"
"""Text hidden in metadata: it must never come back from the server."""


def exif_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = SECRET  # Software
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    return exif.tobytes()


def photo(
    width: int = 640,
    height: int = 480,
    fmt: str = "JPEG",
    orientation: int = 1,
    noise: bool = False,
    quality: int = 90,
) -> bytes:
    """A picture carrying EXIF with a GPS position and an XMP packet and a comment."""
    if noise:
        image = Image.effect_noise((width, height), 40).convert("RGB")
    else:
        image = Image.new("RGB", (width, height), (30, 120, 200))
        image.paste((250, 200, 0), (0, 0, width // 2, height // 3))
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif_with_gps(orientation)}
    if fmt == "JPEG":
        options.update(quality=quality, comment=SECRET.encode(), xmp=f"<x>{SECRET}</x>".encode())
    if fmt == "WEBP":
        options.update(xmp=f"<x>{SECRET}</x>".encode())
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Author", SECRET)
    meta.add_itxt("Comment", SECRET, zip=True)
    out = io.BytesIO()
    Image.new("RGBA", (120, 80), (0, 200, 0, 128)).save(
        out, format="PNG", pnginfo=meta, exif=exif_with_gps()
    )
    return out.getvalue()


def animated_gif(frames: int = 4) -> bytes:
    images = [Image.new("RGB", (40, 30), (i * 60 % 256, 0, 0)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=80,
        loop=0,
        comment=SECRET.encode(),
    )
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png_bomb(side: int = 20_000) -> bytes:
    """A valid PNG of side × side one-bit pixels, all zero: a small file that decodes to
    side² pixels (400 million: 1.2 GB as RGB)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(1)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def wide_png(width: int = 30_000, height: int = 1) -> bytes:
    """A small file whose one side is past the limit."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG")
    return out.getvalue()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZIP = b"PK\x03\x04" + b"\x14\x00" + b"\x00" * 24 + b"payload"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
