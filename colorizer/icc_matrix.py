"""An RGB matrix/TRC ICC profile (Adobe RGB, ProPhoto/ROMM, Display P3, linear RGB: the common
archive cases) read from its own tags, as a float transform to sRGB for 16-bit pixels, which
LittleCMS through Pillow can only convert at 8 bits. ``colorizer.color_management`` uses it.

    shaper = matrix_shaper(data)          # MatrixShaper, or a str saying why not (then: 8 bits)
    srgb16 = shaper.to_srgb(rgb16)        # uint16 Nx3 or HxWx3 -> uint16 sRGB, same shape

What LittleCMS does for such a profile at the relative colorimetric intent (which it uses for the
perceptual one, these profiles having no perceptual table), in float:
encoded -> linear by each channel's TRC (a 'curv' table or gamma, or a 'para' function of type 0..4);
linear -> XYZ (the profile connection space, D50) by the colorants rXYZ, gXYZ, bXYZ; XYZ -> linear
sRGB by the inverse of sRGB's colorants adapted to D50 with Bradford (LittleCMS's built-in sRGB is
made that way); clipped to 0..1; the sRGB curve.

Reading is bounded and hostile-safe: only the header, the tag table and six tags are read; the tag
count, every offset and size are checked against the profile's size, a curve has at most
MAX_CURVE_ENTRIES entries. Anything else (a LUT-based profile: A2B0/D2B0 tags, which LittleCMS
prefers; CMYK, Lab, grey; an unknown tag type, a parametric type above 4, values that are not
finite) is a reason string, never an exception.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from colorizer import icc_profiles

MAX_CURVE_ENTRIES = 4096  # a profile's sampled curve: 4096 is the largest seen (esRGB); 8 KiB
_HEADER, _ENTRY = 128, 12
_LUT_TAGS = (b"A2B0", b"A2B1", b"A2B2", b"D2B0", b"D2B1", b"D2B2")
_PARA_PARAMETERS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}  # ICC 'para' function type -> its parameter count
_LEVELS = np.arange(65536, dtype=np.float64) / 65535  # every 16-bit level, 0..1


@dataclass(frozen=True)
class MatrixShaper:
    """A matrix/TRC profile's conversion to sRGB: ``tables`` three float32 arrays of 65,536 entries
    (each 16-bit level of a channel -> linear light), ``matrix`` float32 3x3 (linear RGB -> linear
    sRGB: the colorants, then sRGB's inverse, both in the D50 connection space)."""

    tables: tuple[np.ndarray, np.ndarray, np.ndarray]
    matrix: np.ndarray

    def to_srgb(self, pixels: np.ndarray) -> np.ndarray:
        """uint16 ...x3 RGB in the profile -> uint16 ...x3 sRGB (rounded, clipped to the gamut);
        about 30 bytes of float32 work space a pixel: the caller passes strips."""
        linear = np.empty(pixels.shape, np.float32)
        for channel, table in enumerate(self.tables):
            np.take(table, pixels[..., channel], out=linear[..., channel])
        srgb = linear @ self.matrix.T
        np.clip(srgb, 0.0, 1.0, out=srgb)
        return np.rint(srgb_encode(srgb) * 65535).astype(np.uint16)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear light 0..1 -> the sRGB encoding 0..1 (the inverse of icc_profiles.srgb_curve), float32."""
    power = np.power(np.maximum(linear, 0.0031308, dtype=np.float32), np.float32(1 / 2.4)) * np.float32(1.055)
    return np.where(linear <= 0.0031308, linear * np.float32(12.92), power - np.float32(0.055))


def matrix_shaper(data: bytes) -> MatrixShaper | str:
    """The ICC profile ``data`` as a MatrixShaper, or a short reason why it is not one (any profile
    that is not an RGB matrix/TRC profile, or a damaged one)."""
    if len(data) < _HEADER + 4:
        return "shorter than an ICC header"
    size = min(struct.unpack_from(">I", data, 0)[0], len(data))
    space, connection = data[16:20], data[20:24]
    if space != b"RGB " or connection != b"XYZ ":
        return f"a {space.decode('latin-1').strip()} profile to {connection.decode('latin-1').strip()}"
    count = struct.unpack_from(">I", data, _HEADER)[0]
    if count > (size - _HEADER - 4) // _ENTRY:
        return f"{count:,} tags do not fit in {size:,} bytes"
    tags: dict[bytes, tuple[int, int]] = {}
    for index in range(count):
        signature, offset, length = struct.unpack_from(">4sII", data, _HEADER + 4 + _ENTRY * index)
        if offset < _HEADER or length < 8 or offset + length > size:
            continue  # as LittleCMS: a tag outside the profile is skipped (a missing one fails below)
        tags.setdefault(signature, (offset, length))
    if any(tag in tags for tag in _LUT_TAGS):
        return "LUT-based (A2B/D2B tags)"
    try:
        colorants = np.array([_xyz(data, tags, tag) for tag in (b"rXYZ", b"gXYZ", b"bXYZ")]).T
        tables = tuple(_curve_table(data, tags, tag) for tag in (b"rTRC", b"gTRC", b"bTRC"))
    except ValueError as reason:
        return str(reason)
    srgb = icc_profiles.rgb_to_xyz_d50(icc_profiles.SRGB_PRIMARIES, icc_profiles.D65)
    matrix = np.linalg.solve(srgb, colorants)
    if not np.all(np.isfinite(matrix)) or not all(np.all(np.isfinite(table)) for table in tables):
        return "values that are not finite"
    return MatrixShaper((tables[0], tables[1], tables[2]), matrix.astype(np.float32))


def _tag(data: bytes, tags: dict[bytes, tuple[int, int]], signature: bytes) -> tuple[bytes, int, int]:
    """(type signature, offset, length) of a tag that lies within the profile; ValueError when absent."""
    if signature not in tags:
        raise ValueError(f"no {signature.decode('latin-1')} tag")
    offset, length = tags[signature]
    return data[offset : offset + 4], offset, length


def _xyz(data: bytes, tags: dict[bytes, tuple[int, int]], signature: bytes) -> tuple[float, float, float]:
    kind, offset, length = _tag(data, tags, signature)
    if kind != b"XYZ " or length < 20:
        raise ValueError(f"{signature.decode('latin-1')} is not an XYZ tag")
    x, y, z = (value / 65536 for value in struct.unpack_from(">3i", data, offset + 8))
    return x, y, z


def _curve_table(data: bytes, tags: dict[bytes, tuple[int, int]], signature: bytes) -> np.ndarray:
    """float32 65,536 entries: a TRC tag evaluated at every 16-bit level (linear light, clipped to
    0..1 as LittleCMS's 16-bit curves are)."""
    kind, offset, length = _tag(data, tags, signature)
    name = signature.decode("latin-1")
    if kind == b"curv":
        entries = struct.unpack_from(">I", data, offset + 8)[0] if length >= 12 else -1
        if not 0 <= entries <= MAX_CURVE_ENTRIES or 12 + 2 * entries > length:
            raise ValueError(f"{name} declares a curve of {entries:,} entries in {length:,} bytes")
        if entries == 0:
            linear = _LEVELS
        elif entries == 1:
            linear = _LEVELS ** (struct.unpack_from(">H", data, offset + 12)[0] / 256)  # u8Fixed8 gamma
        else:
            table = np.frombuffer(data, ">u2", entries, offset + 12).astype(np.float64) / 65535
            linear = np.interp(_LEVELS, np.linspace(0.0, 1.0, entries), table)
    elif kind == b"para":
        function = struct.unpack_from(">H", data, offset + 8)[0] if length >= 12 else -1
        parameters = _PARA_PARAMETERS.get(function, 0)
        if not parameters or 12 + 4 * parameters > length:
            raise ValueError(f"{name} is a parametric curve of type {function} in {length:,} bytes")
        values = [value / 65536 for value in struct.unpack_from(f">{parameters}i", data, offset + 12)]
        linear = _parametric(function, values)
    else:
        raise ValueError(f"{name} is a {kind.decode('latin-1')!r} tag, not a curve")
    return np.clip(linear, 0.0, 1.0).astype(np.float32)


def _parametric(function: int, values: list[float]) -> np.ndarray:
    """ICC 'para' functions 0..4 (ICC.1:2010 table 68) at every 16-bit level: Y = X^g; (aX+b)^g
    from X >= -b/a (else 0); the same + c (else c); (aX+b)^g from X >= d (else cX); the same + e
    (else cX + f)."""
    x = _LEVELS
    gamma, a, b, c, d, e, f = (values + [0.0] * 6)[:7]
    if function == 0:
        return x**gamma
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        power = np.maximum(a * x + b, 0.0) ** gamma
        if function in (1, 2):
            threshold = -b / a if a else np.inf
            return np.where(x >= threshold, power + (c if function == 2 else 0.0), c if function == 2 else 0.0)
        return np.where(x >= d, power + (e if function == 4 else 0.0), c * x + (f if function == 4 else 0.0))
