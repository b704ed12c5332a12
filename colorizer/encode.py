"""Colorized pixels -> the bytes of an image file (PNG, JPEG or WebP), tagged sRGB (a PNG sRGB chunk;
the ICC profile ``icc_profiles.srgb_profile`` in JPEG APP2 and in WebP), carrying text entries (the
provenance the colorizer records): PNG tEXt/iTXt chunks, a JPEG comment, WebP XMP; ``read_text``
reads them back from a file's first bytes (``read_text_stream`` from an open file, MP4 films
included). ``colorizer.pipeline`` writes the bytes; ``provenance.looks_complete`` tells whether a
written file is whole.

Choices, measured with ``python -m bench.encode_bench`` (CPU seconds of one encoding thread, 12 MP):
- PNG keeps OpenCV's own default (zlib level 1 with the RLE strategy): the fastest lossless setting
  and the same size as zlib levels 2-3; levels 4..9 save at most 15 % of the bytes for 2..10x the time.
- JPEG: quality 95 unless asked; it has no transparency, so an alpha channel is flattened on white.
- WebP: quality 90 unless asked, or ``"lossless"``; its sides are limited to 16383 pixels. Encoded
  by Pillow, which exposes libwebp's effort: lossless at the least effort (method 0) takes 1.1 CPU s
  at 12 MP for a file 15 % smaller than the PNG, where OpenCV's fixed lossless effort took 17 s;
  lossy keeps libwebp's default effort (method 4).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image

from colorizer.errors import ColorizerError, ImageEncodeError
from colorizer.icc_profiles import srgb_profile
from colorizer.mp4_boxes import read_mp4_text

FORMATS = ("png", "jpg", "webp")
DEFAULT_FORMAT = "png"
_ALIASES = {"jpeg": "jpg"}
# The longest side each encoder writes: libpng's default user limit (PNG_USER_WIDTH_MAX / HEIGHT),
# JPEG's 16-bit header fields, WebP's 14-bit ones.
MAX_SIDE = {"png": 1_000_000, "jpg": 65_535, "webp": 16_383}
DEFAULT_JPEG_QUALITY = 95
DEFAULT_WEBP_QUALITY = 90
LOSSLESS = "lossless"  # a WebP "quality"
MIN_QUALITY, MAX_QUALITY = 1, 100

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(PNG_SIGNATURE) + 8 + 13 + 4  # signature, IHDR length+type, 13 data bytes, CRC
_XMP_ITEM = '<rdf:li xml:lang="x-default">'
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_ICC_PIECE = 65_519  # a JPEG APP2 segment's room for profile bytes (65,535 - 2 - 14)


def check_format(format: str) -> str:
    """``format`` (case-insensitive; "jpeg" means "jpg") as one of FORMATS, else ColorizerError."""
    name = _ALIASES.get(str(format).lower(), str(format).lower())
    if name not in FORMATS:
        raise ColorizerError(f"unknown output format {format!r}; choose {', '.join(FORMATS)}")
    return name


def check_quality(format: str, quality: int | str | None) -> int | str | None:
    """The quality to encode with: None for PNG (lossless, refuses a quality); ``quality`` 1..100
    for JPEG (default DEFAULT_JPEG_QUALITY) and WebP (default DEFAULT_WEBP_QUALITY), or LOSSLESS for
    WebP; else ColorizerError."""
    format = check_format(format)
    if quality is None:
        return {"jpg": DEFAULT_JPEG_QUALITY, "webp": DEFAULT_WEBP_QUALITY}.get(format)
    if format == "png":
        raise ColorizerError("PNG is lossless and takes no quality; --quality applies to jpg and webp")
    if quality == LOSSLESS:
        if format != "webp":
            raise ColorizerError(f"{format.upper()} has no lossless mode; choose png or webp")
        return LOSSLESS
    if (
        isinstance(quality, bool)
        or not isinstance(quality, (int, np.integer))
        or not MIN_QUALITY <= quality <= MAX_QUALITY
    ):
        raise ColorizerError(
            f"quality {quality} must be a whole number from {MIN_QUALITY} to {MAX_QUALITY}"
            f"{' (or lossless)' if format == 'webp' else ''}"
        )
    return int(quality)


def check_size(format: str, height: int, width: int, name: str = "image") -> None:
    """ImageEncodeError naming the limit when a ``height`` x ``width`` image cannot be written as
    ``format`` (call it before colorizing: the answer depends only on the size)."""
    format = check_format(format)
    limit = MAX_SIDE[format]
    if max(height, width) > limit:
        raise ImageEncodeError(
            f"{name}: {width}x{height} is too large for {format.upper()}, whose sides are "
            f"limited to {limit:,} pixels; choose another --format"
        )


def encode_image(
    image: np.ndarray,
    format: str = DEFAULT_FORMAT,
    quality: int | str | None = None,
    text: Mapping[str, str] | None = None,
) -> bytes:
    """uint8 HxW grey, HxWx3 RGB or HxWx4 RGBA -> the bytes of a PNG, JPEG or WebP file.

    quality: see check_quality. JPEG flattens an alpha channel on white.
    text: entries (keyword -> one-line value) to carry, e.g. ``provenance``: PNG text chunks after
        IHDR; for JPEG a comment (COM) and for WebP an XMP description, "keyword: value" per line.
    """
    format = check_format(format)
    quality = check_quality(format, quality)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ColorizerError(f"expected uint8 HxW, HxWx3 or HxWx4 pixels, got {image.dtype} {image.shape}")
    check_size(format, *image.shape[:2])
    if format == "jpg" and image.ndim == 3 and image.shape[2] == 4:
        image = flatten_on_white(image)
    if format == "webp":
        return _encode_webp(image, quality or DEFAULT_WEBP_QUALITY, text)
    if image.ndim == 3:
        order = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR  # OpenCV writes BGR(A)
        image = cv2.cvtColor(image, order)
    # PNG: OpenCV's default, zlib level 1 with the RLE strategy (see the module docstring)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality or DEFAULT_JPEG_QUALITY)] if format == "jpg" else []
    encoded, buffer = cv2.imencode(f".{format}", image, params)
    if not encoded:
        raise ImageEncodeError(f"{format.upper()} encoding failed")
    data = buffer.tobytes()
    if format == "png":
        data = png_with_srgb(data)
        return png_with_text(data, text) if text else data
    data = jpeg_with_icc(data, srgb_profile())
    return jpeg_with_comment(data, text_lines(text)) if text else data


def _encode_webp(image: np.ndarray, quality: int | str, text: Mapping[str, str] | None) -> bytes:
    """uint8 HxW, HxWx3 RGB or HxWx4 RGBA -> WebP bytes through Pillow (see the module docstring)."""
    options: dict[str, object] = (
        {"lossless": True, "method": 0, "quality": 0, "exact": True}  # exact: keep RGB under alpha 0
        if quality == LOSSLESS
        else {"quality": quality}
    )
    options["icc_profile"] = srgb_profile()
    if text:
        options["xmp"] = xmp_packet(text).encode("utf-8")
    stream = io.BytesIO()
    try:
        Image.fromarray(image).save(stream, "WEBP", **options)
    except (OSError, ValueError) as error:
        raise ImageEncodeError(f"WebP encoding failed: {error}") from None
    return stream.getvalue()


def encode_png(image: np.ndarray, text: Mapping[str, str] | None = None) -> bytes:
    """uint8 HxWx3 RGB or HxWx4 RGBA -> PNG bytes (with ``text`` chunks)."""
    return encode_image(image, "png", text=text)


def flatten_on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 HxWx4 RGBA -> uint8 HxWx3 RGB composited over white (rounded)."""
    alpha = rgba[..., 3:].astype(np.uint16)
    blended = (rgba[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


def suffix_for(format: str) -> str:
    """The file suffix of an output format: "png" -> ".png"."""
    return f".{check_format(format)}"


# --- PNG text chunks --------------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: big-endian length, 4-byte type, data, CRC-32 of type + data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def text_chunk(keyword: str, value: str) -> bytes:
    """A tEXt chunk when ``value`` is Latin-1 (the PNG spec's text encoding), else an uncompressed
    iTXt chunk in UTF-8. Keywords are 1..79 printable Latin-1 characters."""
    key = keyword.encode("latin-1")
    if not 1 <= len(key) <= 79 or keyword != keyword.strip() or any(c < 32 or 126 < c < 161 for c in key):
        raise ValueError(f"invalid PNG text keyword {keyword!r}")
    try:
        return png_chunk(b"tEXt", key + b"\0" + value.encode("latin-1"))
    except UnicodeEncodeError:  # iTXt: keyword, compression flag 0, method 0, no language, no translation
        return png_chunk(b"iTXt", key + b"\0\0\0\0\0" + value.encode("utf-8"))


def png_with_srgb(png: bytes) -> bytes:
    """PNG bytes -> the same image tagged sRGB: an sRGB chunk (perceptual intent) after IHDR."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG that starts with its IHDR chunk")
    return png[:_IHDR_END] + png_chunk(b"sRGB", b"\0") + png[_IHDR_END:]


def png_with_text(png: bytes, text: Mapping[str, str]) -> bytes:
    """PNG bytes -> the same image with a text chunk per ``text`` entry inserted after IHDR (so a
    reader finds them without reading the pixels). The pixel data is not touched."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG that starts with its IHDR chunk")
    chunks = b"".join(text_chunk(key, value) for key, value in text.items())
    return png[:_IHDR_END] + chunks + png[_IHDR_END:]


def text_lines(text: Mapping[str, str]) -> str:
    """Entries -> "keyword: value" lines (the form of the JPEG comment and the WebP description)."""
    for key, value in text.items():
        if ":" in key or "\n" in key or "\n" in value:
            raise ValueError(f"text entry {key!r} must be one line with no ':' in its keyword")
    return "\n".join(f"{key}: {value}" for key, value in text.items())


def parse_text_lines(block: str) -> dict[str, str]:
    """The inverse of ``text_lines`` (lines without ": " are ignored)."""
    return dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)


def jpeg_with_comment(jpeg: bytes, comment: str) -> bytes:
    """JPEG bytes -> the same image with a COM segment holding ``comment`` (UTF-8), placed after SOI
    and the JFIF APP0 segment that must come first."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    body = comment.encode("utf-8")
    if len(body) > 0xFFFF - 2:
        raise ValueError("a JPEG comment holds at most 65533 bytes")
    position = 2
    if jpeg[2:4] == b"\xff\xe0":  # APP0 (JFIF): its length counts its own two bytes
        position += 2 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:position] + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + jpeg[position:]


def jpeg_with_icc(jpeg: bytes, profile: bytes) -> bytes:
    """JPEG bytes -> the same image with ``profile`` in APP2 ICC_PROFILE segments (as many as it
    needs, 65,519 bytes each), after SOI and the JFIF APP0 segment."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    pieces = [profile[start : start + _ICC_PIECE] for start in range(0, len(profile), _ICC_PIECE)]
    if len(pieces) > 255:
        raise ValueError("a JPEG holds an ICC profile of at most 255 segments")
    segments = b"".join(
        b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(piece)) + b"ICC_PROFILE\0" + bytes([index, len(pieces)]) + piece
        for index, piece in enumerate(pieces, 1)
    )
    position = 2
    if jpeg[2:4] == b"\xff\xe0":  # APP0 (JFIF): its length counts its own two bytes
        position += 2 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:position] + segments + jpeg[position:]


def xmp_packet(text: Mapping[str, str]) -> str:
    """An XMP packet whose dc:description holds ``text_lines(text)``."""
    from xml.sax.saxutils import escape

    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt>'
        f"{_XMP_ITEM}{escape(text_lines(text))}</rdf:li>"
        '</rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    )


def read_text(head: bytes) -> dict[str, str]:
    """The text entries ``encode_image`` wrote into a PNG, JPEG or WebP file whose first bytes are
    ``head`` ({} when there are none or it is none of these). Never raises on bad data."""
    if head.startswith(PNG_SIGNATURE):
        return read_png_text(head)
    if head.startswith(b"\xff\xd8"):
        return parse_text_lines(_jpeg_comment(head))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return parse_text_lines(_webp_xmp_description(head))
    return {}


def read_text_stream(stream: BinaryIO, head_bytes: int = 64 * 1024) -> dict[str, str]:
    """``read_text`` of a seekable binary file: its first ``head_bytes``; for WebP, whose XMP
    chunk follows the image data, each chunk header in turn (seeking over the data); for an MP4
    (``ftyp`` first), its ``moov`` metadata found by box headers (``mp4_boxes.read_mp4_text``)."""
    head = stream.read(head_bytes)
    if head[4:8] == b"ftyp":
        return read_mp4_text(stream)
    if not (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return read_text(head)
    offset = 12
    while True:
        stream.seek(offset)
        header = stream.read(8)
        if len(header) < 8:
            return {}
        size = struct.unpack("<I", header[4:])[0]
        if header[:4] == b"XMP ":
            return read_text(head[:12] + header + stream.read(size))
        offset += 8 + size + (size & 1)


def _jpeg_comment(head: bytes) -> str:
    """The first COM segment's text before the image data (SOS), or ""."""
    offset = 2
    while offset + 4 <= len(head) and head[offset] == 0xFF:
        marker = head[offset + 1]
        length = struct.unpack(">H", head[offset + 2 : offset + 4])[0]
        if marker == 0xDA:  # start of scan: no more header segments
            break
        if marker == 0xFE:
            return head[offset + 4 : offset + 2 + length].decode("utf-8", "replace")
        offset += 2 + length
    return ""


def _webp_xmp_description(head: bytes) -> str:
    """The dc:description text of a WebP file's XMP chunk, or ""."""
    from xml.sax.saxutils import unescape

    offset = 12
    while offset + 8 <= len(head):
        fourcc, size = head[offset : offset + 4], struct.unpack("<I", head[offset + 4 : offset + 8])[0]
        if fourcc == b"XMP ":
            packet = head[offset + 8 : offset + 8 + size].decode("utf-8", "replace")
            start = packet.find(_XMP_ITEM)
            end = packet.find("</rdf:li>", start)
            return unescape(packet[start + len(_XMP_ITEM) : end]) if 0 <= start < end else ""
        offset += 8 + size + (size & 1)  # chunks are padded to an even size
    return ""


def read_png_text(head: bytes) -> dict[str, str]:
    """The tEXt/iTXt (uncompressed) entries of the PNG whose first bytes are ``head``, read up to the
    first IDAT chunk; {} for anything that is not a PNG. Never raises on bad data."""
    if not head.startswith(PNG_SIGNATURE):
        return {}
    entries: dict[str, str] = {}
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[offset : offset + 8])
        data = head[offset + 8 : offset + 8 + length]
        if kind == b"IDAT" or len(data) < length:
            break
        if kind == b"tEXt" and b"\0" in data:
            key, value = data.split(b"\0", 1)
            entries[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt" and data.count(b"\0") >= 4:
            key, rest = data.split(b"\0", 1)
            if rest[:1] == b"\0":  # uncompressed
                _language, _translated, value = rest[2:].split(b"\0", 2)
                entries[key.decode("latin-1")] = value.decode("utf-8", "replace")
        offset += 12 + length
    return entries
