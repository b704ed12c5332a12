"""Colour-space conversions between the user's pixels and CIE Lab, a tile at a time on every core.

The Lab is OpenCV's float Lab: L in 0..100, a and b roughly -128..127, from sRGB in 0..1 (D65).
The lightness is OpenCV's own conversion (grey uint8/uint16 through a table of it); Lab -> 8- or
16-bit RGB is a numba kernel with the sRGB curve as a table of the output's depth (``srgb_table``):
16 bits come from the float Lab directly, never through an 8-bit step. Both run over tiles of at
most ``tiles.TILE_PIXELS`` pixels on every core, so a conversion holds only its output whole, plus a
few tile-sized buffers, whatever the image's shape. The float OpenCV path these replace is kept as
the reference in ``testkit/pixels_reference.py``; tests/test_pixels.py holds them within one 8-bit
level of it.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from colorizer.errors import ColorizerError
from colorizer.jit import F, kernel
from colorizer.tiles import Tile, for_each_tile

# OpenCV's constants for sRGB (D65): linear RGB = XYZ2RGB @ XYZ; the white point that scales X and Z.
XYZ2RGB = np.array([[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]])
WHITE = np.array([0.950456, 1.0, 1.088754])  # X, Y, Z of D65 white
_LAB_TO_RGB = tuple(F(value) for value in (XYZ2RGB * WHITE[None, :]).ravel())  # a*500 and b*200 scale X, Z


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """HxW, HxWx3 or HxWx4 -> (the colour or grey part, the HxW alpha or None). Views, no copies."""
    if image.ndim == 3 and image.shape[2] == 4:
        return image[..., :3], image[..., 3]
    return image, None


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float pixels -> float32 in 0..1 (floats are clipped). A new array."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) * np.float32(1 / 255)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) * np.float32(1 / 65535)
    return np.clip(pixels, 0.0, 1.0).astype(np.float32)


def lightness(pixels: np.ndarray) -> np.ndarray:
    """HxW grey or HxWx3 RGB (uint8, uint16 or float 0..1) -> float32 HxW Lab L in 0..100.

    Always OpenCV's float conversion (which interpolates a 33^3 table, within 0.19 of the CIE
    formula): grey uint8/uint16 through a table of it, everything else through it a tile at a time.
    """
    height, width = pixels.shape[:2]
    if pixels.ndim == 2 and pixels.dtype == np.uint8:  # one table lookup, exact (OpenCV runs it on every core)
        return cv2.LUT(pixels, grey_lightness_table(np.uint8))
    out = np.empty((height, width), np.float32)
    if pixels.ndim == 2 and pixels.dtype == np.uint16:  # exact, by the table too
        table = grey_lightness_table(np.uint16)

        def work(tile: Tile) -> None:
            np.take(table, pixels[tile.rows, tile.columns], out=out[tile.rows, tile.columns])
    else:

        def work(tile: Tile) -> None:
            unit = to_unit_float(pixels[tile.rows, tile.columns])
            if unit.ndim == 2:  # grey: R = G = B
                unit = cv2.cvtColor(unit, cv2.COLOR_GRAY2RGB)
            out[tile.rows, tile.columns] = cv2.cvtColor(unit, cv2.COLOR_RGB2Lab)[..., 0]

    for_each_tile(work, height, width)
    return out


@functools.cache
def grey_lightness_table(dtype: type) -> np.ndarray:
    """float32 L of every uint8 or uint16 grey level, computed by the same OpenCV conversion."""
    levels: np.ndarray = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
    strip = cv2.cvtColor(to_unit_float(levels)[None, :], cv2.COLOR_GRAY2RGB)  # 1 x levels x 3
    table = cv2.cvtColor(strip, cv2.COLOR_RGB2Lab)[0, :, 0]
    table.flags.writeable = False
    return table


DEPTHS = (8, 16)  # the bits per sample of a result
_DTYPES = {8: np.uint8, 16: np.uint16}


def depth_dtype(depth: int) -> type:
    """np.uint8 for depth 8, np.uint16 for 16; ColorizerError for any other depth."""
    if isinstance(depth, bool) or depth not in _DTYPES:
        raise ColorizerError(f"depth {depth!r} must be 8 or 16 bits")
    return _DTYPES[depth]


def lab_to_rgb8(lightness_plane: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """float32 HxW L (0..100) + float32 HxWx2 ab -> uint8 HxWx3 RGB, out-of-gamut colours clipped."""
    plane = np.ascontiguousarray(lightness_plane, dtype=np.float32)
    ab = np.ascontiguousarray(ab, dtype=np.float32)
    height, width = plane.shape
    out = np.empty((height, width, 3), np.uint8)
    for_each_tile(lambda tile: lab_to_rgb8_tile(plane, ab, out, *tile), height, width)
    return out


def lab_to_rgb8_tile(
    plane: np.ndarray, ab: np.ndarray, out: np.ndarray, top: int, bottom: int, left: int, right: int
) -> None:
    """Rows top:bottom, columns left:right of float32 HxW L and HxWx2 ab into channels 0..2 of the
    uint8 or uint16 HxWxC ``out`` (a fourth channel, alpha, is left alone)."""
    _lab_to_rgb8_tile(plane, ab, out, srgb_table(out.dtype.itemsize * 8), top, bottom, left, right)


@kernel
def _lab_to_rgb8_tile(plane, ab, out, table, top, bottom, left, right):
    count = right - left
    a, b = np.empty(count, np.float32), np.empty(count, np.float32)
    indices = np.empty((3, count), np.int32)
    for row in range(top, bottom):
        for i in range(count):  # HxWx2 -> two planes, so that the conversion below vectorizes
            a[i] = ab[row, left + i, 0]
            b[i] = ab[row, left + i, 1]
        lab_row_to_rgb8(plane[row, left:right], a, b, indices, table, out[row, left:right])


SRGB_TABLE_STEPS = 65535  # the 8-bit table's entries: 64 KiB, in the L2 cache; 1 value in 1,000 lands a level off
# The 16-bit table's: 2 MiB; one step is at most 0.045 of a 16-bit level, so a value is the exact
# curve rounded once, or (rarely, where the exact value lies within 0.045 of a half) its neighbour.
SRGB_TABLE_STEPS_16 = 1 << 20


@functools.cache
def srgb_table(depth: int = 8) -> np.ndarray:
    """uint8 (depth 8) or uint16 (depth 16) table of the sRGB level of linear light
    v = (i / steps) ** 2, rounded, steps SRGB_TABLE_STEPS (8) or SRGB_TABLE_STEPS_16 (16); read at
    i = round(sqrt(v) * steps). The square root spends the entries where the curve is steep: one
    step is at most 0.006 of an 8-bit level (0.002 in the linear segment near black)."""
    dtype = depth_dtype(depth)
    steps = SRGB_TABLE_STEPS if depth == 8 else SRGB_TABLE_STEPS_16
    linear = (np.arange(steps + 1) / steps) ** 2
    curve = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    table = np.rint(curve * np.iinfo(dtype).max).astype(dtype)
    table.flags.writeable = False
    return table


@kernel
def lab_row_to_rgb8(lightness_row, a, b, indices, table, out_row):
    """One row: float32 L, a, b (n each) -> channels 0..2 of the uint8 (or uint16) n x C ``out_row``,
    sRGB clipped to 0..255 (0..65535). ``indices`` is int32 3 x n scratch; ``table`` is
    ``srgb_table(depth)`` of the output's depth.

    OpenCV's Lab -> XYZ (with its linear segment below L 8 and f 6/29) and XYZ -> linear RGB, in a
    loop that vectorizes; then the sRGB curve from the table (OpenCV interpolates the curve from
    a 1024-entry spline table) in a second loop, as table reads do not vectorize."""
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = _LAB_TO_RGB
    steps = F(table.shape[0] - 1)
    for i in range(lightness_row.shape[0]):
        lum = lightness_row[i]
        fy_curve = (lum + F(16)) * F(1 / 116)
        dark = lum <= F(7.9996248)
        y = lum * F(1 / 903.3) if dark else fy_curve * fy_curve * fy_curve
        fy = F(7.787) * y + F(16 / 116) if dark else fy_curve
        fx = a[i] * F(1 / 500) + fy
        fz = fy - b[i] * F(1 / 200)
        x = (fx - F(16 / 116)) * F(1 / 7.787) if fx <= F(0.206893) else fx * fx * fx
        z = (fz - F(16 / 116)) * F(1 / 7.787) if fz <= F(0.206893) else fz * fz * fz
        indices[0, i] = np.int32(np.sqrt(min(max(m00 * x + m01 * y + m02 * z, F(0)), F(1))) * steps + F(0.5))
        indices[1, i] = np.int32(np.sqrt(min(max(m10 * x + m11 * y + m12 * z, F(0)), F(1))) * steps + F(0.5))
        indices[2, i] = np.int32(np.sqrt(min(max(m20 * x + m21 * y + m22 * z, F(0)), F(1))) * steps + F(0.5))
    last = np.int32(table.shape[0] - 1)
    for i in range(lightness_row.shape[0]):  # clamped again as integers: NaN or inf input must not index outside
        out_row[i, 0] = table[min(max(indices[0, i], np.int32(0)), last)]
        out_row[i, 1] = table[min(max(indices[1, i], np.int32(0)), last)]
        out_row[i, 2] = table[min(max(indices[2, i], np.int32(0)), last)]


def alpha_to_depth(alpha: np.ndarray, depth: int) -> np.ndarray:
    """HxW alpha in uint8, uint16 or float 0..1 -> uint8 (depth 8) or uint16 (depth 16) HxW, a tile at
    a time; returned as is when it has that depth already."""
    dtype = depth_dtype(depth)
    if alpha.dtype == dtype:
        return alpha
    out: np.ndarray = np.empty(alpha.shape, dtype)
    top = np.float32(np.iinfo(dtype).max)

    def work(tile: Tile) -> None:
        out[tile.rows, tile.columns] = np.rint(to_unit_float(alpha[tile.rows, tile.columns]) * top)

    for_each_tile(work, *alpha.shape)
    return out
