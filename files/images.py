"""Thumbnails of uploaded images, made with Pillow from the pixels alone: no EXIF (camera,
GPS position), no ICC profile, no comments survive into them (docs/api.md, "Attachments")."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from chat.exceptions import ValidationError

# The longest side of a thumbnail, in pixels (shown at up to half of it, for sharp screens).
THUMBNAIL_SIDE = 720
THUMBNAIL_CONTENT_TYPE = "image/webp"


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    width: int  # of the original image
    height: int


def _refuse(problem: str, code: str) -> ValidationError:
    return ValidationError(problem, code=code, fields={"file": [problem]})


def thumbnail(file: IO[bytes]) -> Thumbnail:
    """A WebP thumbnail of the image in ``file``. An image of more than
    CHAT_UPLOAD_MAX_PIXELS pixels is refused before its pixels are decoded (a decompression
    bomb: a small file that unpacks to gigabytes); one Pillow cannot read is refused too."""
    max_pixels = settings.CHAT_UPLOAD_MAX_PIXELS
    # Pillow's own guard, as a second line: past it, opening raises instead of warning.
    Image.MAX_IMAGE_PIXELS = max_pixels
    file.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise _refuse(
                        f"The image is {width}x{height} pixels; at most {max_pixels} pixels "
                        "are accepted.",
                        "image_too_large",
                    )
                image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                upright = ImageOps.exif_transpose(image)
                mode = "RGBA" if upright.mode in ("RGBA", "LA", "P", "PA") else "RGB"
                small = upright.convert(mode)
                small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            f"The image unpacks to more than {max_pixels} pixels.", "image_too_large"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _refuse(f"The image could not be read ({error}).", "bad_image") from None
    # A new image from the pixels alone: nothing of the original's metadata comes along.
    clean = Image.frombytes(small.mode, small.size, small.tobytes())
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=80, method=4)
    file.seek(0)
    return Thumbnail(out.getvalue(), width, height)
