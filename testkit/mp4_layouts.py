"""MP4 box layouts built byte by byte, for tests of the box walk (``colorizer.mp4_boxes`` and the MP4
rule of ``colorizer.encode.looks_complete``): boxes in any order, 64-bit sizes, size 0 (to the end),
cut files, and text entries laid out as Apple's QuickTime metadata spec describes them
(``moov/udta/meta`` with ``hdlr``, ``keys`` and ``ilst``), written here without FFmpeg.

    data = mp4(ftyp(), box(b"moov", metadata({"Software": "x"})), large_box(b"mdat", b"\\0" * 100))
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

UTF8 = 1  # the data box's well-known type for UTF-8 text
JPEG = 13  # ... and one that is not text


def box(kind: bytes, body: bytes = b"") -> bytes:
    """A box with a 32-bit size: size (header included), 4-byte type, body."""
    return struct.pack(">I4s", 8 + len(body), kind) + body


def large_box(kind: bytes, body: bytes = b"") -> bytes:
    """A box with a 64-bit size: size field 1, type, then the real size (header of 16 included)."""
    return struct.pack(">I4sQ", 1, kind, 16 + len(body)) + body


def to_end_box(kind: bytes, body: bytes = b"") -> bytes:
    """A box with size 0: it runs to the end of the file."""
    return struct.pack(">I4s", 0, kind) + body


def ftyp(brand: bytes = b"isom") -> bytes:
    """A file type box: major brand, minor version, compatible brands."""
    return box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")


def mp4(*boxes: bytes) -> bytes:
    return b"".join(boxes)


def metadata(entries: Mapping[str, str], *, full_meta: bool = True, data_type: int = UTF8) -> bytes:
    """A ``udta`` box holding ``entries`` as QuickTime metadata: ``meta`` (a full box in MP4, with 4
    zero bytes of version and flags; ``full_meta=False``: QuickTime's plain box) with ``hdlr`` (mdta),
    ``keys`` (count, then size + "mdta" + name per key) and ``ilst`` (one item per key, typed by its
    1-based index, holding a ``data`` box: type, locale, value)."""
    keys = b"".join(struct.pack(">I4s", 8 + len(key.encode()), b"mdta") + key.encode() for key in entries)
    items = b"".join(
        box(struct.pack(">I", index), box(b"data", struct.pack(">II", data_type, 0) + value.encode()))
        for index, value in enumerate(entries.values(), start=1)
    )
    handler = box(b"hdlr", struct.pack(">II4s", 0, 0, b"mdta") + b"\0" * 13)
    meta_body = handler + box(b"keys", struct.pack(">II", 0, len(entries)) + keys) + box(b"ilst", items)
    return box(b"udta", box(b"meta", (b"\0\0\0\0" if full_meta else b"") + meta_body))


def sparse_large_mp4(path: Path, mdat_bytes: int) -> Path:
    """An MP4 at ``path`` whose ``mdat`` has a 64-bit size of ``mdat_bytes`` body bytes (more than
    4 GiB if asked), the body left as a hole in a sparse file: only the headers take disk space."""
    head = mp4(ftyp(), box(b"moov", box(b"mvhd", b"\0" * 100)))
    with open(path, "wb") as stream:
        stream.write(head + struct.pack(">I4sQ", 1, b"mdat", 16 + mdat_bytes))
        stream.truncate(len(head) + 16 + mdat_bytes)
    return path
