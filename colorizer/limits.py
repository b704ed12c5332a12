"""The resource budget every accepted image stays within, and the checks that enforce it.

Everything here is checked before the expensive step (reading a file, allocating pixels, running a
decoder), so that what an input costs in memory and time follows its real pixel count, never what a
header or a chunk length claims. The front ends (CLI, app) import these names instead of repeating
the numbers; docs/reliability.md gives the reasons and the measured bounds.

- DEFAULT_MAX_PIXELS: width x height of an accepted image (50 MP).
- DEFAULT_MAX_SIDE: the longer side of an accepted image. 65,500 is the longest side libjpeg (and so
  Pillow and OpenCV) can write as JPEG, far below libpng's 1,000,000, so every accepted image can be
  saved back as PNG or JPEG, and no row or column is long enough to dominate per-row or per-column
  work (WebP, at 16,383, is the one output format it does not fit).
- max_file_bytes(max_pixels): the size of an input photo file, refused by size before a byte is read:
  room for an uncompressed 16-bit RGBA TIFF at the pixel limit (8 bytes a pixel) and 64 MiB of
  metadata (EXIF, ICC, XMP, thumbnails); DEFAULT_MAX_FILE_BYTES is its value at DEFAULT_MAX_PIXELS
  (445.5 MiB). Films are not held to it: they are read as a stream, a frame at a time.
- MAX_ICC_PROFILE_BYTES: an embedded colour profile.
- MAX_JPEG_SCANS, MAX_JPEG_SEGMENTS, MAX_JPEG_FILL_BYTES, MAX_CHUNKS, MAX_GIF_BLOCKS, MAX_TIFF_TAGS,
  MAX_TIFF_VALUES, MAX_WEBP_FRAMES, MAX_RLE_BMP_PIXELS: structure counts whose cost a decoder pays per
  item whatever the pixel count (colorizer.preflight checks them).
"""

from __future__ import annotations

import numpy as np

from colorizer.errors import ColorizerError, ImageTooComplexError, ImageTooLargeError

DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_SIDE = 65_500
FILE_BYTES_PER_PIXEL = 8  # 16-bit RGBA, uncompressed: the most a still image's pixels take in a file
FILE_METADATA_BYTES = 64 << 20


def max_file_bytes(max_pixels: int) -> int:
    """The largest photo file accepted when images may have up to ``max_pixels`` pixels."""
    return FILE_BYTES_PER_PIXEL * max_pixels + FILE_METADATA_BYTES


DEFAULT_MAX_FILE_BYTES = max_file_bytes(DEFAULT_MAX_PIXELS)

# A progressive JPEG is decoded once per scan over the whole image; encoders write 6 to ~20 scans
# (libjpeg's default script: 10 for colour, 6 for grey). Each scan costs a pass over every block.
MAX_JPEG_SCANS = 100
# Marker segments before the first scan (APPn, DQT, DHT, SOF...), which Pillow parses one by one in
# Python; a photo has a few dozen (an ICC profile may take up to 255 APP2 segments).
MAX_JPEG_SEGMENTS = 2_000
# Fill bytes (0xFF) or junk between marker segments before the first scan, which Pillow reads one
# byte at a time in Python (a megabyte of them took seconds); encoders write none.
MAX_JPEG_FILL_BYTES = 65_536
# Bytes of an embedded ICC profile: a camera or press profile has 0.5 KB .. 2 MB. A larger one is not
# applied (colorizer.color_management); a JPEG whose APP2 segments hold more is refused before Pillow
# copies them twice (a 60 MB profile took 190 MB), as is a PNG iCCP chunk inflating past Pillow's
# 1 MiB (PngImagePlugin.MAX_TEXT_CHUNK, past which Pillow refuses it with a message about text).
MAX_ICC_PROFILE_BYTES = 4 << 20
# PNG or WebP chunks (Pillow reads each PNG chunk in Python; encoders write IDAT in 8 KiB..1 MiB pieces).
MAX_CHUNKS = 100_000
# GIF extension sub-blocks before the first image (Pillow reads each one in Python).
MAX_GIF_BLOCKS = 100_000
# Entries in one TIFF/EXIF directory (photos have < 100), and numeric values in all the directories
# a decoder parses, strip and tile tables aside (Pillow turns each value into a Python object: a
# fraction costs ~150 bytes; 990,000 of them in XResolution took 151 MB). The largest legitimate
# tables, a 16-bit TransferFunction or ColorMap, hold 196,608.
MAX_TIFF_TAGS = 4_096
MAX_TIFF_VALUES = 262_144
# Pixels of a run-length-encoded BMP: Pillow decodes RLE in Python, ~0.4 CPU seconds a megapixel at
# worst (one-pixel runs), against ~0.01 for other formats.
MAX_RLE_BMP_PIXELS = 10_000_000
# Frames in an animated WebP (libwebp's demuxer indexes every frame before the first is decoded).
MAX_WEBP_FRAMES = 10_000

_FINITE_BLOCK_VALUES = 1 << 20


def check_dimensions(
    width: int,
    height: int,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    name: str = "image",
) -> None:
    """Raise ImageTooLargeError (one line naming the limit and ``name``) when a width x height image
    has more than ``max_pixels`` pixels or a side longer than ``max_side``."""
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} is {width * height:,} pixels, more than the limit of {max_pixels:,}"
        )
    if max(width, height) > max_side:
        side = "wide" if width >= height else "tall"
        raise ImageTooLargeError(
            f"{name}: {width}x{height} is {max(width, height):,} pixels {side}, "
            f"more than the limit of {max_side:,} pixels a side"
        )


def check_limits(max_pixels: int, max_side: int) -> None:
    """Raise ValueError for limits that cannot be met by any image (a caller's mistake)."""
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")


def check_count(count: int, limit: int, what: str, name: str) -> None:
    """Raise ImageTooComplexError when a structure count read from a file exceeds its limit:
    ``what`` names the structure, e.g. "scans in a progressive JPEG"."""
    if count > limit:
        raise ImageTooComplexError(f"{name}: {count:,} {what}, more than the limit of {limit:,}")


def check_finite(image: np.ndarray, name: str = "image") -> None:
    """Raise ColorizerError when a float image (any shape) holds NaN or +-inf; integer images always
    pass. One pass over the pixels in blocks of about a million values, so the temporary mask stays
    small whatever the image size."""
    if not np.issubdtype(image.dtype, np.inexact):
        return
    rows = image if image.ndim else image.reshape(1)
    row_values = max(1, rows[:1].size)
    rows_per_block = max(1, _FINITE_BLOCK_VALUES // row_values)
    bad = sum(
        int(np.count_nonzero(~np.isfinite(rows[start : start + rows_per_block])))
        for start in range(0, len(rows), rows_per_block)
    )
    if bad:
        raise ColorizerError(
            f"{name}: {bad:,} of {image.size:,} values are NaN or infinite; "
            "replace them (e.g. numpy.nan_to_num) before colorizing"
        )
