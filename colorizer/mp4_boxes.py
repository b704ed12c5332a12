"""MP4 (ISO base media file format) boxes, read from their headers: the walk that tells whether a
file's top-level boxes cover it (``encode.looks_complete``), and the text entries an MP4 carries
(``encode.read_text_stream``, hence ``provenance.read_provenance``).

A box is a 32-bit big-endian size (its header included), a 4-byte type, then its body; size 1 means
a 64-bit size follows the type ("largesize"), size 0 that the box runs to the end of the file (or of
its parent). Text entries are read as FFmpeg writes them with ``movflags=use_metadata_tags``
(``colorizer.video.container.FilmWriter``) and as Apple's QuickTime metadata stores them:
``moov/udta/meta`` (or ``moov/meta``) holding a ``keys`` box (the names, ``mdta`` namespace) and an
``ilst`` box whose children are typed by the 1-based key index, each with a ``data`` box (type 1,
UTF-8). Only headers and those two small boxes are read, seeking over everything else, and each
level is walked for at most MAX_BOXES boxes, so a hostile file costs a bounded number of reads.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_BOXES = 100_000  # per level: a fragmented film has a few thousand top-level boxes
MAX_TEXT_BYTES = 1 << 20  # a keys or ilst box larger than this is not read
_UTF8 = 1  # the data box's well-known type for UTF-8 text


class BoxError(ValueError):
    """A box header that cannot be right: a size smaller than its header, or too many boxes."""


class TooManyBoxesError(BoxError):
    """More than MAX_BOXES boxes in one level."""


@dataclass(frozen=True)
class Box:
    """One box: its 4-byte ``type``, the byte offset of its ``start``, the ``header`` length (8, or
    16 with a 64-bit size) and its ``size`` in bytes, header included."""

    type: bytes
    start: int
    header: int
    size: int

    @property
    def body(self) -> int:
        """The byte offset of its body."""
        return self.start + self.header

    @property
    def end(self) -> int:
        """The byte offset just past it (past the parent's end in a truncated file)."""
        return self.start + self.size


def boxes(stream: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """The boxes from byte offset ``start`` to ``end`` of a seekable ``stream``, in order, read from
    their headers alone. Stops at ``end``, or at a header that ``end`` (or the file) cuts short; the
    last box's ``end`` may lie past ``end`` (the caller checks). BoxError for a size smaller than its
    header, or for more than MAX_BOXES boxes."""
    position = start
    for _ in range(MAX_BOXES):
        if position + 8 > end:
            return
        stream.seek(position)
        header = stream.read(16 if position + 16 <= end else 8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        length = 8
        if size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return
            size, length = struct.unpack(">Q", header[8:16])[0], 16
        elif size == 0:  # to the end of the file (or the parent)
            size = end - position
        if size < length:
            raise BoxError(f"box {kind!r} at byte {position} declares {size} bytes, less than its header")
        yield Box(kind, position, length, size)
        position += size
    if position + 8 <= end:
        raise TooManyBoxesError(f"more than {MAX_BOXES:,} boxes in one level")


def find_box(stream: BinaryIO, start: int, end: int, kind: bytes) -> Box | None:
    """The first box of type ``kind`` between ``start`` and ``end`` that lies whole inside them."""
    for box in boxes(stream, start, end):
        if box.type == kind:
            return box if box.end <= end else None
    return None


def read_mp4_text(stream: BinaryIO) -> dict[str, str]:
    """The text entries (key -> value) of the MP4 in the seekable ``stream``: its ``moov/udta/meta``
    (or ``moov/meta``) keys with their UTF-8 ``ilst`` values; {} when it has none or is no MP4.
    Never raises on bad data."""
    try:
        size = stream.seek(0, io.SEEK_END)
        moov = find_box(stream, 0, size, b"moov")
        if moov is None:
            return {}
        udta = find_box(stream, moov.body, moov.end, b"udta")
        meta = find_box(stream, udta.body, udta.end, b"meta") if udta else None
        meta = meta or find_box(stream, moov.body, moov.end, b"meta")
        return _meta_text(stream, meta) if meta else {}
    except (BoxError, struct.error, OSError):
        return {}


def _meta_text(stream: BinaryIO, meta: Box) -> dict[str, str]:
    """The keys and ilst values of one ``meta`` box: a full box in MP4 (4 bytes of version and flags
    first, all zero), a plain one in QuickTime."""
    stream.seek(meta.body)
    first = meta.body + 4 if stream.read(4) == b"\0\0\0\0" else meta.body
    keys_box = find_box(stream, first, meta.end, b"keys")
    ilst_box = find_box(stream, first, meta.end, b"ilst")
    if keys_box is None or ilst_box is None:
        return {}
    keys = _keys(_body(stream, keys_box))
    text: dict[str, str] = {}
    items = _body(stream, ilst_box)
    with io.BytesIO(items) as item_stream:
        for item in boxes(item_stream, 0, len(items)):
            index = struct.unpack(">I", item.type)[0]
            if not 1 <= index <= len(keys) or item.end > len(items):
                continue
            value = _data_value(item_stream, item)
            if value is not None:
                text[keys[index - 1]] = value
    return text


def _body(stream: BinaryIO, box: Box) -> bytes:
    """A box's body (at most MAX_TEXT_BYTES: a larger one is refused with BoxError)."""
    if box.size - box.header > MAX_TEXT_BYTES:
        raise BoxError(f"box {box.type!r} of {box.size:,} bytes is larger than text entries are")
    stream.seek(box.body)
    return stream.read(box.size - box.header)


def _keys(body: bytes) -> list[str]:
    """A keys box body -> the key names in order: version/flags (4), count (4), then per key its
    size (4, counting these 8 bytes), namespace (4, "mdta") and name (UTF-8)."""
    count = struct.unpack(">I", body[4:8])[0]
    keys, offset = [], 8
    for _ in range(count):
        size = struct.unpack(">I", body[offset : offset + 4])[0]
        if size < 8 or offset + size > len(body):
            raise BoxError("a key runs past its keys box")
        keys.append(body[offset + 8 : offset + size].decode("utf-8", "replace"))
        offset += size
    return keys


def _data_value(stream: BinaryIO, item: Box) -> str | None:
    """The UTF-8 text of the first ``data`` box in an ilst item: type (4: 0 then 24-bit type),
    locale (4), value; None for another type."""
    data = find_box(stream, item.body, item.end, b"data")
    if data is None or data.size < data.header + 8:
        return None
    stream.seek(data.body)
    kind = struct.unpack(">I", stream.read(4))[0]
    if kind != _UTF8:
        return None
    stream.seek(data.body + 8)
    return stream.read(data.end - data.body - 8).decode("utf-8", "replace")
