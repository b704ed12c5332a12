"""Colorized pixels -> the bytes of an image file (PNG, JPEG, WebP or TIFF), tagged sRGB (a PNG sRGB
chunk; the ICC profile ``icc_profiles.srgb_profile`` in JPEG APP2, WebP and TIFF), carrying text
entries (the provenance the colorizer records): PNG tEXt/iTXt chunks, a JPEG comment, WebP and TIFF
XMP (colorizer:Provenance, ``metadata.xmp_with_text``); ``read_text`` reads them back from a file's
first bytes (``read_text_stream`` from an open file, MP4 films included). ``colorizer.pipeline``
writes the bytes; ``provenance.looks_complete`` tells whether a written file is whole.

The input's metadata (``metadata.Metadata``) goes where each format keeps it: PNG eXIf, iTXt
"XML:com.adobe.xmp" and zTXt "Raw profile type iptc" (ImageMagick's and exiftool's form); JPEG APP1
Exif, APP1 XMP and APP13 Photoshop IPTC; WebP EXIF and XMP chunks (WebP has no place for IPTC); TIFF
its own tags, EXIF and GPS sub-directories, XMP (700) and IPTC (33723).

Depth: PNG and TIFF take 8 or 16 bits a sample, JPEG and WebP 8 (``check_depth``, ``output_depth``).

Choices, measured with ``python -m bench.encode_bench`` (CPU seconds of one encoding thread, 12 MP):
- PNG keeps OpenCV's own default (zlib level 1 with the RLE strategy): the fastest lossless setting
  and the same size as zlib levels 2-3; levels 4..9 save at most 15 % of the bytes for 2..10x the time.
- JPEG: quality 95 unless asked; it has no transparency, so an alpha channel is flattened on white.
- WebP: quality 90 unless asked, or ``"lossless"``; its sides are limited to 16383 pixels. Encoded
  by Pillow, which exposes libwebp's effort: lossless at the least effort (method 0) takes 1.1 CPU s
  at 12 MP for a file 15 % smaller than the PNG, where OpenCV's fixed lossless effort took 17 s;
  lossy keeps libwebp's default effort (method 4).
- TIFF: deflate with the horizontal predictor (``colorizer.tiff``, which says why it is written
  there); lossless, so it takes no quality either.
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

from colorizer import tiff
from colorizer.errors import ColorizerError, ImageEncodeError
from colorizer.icc_profiles import srgb_profile
from colorizer.metadata import (
    EXIF_HEADER,
    NO_METADATA,
    Metadata,
    parse_text_lines,
    raw_profile,
    text_lines,
    xmp_text,
    xmp_with_text,
)
from colorizer.mp4_boxes import read_mp4_text

FORMATS = ("png", "jpg", "webp", "tiff")
DEFAULT_FORMAT = "png"
ALIASES = {"jpeg": "jpg", "tif": "tiff"}
# The longest side each encoder writes: libpng's default user limit (PNG_USER_WIDTH_MAX / HEIGHT),
# JPEG's 16-bit header fields, WebP's 14-bit ones, TIFF's 32-bit ones.
MAX_SIDE = {"png": 1_000_000, "jpg": 65_535, "webp": 16_383, "tiff": tiff.MAX_SIDE}
DEPTHS = {"png": (8, 16), "jpg": (8,), "webp": (8,), "tiff": (8, 16)}  # bits per sample each format writes
LOSSLESS_FORMATS = ("png", "tiff")  # they take no quality
DEFAULT_JPEG_QUALITY = 95
DEFAULT_WEBP_QUALITY = 90
LOSSLESS = "lossless"  # a WebP "quality"
MIN_QUALITY, MAX_QUALITY = 1, 100

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(PNG_SIGNATURE) + 8 + 13 + 4  # signature, IHDR length+type, 13 data bytes, CRC
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"  # the iTXt chunk that holds XMP (Adobe's XMP specification, part 3)
TIFF_SIGNATURES = (b"II*\0", b"MM\0*")  # classic TIFF, either byte order
MAX_XMP_READ = 1 << 20  # a TIFF's XMP read for its provenance at most (ours adds ~1 KB to at most 64,000)
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_ICC_PIECE = 65_519  # a JPEG APP2 segment's room for profile bytes (65,535 - 2 - 14)


def check_format(format: str) -> str:
    """``format`` (case-insensitive; "jpeg" means "jpg") as one of FORMATS, else ColorizerError."""
    name = ALIASES.get(str(format).lower(), str(format).lower())
    if name not in FORMATS:
        raise ColorizerError(f"unknown output format {format!r}; choose {', '.join(FORMATS)}")
    return name


def check_quality(format: str, quality: int | str | None) -> int | str | None:
    """The quality to encode with: None for PNG and TIFF (lossless, they refuse a quality);
    ``quality`` 1..100 for JPEG (default DEFAULT_JPEG_QUALITY) and WebP (default DEFAULT_WEBP_QUALITY),
    or LOSSLESS for WebP; else ColorizerError."""
    format = check_format(format)
    if quality is None:
        return {"jpg": DEFAULT_JPEG_QUALITY, "webp": DEFAULT_WEBP_QUALITY}.get(format)
    if format in LOSSLESS_FORMATS:
        raise ColorizerError(f"{format.upper()} is lossless and takes no quality; --quality applies to jpg and webp")
    if quality == LOSSLESS:
        if format != "webp":
            raise ColorizerError(f"{format.upper()} has no lossless mode; choose png, tiff or webp")
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


def check_depth(format: str, depth: int | None) -> int | None:
    """``depth`` (bits per sample; None: as the input, ``output_depth``) if ``format`` writes it,
    else ColorizerError: 8 or 16 for PNG and TIFF, 8 for JPEG and WebP."""
    format = check_format(format)
    if depth is None:
        return None
    if isinstance(depth, bool) or depth not in (8, 16):
        raise ColorizerError(f"depth {depth!r} must be 8 or 16 bits a sample")
    if depth not in DEPTHS[format]:
        raise ColorizerError(f"{format.upper()} holds 8 bits a sample; --depth 16 needs png or tiff")
    return int(depth)


def output_depth(format: str, depth: int | None, input_dtype: np.dtype | type) -> int:
    """The bits per sample of an output in ``format`` of an input decoded as ``input_dtype``:
    ``depth`` when given (``check_depth``), else as the input: 16 for a 16-bit input where the
    format holds 16 bits (PNG, TIFF), else 8."""
    chosen = check_depth(format, depth)
    if chosen is not None:
        return chosen
    return 16 if np.dtype(input_dtype) == np.uint16 and 16 in DEPTHS[check_format(format)] else 8


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
    metadata: Metadata = NO_METADATA,
) -> bytes:
    """uint8 HxW grey, HxWx3 RGB or HxWx4 RGBA (uint16 too for PNG and TIFF, which then hold 16 bits
    a sample) -> the bytes of a PNG, JPEG, WebP or TIFF file.

    quality: see check_quality. JPEG flattens an alpha channel on white.
    text: entries (keyword -> one-line value) to carry, e.g. ``provenance``: PNG text chunks after
        IHDR; for JPEG a comment (COM), for WebP and TIFF XMP (colorizer:Provenance), "keyword:
        value" per line.
    metadata: the input's EXIF, XMP and IPTC, placed as the module docstring says.
    """
    format = check_format(format)
    quality = check_quality(format, quality)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ColorizerError(f"expected HxW, HxWx3 or HxWx4 pixels, got {image.shape}")
    if image.dtype not in (np.uint8, np.uint16) or (image.dtype == np.uint16 and 16 not in DEPTHS[format]):
        raise ColorizerError(
            f"{format.upper()} takes uint8{' or uint16' if 16 in DEPTHS[format] else ''} pixels, got {image.dtype}"
        )
    check_size(format, *image.shape[:2])
    if format == "jpg" and image.ndim == 3 and image.shape[2] == 4:
        image = flatten_on_white(image)
    if format == "webp":
        return _encode_webp(image, quality or DEFAULT_WEBP_QUALITY, text, metadata)
    if format == "tiff":
        return _encode_tiff(image, text, metadata)
    if image.ndim == 3:
        order = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR  # OpenCV writes BGR(A)
        image = cv2.cvtColor(image, order)
    # PNG: OpenCV's default, zlib level 1 with the RLE strategy (see the module docstring)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality or DEFAULT_JPEG_QUALITY)] if format == "jpg" else []
    encoded, buffer = cv2.imencode(f".{format}", image, params)
    if not encoded:
        raise ImageEncodeError(f"{format.upper()} encoding failed")
    if format == "png":  # every chunk added in one copy of the encoder's buffer (a 16-bit PNG is large)
        chunks = png_metadata_chunks(metadata) + png_text_chunks(text or {}) + png_chunk(b"sRGB", b"\0")
        return png_with_chunks(buffer.data, chunks)
    data = jpeg_with_icc(buffer.tobytes(), srgb_profile())
    data = jpeg_with_comment(data, text_lines(text)) if text else data
    return jpeg_with_segments(data, jpeg_metadata_segments(metadata))


def _encode_webp(image: np.ndarray, quality: int | str, text: Mapping[str, str] | None, metadata: Metadata) -> bytes:
    """uint8 HxW, HxWx3 RGB or HxWx4 RGBA -> WebP bytes through Pillow (see the module docstring)."""
    options: dict[str, object] = (
        {"lossless": True, "method": 0, "quality": 0, "exact": True}  # exact: keep RGB under alpha 0
        if quality == LOSSLESS
        else {"quality": quality}
    )
    options["icc_profile"] = srgb_profile()
    xmp = xmp_with_text(text, metadata.xmp)
    if xmp:
        options["xmp"] = xmp
    if metadata.exif:
        options["exif"] = metadata.exif
    stream = io.BytesIO()
    try:
        Image.fromarray(image).save(stream, "WEBP", **options)
    except (OSError, ValueError) as error:
        raise ImageEncodeError(f"WebP encoding failed: {error}") from None
    return stream.getvalue()


def _encode_tiff(image: np.ndarray, text: Mapping[str, str] | None, metadata: Metadata) -> bytes:
    """uint8/uint16 HxW, HxWx3 RGB or HxWx4 RGBA -> TIFF bytes (``colorizer.tiff``; grey is written
    as RGB, as the colorizer's results always are)."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    tags = {tiff.ICC: srgb_profile()}
    xmp = xmp_with_text(text, metadata.xmp)
    if xmp:
        tags[tiff.XMP] = xmp
    if metadata.iptc:
        tags[tiff.IPTC] = metadata.iptc
    return tiff.tiff_bytes(image, tags, metadata.exif_directory())


def encode_png(image: np.ndarray, text: Mapping[str, str] | None = None) -> bytes:
    """uint8 HxWx3 RGB or HxWx4 RGBA -> PNG bytes (with ``text`` chunks)."""
    return encode_image(image, "png", text=text)


def flatten_on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 HxWx4 RGBA -> uint8 HxWx3 RGB composited over white (rounded)."""
    alpha = rgba[..., 3:].astype(np.uint16)
    blended = (rgba[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


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


def png_with_text(png: bytes, text: Mapping[str, str]) -> bytes:
    """PNG bytes -> the same image with a text chunk per ``text`` entry inserted after IHDR (so a
    reader finds them without reading the pixels). The pixel data is not touched."""
    return png_with_chunks(png, png_text_chunks(text))


def png_text_chunks(text: Mapping[str, str]) -> bytes:
    """A text chunk (``text_chunk``) per entry of ``text``."""
    return b"".join(text_chunk(key, value) for key, value in text.items())


def jpeg_with_comment(jpeg: bytes, comment: str) -> bytes:
    """JPEG bytes -> the same image with a COM segment holding ``comment`` (UTF-8), placed after SOI
    and the JFIF APP0 segment that must come first."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    body = comment.encode("utf-8")
    if len(body) > 0xFFFF - 2:
        raise ValueError("a JPEG comment holds at most 65533 bytes")
    position = _after_app0(jpeg)
    return jpeg[:position] + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + jpeg[position:]


def png_with_chunks(png: bytes | memoryview, chunks: bytes) -> bytes:
    """PNG bytes -> the same PNG with ``chunks`` (whole chunks) right after IHDR (before any image
    data, as eXIf must be), made in one copy."""
    view = memoryview(png).cast("B")
    if bytes(view[:8]) != PNG_SIGNATURE or bytes(view[12:16]) != b"IHDR":
        raise ValueError("not a PNG that starts with its IHDR chunk")
    return b"".join([view[:_IHDR_END], chunks, view[_IHDR_END:]])


def png_metadata_chunks(metadata: Metadata) -> bytes:
    """``metadata`` as PNG chunks: eXIf (the TIFF structure), iTXt "XML:com.adobe.xmp" (the XMP
    packet, uncompressed, as Adobe's XMP specification asks), zTXt "Raw profile type iptc"."""
    chunks = []
    if metadata.exif:
        chunks.append(png_chunk(b"eXIf", metadata.exif))
    if metadata.xmp:
        chunks.append(png_chunk(b"iTXt", PNG_XMP_KEYWORD + b"\0\0\0\0\0" + metadata.xmp))
    if metadata.iptc:
        profile = raw_profile("iptc", metadata.iptc).encode("latin-1")
        chunks.append(png_chunk(b"zTXt", b"Raw profile type iptc\0\0" + zlib.compress(profile)))
    return b"".join(chunks)


def jpeg_metadata_segments(metadata: Metadata) -> bytes:
    """``metadata`` as JPEG segments: APP1 Exif, APP1 XMP, APP13 Photoshop IPTC (resource 0x0404).
    Each block is at most ``metadata.MAX_BLOCK_BYTES``, so each fits one segment."""
    segments = []
    if metadata.exif:
        segments.append(jpeg_segment(0xE1, EXIF_HEADER + metadata.exif))
    if metadata.xmp:
        segments.append(jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + metadata.xmp))
    if metadata.iptc:
        # An image resource: "8BIM", its id, an empty (even-padded) name, the size, the data padded even.
        resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(metadata.iptc))
        resource += metadata.iptc + b"\0" * (len(metadata.iptc) & 1)
        segments.append(jpeg_segment(0xED, b"Photoshop 3.0\0" + resource))
    return b"".join(segments)


def jpeg_segment(marker: int, body: bytes) -> bytes:
    """One JPEG marker segment: 0xFF, ``marker``, the length (counting its own two bytes), ``body``."""
    if len(body) > 0xFFFF - 2:
        raise ValueError(f"a JPEG segment holds at most 65533 bytes, not {len(body)}")
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def jpeg_with_segments(jpeg: bytes, segments: bytes) -> bytes:
    """JPEG bytes -> the same image with ``segments`` after SOI and the JFIF APP0 segment."""
    if not segments:
        return jpeg
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    position = _after_app0(jpeg)
    return jpeg[:position] + segments + jpeg[position:]


def _after_app0(jpeg: bytes) -> int:
    """Where a JPEG's added segments go: after SOI and the JFIF APP0 segment that must come first."""
    if jpeg[2:4] != b"\xff\xe0":
        return 2
    return 4 + struct.unpack(">H", jpeg[4:6])[0]  # APP0's length counts its own two bytes


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
    position = _after_app0(jpeg)
    return jpeg[:position] + segments + jpeg[position:]


def read_text(head: bytes) -> dict[str, str]:
    """The text entries ``encode_image`` wrote into a PNG, JPEG, WebP or TIFF file whose first bytes
    are ``head`` ({} when there are none or it is none of these). Never raises on bad data."""
    if head.startswith(PNG_SIGNATURE):
        return read_png_text(head)
    if head.startswith(b"\xff\xd8"):
        return parse_text_lines(_jpeg_comment(head))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return xmp_text(_webp_xmp(head))
    if head[:4] in TIFF_SIGNATURES:
        return _tiff_text(io.BytesIO(head))
    return {}


def read_text_stream(stream: BinaryIO, head_bytes: int = 64 * 1024) -> dict[str, str]:
    """``read_text`` of a seekable binary file: its first ``head_bytes``; for WebP, whose XMP
    chunk follows the image data, each chunk header in turn (seeking over the data); for a TIFF its
    first directory and the XMP it points to (``colorizer.tiff``); for an MP4
    (``ftyp`` first), its ``moov`` metadata found by box headers (``mp4_boxes.read_mp4_text``)."""
    head = stream.read(head_bytes)
    if head[4:8] == b"ftyp":
        return read_mp4_text(stream)
    if head[:4] in TIFF_SIGNATURES:
        return _tiff_text(stream)
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


def _webp_xmp(head: bytes) -> bytes:
    """A WebP file's XMP chunk, or b""."""
    offset = 12
    while offset + 8 <= len(head):
        fourcc, size = head[offset : offset + 4], struct.unpack("<I", head[offset + 4 : offset + 8])[0]
        if fourcc == b"XMP ":
            return head[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size & 1)  # chunks are padded to an even size
    return b""


def _tiff_text(stream: BinaryIO) -> dict[str, str]:
    """The provenance in the XMP of the TIFF in ``stream`` ({} when none)."""
    try:
        directory = tiff.first_directory(stream)
        packet = tiff.tag_bytes(stream, directory, tiff.XMP, MAX_XMP_READ) if directory else b""
    except (OSError, struct.error):
        return {}
    return xmp_text(packet)


def read_png_text(head: bytes) -> dict[str, str]:
    """The tEXt/iTXt (uncompressed) entries of the PNG whose first bytes are ``head``, read up to the
    first IDAT chunk, less the XMP packet (iTXt "XML:com.adobe.xmp"); {} for anything that is not a PNG. Never raises on bad data."""
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
            if rest[:1] == b"\0" and key != PNG_XMP_KEYWORD:  # uncompressed; XMP is metadata, not an entry
                _language, _translated, value = rest[2:].split(b"\0", 2)
                entries[key.decode("latin-1")] = value.decode("utf-8", "replace")
        offset += 12 + length
    return entries
