"""A second hostile corpus: files built to cost a reader far more than their pixels, or to make it
raise something other than its own errors, each with the outcome expected and a resource bound.

Every file is generated here (nothing downloaded) into a folder the caller gives, small on disk (the
30 GB file is sparse). ``cases(folder)`` returns them in a fixed order:

    from testkit.hostile_files import cases, measure
    for case in cases(tmp_path):
        result = measure(case)              # read in a fresh subprocess: outcome, peak RSS, seconds
        assert result.within(case.bound)

Each Case has a ``role``: "image" files go through ``colorizer.read_image`` (and the CLI and the app
through their front ends); "prototxt", "caffemodel" and "hull" files through the converter's readers
(and ``python -m convert``, beside the good release files). ``expect`` is ``Decoded`` (the array's
shape and dtype) or ``Refused`` (the exception class's name and a regex its one-line message must
match). ``pixels`` is what an accepted file really holds (0 when refused), and ``bound`` the budget
for reading it: peak RSS above the reader's baseline at most BASE_RSS_BYTES + RSS_BYTES_PER_PIXEL x
pixels, and at most MAX_SECONDS + SECONDS_PER_MEGAPIXEL x its megapixels of CPU time (CPU
rather than wall time: a loaded machine stretches the latter). These are resource bounds, not speed
targets: generous, and proportional to the real pixels, never to what a header claims.

``measure(case)`` and ``measure_many(cases)`` read each file in a process of its own, forked from one
interpreter that has imported the readers (``python -m testkit.hostile_files``: requests on stdin,
JSON results on stdout), so that its peak memory is that file's alone.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from testkit.hostile_corpus import encode, png_declaring, scene
from testkit.hostile_profiles import PROFILE_FILES, ProfileFile
from testkit.measured import step_cost

REPO_ROOT = Path(__file__).resolve().parents[1]

BASE_RSS_BYTES = 96 << 20  # a refused file, or the fixed part of an accepted one's cost
RSS_BYTES_PER_PIXEL = 40  # decoded pixels and a decoder's working copies (16-bit RGBA is 8 bytes/pixel)
MAX_SECONDS = 10.0  # CPU seconds per file, plus SECONDS_PER_MEGAPIXEL for what it really holds
SECONDS_PER_MEGAPIXEL = 0.2  # a 50 MP progressive JPEG with 100 scans takes ~3 s

SPARSE_BYTES = 30 << 30
WIDE = 4_999_999  # the one-dimension-huge PNG: 4,999,999 x 10 is under 50 MP
MANY_SCANS = 20_000


@dataclass(frozen=True)
class Decoded:
    """Read as an array of this shape (H, W[, C]) and dtype."""

    shape: tuple[int, ...]
    dtype: str = "uint8"


@dataclass(frozen=True)
class Refused:
    """Refused with this exception class (its name: colorizer.errors for images, convert.errors for
    release files) and a one-line message matching ``pattern`` (re.search)."""

    error: str
    pattern: str

    @property
    def anywhere(self) -> str:
        """``pattern`` without its start anchor, for a front end that prefixes the message."""
        return self.pattern.removeprefix("^")

    def matched_by(self, outcome: str, error: str, message: str) -> bool:
        """Whether a measured outcome ("refused", the exception's class name, its message) is this one."""
        return outcome == "refused" and error == self.error and re.search(self.pattern, message) is not None


@dataclass(frozen=True)
class Bound:
    rss_bytes: int  # peak resident memory above the reader's baseline
    seconds: float  # CPU time of the read (user + system)

    def admits(self, rss_bytes: int, cpu_seconds: float) -> bool:
        return rss_bytes <= self.rss_bytes and cpu_seconds <= self.seconds


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    role: str  # "image", "prototxt", "caffemodel" or "hull"
    expect: Decoded | Refused
    what: str  # one line for the report

    @property
    def pixels(self) -> int:
        """Pixels an accepted file really holds (0 for a refused one)."""
        return int(np.prod(self.expect.shape[:2])) if isinstance(self.expect, Decoded) else 0

    @property
    def bound(self) -> Bound:
        return Bound(
            BASE_RSS_BYTES + RSS_BYTES_PER_PIXEL * self.pixels, MAX_SECONDS + SECONDS_PER_MEGAPIXEL * self.pixels / 1e6
        )


@dataclass(frozen=True)
class Result:
    """What reading one file in a fresh process did."""

    outcome: str  # "decoded", "refused" or "crashed" (an exception that is not the library's own)
    error: str  # the exception class's name ("" when decoded)
    message: str  # its message, or "HxW[xC] dtype" when decoded
    shape: tuple[int, ...]
    dtype: str
    rss_bytes: int  # peak RSS during the read above the RSS just before it
    seconds: float  # wall time
    cpu_seconds: float  # user + system time

    def matches(self, expect: Decoded | Refused) -> bool:
        if isinstance(expect, Decoded):
            return self.outcome == "decoded" and self.shape == expect.shape and self.dtype == expect.dtype
        return expect.matched_by(self.outcome, self.error, self.message)

    def within(self, bound: Bound) -> bool:
        return bound.admits(self.rss_bytes, self.cpu_seconds)


# --- the corpus ---------------------------------------------------------------------------------------

ROLES = ("image", "prototxt", "caffemodel", "hull")


@dataclass(frozen=True)
class _Spec:
    """A case before its file exists: ``make`` writes it into a folder and returns its path."""

    name: str
    role: str
    expect: Decoded | Refused
    what: str
    make: Callable[[Path], Path]


def cases(folder: Path, *, roles: tuple[str, ...] = ROLES) -> list[Case]:
    """Write the file of every case of ``roles`` into ``folder`` (created if needed) and return them."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        Case(spec.name, spec.make(folder), spec.role, spec.expect, spec.what) for spec in _specs() if spec.role in roles
    ]


def case_names(*, roles: tuple[str, ...] = ROLES) -> list[str]:
    """The names ``cases`` returns, in order, without writing anything (for test parametrization)."""
    return [spec.name for spec in _specs() if spec.role in roles]


def special_file_names() -> set[str]:
    """The image cases whose file is not a regular file of ordinary size (a FIFO, a folder, a device,
    a 30 GB sparse file, a 60 MB JPEG over the app's upload limit): a path handed to a reader, never
    a file a client could upload."""
    oversized = {item.name for item in PROFILE_FILES if not item.uploadable}
    return {spec.name for spec in _special_file_specs()} | oversized


def _specs() -> list[_Spec]:
    specs = _image_specs() + _special_file_specs() + _release_specs()
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names)), "case names must be unique"
    return specs


def _refused(error: str, name: str, message: str) -> Refused:
    return Refused(error, rf"^{re.escape(name)}: {message}")


def _writes(name: str, build: Callable[..., bytes], *args, **options) -> Callable[[Path], Path]:
    """A maker writing ``build(*args, **options)`` to folder/name (built only when called)."""

    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(build(*args, **options))
        return path

    return make


def _image_specs() -> list[_Spec]:
    def spec(name: str, build: Callable[..., bytes], args: tuple, expect: Decoded | Refused, what: str, **options):
        return _Spec(name, "image", expect, what, _writes(name, build, *args, **options))

    too_large, too_complex, corrupt = "ImageTooLargeError", "ImageTooComplexError", "ImageDecodeError"
    small = (64, 48)
    return [
        # One dimension huge: under the pixel limit, over the side limit; refused from the header.
        spec(
            "wide_4999999x10.png",
            flat_png,
            (WIDE, 10),
            _refused(
                too_large,
                "wide_4999999x10.png",
                r"4999999x10 is 4,999,999 pixels wide, more than the limit of 65,500 pixels a side$",
            ),
            "4,999,999 x 10 grey PNG (50 MP in ~50 KB): per-column work would dominate",
        ),
        spec(
            "tall_10x4999999.png",
            flat_png,
            (10, WIDE),
            _refused(
                too_large,
                "tall_10x4999999.png",
                r"10x4999999 is 4,999,999 pixels tall, more than the limit of 65,500 pixels a side$",
            ),
            "10 x 4,999,999 grey PNG",
        ),
        spec(
            "wide_65500x16.png",
            flat_png,
            (65_500, 16),
            Decoded((16, 65_500)),
            "65,500 x 16 grey PNG: exactly at the side limit, accepted",
        ),
        # Decoder amplification: EXIF tags that all point at one block, copied once per tag.
        *(
            spec(
                f"exif_amplified.{extension}",
                scene_with_exif,
                (container, *small, amplified_exif(1000, 1 << 20)),
                _refused(too_complex, f"exif_amplified.{extension}", r"EXIF tags claim 1,048,576,000 bytes"),
                what,
            )
            for extension, container, what in (
                ("png", "PNG", "1 MB PNG whose eXIf has 1,000 tags pointing at one 1 MB block (1 GB of copies)"),
                ("webp", "WEBP", "the same EXIF in a WebP"),
            )
        ),
        spec(
            "exif_amplified.jpg",
            scene_with_exif,
            ("JPEG", *small, b"Exif\x00\x00" + amplified_exif(2000, 40_000)),
            _refused(too_complex, "exif_amplified.jpg", r"EXIF tags claim 80,000,000 bytes"),
            "JPEG whose 64 KB APP1 has 2,000 tags pointing at one 40 KB block (Pillow parses it while opening)",
        ),
        spec(
            "exif_amplified.tiff",
            amplified_tiff,
            (1000, 1 << 20),
            _refused(too_complex, "exif_amplified.tiff", r"TIFF tags claim 1,048,576,000 bytes"),
            "TIFF whose own directory has 1,000 tags pointing at one 1 MB block",
        ),
        # Lying lengths.
        spec(
            "lying_chunk_16bit.png",
            lying_chunk_png,
            (),
            _refused(
                corrupt,
                "lying_chunk_16bit.png",
                r"the file is truncated .*PNG chunk 'IDAT' at byte 33 declares 4,294,967,280 bytes",
            ),
            "57-byte 16-bit PNG whose first IDAT claims 4 GB (OpenCV allocated it)",
        ),
        spec(
            "lying_chunk.webp",
            lying_chunk_webp,
            (),
            _refused(
                corrupt,
                "lying_chunk.webp",
                r"the file is truncated .*WebP chunk 'VP8L' at byte 12 declares 4,294,967,000 bytes",
            ),
            "WebP whose image chunk claims 4 GB",
        ),
        # Decode time out of proportion: scans, chunks, blocks, text.
        spec(
            "many_scans.jpg",
            progressive_jpeg,
            (2048, 2048, MANY_SCANS),
            _refused(too_complex, "many_scans.jpg", r"101 scans in a progressive JPEG, more than the limit of 100$"),
            f"2048 x 2048 progressive JPEG with {MANY_SCANS:,} empty scans (~330 KB; a minute of CPU)",
        ),
        spec(
            "fill_bytes.jpg",
            jpeg_with_fill,
            (1 << 20,),
            _refused(
                too_complex,
                "fill_bytes.jpg",
                r"1,048,576 bytes of padding or junk between JPEG markers, more than the limit of 65,536$",
            ),
            "8 x 8 JPEG after 1 MB of 0xFF fill bytes (Pillow reads them one at a time: ~4 s a MB)",
        ),
        spec(
            "scans_at_limit_50mp.jpg",
            progressive_jpeg,
            (8000, 6248, 99),
            Decoded((6248, 8000)),
            "8000 x 6248 (50 MP) progressive JPEG with 100 scans: the costliest JPEG accepted",
        ),
        spec(
            "many_chunks.png",
            many_chunks_png,
            (150_000,),
            _refused(too_complex, "many_chunks.png", r"100,001 PNG chunks, more than the limit of 100,000$"),
            "PNG with 150,000 empty ancillary chunks (Pillow reads each one in Python)",
        ),
        spec(
            "text_bomb.png",
            text_bomb_png,
            (1000,),
            _refused(corrupt, "text_bomb.png", r"corrupt image data: Too much memory used in text chunks"),
            "1 MB PNG of 1,000 zTXt chunks each inflating to 1 MB (Pillow stops at 64 MB)",
        ),
        spec(
            "many_blocks.gif",
            many_blocks_gif,
            (150_000,),
            _refused(too_complex, "many_blocks.gif", r"100,001 GIF extension blocks before the first image"),
            "GIF whose comment has 150,000 one-byte sub-blocks",
        ),
        spec(
            "canvas_bomb.webp",
            webp_canvas,
            (16_384, 16_384),
            _refused(
                too_large, "canvas_bomb.webp", r"16384x16384 is 268,435,456 pixels, more than the limit of 50,000,000$"
            ),
            "animated WebP whose canvas is 16384 x 16384 (libwebp allocates it while opening)",
        ),
        spec(
            "rle_12mp.bmp",
            rle8_bmp,
            (4000, 3000, 0),
            _refused(
                too_complex,
                "rle_12mp.bmp",
                r"12,000,000 pixels in a run-length-encoded BMP, more than the limit of 10,000,000$",
            ),
            "RLE8 BMP header of 4000 x 3000 (Pillow decodes RLE in Python: ~0.4 s a megapixel)",
        ),
        spec(
            "rle_pairs_2mp.bmp",
            rle8_bmp,
            (2000, 1000, 1000),
            Decoded((1000, 2000)),
            "2000 x 1000 RLE8 BMP of one-pixel runs: the slowest decoder's worst case, accepted",
        ),
        # TIFF oddities.
        spec(
            "bigtiff_offset.tif",
            bigtiff_far_offset,
            (),
            _refused(
                corrupt, "bigtiff_offset.tif", r"corrupt TIFF data: tag 270 points at byte 9,223,372,036,854,775,813$"
            ),
            "BigTIFF with a tag's data at byte 2**63 + 5 (Pillow: OverflowError)",
        ),
        spec(
            "text_strip_offsets.tif",
            tiff_text_strip_offsets,
            (),
            _refused(
                corrupt, "text_strip_offsets.tif", r"corrupt TIFF: tag 273 holds values of type 2, not whole numbers$"
            ),
            "TIFF whose StripOffsets are ASCII text (Pillow: TypeError)",
        ),
        spec(
            "many_strips.tif",
            tiff_many_strips,
            (300_000,),
            _refused(
                too_complex, "many_strips.tif", r"the TIFF lists 300,000 pieces \(tag 273\) for an image made of 10$"
            ),
            "10 x 10 TIFF listing 300,000 strips (Pillow makes a Python tuple per strip)",
        ),
        spec(
            "many_fractions.tif",
            tiff_with_values,
            (282, 5, 300_000),
            _refused(
                too_complex,
                "many_fractions.tif",
                r"300,007 numeric values in TIFF tags, more than the limit of 262,144$",
            ),
            "16 x 16 TIFF whose XResolution holds 300,000 fractions (Pillow: ~150 bytes of Python each)",
        ),
        spec(
            "huge_tile.tif",
            tiff_huge_tile,
            (),
            _refused(too_complex, "huge_tile.tif", r"TIFF tiles of 65536x65536 pixels for a 16x16 image$"),
            "16 x 16 TIFF in one 65536 x 65536 tile (a 4 GP tile buffer)",
        ),
        spec(
            "one_row_strips.tif",
            tiff_one_row_strips,
            (400, 8000),
            Decoded((8000, 400)),
            "400 x 8000 TIFF with one row per strip (8,000 strips): accepted",
        ),
        # Garbage inside valid AVIF/HEIC containers (libavif/libheif report it as RuntimeError).
        spec(
            "garbage.avif",
            garbage_avif,
            small,
            _refused(corrupt, "garbage.avif", r"corrupt image data"),
            "AVIF with its AV1 payload zeroed",
        ),
        spec(
            "garbage.heic",
            garbage_heic,
            small,
            _refused(corrupt, "garbage.heic", r"corrupt image data"),
            "HEIC with its HEVC payload zeroed",
        ),
        spec(
            "size_box_lies.avif",
            avif_declaring,
            (65_504, 16, (32, 24)),
            _refused(
                too_large,
                "size_box_lies.avif",
                r"65504x16 is 65,504 pixels wide, more than the limit of 65,500 pixels a side$",
            ),
            "AVIF saying 32 x 24 around a 65,504 x 16 AV1 frame (libavif decodes the frame's size; "
            "an 8192 x 8192 one took 148 MB from 1 KB)",
        ),
        # Ordinary large photos: the memory per megapixel of an accepted file.
        spec("photo_12mp.jpg", scene_jpeg, (4000, 3000), Decoded((3000, 4000)), "4000 x 3000 grey JPEG"),
        spec(
            "photo_12mp_progressive.jpg",
            scene_jpeg,
            (4000, 3000),
            Decoded((3000, 4000, 3)),
            "4000 x 3000 colour progressive JPEG, no chroma subsampling",
            colour=True,
        ),
        spec(
            "rgb16_6mp.png",
            rgb16_png,
            (3000, 2000),
            Decoded((2000, 3000, 3), "uint16"),
            "3000 x 2000 16-bit RGB PNG (decoded by OpenCV)",
        ),
        # Hostile colour profiles in PNG, JPEG, TIFF and WebP (testkit.hostile_profiles).
        *(_profile_spec(item) for item in PROFILE_FILES),
    ]


def _profile_spec(item: ProfileFile) -> _Spec:
    """A photo carrying a hostile profile: decoded as if untagged, or refused as too complex."""
    expect: Decoded | Refused = (
        _refused("ImageTooComplexError", item.name, item.refusal)
        if item.refusal
        else Decoded(item.shape, "uint16" if item.sixteen_bits else "uint8")
    )
    return _Spec(item.name, "image", expect, item.what, lambda folder: item.write(folder / item.name))


def _special_file_specs() -> list[_Spec]:
    """Files that are not regular files, or too large to read."""
    too_large, corrupt = "ImageTooLargeError", "ImageDecodeError"

    def sparse(folder: Path) -> Path:
        path = folder / "sparse_30GB.png"
        with open(path, "wb") as stream:
            stream.write(png_declaring(64, 48))
            stream.truncate(SPARSE_BYTES)  # sparse: no disk used
        return path

    def fifo(folder: Path) -> Path:
        path = folder / "fifo.png"
        if not path.exists():
            os.mkfifo(path)
        return path

    def directory(folder: Path) -> Path:
        path = folder / "folder.png"
        path.mkdir(exist_ok=True)
        return path

    return [
        _Spec(
            "sparse_30GB.png",
            "image",
            _refused(too_large, "sparse_30GB.png", r"the file is 30 GiB, more than the limit of 445\.5 MiB$"),
            "a 30 GB sparse file named .png",
            sparse,
        ),
        _Spec(
            "fifo.png",
            "image",
            _refused(corrupt, "fifo.png", r"not an image file but a named pipe"),
            "a FIFO named .png (opening it would wait for a writer forever)",
            fifo,
        ),
        _Spec(
            "folder.png",
            "image",
            _refused(corrupt, "folder.png", r"not an image file but a folder$"),
            "a folder named .png",
            directory,
        ),
        _Spec(
            "dev_zero",
            "image",
            _refused(corrupt, "zero", r"not an image file but a character device$"),
            "/dev/zero (endless)",
            lambda folder: Path("/dev/zero"),
        ),
    ]


def _release_specs() -> list[_Spec]:
    def spec(name: str, role: str, build: Callable[..., bytes], args: tuple, expect: Refused, what: str):
        return _Spec(name, role, expect, what, _writes(name, build, *args))

    return [
        spec(
            "deep_nesting.prototxt",
            "prototxt",
            deep_prototxt,
            (100_000,),
            Refused("CaffeParseError", r"deep_nesting\.prototxt: .*nested more than \d+ levels deep"),
            "prototxt with 100,000 nested blocks (the parser recursed: RecursionError)",
        ),
        spec(
            "huge_header.npy",
            "hull",
            huge_npy_header,
            (10**11,),
            Refused(
                "HullError", r"huge_header\.npy: .*header declares float32 \(100000000000,\) \(100,000,000,000 values\)"
            ),
            "128-byte .npy whose header declares 10^11 float32 values (400 GB)",
        ),
        spec(
            "nan_hull.npy",
            "hull",
            nan_hull_npy,
            (),
            Refused("HullError", r"nan_hull\.npy: .*NaN or infinite"),
            "(313, 2) hull with a NaN",
        ),
        spec(
            "nan_weights.caffemodel",
            "caffemodel",
            nan_caffemodel,
            (),
            Refused("BlobError", r"nan_weights\.caffemodel: layer 'bw_conv1_1'.*NaN or infinite"),
            "caffemodel whose first convolution holds a NaN and an inf",
        ),
    ]


# --- builders -------------------------------------------------------------------------------------------


def scene_with_exif(fmt: str, width: int, height: int, exif: bytes) -> bytes:
    return encode(Image.fromarray(scene(width, height)), fmt, exif=exif)


def scene_jpeg(width: int, height: int, *, colour: bool = False) -> bytes:
    """The corpus scene as a JPEG: grey baseline, or colour (three differently flipped scenes)
    progressive without chroma subsampling."""
    grey = scene(width, height)
    if not colour:
        return encode(Image.fromarray(grey), "JPEG", quality=90)
    rgb = np.dstack([grey, grey[::-1], grey[:, ::-1]])
    return encode(Image.fromarray(rgb), "JPEG", quality=90, progressive=True, subsampling=0)


def text_bomb_png(chunks: int) -> bytes:
    """An 8 x 8 PNG preceded by ``chunks`` zTXt chunks, each inflating to 1 MB."""
    ztxt = png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * (1 << 20), 9))
    data = zlib.compress(b"".join(b"\x00" + bytes(range(8)) for _ in range(8)))
    return png_header(8, 8) + ztxt * chunks + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def avif_declaring(width: int, height: int, declared: tuple[int, int]) -> bytes:
    """A flat width x height AVIF whose size box ('ispe') says ``declared`` instead."""
    data = bytearray(encode(Image.new("RGB", (width, height), (90, 90, 90)), "AVIF", quality=10, speed=10))
    ispe = data.index(b"ispe")
    data[ispe + 8 : ispe + 16] = struct.pack(">II", *declared)  # full box (4 bytes), then width, height
    return bytes(data)


def garbage_avif(width: int, height: int) -> bytes:
    return garbage_payload(encode(Image.fromarray(scene(width, height)).convert("RGB"), "AVIF"))


def garbage_heic(width: int, height: int) -> bytes:
    return garbage_payload(heic_bytes(scene(width, height)))


def nan_hull_npy() -> bytes:
    hull = np.zeros((313, 2), np.float32)
    hull[17, 1] = np.nan
    return _npy_bytes(hull)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header(width: int, height: int, bit_depth: int = 8, color_type: int = 0) -> bytes:
    """PNG signature and IHDR (colour type 0 grey, 2 RGB)."""
    return b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    )


def flat_png(width: int, height: int) -> bytes:
    """A mid-grey 8-bit grey PNG, compressed row by row (never the whole raw image in memory)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width  # filter type 0, then the samples
    rows_per_piece = max(1, (1 << 20) // len(row))
    pieces = [
        compressor.compress(row * min(rows_per_piece, height - start)) for start in range(0, height, rows_per_piece)
    ]
    idat = b"".join(pieces) + compressor.flush()
    return png_header(width, height) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def rgb16_png(width: int, height: int) -> bytes:
    """A 16-bit RGB PNG: a ramp across, bands down (rows repeat within a band, so it compresses well)."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.dstack([x * 65535 // width, (y // 64) * 64 * 65535 // height, x % 251 * 257]).astype(">u2")
    raw = np.concatenate([np.zeros((height, 1), np.uint8), pixels.view(np.uint8).reshape(height, -1)], axis=1)
    return (
        png_header(width, height, 16, 2) + png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + png_chunk(b"IEND", b"")
    )


def lying_chunk_png() -> bytes:
    """57 bytes: a 16-bit grey PNG header, then an IDAT chunk that declares ~4 GB and holds 16 bytes."""
    return png_header(64, 64, 16, 0) + struct.pack(">I", 0xFFFF_FFF0) + b"IDAT" + bytes(16)


def many_chunks_png(count: int) -> bytes:
    """A valid 8 x 8 PNG with ``count`` empty private ancillary chunks before its data."""
    filler = png_chunk(b"prIv", b"") * count
    data = zlib.compress(b"".join(b"\x00" + bytes(range(8)) for _ in range(8)))
    return png_header(8, 8) + filler + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def amplified_exif(tags: int, block: int) -> bytes:
    """A little-endian EXIF (TIFF) structure: IFD0 with ``tags`` UNDEFINED tags whose data all point
    at the same ``block`` bytes."""
    data_at = 8 + 2 + 12 * tags + 4
    entries = b"".join(struct.pack("<HHII", 0xC000 + index, 7, block, data_at) for index in range(tags))
    return b"II*\x00" + struct.pack("<IH", 8, tags) + entries + b"\x00\x00\x00\x00" + bytes(block)


def tiff_file(entries: list[tuple[int, int, int, bytes | int]], pixels: bytes, *, big: bool = False) -> bytes:
    """A little-endian TIFF (classic or BigTIFF): header, pixel data, one directory, then the
    out-of-line values. ``entries``: (tag, type, count, value), the value either its packed bytes
    or, as an int, an offset to point at (data placed elsewhere, or nowhere)."""
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 11: 4, 12: 8, 16: 8}
    inline = 8 if big else 4
    ifd_at = (16 if big else 8) + len(pixels)
    entry_size, count_size = (20, 8) if big else (12, 2)
    extra_at = ifd_at + count_size + entry_size * len(entries) + inline
    table, extra = b"", b""
    for tag, kind, count, value in sorted(entries, key=lambda entry: entry[0]):
        if isinstance(value, int):
            field = value.to_bytes(inline, "little")
        elif count * sizes[kind] <= inline:
            field = value.ljust(inline, b"\x00")
        else:
            field = (extra_at + len(extra)).to_bytes(inline, "little")
            extra += value + b"\x00" * (len(value) & 1)
        table += struct.pack("<HHQ" if big else "<HHI", tag, kind, count) + field
    ifd = struct.pack("<Q" if big else "<H", len(entries)) + table + b"\x00" * inline
    header = (b"II+\x00" + struct.pack("<HHQ", 8, 0, ifd_at)) if big else (b"II*\x00" + struct.pack("<I", ifd_at))
    return header + pixels + ifd + extra


def grey_tiff_entries(width: int, height: int, strip_at: int, *, rows_per_strip: int | None = None) -> list:
    rows = rows_per_strip or height
    strips = -(-height // rows)
    offsets = struct.pack(f"<{strips}I", *(strip_at + index * rows * width for index in range(strips)))
    counts = struct.pack(f"<{strips}I", *(min(rows, height - index * rows) * width for index in range(strips)))
    return [
        (256, 4, 1, struct.pack("<I", width)),
        (257, 4, 1, struct.pack("<I", height)),
        (258, 3, 1, struct.pack("<H", 8)),
        (259, 3, 1, struct.pack("<H", 1)),
        (262, 3, 1, struct.pack("<H", 1)),
        (273, 4, strips, offsets),
        (277, 3, 1, struct.pack("<H", 1)),
        (278, 4, 1, struct.pack("<I", rows)),
        (279, 4, strips, counts),
    ]


def amplified_tiff(tags: int, block: int) -> bytes:
    """A 16 x 16 grey TIFF whose directory also has ``tags`` tags pointing at one ``block``-byte run
    of its own pixel data (the image is 16 x 16 + block bytes of padding rows)."""
    pixels = bytes(range(256)) + bytes(block)
    entries = grey_tiff_entries(16, 16, 8)
    entries += [(0xC000 + index, 7, block, 8 + 256) for index in range(tags)]
    return tiff_file(entries, pixels)


def bigtiff_far_offset() -> bytes:
    """A 16 x 16 BigTIFF whose ImageDescription's data is at byte 2**63 + 5."""
    entries = grey_tiff_entries(16, 16, 16) + [(270, 2, 100, (1 << 63) + 5)]
    return tiff_file(entries, bytes(range(256)), big=True)


def tiff_text_strip_offsets() -> bytes:
    entries = [entry for entry in grey_tiff_entries(16, 16, 8) if entry[0] != 273]
    return tiff_file(entries + [(273, 2, 8, b"8\x00\x00\x00\x00\x00\x00\x00")], bytes(range(256)))


def tiff_many_strips(count: int) -> bytes:
    """A 10 x 10 grey TIFF (one row per strip) whose strip tables list ``count`` strips."""
    entries = [entry for entry in grey_tiff_entries(10, 10, 8, rows_per_strip=1) if entry[0] not in (273, 279)]
    entries += [
        (273, 4, count, struct.pack(f"<{count}I", *([8] * count))),
        (279, 4, count, struct.pack(f"<{count}I", *([10] * count))),
    ]
    return tiff_file(entries, bytes(100))


def tiff_with_values(tag: int, kind: int, count: int) -> bytes:
    """A 16 x 16 grey TIFF whose tag ``tag`` holds ``count`` zero values of TIFF type ``kind``."""
    sizes = {3: 2, 4: 4, 5: 8}
    entries = [entry for entry in grey_tiff_entries(16, 16, 8) if entry[0] != tag]
    return tiff_file(entries + [(tag, kind, count, bytes(sizes[kind] * count))], bytes(256))


def tiff_huge_tile() -> bytes:
    """A 16 x 16 grey TIFF stored as one 65536 x 65536 tile."""
    entries = [entry for entry in grey_tiff_entries(16, 16, 8) if entry[0] not in (273, 278, 279)]
    entries += [
        (322, 4, 1, struct.pack("<I", 65536)),
        (323, 4, 1, struct.pack("<I", 65536)),
        (324, 4, 1, struct.pack("<I", 8)),
        (325, 4, 1, struct.pack("<I", 256)),
    ]
    return tiff_file(entries, bytes(256))


def tiff_one_row_strips(width: int, height: int) -> bytes:
    pixels = np.tile(np.arange(width, dtype=np.uint8), (height, 1)).tobytes()
    return tiff_file(grey_tiff_entries(width, height, 8, rows_per_strip=1), pixels)


def webp_canvas(width: int, height: int) -> bytes:
    """A 2-frame 16 x 16 animated WebP whose VP8X canvas is patched to width x height."""
    frames = [Image.new("RGB", (16, 16), (40, 40, 40)), Image.new("RGB", (16, 16), (200, 200, 200))]
    data = bytearray(encode(frames[0], "WEBP", lossless=True, save_all=True, append_images=frames[1:]))
    vp8x = data.index(b"VP8X")
    data[vp8x + 12 : vp8x + 18] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


def lying_chunk_webp() -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16), (90, 90, 90)), "WEBP", lossless=True))
    chunk = data.index(b"VP8L")
    data[chunk + 4 : chunk + 8] = struct.pack("<I", 4_294_967_000)
    return bytes(data)


def rle8_bmp(width: int, height: int, rows: int) -> bytes:
    """An 8-bit run-length-encoded BMP, width x height, whose first ``rows`` rows are coded as
    one-pixel runs (the costliest coding to decode), then the end-of-bitmap code."""
    row = b"\x01\x20\x01\xe0" * (width // 2) + b"\x01\x20" * (width % 2) + b"\x00\x00"  # runs, end of line
    data = row * rows + b"\x00\x01"
    palette = b"".join(bytes([level, level, level, 0]) for level in range(256))  # B, G, R, reserved
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def many_blocks_gif(count: int) -> bytes:
    """A valid 8 x 8 GIF preceded by a comment extension made of ``count`` one-byte sub-blocks."""
    gif = encode(Image.new("L", (8, 8), 128), "GIF")
    flags = gif[10]
    start = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    comment = b"\x21\xfe" + b"\x01x" * count + b"\x00"
    return gif[:start] + comment + gif[start:]


def progressive_jpeg(width: int, height: int, ac_scans: int) -> bytes:
    """A grey progressive JPEG (mid-grey) with one DC scan and ``ac_scans`` AC scans that code
    nothing (end-of-band runs over every block): each scan costs a decoder a pass over all blocks.
    Width and height must be multiples of 8."""
    blocks = (width // 8) * (height // 8)
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof2 = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    # DC table 0: one code "0" for category 0. AC table 0: "00" for EOB14 (a run of 16384 + 14 bits),
    # "01" for EOB0 (a run of 1).
    dht = (
        b"\xff\xc4"
        + struct.pack(">H", 2 + 17 + 1)
        + b"\x00"
        + bytes([1] + [0] * 15)
        + b"\x00"
        + b"\xff\xc4"
        + struct.pack(">H", 2 + 17 + 2)
        + b"\x10"
        + bytes([0, 2] + [0] * 14)
        + b"\xe0\x00"
    )
    dc_scan = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x00\x00" + _entropy("0" * blocks)
    long_runs, rest = divmod(blocks, 32767)
    ac_bits = ("00" + "1" * 14) * long_runs + "01" * rest
    ac_scan = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x01\x3f\x00" + _entropy(ac_bits)
    return b"\xff\xd8" + dqt + sof2 + dht + dc_scan + ac_scan * ac_scans + b"\xff\xd9"


def jpeg_with_fill(count: int) -> bytes:
    """An 8 x 8 JPEG with ``count`` fill bytes (0xFF, legal before any marker) after its SOI."""
    jpeg = encode(Image.new("L", (8, 8), 128), "JPEG")
    return jpeg[:2] + b"\xff" * count + jpeg[2:]


def _entropy(bits: str) -> bytes:
    """Huffman-coded bits -> entropy-coded bytes: padded with 1s, 0xFF stuffed with 0x00."""
    bits += "1" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return raw.replace(b"\xff", b"\xff\x00")


def heic_bytes(grey: np.ndarray) -> bytes:
    import pillow_heif  # a dependency of the app (requirements.txt)

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(np.dstack([grey] * 3))).save(buffer, quality=90)
    return buffer.getvalue()


def garbage_payload(container: bytes) -> bytes:
    """An ISO-BMFF file (AVIF, HEIC) with the payload of its 'mdat' box zeroed."""
    data = bytearray(container)
    mdat = data.index(b"mdat")
    size = int.from_bytes(data[mdat - 4 : mdat], "big")
    data[mdat + 4 : mdat - 4 + size] = bytes(size - 8)
    return bytes(data)


def deep_prototxt(depth: int) -> bytes:
    """A net whose one layer holds ``depth`` nested blocks inside a parameter block the converter
    does not implement (whose content the parser skips, recursively, block by block)."""
    return (
        'name: "deep"\nlayer {\n  name: "pool"\n  type: "Pooling"\n  pooling_param { '
        + "x { " * depth
        + "} " * depth
        + "}\n}\n"
    ).encode()


def huge_npy_header(values: int) -> bytes:
    """A .npy file: a valid version 1.0 header declaring ``values`` float32, and no data."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({values},), }}".encode("latin-1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def nan_caffemodel() -> bytes:
    """A caffemodel holding only the first convolution of the ECCV16 net, with a NaN and an inf."""
    from testkit import synthetic

    weights = np.zeros((64, 1, 3, 3), np.float32)
    weights[3, 0, 1, 1], weights[7, 0, 2, 2] = np.nan, np.inf
    return synthetic.caffemodel_bytes(
        {"bw_conv1_1": [weights, np.zeros(64, np.float32)]}, {"bw_conv1_1": "Convolution"}, training_layers=False
    )


# --- measuring ------------------------------------------------------------------------------------------


def measure(case: Case, *, timeout: float = 120.0) -> Result:
    """Read ``case`` in a fresh Python process and report what it did."""
    return measure_many([case], timeout=timeout)[0]


def measure_many(many: list[Case], *, timeout: float = 120.0) -> list[Result]:
    """Read each case in a process of its own: one interpreter (``python -m testkit.hostile_files``)
    imports the readers once, then forks a child per case, which resets its peak-RSS counter, reads
    the file and reports. A child killed (a crash, the kernel's OOM killer, ``timeout``) is reported
    as "crashed"."""
    requests = "".join(json.dumps([case.role, str(case.path), timeout]) + "\n" for case in many)
    completed = subprocess.run(
        [sys.executable, "-m", "testkit.hostile_files"],
        input=requests,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout * len(many) + 60,
        check=False,
        env={**os.environ, "OPENCV_LOG_LEVEL": "ERROR"},
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or len(lines) != len(many):
        raise RuntimeError(f"the measuring process failed (exit {completed.returncode}): {completed.stderr[-2000:]}")
    results = []
    for line in lines:
        fields = json.loads(line)
        results.append(
            Result(
                fields["outcome"],
                fields["error"],
                fields["message"],
                tuple(fields["shape"]),
                fields["dtype"],
                fields["rss_bytes"],
                fields["seconds"],
                fields["cpu_seconds"],
            )
        )
    return results


def _read(role: str, path: Path):
    """The reader each role goes through; returns an array for images."""
    from colorizer.decode import read_image
    from convert import caffe_io

    reader = {
        "image": read_image,
        "prototxt": caffe_io.read_prototxt,
        "caffemodel": caffe_io.read_caffemodel,
        "hull": caffe_io.read_hull,
    }[role]
    result = reader(path)
    return result if role == "image" else None


def _measure_here(role: str, path: Path) -> dict:
    """Read one file in this process: outcome, peak RSS above the current RSS, seconds."""
    from colorizer.errors import ColorizerError
    from convert.errors import ConversionError

    shape, dtype = (), ""
    with step_cost() as cost:
        try:
            pixels = _read(role, path)
            outcome, error, message = "decoded", "", ""
            if pixels is not None:
                shape, dtype = pixels.shape, str(pixels.dtype)
        except (ColorizerError, ConversionError) as refusal:
            outcome, error, message = "refused", type(refusal).__name__, str(refusal)
        except BaseException as other:
            outcome, error, message = "crashed", type(other).__name__, str(other)[:500]
    return {
        "outcome": outcome,
        "error": error,
        "message": message,
        "shape": list(shape),
        "dtype": dtype,
        "rss_bytes": cost.rss_bytes,
        "seconds": cost.seconds,
        "cpu_seconds": cost.cpu_seconds,
    }


def _serve() -> int:
    """Requests on stdin (JSON [role, path, timeout] per line), one JSON result per line on stdout,
    each read in a forked child."""
    from colorizer.decode import decode_image

    decode_image(encode(Image.new("L", (8, 8)), "PNG"))  # load the decoders' code before forking
    import convert.caffe_io  # noqa: F401

    for line in sys.stdin:
        role, path, timeout = json.loads(line)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the child: measure, report through the pipe, exit without cleanup
            os.close(read_end)
            signal.alarm(int(timeout))  # SIGALRM's default action ends the child
            os.write(write_end, json.dumps(_measure_here(role, Path(path))).encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as stream:
            report = stream.read()
        _, status = os.waitpid(child, 0)
        if status != 0 or not report:
            report = json.dumps(
                {
                    "outcome": "crashed",
                    "error": f"child status {status:#x}",
                    "message": "",
                    "shape": [],
                    "dtype": "",
                    "rss_bytes": 0,
                    "seconds": 0.0,
                    "cpu_seconds": 0.0,
                }
            ).encode()
        print(report.decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
