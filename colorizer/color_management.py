"""A photo's colours as its file describes them -> sRGB, with LittleCMS (Pillow's ImageCms), before
its lightness is taken. ``colorizer.decode`` calls it; docs/color.md says what is managed and why.

    profile = input_profile(image, name)          # what the file says, or None: sRGB
    pixels = managed_pixels(image, profile, name)  # 8-bit Pillow image -> uint8 sRGB (or None: as is)
    pixels = managed_array(pixels16, profile, name)  # uint16 pixels OpenCV decoded -> uint16 sRGB

What a file may say, first that applies:
- an embedded ICC profile (JPEG APP2, also split over several segments; PNG iCCP; TIFF; WebP;
  HEIF/AVIF): grey, RGB, CMYK or Lab, ICC v2 or v4;
- a PNG sRGB chunk: sRGB;
- a PNG gAMA chunk (with cHRM, or BT.709 primaries without): a matrix/TRC profile written for
  them (``icc_profiles``); a gamma within 1 % of 1/2.2 with sRGB's primaries is taken for sRGB;
- a HEIF or AVIF nclx box: its primaries and transfer, likewise (an AVIF's read here from the file:
  Pillow does not report it);
- nothing: sRGB, as before.

Where pixels go: colour to sRGB (LittleCMS's built-in profile), grey to grey with the sRGB curve
(``icc_profiles.grey_profile``: the lightness of sRGB's neutral greys), so a grey scan stays one
channel. The intent is perceptual; LittleCMS uses relative colorimetric where a profile has no
perceptual table (every matrix/TRC and grey profile). A profile that LittleCMS converts to within
one 8-bit level of sRGB (an sRGB or sGrey profile) is not applied: those files give the very bytes
they gave before colour management.

A profile that cannot be read, is larger than MAX_PROFILE_BYTES, or does not fit the pixels (an RGB
profile on a grey image) is logged as a warning and sRGB is assumed: never a failure. A transform
is built once per profile (``_transform`` keeps the last few) and applied a strip of rows at a time,
so memory stays at one strip beside the output.

16-bit colour: Pillow's LittleCMS converts 8-bit colour only, so a matrix/TRC RGB profile (Adobe
RGB, ProPhoto, Display P3, linear RGB; also those written for PNG chunks and nclx) is applied in
float32 from its own tags as LittleCMS would (``icc_matrix``), keeping the 16 bits; a LUT-based RGB
profile goes through LittleCMS at 8 bits, with a warning.
"""

from __future__ import annotations

import functools
import io
import logging
import struct
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageCms

from colorizer import icc_matrix, icc_profiles
from colorizer.limits import MAX_ICC_PROFILE_BYTES
from colorizer.preflight import iso_box

log = logging.getLogger(__name__)

INTENT = ImageCms.Intent.PERCEPTUAL
MAX_PROFILE_BYTES = MAX_ICC_PROFILE_BYTES
STRIP_PIXELS = 1 << 20  # pixels transformed at once
# PNG gAMA holds 1/gamma x 100,000: 45,455 is 1/2.2, which writers use to mean sRGB.
_SRGB_GAMMA, _SRGB_GAMMA_TOLERANCE = 1 / 2.2, 0.01
# HEIF/AVIF nclx transfer characteristics (ITU-T H.273) -> the curve taken for them.
_NCLX_CURVES = {
    1: icc_profiles.srgb_curve,  # BT.709, shown as sRGB by every browser
    4: icc_profiles.gamma_curve(2.2),
    5: icc_profiles.gamma_curve(2.8),
    6: icc_profiles.srgb_curve,  # BT.601
    8: icc_profiles.gamma_curve(1.0),  # linear
    13: icc_profiles.srgb_curve,
    14: icc_profiles.srgb_curve,  # BT.2020 10-bit
    15: icc_profiles.srgb_curve,  # BT.2020 12-bit
}
# H.273 colour primaries -> (red, green, blue, white) chromaticities, for an AVIF's nclx box (a HEIF's
# comes with them from libheif). 2 is "unspecified": sRGB assumed, as for any untagged file.
_H273_PRIMARIES = {
    1: ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290)),  # BT.709, sRGB
    4: ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08), (0.310, 0.316)),  # BT.470 M
    5: ((0.64, 0.33), (0.29, 0.60), (0.15, 0.06), (0.3127, 0.3290)),  # BT.470 B/G, BT.601 625
    6: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), (0.3127, 0.3290)),  # BT.601 525
    7: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), (0.3127, 0.3290)),  # SMPTE 240M
    8: ((0.681, 0.319), (0.243, 0.692), (0.145, 0.049), (0.310, 0.316)),  # generic film
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), (0.3127, 0.3290)),  # BT.2020, BT.2100
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),  # DCI-P3
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.3127, 0.3290)),  # Display P3
    22: ((0.630, 0.340), (0.295, 0.605), (0.155, 0.077), (0.3127, 0.3290)),  # EBU 3213
}
_SPACES = {"GRAY": ("L", "I;16"), "RGB": ("RGB",), "CMYK": ("CMYK",), "LAB": ("LAB",)}


@dataclass(frozen=True)
class Profile:
    """The colour description of an input: ``data`` the ICC bytes (embedded or written for the file's
    chunks), ``source`` where it came from (for messages), ``space`` its colour space ("GRAY",
    "RGB", "CMYK", "LAB")."""

    data: bytes
    source: str
    space: str


def input_profile(image: Image.Image, name: str, data: bytes = b"") -> Profile | None:
    """What the opened ``image`` (whose file is ``data``) says about its colours, as a Profile; None
    for sRGB (said or assumed), and for anything unreadable (a warning). ``data`` is read only for
    an AVIF's nclx box, which Pillow does not report."""
    info = image.info
    embedded = info.get("icc_profile")
    if isinstance(embedded, bytes) and embedded:
        return _checked(embedded, f"{image.format} embedded ICC profile", name)
    if "icc_profile" in info and image.format in ("JPEG", "MPO"):  # Pillow's None: pieces that do not fit
        log.warning("%s: its ICC profile's APP2 segments are misnumbered; sRGB assumed", name)
        return None
    if image.format == "PNG" and "srgb" not in info and "gamma" in info:
        return _png_chunks_profile(image, name)
    nclx = info.get("nclx_profile")
    if image.format == "AVIF" and nclx is None:
        nclx = _avif_nclx(data, name)
    if isinstance(nclx, dict):
        return _nclx_profile(nclx, image.mode, name)
    return None


def managed_pixels(image: Image.Image, profile: Profile, name: str) -> np.ndarray | None:
    """A loaded 8-bit Pillow ``image`` with ``profile`` -> uint8 HxW grey (sRGB curve), HxWx3 sRGB
    or HxWx4 with its alpha (grey+alpha becomes RGBA); None when the profile is sRGB's or cannot be
    applied (the caller decodes the pixels as they are)."""
    base_mode = _base_mode(image.mode, profile, name)
    if base_mode is None:
        return None
    alpha = np.array(image.convert("RGBA").getchannel("A")) if image.has_transparency_data else None
    base = image if image.mode == base_mode else image.convert(base_mode)
    if base_mode == "L":
        table = _grey_table(profile.data, name)
        if table is None:
            return None
        pixels = cv2.LUT(np.asarray(base), np.rint(table[::257] / 257).astype(np.uint8))
    else:
        transform = _transform(profile.data, base_mode, name)
        if transform is None:
            return None
        pixels = np.empty((base.height, base.width, 3), np.uint8)
        for top, bottom in _strips(base.height, base.width):
            strip = base.crop((0, top, base.width, bottom))
            pixels[top:bottom] = np.asarray(ImageCms.applyTransform(strip, transform))
    if alpha is None:
        return pixels
    colour = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
    return np.dstack([colour, alpha])


def managed_array(pixels: np.ndarray, profile: Profile, name: str) -> np.ndarray:
    """uint16 HxW grey, HxWx3 RGB or HxWx4 RGBA (a 16-bit PNG or TIFF) with ``profile`` -> the same
    shape and dtype in sRGB (grey: the sRGB curve), or ``pixels`` itself when the profile is sRGB's
    or does not fit. Grey is converted by LittleCMS in 16 bits; colour as ``_managed_colour16`` says."""
    grey = pixels.ndim == 2
    base_mode = _base_mode("I;16" if grey else "RGB", profile, name)
    if base_mode is None:
        return pixels
    if grey:
        table = _grey_table(profile.data, name)
        if table is None:
            return pixels
        out = np.empty_like(pixels)
        for top, bottom in _strips(*pixels.shape):
            np.take(table, pixels[top:bottom], out=out[top:bottom])
        return out
    return _managed_colour16(pixels, profile, name)


def _managed_colour16(pixels: np.ndarray, profile: Profile, name: str) -> np.ndarray:
    """16-bit colour: a matrix/TRC RGB profile in float from its own tags (``icc_matrix``), a strip
    of rows at a time; any other (LUT-based, CMYK-like) one through LittleCMS at 8 bits, which
    loses the 16-bit detail (a warning says so). LittleCMS must accept the profile
    either way, so a file is managed the same at 8 and 16 bits or not at all."""
    transform = _transform(profile.data, "RGB", name)
    if transform is None:
        return pixels
    out = pixels.copy()
    shaper = _matrix_shaper(profile.data)
    if isinstance(shaper, icc_matrix.MatrixShaper):
        for top, bottom in _strips(*pixels.shape[:2]):
            out[top:bottom, :, :3] = shaper.to_srgb(pixels[top:bottom, :, :3])
        return out
    log.warning("%s: 16-bit colour managed through 8-bit LittleCMS transforms (its profile is %s)", name, shaper)
    for top, bottom in _strips(*pixels.shape[:2]):
        eight = np.rint(pixels[top:bottom, :, :3] / 257.0).astype(np.uint8)
        converted = np.asarray(ImageCms.applyTransform(Image.fromarray(eight, "RGB"), transform))
        out[top:bottom, :, :3] = converted.astype(np.uint16) * 257
    return out


@functools.lru_cache(maxsize=8)
def _matrix_shaper(data: bytes) -> icc_matrix.MatrixShaper | str:
    """``icc_matrix.matrix_shaper``, kept for the last few profiles (a batch of scans shares one)."""
    return icc_matrix.matrix_shaper(data)


def _base_mode(mode: str, profile: Profile, name: str) -> str | None:
    """The Pillow mode the pixels are given to LittleCMS in, for an image of ``mode``; None (with a
    warning) when the profile's colour space is not the image's, or the profile is sRGB's."""
    wanted = {"1": "GRAY", "L": "GRAY", "LA": "GRAY", "I;16": "GRAY", "P": "RGB", "RGB": "RGB", "RGBA": "RGB"}
    wanted |= {"CMYK": "CMYK", "LAB": "LAB"}
    # WebP, HEIF and AVIF store grey photos as colour: a grey profile there is the photo's, by its luma.
    fits = wanted.get(mode) == profile.space or (profile.space == "GRAY" and mode in ("RGB", "RGBA"))
    if not fits:
        log.warning("%s: its %s (%s) does not fit %s pixels; sRGB assumed", name, profile.source, profile.space, mode)
        return None
    base_mode = "I;16" if mode == "I;16" else _SPACES[profile.space][0]
    if profile.space in ("GRAY", "RGB") and _is_srgb(profile.data, _SPACES[profile.space][0]):
        return None
    return base_mode


def _checked(data: bytes, source: str, name: str) -> Profile | None:
    """Profile bytes read by LittleCMS, or None with a warning."""
    if len(data) > MAX_PROFILE_BYTES:
        log.warning("%s: its %s has %d bytes, more than %d; sRGB assumed", name, source, len(data), MAX_PROFILE_BYTES)
        return None
    space = _space(data)
    if space is None:
        log.warning("%s: its %s cannot be read; sRGB assumed", name, source)
        return None
    if space not in _SPACES:
        log.warning("%s: its %s is for %s colour, which is not managed; sRGB assumed", name, source, space)
        return None
    return Profile(data, source, space)


@functools.lru_cache(maxsize=32)
def _space(data: bytes) -> str | None:
    """The colour space LittleCMS reads in a profile ("GRAY", "RGB", "CMYK", "LAB", ...), or None."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, ImageCms.PyCMSError, ValueError):
        return None
    return str(profile.profile.xcolor_space).strip().upper() or None  # "Lab " -> "LAB"


def _transform(data: bytes, mode: str, name: str) -> ImageCms.ImageCmsTransform | None:
    """A LittleCMS transform from the profile ``data`` for colour pixels of Pillow ``mode`` ("RGB",
    "CMYK", "LAB") to sRGB, or None with a warning when LittleCMS cannot build one."""
    transform = _built_transform(data, mode)
    if isinstance(transform, str):
        log.warning("%s: its colour profile cannot be applied (%s); sRGB assumed", name, transform)
        return None
    return transform


@functools.lru_cache(maxsize=8)
def _built_transform(data: bytes, mode: str) -> ImageCms.ImageCmsTransform | str:
    """``_transform``'s work, kept for the last few profiles; LittleCMS's error as a string."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(data))
        return ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), mode, "RGB", INTENT)
    except (OSError, ImageCms.PyCMSError, ValueError) as error:
        return str(error) or type(error).__name__


def _grey_table(data: bytes, name: str) -> np.ndarray | None:
    """uint16 table of 65,536 entries: each 16-bit grey level in the grey profile ``data`` -> grey
    with the sRGB curve; None with a warning when LittleCMS cannot build it."""
    table = _built_grey_table(data)
    if isinstance(table, str):
        log.warning("%s: its colour profile cannot be applied (%s); sRGB assumed", name, table)
        return None
    return table


@functools.lru_cache(maxsize=8)
def _built_grey_table(data: bytes) -> np.ndarray | str:
    """``_grey_table``'s work, kept for the last few profiles. LittleCMS evaluates each level
    without its optimizations (cmsFLAGS_NOOPTIMIZE), which join the curves into a table that is
    off by half near black (a linear grey's level 1 of 255 came out 6 instead of 13); once per
    profile, so their speed is not needed."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(data))
        target = ImageCms.ImageCmsProfile(io.BytesIO(icc_profiles.grey_profile()))
        transform = ImageCms.buildTransform(source, target, "I;16", "I;16", INTENT, flags=ImageCms.Flags.NOOPTIMIZE)
        levels = Image.fromarray(np.arange(65536, dtype=np.uint16).reshape(256, 256))
        table = np.asarray(ImageCms.applyTransform(levels, transform), dtype=np.uint16).ravel().copy()
    except (OSError, ImageCms.PyCMSError, ValueError) as error:
        return str(error) or type(error).__name__
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=32)
def _is_srgb(data: bytes, mode: str) -> bool:
    """Whether LittleCMS turns 8-bit values in the profile ``data`` into sRGB (grey: the sRGB curve)
    within one level: every grey level, and for colour a 16 x 16 x 16 grid."""
    if mode == "L":
        table = _built_grey_table(data)
        if isinstance(table, str):
            return False  # not sRGB; applying it fails with a warning
        levels = np.arange(256)
        return int(np.abs(np.rint(table[levels * 257] / 257) - levels).max()) <= 1
    transform = _built_transform(data, mode)
    if isinstance(transform, str):
        return False
    levels = np.arange(256, dtype=np.uint8)
    grid = np.stack(np.meshgrid(*[np.arange(0, 256, 17, dtype=np.uint8)] * 3, indexing="ij"), -1).reshape(1, -1, 3)
    probe = np.concatenate([grid, np.repeat(levels[None, :, None], 3, axis=2)], axis=1)
    converted = np.asarray(ImageCms.applyTransform(Image.fromarray(probe), transform))
    return int(np.abs(converted.astype(np.int16) - probe.reshape(converted.shape)).max()) <= 1


def _png_chunks_profile(image: Image.Image, name: str) -> Profile | None:
    """A profile for a PNG's gAMA (and cHRM) chunks; None when they say sRGB or make no sense."""
    gamma = image.info.get("gamma")
    chromaticity = image.info.get("chromaticity")
    if not isinstance(gamma, (int, float)) or not 0.01 <= gamma <= 10:
        log.warning("%s: PNG gAMA %r makes no sense; sRGB assumed", name, gamma)
        return None
    primaries, white = icc_profiles.SRGB_PRIMARIES, icc_profiles.D65
    if isinstance(chromaticity, tuple) and len(chromaticity) == 8:
        white = (chromaticity[0], chromaticity[1])
        primaries = (
            (chromaticity[2], chromaticity[3]),
            (chromaticity[4], chromaticity[5]),
            (chromaticity[6], chromaticity[7]),
        )
    srgb_chromaticity = np.allclose(
        (*white, *np.ravel(primaries)), (*icc_profiles.D65, *np.ravel(icc_profiles.SRGB_PRIMARIES)), atol=0.002
    )
    if abs(gamma - _SRGB_GAMMA) <= _SRGB_GAMMA * _SRGB_GAMMA_TOLERANCE and srgb_chromaticity:
        return None
    curve = icc_profiles.gamma_curve(1 / gamma)
    source = f"PNG gAMA {gamma:g}" + (" and cHRM" if chromaticity else "")
    return _synthesized(image.mode, primaries, white, curve, source, name)


def _nclx_profile(nclx: dict, mode: str, name: str) -> Profile | None:
    """A profile for a HEIF's nclx colour description; None when it says sRGB."""
    try:
        white = (float(nclx["color_primary_white_x"]), float(nclx["color_primary_white_y"]))
        primaries = tuple(
            (float(nclx[f"color_primary_{colour}_x"]), float(nclx[f"color_primary_{colour}_y"]))
            for colour in ("red", "green", "blue")
        )
        transfer = int(nclx["transfer_characteristics"])
    except (KeyError, TypeError, ValueError):
        log.warning("%s: unreadable HEIF nclx colour description; sRGB assumed", name)
        return None
    curve = _NCLX_CURVES.get(transfer)
    if curve is None:
        log.warning("%s: HEIF transfer characteristics %d are not managed; the sRGB curve assumed", name, transfer)
        curve = icc_profiles.srgb_curve
    srgb = np.allclose(
        (*white, *np.ravel(primaries)), (*icc_profiles.D65, *np.ravel(icc_profiles.SRGB_PRIMARIES)), atol=0.002
    )
    if srgb and curve is icc_profiles.srgb_curve:
        return None
    return _synthesized(mode, primaries, white, curve, f"HEIF nclx (transfer {transfer})", name)


def _avif_nclx(data: bytes, name: str) -> dict | None:
    """An AVIF's nclx colour description ('meta/iprp/ipco/colr', ISO/IEC 23008-12) in pillow-heif's
    form (the primaries as chromaticities), or None: absent, unspecified or sRGB's. Unknown primaries
    are a warning (sRGB assumed)."""
    box: tuple[int, int] | None = iso_box(data, 0, len(data), b"meta")
    box = (box[0] + 4, box[1]) if box else None  # 'meta' is a full box: version and flags first
    for kind in (b"iprp", b"ipco"):
        box = iso_box(data, *box, kind) if box else None
    colr = iso_box(data, *box, b"colr") if box else None
    while box and colr and data[colr[0] : colr[0] + 4] != b"nclx":
        colr = iso_box(data, colr[1], box[1], b"colr")
    if colr is None or colr[0] + 10 > colr[1]:
        return None
    primaries, transfer = struct.unpack_from(">HH", data, colr[0] + 4)
    if primaries in (1, 2) and transfer in (1, 2, 6, 13, 14, 15):
        return None
    if primaries not in _H273_PRIMARIES and primaries != 2:
        log.warning("%s: AVIF colour primaries %d are not managed; sRGB assumed", name, primaries)
        return None
    red, green, blue, white = _H273_PRIMARIES.get(primaries, _H273_PRIMARIES[1])
    description = {"transfer_characteristics": 13 if transfer == 2 else transfer}
    for colour, (x, y) in (("red", red), ("green", green), ("blue", blue), ("white", white)):
        description |= {f"color_primary_{colour}_x": x, f"color_primary_{colour}_y": y}
    return description


def _synthesized(mode: str, primaries, white, curve, source: str, name: str) -> Profile | None:
    """A matrix/TRC (or, for grey pixels, grey) profile written for a colour description."""
    try:
        if mode in ("1", "L", "LA", "I;16", "I;16B", "I;16L"):
            return Profile(icc_profiles.gray_profile(curve, source), source, "GRAY")
        return Profile(icc_profiles.rgb_profile(primaries, white, curve, source), source, "RGB")
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, UnicodeEncodeError):
        log.warning("%s: its %s makes no sense; sRGB assumed", name, source)
        return None


def _strips(height: int, width: int):
    """(top, bottom) row ranges of about STRIP_PIXELS pixels each."""
    rows = max(1, STRIP_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        yield top, min(height, top + rows)
