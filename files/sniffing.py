"""What a file is, read from its bytes, and a name that is safe to show and offer.

The type comes from the file's first bytes: the magic numbers of the ``filetype`` package for
binary formats, and a look at the text for what a browser would run (HTML, SVG, XML). A name
whose extension says one known type while the bytes are another is refused, so nobody posts
``report.pdf`` that opens as a web page (docs/api.md, "Attachments").
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass

import filetype

# How much of the file the sniffing reads.
HEAD_BYTES = 8192

# Raster formats a browser shows inline and Pillow thumbnails; everything else downloads.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

# Extensions that name the same kind of bytes.
_ALIASES = [
    {"jpg", "jpeg", "jpe", "jfif"},
    {"tif", "tiff"},
    {"png", "apng"},
    {"htm", "html", "xhtml"},
    {"mid", "midi"},
    {"mp4", "m4v", "m4a", "mov", "3gp"},
    {"ogg", "oga", "ogv", "opus"},
    {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk", "whl"},
    {"txt", "text", "log", "md", "csv", "json", "xml", "yaml", "yml"},
]
_FILETYPE_EXTENSIONS = {kind.extension.lower() for kind in filetype.types}
# Extensions that promise something definite about the bytes (others - .py, .conf - don't).
_KNOWN_EXTENSIONS = _FILETYPE_EXTENSIONS | {"svg", "html", "htm", "xhtml", "txt"}

_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|iframe|svg)\b", re.IGNORECASE)
_SVG = re.compile(rb"<\s*svg\b", re.IGNORECASE)
_XML = re.compile(rb"^\s*<\?xml\b", re.IGNORECASE)

# Control characters and the bidirectional overrides that make a name read as another.
_UNSAFE_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str  # what the bytes are, as an extension ("" when unknown)

    @property
    def inline_image(self) -> bool:
        return self.content_type in INLINE_IMAGE_TYPES


def sniff(head: bytes) -> Sniffed:
    """The type of a file from its first bytes (at least HEAD_BYTES of them, if it has them)."""
    kind = filetype.guess(head)
    if kind is not None:
        return Sniffed(kind.mime, kind.extension.lower())
    if not head:
        return Sniffed("application/octet-stream", "")
    if b"\x00" in head:
        return Sniffed("application/octet-stream", "")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the head is still text.
        if error.start < len(head) - 4:
            return Sniffed("application/octet-stream", "")
        text = head[: error.start].decode("utf-8")
    data = text.encode()
    if _SVG.search(data):
        return Sniffed("image/svg+xml", "svg")
    if _MARKUP.search(data):
        return Sniffed("text/html", "html")
    if _XML.search(data):
        return Sniffed("application/xml", "xml")
    return Sniffed("text/plain", "txt")


def _family(extension: str) -> set[str]:
    for group in _ALIASES:
        if extension in group:
            return group
    return {extension}


def name_problem(name: str, sniffed: Sniffed) -> str | None:
    """Why ``name`` misdescribes bytes of type ``sniffed``, or None."""
    _, dot_extension = posixpath.splitext(name)
    extension = dot_extension[1:].lower()
    if extension not in _KNOWN_EXTENSIONS:
        return None
    if sniffed.extension and sniffed.extension in _family(extension):
        return None
    if sniffed.extension in {"xml", "txt"} and extension in _family("txt"):
        return None
    what = sniffed.content_type if sniffed.extension else "unrecognised binary data"
    return f"The name says .{extension}, but the file's bytes are {what}."


def clean_name(raw: object) -> str:
    """A file name fit to show and to offer for download: the last part of any path, without
    control or bidirectional characters, leading dots or surrounding spaces, NFC-normalised,
    at most MAX_NAME_LENGTH characters with its extension kept."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_IN_NAMES.sub("", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, extension = posixpath.splitext(name)
        extension = extension[:16]
        name = stem[: MAX_NAME_LENGTH - len(extension)] + extension
    return name or "file"
