"""Checks on an image file's structure, before any decoder sees its bytes.

Decoders pay for some structures whatever the pixel count, and trust lengths that a file can lie
about. Each check here walks the structure cheaply (a bounded number of steps, no copies) and refuses
what would cost out of proportion to the real pixels:

- PNG: every chunk's length must fit in the file (OpenCV allocates what the first data chunk
  claims: 4 GB for a 57-byte 16-bit PNG), at most MAX_CHUNKS chunks; an eXIf chunk as EXIF below;
  an iCCP chunk's profile inflating to at most Pillow's 1 MiB (a zlib bomb).
- JPEG: at most MAX_JPEG_SEGMENTS marker segments and MAX_JPEG_SCANS scans (libjpeg makes a pass
  over the whole image per scan: 20,000 empty scans took minutes), at most MAX_JPEG_FILL_BYTES of
  padding or junk before the first scan (Pillow reads those a byte at a time: 1 MB took seconds);
  APP1 EXIF and APP2 MPF blocks as EXIF below (Pillow parses both while opening); at most
  MAX_ICC_PROFILE_BYTES of ICC profile over APP2 segments.
- TIFF: the directories Pillow and libtiff parse (the first one, and its EXIF, GPS and interop
  directories) as EXIF below, and no more strips or tiles than the image needs.
- EXIF (a TIFF structure, also inside PNG, WebP, HEIF): Pillow copies each tag's data, so tags that
  all point at one large block copy it once per tag (a 20 MB PNG -> gigabytes). The tags' data must
  fit in the block without overlapping, at most MAX_TIFF_TAGS tags a directory, MAX_TIFF_VALUES
  numeric values in all besides the strip and tile tables.
- GIF: at most MAX_GIF_BLOCKS extension sub-blocks before the first image.
- WebP: chunk lengths must fit in the file, at most MAX_CHUNKS chunks and MAX_WEBP_FRAMES frames, and
  the canvas (which libwebp allocates while Pillow opens an animation) within the size limits.
- BMP: a run-length-encoded one holds at most MAX_RLE_BMP_PIXELS (Pillow decodes RLE in Python).
- AVIF: libavif decodes the AV1 frame at the size its sequence header declares, whatever the
  container's size box says (a 1 KB file saying 32x24 decoded a 67 MP frame), so the sequence header
  of every item is read and its frame size checked against the size limits.

Refusals are one-line ImageDecodeError subclasses naming the file: ImageTooComplexError for a count
over its limit, ImageTooLargeError for a canvas over the size limits, ImageDecodeError (worded
"truncated") for a length past the end of the file.
"""

from __future__ import annotations

import contextlib
import re
import struct
import zlib

from PIL import PngImagePlugin

from colorizer.errors import ImageDecodeError, ImageTooComplexError
from colorizer.limits import (
    MAX_CHUNKS,
    MAX_GIF_BLOCKS,
    MAX_ICC_PROFILE_BYTES,
    MAX_JPEG_FILL_BYTES,
    MAX_JPEG_SCANS,
    MAX_JPEG_SEGMENTS,
    MAX_RLE_BMP_PIXELS,
    MAX_TIFF_TAGS,
    MAX_TIFF_VALUES,
    MAX_WEBP_FRAMES,
    check_count,
    check_dimensions,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_PREFIX = b"Exif\x00\x00"
TRUNCATED = "the file is truncated (cut short while downloading or copying?)"

# TIFF field types -> bytes per value (TIFF 6 and BigTIFF); other types are skipped by the parsers.
_TIFF_TYPE_SIZES = {
    **dict.fromkeys((1, 2, 6, 7), 1),  # BYTE, ASCII, SBYTE, UNDEFINED
    **dict.fromkeys((3, 8), 2),  # SHORT, SSHORT
    **dict.fromkeys((4, 9, 11, 13), 4),  # LONG, SLONG, FLOAT, IFD
    **dict.fromkeys((5, 10, 12, 16, 17, 18), 8),  # RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8
}
_TIFF_BYTE_TYPES = {1, 2, 7}  # BYTE, ASCII, UNDEFINED: kept as bytes; every other value becomes an object
_SUB_IFD_TAGS = (34665, 34853, 40965)  # EXIF, GPS and interoperability directories
_WIDTH, _HEIGHT, _SAMPLES, _ROWS_PER_STRIP, _PLANAR = 256, 257, 277, 278, 284
_STRIP_OFFSETS, _STRIP_COUNTS, _TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_COUNTS = 273, 279, 322, 323, 324, 325
_PIECE_TABLES = (_STRIP_OFFSETS, _STRIP_COUNTS, _TILE_OFFSETS, _TILE_COUNTS)
_GEOMETRY_TAGS = sorted(
    (_WIDTH, _HEIGHT, _SAMPLES, _ROWS_PER_STRIP, _PLANAR, _TILE_WIDTH, _TILE_LENGTH, *_PIECE_TABLES)
)
_TIFF_INTEGER_TYPES = {1, 3, 4, 6, 8, 9, 13, 16, 17, 18}  # (S)BYTE, (S)SHORT, (S)LONG, IFD, (S)LONG8, IFD8
_MAX_OFFSET = 1 << 63  # Pillow seeks to offsets, and Python's seek takes a signed 64-bit number
_ANY_TILE_PIXELS = 1 << 20  # a tile of up to 1 MP is fine for any image; larger ones only for larger images
# The next JPEG marker: 0xFF followed by neither a stuffed 0x00, a restart marker (RST0..7) nor a
# fill byte 0xFF. One 0xFF only: "\xff+" would make a long run of 0xFF cost quadratic time.
_JPEG_MARKER = re.compile(rb"\xff([^\x00\xd0-\xd7\xff])")
_JPEG_STANDALONE = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RSTn: no length field


def check_structure(data: bytes, name: str, *, max_pixels: int, max_side: int) -> None:
    """Walk the structure of a PNG, JPEG, TIFF, GIF or WebP file (by its magic number; other bytes
    pass) and raise when it would cost a decoder out of proportion to its pixels; see the module
    docstring for what each format must satisfy."""
    if data.startswith(PNG_SIGNATURE):
        check_png(data, name)
    elif data.startswith(b"\xff\xd8"):
        check_jpeg(data, name)
    elif data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        check_tiff(data, name, image=True)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        check_gif(data, name)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        check_webp(data, name, max_pixels=max_pixels, max_side=max_side)
    elif data[4:8] == b"ftyp":
        check_avif(data, name, max_pixels=max_pixels, max_side=max_side)
    elif data.startswith(b"BM"):
        check_bmp(data, name)


def check_exif(block: bytes, name: str) -> None:
    """An EXIF block as found in ``image.info["exif"]`` (with or without its ``Exif\\0\\0`` prefix)
    must be a TIFF structure a parser can read without amplification (see ``check_tiff``); bytes
    that are not a TIFF structure pass (the parser refuses them itself)."""
    block = block.removeprefix(EXIF_PREFIX)
    if block[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        check_tiff(block, name, image=False)


# --- PNG --------------------------------------------------------------------------------------------


def check_png(data: bytes, name: str) -> None:
    """Every chunk's declared length fits in the file; at most MAX_CHUNKS chunks; eXIf checked."""
    position, chunks = len(PNG_SIGNATURE), 0
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        chunks += 1
        check_count(chunks, MAX_CHUNKS, "PNG chunks", name)
        remaining = len(data) - position - 12  # after the length, type and CRC fields
        if length > remaining:
            raise ImageDecodeError(
                f"{name}: {TRUNCATED}: PNG chunk {_chunk_name(kind)} at byte {position:,} "
                f"declares {length:,} bytes, the file has {max(remaining, 0):,} left"
            )
        if kind == b"eXIf":
            check_exif(data[position + 8 : position + 8 + length], name)
        elif kind == b"iCCP":
            _check_iccp(data[position + 8 : position + 8 + length], name)
        if kind == b"IEND":
            return
        position += 12 + length


def _check_iccp(payload: bytes, name: str) -> None:
    """An iCCP chunk's profile inflates to at most Pillow's MAX_TEXT_CHUNK (1 MiB; past it Pillow
    refuses the file with a message about text), inflating no more than that to know."""
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(payload[payload.find(b"\0") + 2 :], limit)  # after the name, NUL, method
    except zlib.error:
        return  # not zlib: Pillow refuses or ignores it itself
    if inflater.unconsumed_tail:
        raise ImageTooComplexError(f"{name}: its ICC profile (PNG iCCP chunk) inflates to more than {limit:,} bytes")


def _chunk_name(kind: bytes) -> str:
    return repr(kind.decode("latin-1"))


# --- JPEG -------------------------------------------------------------------------------------------


def check_jpeg(data: bytes, name: str) -> None:
    """At most MAX_JPEG_SEGMENTS marker segments and MAX_JPEG_SCANS scans up to the first EOI; APP1
    EXIF and APP2 MPF blocks checked as EXIF. Segments are skipped by their length fields (so bytes
    that look like markers inside one are not mistaken for markers), entropy-coded data and junk by
    a regex search for the next marker (C speed, stuffed bytes and restart markers skipped). At
    most MAX_ICC_PROFILE_BYTES of ICC profile in APP2 segments (Pillow copies them all, twice)."""
    position, segments, scans, skipped, icc = 2, 0, 0, 0, 0
    while True:
        # Like libjpeg (and Pillow), skip anything that is not a marker, so junk cannot hide scans.
        match = _JPEG_MARKER.search(data, position)
        if match is None:
            return
        if not scans:  # before the first scan Pillow reads fill bytes and junk one at a time, in Python
            skipped += match.start() - position
            check_count(skipped, MAX_JPEG_FILL_BYTES, "bytes of padding or junk between JPEG markers", name)
        marker, position = match.group(1)[0], match.end()
        if marker == 0xD9:  # EOI: what follows (an MPO's second picture) is never decoded
            return
        if marker in _JPEG_STANDALONE:
            continue
        if position + 2 > len(data):
            return
        length = int.from_bytes(data[position : position + 2], "big")
        segments += 1
        check_count(segments, MAX_JPEG_SEGMENTS, "JPEG marker segments", name)
        payload = data[position + 2 : position + length]
        if marker == 0xE1 and payload.startswith(EXIF_PREFIX):
            check_exif(payload, name)
        elif marker == 0xE2 and payload.startswith(b"MPF\x00"):
            check_exif(payload[4:], name)
        elif marker == 0xE2 and payload.startswith(b"ICC_PROFILE\0"):
            icc += len(payload) - 14
            check_count(icc, MAX_ICC_PROFILE_BYTES, "bytes of ICC profile in JPEG APP2 segments", name)
        position += length
        if marker == 0xDA:  # SOS: skip the scan's entropy-coded data to the next marker
            scans += 1
            check_count(scans, MAX_JPEG_SCANS, "scans in a progressive JPEG", name)


# --- TIFF and EXIF ------------------------------------------------------------------------------------


class TiffLayout:
    """A TIFF structure's byte order and layout (classic or BigTIFF) and its directories' entries
    (also ``decode``'s, to reset the orientation tag)."""

    def __init__(self, block: bytes):
        self.block = block
        self.order = "<" if block[:2] == b"II" else ">"
        self.big = block[2:4] in (b"+\x00", b"\x00+")
        # Classic: u32 offsets, u16 entry count, 12-byte entries (tag, type, u32 count, 4-byte value);
        # BigTIFF: u64 offsets, u64 entry count, 20-byte entries (tag, type, u64 count, 8-byte value).
        self.offset_format = "Q" if self.big else "I"
        self.count_format = "Q" if self.big else "H"
        self.entry_format = f"{self.order}HH{'Q' if self.big else 'I'}"
        self.entry_size = 20 if self.big else 12
        self.inline = 8 if self.big else 4

    def first_ifd(self) -> int | None:
        position = 8 if self.big else 4
        if position + struct.calcsize(self.offset_format) > len(self.block):
            return None
        return struct.unpack_from(f"{self.order}{self.offset_format}", self.block, position)[0]

    def entries(self, offset: int, name: str) -> list[tuple[int, int, int, int]] | None:
        """(tag, type, count, position of the value field) of each entry of the directory at
        ``offset``; None when the directory lies past the end of the block."""
        if offset + struct.calcsize(self.count_format) > len(self.block):
            return None
        (count,) = struct.unpack_from(f"{self.order}{self.count_format}", self.block, offset)
        check_count(count, MAX_TIFF_TAGS, "tags in one TIFF/EXIF directory", name)
        first = offset + struct.calcsize(self.count_format)
        found = []
        for position in range(first, first + count * self.entry_size, self.entry_size):
            if position + self.entry_size > len(self.block):
                break  # a directory cut short: parsers stop here too
            tag, kind, values = struct.unpack_from(self.entry_format, self.block, position)
            found.append((tag, kind, values, position + self.entry_size - self.inline))
        return found

    def offset_at(self, position: int) -> int:
        return struct.unpack_from(f"{self.order}{self.offset_format}", self.block, position)[0]

    def number(self, kind: int, position: int) -> int | None:
        """An inline SHORT, LONG or LONG8 value (the first one)."""
        formats = {3: "H", 4: "I", 16: "Q", 13: "I", 18: "Q"}
        if kind not in formats:
            return None
        return struct.unpack_from(f"{self.order}{formats[kind]}", self.block, position)[0]


def check_tiff(block: bytes, name: str, *, image: bool) -> None:
    """A TIFF structure (a whole TIFF file when ``image``, else an EXIF or MPF block): its first
    directory and the EXIF, GPS and interop directories it points to must be readable without
    amplification: at most MAX_TIFF_TAGS entries each, their out-of-line data not overlapping (the
    bytes it claims at most the block's size), at most MAX_TIFF_VALUES numeric values in all (the strip
    and tile tables aside: they are checked against the pieces the image needs), and no
    offset past 2**63. For an image, directory offsets must lie inside the file and the strip or tile
    tables may not list more pieces than the image needs."""
    tiff = TiffLayout(block)
    what = "TIFF" if image else "EXIF"
    first = tiff.first_ifd()
    pending, seen = ([first] if first else []), set()
    claimed = values = 0
    first_entries = None
    while pending:
        offset = pending.pop()
        if not offset or offset in seen:
            continue
        seen.add(offset)
        entries = tiff.entries(offset, name)
        if entries is None:
            if image:
                raise ImageDecodeError(
                    f"{name}: corrupt TIFF: a directory at byte {offset:,} lies past the end "
                    f"of the {len(block):,}-byte file"
                )
            continue
        if first_entries is None:
            first_entries = entries
        for tag, kind, count, value_at in entries:
            size = count * _TIFF_TYPE_SIZES.get(kind, 0)
            if size > tiff.inline:
                data_at = tiff.offset_at(value_at)
                if data_at >= _MAX_OFFSET:
                    raise ImageDecodeError(f"{name}: corrupt {what} data: tag {tag} points at byte {data_at:,}")
                if data_at + size > len(block):
                    continue  # parsers skip a tag whose data lies past the end (after reading what is there)
                claimed += size
            if kind not in _TIFF_BYTE_TYPES and not (image and tag in _PIECE_TABLES):
                values += count  # the strip and tile tables are bounded by the pieces the image needs
            if tag in _SUB_IFD_TAGS and kind in (4, 13, 16, 18) and count == 1:
                pending.append(tiff.number(kind, value_at))  # type: ignore[arg-type]  # kinds 4/13/16/18 are numbers
    if claimed > len(block):
        raise ImageTooComplexError(
            f"{name}: {what} tags claim {claimed:,} bytes of data in a {len(block):,}-byte "
            "block (tags sharing one block; a parser would copy it once per tag)"
        )
    check_count(values, MAX_TIFF_VALUES, f"numeric values in {what} tags", name)
    if image and first_entries:
        _check_tiff_pieces(tiff, first_entries, name)


def _check_tiff_pieces(tiff: TiffLayout, entries: list[tuple[int, int, int, int]], name: str) -> None:
    """No more strip or tile offsets than the first image needs, and tiles no larger than 1 MP
    unless the image is as large (a tile buffer is allocated whole)."""
    fields = {tag: (kind, count, value_at) for tag, kind, count, value_at in entries}
    for tag in _GEOMETRY_TAGS:
        if tag in fields and fields[tag][0] not in _TIFF_INTEGER_TYPES:
            # Pillow would hand such values (text, fractions) to seek() and fail with a TypeError.
            raise ImageDecodeError(
                f"{name}: corrupt TIFF: tag {tag} holds values of type {fields[tag][0]}, not whole numbers"
            )

    def number(tag: int, default: int) -> int:
        if tag not in fields:
            return default
        kind, count, value_at = fields[tag]
        value = tiff.number(kind, value_at) if count >= 1 else None
        return default if value is None else value

    width, height = number(_WIDTH, 0), number(_HEIGHT, 0)
    if width == 0 or height == 0:
        return  # the decoder refuses the image itself
    planes = number(_SAMPLES, 1) if number(_PLANAR, 1) == 2 else 1
    if _TILE_WIDTH in fields or _TILE_LENGTH in fields:
        tile_width, tile_length = max(1, number(_TILE_WIDTH, 1)), max(1, number(_TILE_LENGTH, 1))
        if tile_width * tile_length > max(_ANY_TILE_PIXELS, width * height):
            raise ImageTooComplexError(
                f"{name}: TIFF tiles of {tile_width}x{tile_length} pixels for a {width}x{height} image"
            )
        needed = planes * -(-width // tile_width) * -(-height // tile_length)
        tables = (_TILE_OFFSETS, _TILE_COUNTS)
    else:
        rows = max(1, min(number(_ROWS_PER_STRIP, height), height))
        needed = planes * -(-height // rows)
        tables = (_STRIP_OFFSETS, _STRIP_COUNTS)
    for tag in tables:
        if tag in fields and fields[tag][1] > needed:
            raise ImageTooComplexError(
                f"{name}: the TIFF lists {fields[tag][1]:,} pieces (tag {tag}) for an image made of {needed:,}"
            )


# --- GIF --------------------------------------------------------------------------------------------


def check_gif(data: bytes, name: str) -> None:
    """At most MAX_GIF_BLOCKS extension sub-blocks before the first image descriptor."""
    if len(data) < 13:
        return
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global colour table
    blocks = 0
    while position < len(data) and data[position] == 0x21:  # '!': an extension, label, sub-blocks
        position += 2
        while position < len(data):
            size = data[position]
            position += 1 + size
            blocks += 1
            check_count(blocks, MAX_GIF_BLOCKS, "GIF extension blocks before the first image", name)
            if size == 0:
                break


# --- WebP -------------------------------------------------------------------------------------------


def check_webp(data: bytes, name: str, *, max_pixels: int, max_side: int) -> None:
    """RIFF chunk lengths fit in the file; at most MAX_CHUNKS chunks and MAX_WEBP_FRAMES frames; a
    VP8X canvas within the size limits; an EXIF chunk checked as EXIF."""
    position, chunks, frames = 12, 0, 0
    while position + 8 <= len(data):
        kind, length = struct.unpack_from("<4sI", data, position)
        chunks += 1
        check_count(chunks, MAX_CHUNKS, "WebP chunks", name)
        remaining = len(data) - position - 8
        if length > remaining:
            raise ImageDecodeError(
                f"{name}: {TRUNCATED}: WebP chunk {_chunk_name(kind)} at byte {position:,} "
                f"declares {length:,} bytes, the file has {remaining:,} left"
            )
        payload = data[position + 8 : position + 8 + length]
        if kind == b"VP8X" and length >= 10:
            # Flags (4 bytes), then canvas width - 1 and height - 1 as 24-bit little-endian numbers.
            width = int.from_bytes(payload[4:7], "little") + 1
            height = int.from_bytes(payload[7:10], "little") + 1
            check_dimensions(width, height, max_pixels=max_pixels, max_side=max_side, name=name)
        elif kind in (b"VP8 ", b"VP8L") and chunks == 1:
            _check_webp_frame_size(kind, payload, name, max_pixels=max_pixels, max_side=max_side)
        elif kind == b"ANMF":
            frames += 1
            check_count(frames, MAX_WEBP_FRAMES, "frames in an animated WebP", name)
        elif kind == b"EXIF":
            check_exif(payload, name)
        position += 8 + length + (length & 1)  # chunks are padded to an even length


def _check_webp_frame_size(kind: bytes, payload: bytes, name: str, *, max_pixels: int, max_side: int) -> None:
    """The size of a simple (single-chunk) WebP, from its VP8 key frame or VP8L header."""
    if kind == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        # 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (2 bits of scale each).
        width, height = (value & 0x3FFF for value in struct.unpack_from("<HH", payload, 6))
    elif kind == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        # Signature 0x2f, then width - 1 and height - 1 in 14 bits each, least significant bit first.
        bits = int.from_bytes(payload[1:5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return
    check_dimensions(width, height, max_pixels=max_pixels, max_side=max_side, name=name)


# --- BMP --------------------------------------------------------------------------------------------


def check_bmp(data: bytes, name: str) -> None:
    """A run-length-encoded BMP (RLE8, RLE4) holds at most MAX_RLE_BMP_PIXELS pixels."""
    if len(data) < 34 or struct.unpack_from("<I", data, 14)[0] < 40:
        return  # no BITMAPINFOHEADER: an OS/2 header has no compression field
    # File header (14 bytes), then the info header: size, width, height (negative: top-down),
    # planes, bits per pixel, compression (1 RLE8, 2 RLE4).
    width, height, _, _, compression = struct.unpack_from("<iiHHI", data, 18)
    if compression in (1, 2):
        check_count(abs(width) * abs(height), MAX_RLE_BMP_PIXELS, "pixels in a run-length-encoded BMP", name)


# --- AVIF (ISO-BMFF boxes holding AV1 data) ------------------------------------------------------------

_AV1_SEQUENCE_HEADER = 1  # OBU type
_MAX_BOXES = 10_000  # boxes walked in the top level and in 'meta' (a still image has about a dozen)
_MAX_AVIF_ITEMS = 1_000  # items in 'iloc' whose data is inspected (libavif refuses more than ~4096 anyway)


def check_avif(data: bytes, name: str, *, max_pixels: int, max_side: int) -> None:
    """The AV1 frame size that the sequence header at the start of each item's data, and of each
    track's first sample, declares (the size the decoder allocates) must be within the size limits. Files that are not AVIF, or whose
    boxes cannot be walked, pass: the decoder refuses them itself."""
    starts = []
    meta = iso_box(data, 0, len(data), b"meta")
    if meta is not None:
        meta_start, meta_end = meta[0] + 4, meta[1]  # 'meta' is a full box: version and flags first
        iloc, idat = iso_box(data, meta_start, meta_end, b"iloc"), iso_box(data, meta_start, meta_end, b"idat")
        if iloc is not None:
            starts += _item_extents(data, *iloc, idat_start=idat[0] if idat else None)
    starts += _first_samples(data)  # an animated AVIF is decoded from its tracks
    for start in starts:
        size = _av1_frame_size(data[start : start + 4096])
        if size is not None:
            check_dimensions(*size, max_pixels=max_pixels, max_side=max_side, name=name)


def _first_samples(data: bytes) -> list[int]:
    """File offsets of the first sample of each track ('moov/trak/mdia/minf/stbl', first entry of
    'stco' or 'co64')."""
    moov = iso_box(data, 0, len(data), b"moov")
    offsets = []
    position, walked = (moov[0] if moov else len(data)), 0
    while moov and walked < _MAX_BOXES:
        trak = iso_box(data, position, moov[1], b"trak")
        if trak is None:
            break
        box: tuple[int, int] | None = trak
        for kind in (b"mdia", b"minf", b"stbl"):
            box = iso_box(data, *box, kind) if box else None
        for kind, entry in ((b"stco", ">I"), (b"co64", ">Q")):
            table = iso_box(data, *box, kind) if box else None
            # Full box (4 bytes), entry count (4), then the chunk offsets.
            if table and table[0] + 8 + struct.calcsize(entry) <= table[1]:
                offsets.append(struct.unpack_from(entry, data, table[0] + 8)[0])
        position, walked = trak[1], walked + 1
    return offsets


def iso_box(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    """(payload start, payload end) of the first box of ``kind`` among the ISO-BMFF boxes in
    data[start:end] (at most _MAX_BOXES walked; None when absent or the boxes do not fit)."""
    position, walked = start, 0
    while position + 8 <= end and walked < _MAX_BOXES:
        size, found = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1 and position + 16 <= end:  # a 64-bit size follows
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:  # to the end of the file
            size = end - position
        if size < header or position + size > end:
            return None
        if found == kind:
            return position + header, position + size
        position += size
        walked += 1
    return None


def _item_extents(data: bytes, start: int, end: int, *, idat_start: int | None) -> list[int]:
    """File offsets of the first extent of each item in an 'iloc' box (ISO/IEC 14496-12 8.11.3),
    for items stored in the file (construction method 0) or in 'idat' (method 1); in a box cut
    short, those of the items read whole."""
    box, position = memoryview(data)[start:end], 0

    def take(count: int) -> int:
        """The next big-endian unsigned number of ``count`` bytes; IndexError past the box's end."""
        nonlocal position
        if position + count > len(box):
            raise IndexError(position)
        position += count
        return int.from_bytes(box[position - count : position], "big")

    extents: list[int] = []
    with contextlib.suppress(IndexError):  # cut short: the items read whole
        version = take(1)
        take(3)  # flags
        sizes = take(2)
        offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
        index_size = sizes & 15 if version in (1, 2) else 0
        count = take(4 if version == 2 else 2)
        for _ in range(min(count, _MAX_AVIF_ITEMS)):
            take(4 if version == 2 else 2)  # item ID
            method = take(2) & 15 if version in (1, 2) else 0
            take(2)  # data reference index
            base = take(base_size)
            for index in range(take(2)):  # extent count
                take(index_size)
                offset = take(offset_size)
                take(length_size)
                origin = 0 if method == 0 else idat_start if method == 1 else None
                if index == 0 and origin is not None:
                    extents.append(origin + base + offset)
    return extents


def _av1_frame_size(obus: bytes) -> tuple[int, int] | None:
    """(width, height) a sequence header OBU among the first OBUs of ``obus`` declares (its
    max_frame_width/height, AV1 spec 5.5.1), or None when there is none or it cannot be read."""
    position = 0
    for _ in range(8):  # a temporal delimiter, metadata... then the sequence header
        if position >= len(obus):
            return None
        header = obus[position]
        kind, has_extension, has_size = (header >> 3) & 15, header & 4, header & 2
        position += 2 if has_extension else 1
        if not has_size:
            size = len(obus) - position
        else:
            coded, position = _leb128(obus, position)
            if coded is None:
                return None
            size = coded
        if kind == _AV1_SEQUENCE_HEADER:
            try:
                return _sequence_header_size(_BitReader(obus[position : position + size]))
            except IndexError:  # cut short
                return None
        position += size
    return None


def _leb128(data: bytes, position: int) -> tuple[int | None, int]:
    value = 0
    for index in range(8):
        if position >= len(data):
            return None, position
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, position
    return None, position


class _BitReader:
    def __init__(self, data: bytes):
        self.data, self.bit = data, 0

    def read(self, count: int) -> int:
        value = 0
        for _ in range(count):
            byte = self.data[self.bit >> 3]  # IndexError when cut short
            value = (value << 1) | ((byte >> (7 - (self.bit & 7))) & 1)
            self.bit += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return self.read(zeros) + (1 << zeros) - 1


def _sequence_header_size(bits: _BitReader) -> tuple[int, int]:
    """max_frame_width and max_frame_height of an AV1 sequence header OBU payload (spec 5.5.1)."""
    bits.read(3)  # seq_profile
    bits.read(1)  # still_picture
    if bits.read(1):  # reduced_still_picture_header
        bits.read(5)  # seq_level_idx[0]
    else:
        timing_info = bits.read(1)
        decoder_model_info = False
        buffer_delay_bits = 0
        if timing_info:
            bits.read(32)  # num_units_in_display_tick
            bits.read(32)  # time_scale
            if bits.read(1):  # equal_picture_interval
                bits.uvlc()  # num_ticks_per_picture_minus_1
            decoder_model_info = bool(bits.read(1))
            if decoder_model_info:
                buffer_delay_bits = bits.read(5) + 1
                bits.read(32)  # num_units_in_decoding_tick
                bits.read(5)  # buffer_removal_time_length_minus_1
                bits.read(5)  # frame_presentation_time_length_minus_1
        initial_display_delay = bits.read(1)
        for _ in range(bits.read(5) + 1):  # operating points
            bits.read(12)  # operating_point_idc
            if bits.read(5) > 7:  # seq_level_idx
                bits.read(1)  # seq_tier
            if decoder_model_info and bits.read(1):  # decoder_model_present_for_this_op
                bits.read(buffer_delay_bits)  # decoder_buffer_delay
                bits.read(buffer_delay_bits)  # encoder_buffer_delay
                bits.read(1)  # low_delay_mode_flag
            if initial_display_delay and bits.read(1):
                bits.read(4)  # initial_display_delay_minus_1
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1
