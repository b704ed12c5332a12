"""The TIFF container: pixels and tags -> the bytes of a deflate-compressed TIFF file, and its first
directory's tags read back from a file (``first_directory``): provenance and "is it whole".

    data = tiff_bytes(rgb16, {34675: icc, 700: xmp}, exif)   # uint8/uint16 HxWx3 RGB or HxWx4 RGBA
    tags = first_directory(open("out.tiff", "rb"))          # {tag: (type, count, value or its offset)}

Layout: the 8-byte header, the first (only) directory with every tag and its values (EXIF and GPS
sub-directories included), then the strips: so every tag a reader looks for is in the file's first
bytes, and the file ends where its last strip does (``looks_whole``).

Why written here, with Pillow's directory writer (``TiffImagePlugin.ImageFileDirectory_v2``): Pillow
writes no 16-bit RGB TIFF; OpenCV writes one but no tags; tifffile writes any depth and any flat tag
but not the EXIF and GPS sub-directories that hold a photo's date taken and place. Pillow's directory
writer lays out any tags, sub-directories included (it writes the EXIF of every JPEG Pillow saves);
the strips are zlib's deflate (compression 8, "Adobe deflate") after the horizontal predictor
(predictor 2: each sample minus its left neighbour), which every TIFF reader (libtiff, and so OpenCV,
Pillow, GIMP, Photoshop) decodes. Strips are compressed on every core, STRIP_BYTES of pixels each.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, TiffImagePlugin, TiffTags

from colorizer.errors import ImageEncodeError

STRIP_BYTES = 256 * 1024  # uncompressed pixel bytes per strip (at least one row)
# zlib level 1, as the PNGs: on a 6 MP 16-bit result levels 3, 6 and 9 saved 1, 3 and 4 % of the
# bytes for 1.2, 1.9 and 2.6 times the time (docs/color.md)
DEFLATE_LEVEL = 1
MAX_FILE_BYTES = (1 << 32) - 1  # classic TIFF's 32-bit offsets
MAX_SIDE = (1 << 32) - 1  # its LONG width and height
MAX_DIRECTORY_TAGS = 4096  # entries read of a first directory at most
MAX_NUMBERS_BYTES = 1 << 22  # the strip table read at most (a million strips)

# Baseline tags (TIFF 6.0) this module writes.
WIDTH, HEIGHT, BITS, COMPRESSION, PHOTOMETRIC = 256, 257, 258, 259, 262
STRIP_OFFSETS, ORIENTATION, SAMPLES, ROWS_PER_STRIP, STRIP_BYTE_COUNTS = 273, 274, 277, 278, 279
PLANAR, PREDICTOR, EXTRA_SAMPLES, SAMPLE_FORMAT = 284, 317, 338, 339
TILE_OFFSETS, TILE_BYTE_COUNTS = 324, 325
XMP, IPTC, ICC, EXIF_IFD, GPS_IFD = 700, 33723, 34675, 34665, 34853
DEFLATE, RGB, HORIZONTAL, UNASSOCIATED_ALPHA = 8, 2, 2, 2
# Tags that describe how pixels are stored: never carried over from an input's EXIF or TIFF tags.
STRUCTURE = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 290, 291, 292, 293, 317}
    | {318, 319, 320, 321, 322, 323, 324, 325, 330, 332, 338, 339, 340, 341, 347, 513, 514, 515, 530, 531, 532}
    | {301, 342, 529}  # the input's transfer function (a 16-bit one is 128 KB) and range, YCbCr coefficients
    | {XMP, IPTC, ICC, 34377, 37724}  # XMP, IPTC, ICC, Photoshop resources, layers: carried apart or not
)
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def as_read(value: object) -> object:
    """A tag's value as Pillow read it -> the value that Pillow writes back as it was read. Pillow
    reads an ASCII tag's bytes as Latin-1 but writes "?" for every character past ASCII, and cameras,
    Lightroom, exiftool and Windows put UTF-8 there (a description, an artist's name): such a text
    goes back as its bytes (a tag Pillow does not know is then written as BYTE, not ASCII)."""
    if isinstance(value, str) and not value.isascii():
        return value.encode("latin-1")
    return value


def tiff_bytes(image: np.ndarray, tags: Mapping[int, bytes], exif: Image.Exif | None = None) -> bytes:
    """uint8 or uint16 HxWx3 RGB or HxWx4 RGBA (alpha unassociated) -> a little-endian TIFF file,
    deflate-compressed with the horizontal predictor.

    tags: byte-valued tags to add (ICC 34675, XMP 700, IPTC 33723; written as UNDEFINED, XMP as BYTE).
    exif: the EXIF to carry: its first directory's tags join the file's own (those in STRUCTURE are
        left out), its EXIF and GPS sub-directories are written as such; Orientation is always 1.
    ImageEncodeError when the file would pass classic TIFF's 4 GiB.
    """
    if image.dtype not in (np.uint8, np.uint16) or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected uint8/uint16 HxWx3 or HxWx4 pixels, got {image.dtype} {image.shape}")
    height, width, samples = image.shape
    strips = list(_compressed_strips(image))
    directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif is not None:
        for tag, value in exif.items():
            if tag not in STRUCTURE | {EXIF_IFD, GPS_IFD}:
                directory[tag] = as_read(value)
        for pointer in (EXIF_IFD, GPS_IFD):
            sub = exif.get_ifd(pointer)
            if sub:
                directory[pointer] = {tag: as_read(value) for tag, value in sub.items()}
                directory.tagtype[pointer] = TiffTags.LONG  # a dict of type LONG: a sub-directory
    bits = image.dtype.itemsize * 8
    rows = _rows_per_strip(image)
    own = {
        WIDTH: (TiffTags.LONG, width),
        HEIGHT: (TiffTags.LONG, height),
        BITS: (TiffTags.SHORT, (bits,) * samples),
        COMPRESSION: (TiffTags.SHORT, DEFLATE),
        PHOTOMETRIC: (TiffTags.SHORT, RGB),
        ORIENTATION: (TiffTags.SHORT, 1),
        SAMPLES: (TiffTags.SHORT, samples),
        ROWS_PER_STRIP: (TiffTags.LONG, rows),
        PLANAR: (TiffTags.SHORT, 1),
        PREDICTOR: (TiffTags.SHORT, HORIZONTAL),
        SAMPLE_FORMAT: (TiffTags.SHORT, (1,) * samples),
        STRIP_BYTE_COUNTS: (TiffTags.LONG, tuple(len(strip) for strip in strips)),
        # Relative to the end of the directory's values: the writer adds where that is.
        STRIP_OFFSETS: (TiffTags.LONG, tuple(np.cumsum([0] + [len(strip) for strip in strips[:-1]]).tolist())),
    }
    if samples == 4:
        own[EXTRA_SAMPLES] = (TiffTags.SHORT, UNASSOCIATED_ALPHA)
    for tag, data in tags.items():
        own[tag] = (TiffTags.BYTE if tag == XMP else TiffTags.UNDEFINED, data)
    for tag, (kind, value) in own.items():
        directory.tagtype[tag] = kind
        directory[tag] = value
    head = b"II*\0" + struct.pack("<I", 8) + directory.tobytes(8)
    size = len(head) + sum(len(strip) for strip in strips)
    if size > MAX_FILE_BYTES:
        raise ImageEncodeError(f"{width}x{height} compresses to {size:,} bytes, more than a TIFF holds (4 GiB)")
    return b"".join([head, *strips])


def _rows_per_strip(image: np.ndarray) -> int:
    row_bytes = image.shape[1] * image.shape[2] * image.itemsize
    return max(1, min(image.shape[0], STRIP_BYTES // row_bytes))


def _compressed_strips(image: np.ndarray) -> Iterator[bytes]:
    """The image's strips, each predicted and deflated, on every core (zlib releases the GIL)."""
    rows = _rows_per_strip(image)
    starts = range(0, image.shape[0], rows)

    def compress(top: int) -> bytes:
        strip = image[top : top + rows]
        predicted = strip.copy()
        predicted[:, 1:] -= strip[:, :-1]  # horizontal predictor: unsigned, wrapping, per channel
        return zlib.compress(predicted.astype(predicted.dtype.newbyteorder("<"), copy=False).tobytes(), DEFLATE_LEVEL)

    with ThreadPoolExecutor() as pool:
        yield from pool.map(compress, starts)


# --- reading the first directory ------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    """A classic TIFF's first directory as read by ``first_directory``: ``order`` "<" or ">", and
    ``entries`` {tag: (type, count, the entry's 4 value bytes)}."""

    order: str
    entries: Mapping[int, tuple[int, int, bytes]]


def first_directory(stream: BinaryIO) -> Directory | None:
    """The first directory of the classic TIFF in ``stream`` (seekable, at any position); None for
    anything else or a damaged header. Reads the header and the directory's entries only."""
    stream.seek(0)
    header = stream.read(8)
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(header[:4])
    if order is None or len(header) < 8:
        return None
    stream.seek(struct.unpack(f"{order}I", header[4:])[0])
    counted = stream.read(2)
    if len(counted) < 2:
        return None
    count = min(struct.unpack(f"{order}H", counted)[0], MAX_DIRECTORY_TAGS)
    entries = stream.read(12 * count)
    found = {}
    for start in range(0, len(entries) - 11, 12):
        tag, kind, number = struct.unpack(f"{order}HHI", entries[start : start + 8])
        found[tag] = (kind, number, entries[start + 8 : start + 12])
    return Directory(order, found)


def tag_bytes(stream: BinaryIO, directory: Directory, tag: int, limit: int) -> bytes:
    """The value of ``tag`` in ``directory`` as bytes; b"" when absent or over ``limit`` bytes."""
    if tag not in directory.entries:
        return b""
    kind, count, value = directory.entries[tag]
    size = _TYPE_SIZES.get(kind, 1) * count
    if size > limit:
        return b""
    if size <= 4:
        return value[:size]
    stream.seek(struct.unpack(f"{directory.order}I", value)[0])
    return stream.read(size)


def tag_numbers(stream: BinaryIO, directory: Directory, tag: int) -> list[int]:
    """The SHORT or LONG values of ``tag`` as numbers ([] when absent or of another type)."""
    kind = directory.entries.get(tag, (0, 0, b""))[0]
    if kind not in (3, 4):
        return []
    letter = "H" if kind == 3 else "I"
    data = tag_bytes(stream, directory, tag, MAX_NUMBERS_BYTES)
    return list(struct.unpack(f"{directory.order}{len(data) // struct.calcsize(letter)}{letter}", data))


def looks_whole(stream: BinaryIO, size: int) -> bool:
    """Whether the TIFF in ``stream`` (``size`` bytes) has a readable first directory whose strips (or
    tiles) all lie within the file, the last ending where the file does (as ``tiff_bytes`` writes)."""
    directory = first_directory(stream)
    if directory is None:
        return False
    for offsets_tag, counts_tag in ((STRIP_OFFSETS, STRIP_BYTE_COUNTS), (TILE_OFFSETS, TILE_BYTE_COUNTS)):
        offsets, counts = tag_numbers(stream, directory, offsets_tag), tag_numbers(stream, directory, counts_tag)
        if offsets and len(offsets) == len(counts):
            return max(offset + count for offset, count in zip(offsets, counts)) == size
    return False
