"""Encoded image bytes (an upload, a file) -> a numpy array of pixels, or a one-line refusal.

``read_image(path)`` and ``decode_image(data)`` raise only ImageDecodeError and its subclasses
(colorizer.errors), whatever the bytes, and keep every accepted image within the resource budget of
colorizer.limits: the file's type and size are checked before reading (colorizer.input_file), its
structure before any decoder sees it (colorizer.preflight), its size and sides before pixels are
allocated (here).

Output contract: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA; grey+alpha becomes RGBA), dtype uint8, or
uint16 only when the file really stores 16 bits per sample; channel order RGB, C-contiguous, EXIF
orientation applied (so H and W are the displayed ones). Palettes are always expanded to colours.
``decode_photo`` also returns the file's EXIF, XMP and IPTC as an output will carry them
(``colorizer.metadata``), read from the same opened file.

How, and why:
- Pillow identifies the format and reads the header (size, bit depth, EXIF) without decoding pixels,
  so the pixel-count and side limits are enforced before any large allocation. Pillow's own bomb check (which
  fires while opening, above 2 x ``Image.MAX_IMAGE_PIXELS``, ~179 MP) is left as it is, global, and
  its error is reported as ImageTooLargeError; so is its warning (above ~89 MP) where warnings are
  turned into errors. Elsewhere that warning is only a warning: filtering it here would mean
  ``warnings.catch_warnings``, which is process-global and not thread-safe in a Gradio server.
- Pillow decodes the pixels in general: it covers every format here (HEIC through pillow-heif's
  plugin), expands palettes and transparency, converts CMYK/YCCK JPEGs (Adobe inverted CMYK included)
  and raises on truncated data as long as ``ImageFile.LOAD_TRUNCATED_IMAGES`` stays False.
- Pillow has no 16-bit colour modes and would drop 16-bit colour PNG/TIFF to 8 bits, so PNG and TIFF
  with more than 8 bits per sample are decoded by OpenCV (``IMREAD_UNCHANGED`` keeps the depth,
  BGR(A) order is swapped to RGB(A)).
- Orientation is applied once, here, with numpy, from the EXIF orientation Pillow reports after it
  has decoded: Pillow 12 itself applies a TIFF's Orientation tag while loading and then drops it, so
  reading the tag afterwards cannot apply it twice (and still works with a Pillow that does not).
  OpenCV's TIFF reader also applies the tag itself (its PNG reader does not), so it is given a copy
  of the bytes with the tag reset to 1 and returns the pixels as stored, whatever its version.
- Colours: what the file says of them (an ICC profile, PNG gAMA/cHRM, HEIF nclx) is applied by
  colorizer.color_management while decoding, so the pixels returned are sRGB (grey: grey with the
  sRGB curve) whatever the file's profile; untagged and sRGB-tagged files are left as they are.
- HEIC: libheif applies the container's rotation/mirror while decoding and pillow-heif then reports
  EXIF orientation 1, so the same numpy step is a no-op there.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from colorizer.color_management import Profile, input_profile, managed_array, managed_pixels
from colorizer.errors import PILLOW_DATA_ERRORS, PILLOW_PARSER_FAULTS, ImageDecodeError, ImageTooLargeError
from colorizer.input_file import read_input_file
from colorizer.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    check_dimensions,
    check_limits,
    max_file_bytes,
)
from colorizer.metadata import NO_METADATA, Metadata, read_metadata
from colorizer.preflight import TiffLayout, check_exif, check_structure
from colorizer.signatures import image_kind, looks_like_heic

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "SUPPORTED_FORMATS",
    "apply_orientation",
    "decode_image",
    "decode_photo",
    "read_image",
]

# Pillow format names tried when opening, in this order; those this Pillow lacks are skipped ("HEIF"
# exists once pillow-heif is registered). Camera JPEGs with several pictures open as "MPO".
SUPPORTED_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF", "AVIF", "HEIF")
_SUPPORTED_NAMES = "JPEG, PNG, TIFF, WebP, BMP, GIF, HEIC, AVIF"

EXIF_ORIENTATION = 0x0112
# EXIF orientation -> (transpose, flip rows, flip columns), applied in that order, which turns the
# stored pixels into the displayed ones: 6 is "rotate 90 degrees clockwise to display", 8 the reverse.
_ORIENTATIONS: dict[int, tuple[bool, bool, bool]] = {
    1: (False, False, False),
    2: (False, False, True),  # mirrored left-right
    3: (False, True, True),  # rotated 180
    4: (False, True, False),  # mirrored top-bottom
    5: (True, False, False),  # transposed
    6: (True, False, True),  # rotate 90 clockwise
    7: (True, True, True),  # transversed
    8: (True, True, False),  # rotate 90 counter-clockwise
}

# What the third-party decoders raise for bad data, caught only around calls into them (Image.open,
# Image.load, Image.convert, getexif, cv2.imdecode), never around our own code, so that a bug of ours
# still surfaces as itself: Pillow's documented errors (PILLOW_DATA_ERRORS; UnidentifiedImageError and
# DecompressionBombError are handled before these); its pure-Python parsers' faults on fields no check
# anticipates (PILLOW_PARSER_FAULTS, a last resort: colorizer.preflight refuses the cases known, any
# other is logged with its type and refused); and RuntimeError, which pillow-heif (libheif) and
# Pillow's AVIF plugin (libavif) raise for every failure of the C library, bad data included.
_CODEC_ERRORS = (RuntimeError,)
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE, name: str = "image"
) -> np.ndarray:
    """Encoded image bytes -> pixels as displayed: ``decode_photo``'s pixels, its metadata unread."""
    return decode_photo(data, max_pixels=max_pixels, max_side=max_side, name=name, metadata=False)[0]


def decode_photo(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    name: str = "image",
    metadata: bool = True,
) -> tuple[np.ndarray, Metadata]:
    """Encoded image bytes -> (pixels as displayed, the file's EXIF, XMP and IPTC ready to carry
    into an output, ``colorizer.metadata.read_metadata``; NO_METADATA when ``metadata`` is False).

    Returns uint8 or uint16 (16-bit PNG/TIFF only), C-contiguous: HxW grey, HxWx3 RGB or HxWx4 RGBA,
    channel order RGB(A), EXIF orientation applied; animated or multi-page files give their first
    frame. Raises only ImageDecodeError and its subclasses, each with a one-line message starting
    with ``name``: ImageTooLargeError when the header declares more than ``max_pixels`` pixels or a
    side longer than ``max_side`` (checked before decoding), ImageTooComplexError for a structure
    that would cost out of proportion to the pixels (colorizer.preflight), ImageDecodeError for
    anything else it cannot read.
    """
    check_limits(max_pixels, max_side)
    if not data:
        raise ImageDecodeError(f"{name}: empty file")
    if _looks_like_svg(data):
        raise ImageDecodeError(f"{name}: SVG vector images are not supported; export it as PNG or JPEG")
    if looks_like_heic(data) and not _heif_support():
        raise ImageDecodeError(f"{name}: HEIC images need the pillow-heif package")
    check_structure(data, name, max_pixels=max_pixels, max_side=max_side)

    with _decoder_errors(name, data, max_pixels):
        image = Image.open(io.BytesIO(data), formats=_available_formats())
    with image:
        width, height = image.size
        check_dimensions(width, height, max_pixels=max_pixels, max_side=max_side, name=name)
        bits = _bits_per_sample(image, data, name)
        profile = input_profile(image, name, data)
        if bits > 8:
            pixels = _decode_with_opencv(data, image, name)
            if profile is not None:
                pixels = managed_array(pixels, profile, name)
        else:
            pixels = _pillow_pixels(image, name, data, max_pixels, profile)
        # HEIF may decode to another size than its header declared (pillow-heif takes the decoder's).
        check_dimensions(pixels.shape[1], pixels.shape[0], max_pixels=max_pixels, max_side=max_side, name=name)
        orientation = _exif_orientation(image, name)  # after decoding: see the module docstring
        displayed = apply_orientation(pixels, orientation)
        carried = read_metadata(image, (displayed.shape[1], displayed.shape[0]), name) if metadata else NO_METADATA
        log.debug(
            "%s: %s %s %dx%d, %d bits, orientation %d -> %s %s",
            name,
            image.format,
            image.mode,
            width,
            height,
            bits,
            orientation,
            pixels.shape,
            pixels.dtype,
        )
    return np.ascontiguousarray(displayed), carried


def read_image(
    path: Path | str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int | None = None,
) -> np.ndarray:
    """An image file -> pixels, as ``decode_image`` (messages name the file by its name, never its
    folder). Only regular files are read, and only up to ``max_bytes`` (None:
    ``limits.max_file_bytes(max_pixels)``, 445.5 MiB by default; see colorizer.input_file):
    a FIFO, device or folder -> ImageDecodeError, a larger file -> ImageTooLargeError, both before
    reading; a missing or unreadable file -> ImageDecodeError."""
    check_limits(max_pixels, max_side)
    data = read_input_file(path, max_bytes=max_file_bytes(max_pixels) if max_bytes is None else max_bytes)
    return decode_image(data, max_pixels=max_pixels, max_side=max_side, name=Path(path).name)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """HxW[xC] pixels as stored -> as displayed for EXIF orientation 1..8 (a view, any dtype; the
    input is not modified). Orientation 5..8 swaps H and W."""
    transpose, flip_rows, flip_columns = _ORIENTATIONS[orientation]
    if transpose:
        pixels = pixels.swapaxes(0, 1)
    if flip_rows:
        pixels = pixels[::-1]
    if flip_columns:
        pixels = pixels[:, ::-1]
    return pixels


@contextlib.contextmanager
def _decoder_errors(name: str, data: bytes, max_pixels: int) -> Iterator[None]:
    """Turn a decoder's exceptions for bad or oversized data into one-line ImageDecodeErrors. Wrap
    calls into Pillow, pillow-heif or OpenCV only (see _CODEC_ERRORS)."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Raised while opening, before we see the size (the error above 2 x MAX_IMAGE_PIXELS, the
        # warning above MAX_IMAGE_PIXELS where warnings are errors); the message has the pixel count.
        match = _BOMB_PIXELS.search(str(error))
        declared = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
        pillow_limit = Image.MAX_IMAGE_PIXELS or max_pixels
        if isinstance(error, Image.DecompressionBombError):
            pillow_limit *= 2
        limit = min(max_pixels, pillow_limit)
        raise ImageTooLargeError(f"{name}: the image declares {declared}, more than the limit of {limit:,}") from None
    except UnidentifiedImageError:
        kind = _signature_kind(data)
        if kind is None:
            raise ImageDecodeError(f"{name}: not a recognised image format (supported: {_SUPPORTED_NAMES})") from None
        raise ImageDecodeError(
            f"{name}: damaged {kind} file: its header cannot be read (truncated or corrupt)"
        ) from None
    except PILLOW_DATA_ERRORS as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        if "truncated" in reason.lower():
            raise ImageDecodeError(
                f"{name}: the file is truncated (cut short while downloading or copying?): {reason}"
            ) from None
        raise ImageDecodeError(f"{name}: corrupt image data: {reason}") from None
    except _CODEC_ERRORS as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ImageDecodeError(f"{name}: corrupt image data: {reason}") from None
    except PILLOW_PARSER_FAULTS as error:
        log.warning("%s: the decoder failed with %s: %s", name, type(error).__name__, error)
        raise ImageDecodeError(f"{name}: corrupt image data: the decoder failed ({type(error).__name__})") from None


def _signature_kind(data: bytes) -> str | None:
    """The format a file's magic number claims (to word a refusal), or None; any ISO-BMFF file is
    taken for the HEIF/AVIF it would have to be to be a photo."""
    kind = image_kind(data)
    if kind is None and data[4:8] == b"ftyp":
        return "HEIC" if looks_like_heic(data) else "HEIF/AVIF"
    return kind


def _looks_like_svg(data: bytes) -> bool:
    """SVG text: starts with <svg, or with an XML declaration, doctype or comment before an <svg."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg"):
        return True
    return head.startswith((b"<?xml", b"<!doctype", b"<!--")) and b"<svg" in head


def _available_formats() -> tuple[str, ...]:
    """SUPPORTED_FORMATS that Pillow can open now (``Image.open`` fails on a name it lacks)."""
    Image.init()  # loads Pillow's plugins once; later calls return at once
    return tuple(name for name in SUPPORTED_FORMATS if name in Image.OPEN)


@functools.cache
def _heif_support() -> bool:
    """Register pillow-heif's HEIF opener with Pillow, once, on the first HEIC seen; False when
    pillow-heif is not installed."""
    try:
        import pillow_heif
    except ImportError:
        log.warning("pillow-heif is not installed: HEIC images are refused")
        return False
    pillow_heif.register_heif_opener()
    return True


def _bits_per_sample(image: Image.Image, data: bytes, name: str) -> int:
    """Bits per sample of a PNG or TIFF as the file stores them (8 for every other format).

    Raises ImageDecodeError for TIFF samples that are neither 8- nor 16-bit unsigned integers.
    """
    if image.format == "PNG":
        # PNG signature (8 bytes), then IHDR: length, type, width, height, bit depth (byte 24).
        return data[24] if data[12:16] == b"IHDR" else 8
    if image.format != "TIFF":
        return 8
    # Pillow has matched both tags against its table of modes while opening: they are numbers.
    tags = image.tag_v2  # type: ignore[attr-defined]  # a TiffImageFile
    bits = max(_as_tuple(tags.get(258, 1)))  # BitsPerSample
    sample_formats = set(_as_tuple(tags.get(339, 1)))  # SampleFormat: 1 unsigned integer
    if bits > 8 and (bits != 16 or sample_formats != {1}):
        kind = "floating-point" if 3 in sample_formats else "integer"
        raise ImageDecodeError(
            f"{name}: {bits}-bit {kind} TIFF samples are not supported; save it as 8- or 16-bit unsigned"
        )
    return bits


def _as_tuple(value: object) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _pillow_pixels(image: Image.Image, name: str, data: bytes, max_pixels: int, profile: Profile | None) -> np.ndarray:
    """An opened Pillow image -> uint8 HxW, HxWx3 RGB or HxWx4 RGBA (uint16 HxW for 16-bit grey),
    in sRGB when ``profile`` describes its colours (``colorizer.color_management``)."""
    with _decoder_errors(name, data, max_pixels):
        image.load()
    if image.mode in ("I", "F"):
        kind = "floating-point" if image.mode == "F" else "32-bit integer"
        raise ImageDecodeError(f"{name}: {kind} samples are not supported; save it as 8- or 16-bit")
    if image.mode.startswith("I;16"):  # 16-bit grey, in any byte order
        grey = np.array(image).astype(np.uint16)
        return grey if profile is None else managed_array(grey, profile, name)
    if profile is not None:
        managed = managed_pixels(image, profile, name)
        if managed is not None:
            return managed
    if image.has_transparency_data:  # an alpha band, a tRNS chunk, a GIF transparent index
        target = "RGBA"
    elif image.mode in ("1", "L"):
        target = "L"
    else:  # RGB, P, CMYK (YCCK arrives as CMYK), YCbCr, LAB, HSV...
        target = "RGB"
    if image.mode != target:
        with _decoder_errors(name, data, max_pixels):
            image = image.convert(target)
    return np.array(image)


def _decode_with_opencv(data: bytes, image: Image.Image, name: str) -> np.ndarray:
    """A 16-bit PNG or TIFF (already opened by Pillow) -> uint16 HxW, HxWx3 RGB or HxWx4 RGBA, as
    stored (orientation not applied)."""
    if image.format == "TIFF":
        data = _tiff_with_orientation_reset(data, name)
    try:
        # IMREAD_UNCHANGED: keep the bit depth and alpha; channels come back BGR(A). Chunk lengths
        # and TIFF tables were checked against the file (colorizer.preflight) before this call.
        pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        reason = str(error).strip().splitlines()[-1]
        raise ImageDecodeError(f"{name}: corrupt 16-bit {image.format} data: {reason}") from None
    if pixels is None:
        raise ImageDecodeError(f"{name}: the 16-bit {image.format} data is corrupt or truncated")
    # Pillow reports a TIFF's size as displayed (rotated for orientation 5..8); OpenCV returns it as stored.
    width, height = (image.tag_v2[256], image.tag_v2[257]) if image.format == "TIFF" else image.size  # type: ignore[attr-defined]  # a TiffImageFile
    if pixels.shape[:2] != (height, width) or pixels.dtype != np.uint16:
        raise ImageDecodeError(
            f"{name}: the 16-bit {image.format} decoder returned {pixels.dtype} "
            f"{pixels.shape} for a {width}x{height} image"
        )
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels == 1:
        return pixels.reshape(height, width)
    if channels == 2:  # grey, alpha -> RGBA
        return pixels[..., [0, 0, 0, 1]]
    if channels == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    raise ImageDecodeError(f"{name}: 16-bit images with {channels} channels are not supported")


def _tiff_with_orientation_reset(data: bytes, name: str) -> bytes:
    """A copy of a TIFF whose first IFD's Orientation tag (274) says 1, or ``data`` itself when it
    has none, so that OpenCV returns the pixels as stored whatever its version does with the tag."""
    tiff = TiffLayout(data)
    first = tiff.first_ifd()
    entries = tiff.entries(first, name) if first is not None else None  # None: an IFD past the end
    for tag, kind, _, value_at in entries or ():
        if tag == 274 and kind == 3:  # Orientation, SHORT: value in the entry itself
            patched = bytearray(data)
            struct.pack_into(f"{tiff.order}H", patched, value_at, 1)
            return bytes(patched)
    return data


def _exif_orientation(image: Image.Image, name: str) -> int:
    """The EXIF orientation (1..8) Pillow reads for ``image``; 1 when absent, unknown or unreadable.

    The EXIF block is checked first (colorizer.preflight.check_exif): Pillow copies each tag's data,
    so a block whose tags overlap would be copied once per tag.
    """
    block = image.info.get("exif")
    if isinstance(block, bytes):
        check_exif(block, name)
    raw_profile = image.info.get("Raw profile type exif")  # PNG text chunk: hex after 3 header lines
    if isinstance(raw_profile, str):
        with contextlib.suppress(ValueError):  # not hex: Pillow's getexif fails on it below, logged
            check_exif(bytes.fromhex("".join(raw_profile.split("\n")[3:])), name)
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except PILLOW_DATA_ERRORS + PILLOW_PARSER_FAULTS as error:
        log.warning("%s: unreadable EXIF (%s: %s); orientation ignored", name, type(error).__name__, error)
        return 1
    if orientation not in _ORIENTATIONS:
        log.warning("%s: EXIF orientation %r is not 1..8; ignored", name, orientation)
        return 1
    return orientation
