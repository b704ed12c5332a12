"""ICC profiles the colorizer writes itself, byte for byte the same on every machine (ICC v2, no
date, no ID): sRGB for the outputs it tags, grey with the sRGB curve (the space a grey photo's
pixels are managed into) and matrix/TRC profiles for colour described by numbers instead of a
profile (a PNG's cHRM and gAMA chunks, a HEIF/AVIF's nclx box).

    srgb_profile()                                    # bytes: the sRGB profile outputs carry
    grey_profile()                                    # bytes: grey, D50 white, the sRGB curve
    rgb_profile(SRGB_PRIMARIES, D65, srgb_curve())    # any primaries, white point and curve

The colorants are the primaries' XYZ adapted to the profile connection space's D50 white with the
Bradford transform, as the ICC specification asks of display profiles (and as sRGB profiles do).
"""

from __future__ import annotations

import functools
import struct

import numpy as np

D50 = (0.9642, 1.0, 0.8249)  # the profile connection space's white, XYZ
D65 = (0.3127, 0.3290)  # white point chromaticity x, y
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))  # red, green, blue x, y (BT.709)
CURVE_ENTRIES = 4096  # a tone curve the grey space uses: 8 KiB, within 1/100,000 of the formula between entries
TAG_CURVE_ENTRIES = 1024  # the sRGB tag outputs carry: 2 KiB (a reader interpolates it within 1/10,000)
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def srgb_curve(unit: np.ndarray) -> np.ndarray:
    """The sRGB encoding's decoding curve (IEC 61966-2-1): encoded 0..1 -> linear light 0..1."""
    return np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)


def gamma_curve(exponent: float):
    """A pure power curve: encoded 0..1 -> linear light ``unit ** exponent`` (2.2, 1.8, 1.0...)."""
    return lambda unit: unit**exponent


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB profile outputs carry (v2 matrix/TRC, 2.6 KiB with its curve tabulated)."""
    return rgb_profile(SRGB_PRIMARIES, D65, srgb_curve, "sRGB IEC61966-2.1 (colorizer)", TAG_CURVE_ENTRIES)


@functools.cache
def grey_profile() -> bytes:
    """Grey with the sRGB curve and a D50 white: the grey a managed grey photo's pixels hold, the
    same lightness as sRGB's neutral greys."""
    return gray_profile(srgb_curve, "Grey, sRGB curve (colorizer)")


def gray_profile(curve, description: str) -> bytes:
    """A v2 grey display profile whose tone ``curve`` (encoded 0..1 -> linear) is tabulated."""
    return _profile(b"GRAY", description, {b"kTRC": _curve(curve)})


def rgb_profile(primaries, white: tuple[float, float], curve, description: str, entries: int = CURVE_ENTRIES) -> bytes:
    """A v2 matrix/TRC display profile: ``primaries`` ((x, y) of red, green, blue), ``white`` (x, y)
    and the same ``curve`` (encoded 0..1 -> linear, a function of numpy arrays) for each channel,
    tabulated in ``entries`` points."""
    matrix = rgb_to_xyz_d50(primaries, white)
    tone = _curve(curve, entries)
    tags = {b"rXYZ": _xyz(matrix[:, 0]), b"gXYZ": _xyz(matrix[:, 1]), b"bXYZ": _xyz(matrix[:, 2])}
    tags |= {b"rTRC": tone, b"gTRC": tone, b"bTRC": tone}
    return _profile(b"RGB ", description, tags)


def rgb_to_xyz_d50(primaries, white: tuple[float, float]) -> np.ndarray:
    """3x3 linear RGB -> XYZ (columns: the primaries' XYZ) for ``primaries`` and ``white`` given as
    chromaticities, adapted to D50 with the Bradford transform."""
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T  # columns: each primary at Y = 1
    white_xyz = np.array([white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1]])
    scaled = xyz * np.linalg.solve(xyz, white_xyz)  # each primary scaled so that R = G = B = 1 is the white
    cone_white, cone_d50 = _BRADFORD @ white_xyz, _BRADFORD @ np.array(D50)
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cone_d50 / cone_white) @ _BRADFORD
    return adapt @ scaled


def _profile(space: bytes, description: str, tags: dict[bytes, bytes]) -> bytes:
    """Header, tag table and tag data of a v2 display profile with ``tags`` besides desc, wtpt, cprt
    (equal tag data is stored once)."""
    tags = {b"desc": _description(description), b"wtpt": _xyz(D50), b"cprt": _text("No copyright, use freely")} | tags
    table_end = 128 + 4 + 12 * len(tags)
    entries, blocks, offsets = [], b"", {}
    for signature, data in tags.items():
        if data not in offsets:
            offsets[data] = table_end + len(blocks)
            blocks += data + b"\0" * (-len(data) % 4)  # tag data starts on 4-byte boundaries
        entries.append(struct.pack(">4sII", signature, offsets[data], len(data)))
    size = table_end + len(blocks)
    header = struct.pack(
        ">I4sI4s4s4s12s4s4sI4s4s8sI12s4s16s28s",
        size,
        b"\0" * 4,  # preferred CMM
        0x02100000,  # version 2.1
        b"mntr",  # a display profile
        space,
        b"XYZ ",  # profile connection space
        b"\0" * 12,  # no date: the same bytes on every machine
        b"acsp",
        b"\0" * 4,  # platform
        0,  # flags
        b"\0" * 4,  # manufacturer
        b"\0" * 4,  # model
        b"\0" * 8,  # attributes
        0,  # perceptual
        b"".join(_s15(value) for value in D50),  # illuminant
        b"\0" * 4,  # creator
        b"\0" * 16,  # no profile ID
        b"\0" * 28,
    )
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + blocks


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(values) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(float(value)) for value in values)


def _curve(curve, entries: int = CURVE_ENTRIES) -> bytes:
    linear = curve(np.linspace(0.0, 1.0, entries))
    table = np.rint(np.clip(linear, 0.0, 1.0) * 65535).astype(">u2")
    return b"curv\0\0\0\0" + struct.pack(">I", entries) + table.tobytes()


def _text(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _description(text: str) -> bytes:
    """A v2 textDescriptionType: ASCII, then empty Unicode and ScriptCode parts."""
    ascii_part = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_part)) + ascii_part + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
