"""Real files for the attachment tests: images of several formats made with Pillow, with EXIF
metadata (camera, GPS) that a thumbnail must not keep, and an upload helper."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

CAMERA = "ChatsiteTestCam 3000"
FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), exif: bool = True) -> bytes:
    """An image in ``fmt`` with a gradient, and (where the format keeps it) EXIF naming a
    camera and a GPS position."""
    image = Image.new("RGB", size)
    image.putdata([(x * 4 % 256, y * 5 % 256, 128) for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if exif and fmt in ("PNG", "JPEG", "WEBP"):
        data = Image.Exif()
        data[0x0110] = CAMERA  # Model
        data[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPSInfo: latitude
        options["exif"] = data.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A small PNG that decodes to side x side pixels (a decompression bomb), written without
    Pillow's checks: one palette colour, every row compressed to almost nothing."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def upload(client: Any, name: str, data: bytes, **extra: Any) -> Any:
    """POST /api/chat/uploads/ with the file as the multipart field ``file``."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/api/chat/uploads/",
        {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")},
        format="multipart",
        **extra,
    )
