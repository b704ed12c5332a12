"""A corpus of hostile and awkward image files, all generated here from numpy (nothing downloaded).

``hostile_corpus()`` returns HostileFile entries: a file name (its extension may lie), the bytes, and
what the app must do with it: ``Colorize`` (the output's displayed size, whether it keeps an alpha
channel, and the grey levels the output's lightness must follow, which also pins its orientation) or
``Refuse`` (a regex the one-line message must match, the file's name included).

    from testkit.hostile_corpus import hostile_corpus
    for item in hostile_corpus():
        print(item.name, len(item.data), item.expect)

``FIRST_CORPUS`` is this corpus as a ``Corpus``, the form tests/test_hostile.py takes corpora in
(testkit.hostile_uploads gives the second one, testkit.hostile_files, in the same form).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112
LIMIT = "more than the limit of 50,000,000"  # colorizer.decode's wording for appkit.config.PUBLIC_MAX_PIXELS


@dataclass(frozen=True)
class Colorize:
    """Colorized at ``width`` x ``height`` (as displayed, EXIF orientation applied)."""

    width: int
    height: int
    grey: np.ndarray  # float32 HxW in 0..1: the displayed grey levels the output's L must follow
    alpha: bool = False  # the output keeps an alpha channel (HxWx4)
    l_tolerance: float = 1.0  # mean |L out - L expected| over in-gamut pixels; lossy codecs need more


@dataclass(frozen=True)
class Refuse:
    """Refused with a one-line message matching ``pattern`` (re.search)."""

    pattern: str


@dataclass(frozen=True)
class HostileFile:
    name: str
    data: bytes
    expect: Colorize | Refuse
    what: str  # one line for the report

    def __repr__(self) -> str:  # pytest ids and failure messages: not the bytes
        return f"HostileFile({self.name!r}, {len(self.data)} bytes, {type(self.expect).__name__})"

    @property
    def pixels(self) -> int:
        """Pixels the file really holds as displayed (0 for a refused one): what its bounds grow with."""
        return self.expect.width * self.expect.height if isinstance(self.expect, Colorize) else 0


@dataclass(frozen=True)
class Corpus:
    """A corpus as a test takes it: ``names()`` without building any file (pytest's parameters),
    ``files(folder)`` each entry by name (writing into ``folder`` what it needs; an entry costly to
    build may be built when it is looked up)."""

    names: Callable[[], list[str]]
    files: Callable[[Path], Mapping[str, HostileFile]]


# --- pixels ---------------------------------------------------------------------------------------


def scene(width: int = 96, height: int = 64) -> np.ndarray:
    """uint8 HxW grey with no symmetry: a left-to-right ramp, a bright disc top-left and a dark bar
    bottom-right, so that any flip or rotation changes most pixels' grey level."""
    _, x = np.mgrid[0:height, 0:width]
    grey = (50 + 150 * x / max(width - 1, 1)).astype(np.uint8)
    cv2.circle(grey, (width // 4, height // 4), max(1, min(width, height) // 6), 235, -1)  # cv2: (x, y)
    cv2.rectangle(grey, (width * 5 // 8, height * 5 // 8), (width - 4, height - 4), 15, -1)
    return grey


def unit(grey: np.ndarray) -> np.ndarray:
    """uint8 / uint16 grey -> float32 0..1."""
    return (grey.astype(np.float32) / np.iinfo(grey.dtype).max).astype(np.float32)


def rgb(grey: np.ndarray) -> np.ndarray:
    """HxW -> HxWx3 with R = G = B."""
    return np.repeat(grey[..., None], 3, axis=2)


# --- encoders ---------------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header (IHDR with a correct CRC) declaring width x height over 1x1 pixel data."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # CRC over type + IHDR data
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A 1x1 baseline JPEG whose SOF0 marker declares width x height."""
    data = bytearray(encode(Image.new("L", (1, 1)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)  # SOF: length, precision, H, W
    return bytes(data)


def gif_declaring(width: int, height: int) -> bytes:
    """A 1x1 GIF whose logical screen and image descriptor declare width x height."""
    data = bytearray(encode(Image.new("L", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # logical screen descriptor
    descriptor = data.index(b",")  # image descriptor: ',' left top width height
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def heic(grey: np.ndarray) -> bytes:
    import pillow_heif  # a dependency of the app (requirements.txt)

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(rgb(grey))).save(buffer, quality=95)
    return buffer.getvalue()


# --- the corpus -------------------------------------------------------------------------------------


def hostile_corpus() -> list[HostileFile]:
    """Every file, in a fixed order (names are unique)."""
    grey = scene()  # 96x64
    height, width = grey.shape
    plain_png = encode(Image.fromarray(grey), "PNG")
    plain_jpeg = encode(Image.fromarray(grey), "JPEG", quality=95)

    def colorize(image: np.ndarray, **options) -> Colorize:
        return Colorize(image.shape[1], image.shape[0], unit(image), **options)

    def refuse(name: str, message: str) -> Refuse:
        return Refuse(rf"^{re.escape(name)}: {message}")

    # Palette PNG: 64 grey entries, index 0 transparent (the top rows).
    palette_indices = (grey // 4).astype(np.uint8)
    palette_indices[:4] = 0
    palette_image = Image.fromarray(palette_indices, "P")
    palette_image.putpalette([level * 4 + 2 for level in range(64) for _ in range(3)])
    palette_grey = palette_indices.astype(np.uint8) * 4 + 2

    # Animated GIF and WebP: the first frame is the scene, the second its negative.
    frames = [Image.fromarray(grey), Image.fromarray(255 - grey)]
    gif_grey = np.array(Image.open(io.BytesIO(encode(frames[0], "GIF"))).convert("L"))  # GIF palette rounding

    # CMYK JPEG: only black ink, K = 255 - grey (Pillow writes Adobe inverted CMYK, as Photoshop).
    cmyk = np.zeros((height, width, 4), np.uint8)
    cmyk[..., 3] = 255 - grey
    # EXIF orientations: 6 (rotate 90 clockwise to display) swaps the sides; 3 (180) only the L check sees.
    rotated_90 = np.rot90(grey, -1)
    rotated_180 = np.rot90(grey, 2)

    grey16 = grey.astype(np.uint16) * 257 + np.arange(width, dtype=np.uint16)  # low bytes used too
    grey_alpha = np.dstack([grey, np.where(grey > 100, 255, 40).astype(np.uint8)])
    one_bit = grey > 128
    strip = scene(20000, 200)
    line = scene(4000, 1)
    tall = scene(3, 3000)
    pages = [Image.fromarray(grey), Image.fromarray(scene(40, 30))]  # first page 96x64, second smaller
    first_tiff_page_differs = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])

    half_jpeg = plain_jpeg[: len(plain_jpeg) // 2]
    half_png = plain_png[: len(plain_png) // 2]
    damaged_png = bytearray(plain_png)
    damaged_png[16] ^= 1  # width changed, IHDR CRC no longer matches
    float_tiff = encode(Image.fromarray(unit(grey), "F"), "TIFF")
    int32_tiff = encode(Image.fromarray(grey.astype(np.int32) * 1000, "I"), "TIFF")
    noise = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()

    items = [
        # Decompression bombs: headers declare more pixels than appkit.config.PUBLIC_MAX_PIXELS; refused before decoding.
        *(
            HostileFile(name, declaring(width, height), refuse(name, rf"{message}, {LIMIT}"), what)
            for name, declaring, width, height, message, what in (
                (
                    "bomb.png",
                    png_declaring,
                    30000,
                    30000,
                    "the image declares 900,000,000 pixels",
                    "PNG header declaring 30000x30000 (900 MP) over 1 pixel of data",
                ),
                (
                    "bomb.jpg",
                    jpeg_declaring,
                    30000,
                    30000,
                    "the image declares 900,000,000 pixels",
                    "JPEG SOF declaring 30000x30000",
                ),
                (
                    "bomb.gif",
                    gif_declaring,
                    65535,
                    65535,
                    "the image declares 4,294,836,225 pixels",
                    "GIF screen declaring 65535x65535 (4.3 GP)",
                ),
                (
                    "over_limit.png",
                    png_declaring,
                    10000,
                    10000,
                    "10000x10000 is 100,000,000 pixels",
                    "PNG declaring 10000x10000: Pillow only warns, the app's limit refuses",
                ),
                (
                    "just_over.jpg",
                    jpeg_declaring,
                    8000,
                    6251,
                    "8000x6251 is 50,008,000 pixels",
                    "JPEG declaring 8000x6251, just over 50 MP",
                ),
            )
        ),
        # Not images, or damaged ones.
        HostileFile("empty.png", b"", refuse("empty.png", "empty file$"), "zero bytes"),
        HostileFile(
            "notes.jpg",
            b"Dear diary,\nthis is not a photo.\n",
            refuse("notes.jpg", r"not a recognised image format \(supported: "),
            "plain text named .jpg",
        ),
        HostileFile(
            "page.png",
            b"<html><body><script>alert(1)</script></body></html>\n",
            refuse("page.png", "not a recognised image format"),
            "HTML with a script, named .png",
        ),
        HostileFile(
            "noise.webp", noise, refuse("noise.webp", "not a recognised image format"), "5000 random bytes named .webp"
        ),
        HostileFile(
            "truncated.jpg", half_jpeg, refuse("truncated.jpg", "the file is truncated"), "first half of a JPEG"
        ),
        HostileFile("truncated.png", half_png, refuse("truncated.png", "the file is truncated"), "first half of a PNG"),
        HostileFile(
            "header_only.png",
            plain_png[:20],
            refuse("header_only.png", "the file is truncated"),
            "PNG cut inside its IHDR chunk",
        ),
        HostileFile(
            "damaged.png",
            bytes(damaged_png),
            refuse("damaged.png", r"damaged PNG file: its header cannot be read"),
            "PNG whose IHDR CRC does not match",
        ),
        HostileFile(
            "logo.svg",
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
            b'height="10"><script>alert(1)</script></svg>\n',
            refuse("logo.svg", "SVG vector images are not supported; export it as PNG or JPEG$"),
            "SVG with a script",
        ),
        HostileFile(
            "float.tiff",
            float_tiff,
            refuse("float.tiff", r"32-bit floating-point TIFF samples are not supported"),
            "32-bit float TIFF",
        ),
        HostileFile(
            "int32.tiff",
            int32_tiff,
            refuse("int32.tiff", r"32-bit integer TIFF samples are not supported"),
            "32-bit integer TIFF",
        ),
        # Awkward but valid: colorized at the displayed size.
        HostileFile(
            "grey16.png",
            cv2.imencode(".png", grey16)[1].tobytes(),
            colorize(grey16),
            "16-bit grey PNG (every bit used)",
        ),
        HostileFile("rgb16.png", cv2.imencode(".png", rgb(grey16))[1].tobytes(), colorize(grey16), "16-bit RGB PNG"),
        HostileFile(
            "palette_transparent.png",
            encode(palette_image, "PNG", transparency=0),
            colorize(palette_grey, alpha=True),
            "palette PNG, one index transparent (tRNS)",
        ),
        HostileFile(
            "grey_alpha.png",
            encode(Image.fromarray(grey_alpha, "LA"), "PNG"),
            colorize(grey, alpha=True),
            "grey + alpha PNG",
        ),
        HostileFile(
            "one_bit.png",
            encode(Image.fromarray(one_bit), "PNG"),
            colorize(one_bit.astype(np.uint8) * 255),
            "1-bit PNG",
        ),
        HostileFile(
            "animated.gif",
            encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
            colorize(gif_grey),
            "2-frame GIF (first frame used)",
        ),
        HostileFile(
            "animated.webp",
            encode(frames[0], "WEBP", lossless=True, save_all=True, append_images=frames[1:], duration=100),
            colorize(grey),
            "2-frame lossless WebP (first frame used)",
        ),
        HostileFile(
            "cmyk.jpg",
            encode(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95),
            colorize(grey, l_tolerance=2.0),
            "CMYK JPEG (Adobe inverted)",
        ),
        HostileFile(
            "exif_rotate_90.jpg",
            encode(Image.fromarray(np.rot90(grey, 1)), "JPEG", quality=95, exif=exif_bytes(6)),
            colorize(grey, l_tolerance=2.0),
            "JPEG stored 64x96 with EXIF orientation 6: displayed 96x64",
        ),
        HostileFile(
            "exif_rotate_180.jpg",
            encode(Image.fromarray(rotated_180), "JPEG", quality=95, exif=exif_bytes(3)),
            colorize(grey, l_tolerance=2.0),
            "JPEG stored upside down with EXIF orientation 3",
        ),
        HostileFile(
            "exif_rotate_90_png.png",
            encode(Image.fromarray(np.rot90(rotated_90, 1)), "PNG", exif=exif_bytes(6)),
            colorize(rotated_90),
            "PNG stored 96x64 with an eXIf orientation 6: displayed 64x96",
        ),
        HostileFile(
            "progressive.jpg",
            encode(Image.fromarray(grey), "JPEG", quality=95, progressive=True),
            colorize(grey, l_tolerance=2.0),
            "progressive JPEG",
        ),
        HostileFile(
            "multipage.tiff",
            first_tiff_page_differs,
            colorize(grey),
            "2-page TIFF, pages of different sizes (first page used)",
        ),
        HostileFile("photo.bmp", encode(Image.fromarray(grey), "BMP"), colorize(grey), "8-bit BMP"),
        HostileFile("photo.heic", heic(grey), colorize(grey, l_tolerance=2.0), "HEIC (pillow-heif)"),
        HostileFile(
            "photo.avif",
            encode(Image.fromarray(rgb(grey)), "AVIF", quality=95),
            colorize(grey, l_tolerance=2.0),
            "AVIF",
        ),
        HostileFile("one_pixel.png", encode(Image.fromarray(grey[:1, :1]), "PNG"), colorize(grey[:1, :1]), "1x1"),
        HostileFile(
            "strip_20000x200.png", encode(Image.fromarray(strip), "PNG", compress_level=1), colorize(strip), "20000x200"
        ),
        HostileFile("line_4000x1.png", encode(Image.fromarray(line), "PNG"), colorize(line), "4000x1"),
        HostileFile("tall_3x3000.png", encode(Image.fromarray(tall), "PNG"), colorize(tall), "3x3000"),
        HostileFile("png_named.jpg", plain_png, colorize(grey), "a PNG named .jpg"),
        HostileFile("jpeg_named.png", plain_jpeg, colorize(grey, l_tolerance=2.0), "a JPEG named .png"),
        HostileFile("tiff_named.webp", encode(Image.fromarray(grey), "TIFF"), colorize(grey), "a TIFF named .webp"),
    ]
    names = [item.name for item in items]
    assert len(names) == len(set(names)), "corpus names must be unique"
    return items


FIRST_CORPUS = Corpus(
    names=lambda: [item.name for item in hostile_corpus()],
    files=lambda folder: {item.name: item for item in hostile_corpus()},
)
