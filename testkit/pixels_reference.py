"""Today's float per-pixel path (before colorizer.pixels), kept as the reference for tests and benchmarks.

The code of colorizer/color.py and colorizer/upsample.py as it was before the per-pixel path became
numba kernels over bounded tiles: OpenCV's float conversions and numpy in strips of 256 rows. The
fast path must stay within one 8-bit level (p99) of ``reference_colorize_tail`` (tests/test_pixels.py)
and ``python -m bench.pixels_bench`` times both side by side. Not used by the library.

Its memory is not bounded by the pixel count: ``joint_bilateral_upsample`` holds 3 x h x W tables
per tap, and a strip of 256 rows of a very wide image is the whole image.
"""

from __future__ import annotations

import cv2
import numpy as np

from colorizer.chroma import KEEP_FROM, KEEP_FULLY_AT
from colorizer.color import grey_lightness_table, split_alpha, to_unit_float
from colorizer.upsample import (
    BILATERAL_SIGMA_RANGE,
    GUIDED_EPS,
    GUIDED_GRID_SCALE,
    GUIDED_RADIUS,
    bicubic_upsample,
    bilinear_upsample,
    guided_coefficients,
)

STRIP_ROWS = 256


def reference_colorize_tail(
    image: np.ndarray, ab: np.ndarray, method: str = "bilateral", keep_color: bool = False
) -> np.ndarray:
    """What ``Colorizer.colorize`` did with an image and the network's float32 2 x h x w ab:
    HxW, HxWx3 or HxWx4 (uint8, uint16, float 0..1) -> uint8 HxWx3, or HxWx4 with the alpha."""
    pixels, alpha = split_alpha(image)
    plane = lightness(pixels)
    ab_full = UPSAMPLERS[method](np.ascontiguousarray(ab.transpose(1, 2, 0), dtype=np.float32), plane)
    if keep_color and pixels.ndim == 3:
        ab_full = keep_strong_colour(pixels, ab_full)
    rgb = lab_to_rgb8(plane, ab_full)
    if alpha is None:
        return rgb
    return np.dstack([rgb, alpha_to_uint8(alpha)])


def keep_strong_colour(pixels: np.ndarray, predicted_ab: np.ndarray) -> np.ndarray:
    """colorizer.chroma.keep_strong_color in strips of rows."""
    out = np.empty_like(predicted_ab)
    for top in range(0, pixels.shape[0], STRIP_ROWS):
        rows = slice(top, top + STRIP_ROWS)
        original = cv2.cvtColor(to_unit_float(pixels[rows]), cv2.COLOR_RGB2Lab)[..., 1:]
        chroma = np.hypot(original[..., 0], original[..., 1])
        weight = np.clip((chroma - KEEP_FROM) / (KEEP_FULLY_AT - KEEP_FROM), 0.0, 1.0)[..., None]
        out[rows] = weight * original + (1 - weight) * predicted_ab[rows]
    return out


def lightness(pixels: np.ndarray) -> np.ndarray:
    """HxW grey or HxWx3 RGB (uint8, uint16 or float 0..1) -> float32 HxW Lab L in 0..100."""
    if pixels.ndim == 2 and pixels.dtype == np.uint8:  # a table lookup: exact, 8 ms instead of 70 at 12 MP
        return cv2.LUT(pixels, grey_lightness_table(np.uint8))
    if pixels.ndim == 2 and pixels.dtype == np.uint16:
        return grey_lightness_table(np.uint16)[pixels]
    height = pixels.shape[0]
    out = np.empty(pixels.shape[:2], np.float32)
    for top in range(0, height, STRIP_ROWS):
        strip = to_unit_float(pixels[top : top + STRIP_ROWS])
        if strip.ndim == 2:  # grey: R = G = B
            strip = cv2.cvtColor(strip, cv2.COLOR_GRAY2RGB)
        out[top : top + STRIP_ROWS] = cv2.cvtColor(strip, cv2.COLOR_RGB2Lab)[..., 0]
    return out


def lab_to_rgb8(lightness_plane: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """float32 HxW L (0..100) + float32 HxWx2 ab -> uint8 HxWx3 RGB, out-of-gamut colours clipped."""
    height, width = lightness_plane.shape
    out = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, STRIP_ROWS):
        lab = np.concatenate([lightness_plane[top : top + STRIP_ROWS, :, None], ab[top : top + STRIP_ROWS]], axis=2)
        rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
        out[top : top + STRIP_ROWS] = np.rint(np.clip(rgb, 0.0, 1.0) * 255)
    return out


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """HxW alpha in uint8 (returned as is), uint16 or float 0..1 -> uint8 HxW."""
    if alpha.dtype == np.uint8:
        return alpha
    return np.rint(to_unit_float(alpha) * 255).astype(np.uint8)


def guided_upsample(
    ab: np.ndarray,
    lightness_plane: np.ndarray,
    *,
    grid_scale: int = GUIDED_GRID_SCALE,
    radius: int = GUIDED_RADIUS,
    eps: float = GUIDED_EPS,
) -> np.ndarray:
    """Fast guided upsampling: float32 h x w x 2 ab + float32 H x W L (0..100) -> float32 H x W x 2."""
    height, width = lightness_plane.shape
    grid_height = min(ab.shape[0] * grid_scale, height)
    grid_width = min(ab.shape[1] * grid_scale, width)
    # The mean L of each grid cell, as the network's ab is (roughly) the mean colour of its cell.
    guide = cv2.resize(lightness_plane, (grid_width, grid_height), interpolation=cv2.INTER_AREA)  # cv2: (w, h)
    source = cv2.resize(ab, (grid_width, grid_height), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    slope, offset = guided_coefficients(guide, source, radius, eps)
    out = np.empty((height, width, 2), np.float32)
    for top in range(0, height, STRIP_ROWS):
        rows = slice(top, top + STRIP_ROWS)
        strip = resize_rows(slope, height, width, rows)
        strip *= lightness_plane[rows, :, None]  # SxW -> SxWx1, broadcast over a and b
        strip += resize_rows(offset, height, width, rows)
        out[rows] = strip
    return out


def joint_bilateral_upsample(
    ab: np.ndarray, lightness_plane: np.ndarray, *, sigma_range: float = BILATERAL_SIGMA_RANGE
) -> np.ndarray:
    """Joint bilateral upsampling: float32 h x w x 2 ab + float32 H x W L (0..100) -> float32 H x W x 2.

    Each pixel averages the four ab cells that bilinear interpolation would, with bilinear's weights
    times exp(-(L - cell's mean L)^2 / (2 sigma_range^2)). Kopf et al. weight a wider window by a
    Gaussian; a 3x3 Gaussian window (sigma 0.4 cells) was under 1% better on the tuning photos at
    2.5 times the work. Where L is flat the result is exactly bilinear.
    """
    height, width = lightness_plane.shape
    grid_height, grid_width = ab.shape[:2]
    guide = cv2.resize(lightness_plane, (grid_width, grid_height), interpolation=cv2.INTER_AREA)  # cv2: (w, h)
    cells = np.stack([guide, ab[..., 0], ab[..., 1]])  # hxw, hxwx2 -> 3xhxw: each cell's mean L, a, b
    column_cells, column_weights = bilinear_taps(width, grid_width)  # 2 x W each
    row_cells, row_weights = bilinear_taps(height, grid_height)  # 2 x H each
    cells_by_column = [cells[:, :, taps] for taps in column_cells]  # 3 x h x W: the cells column x reads
    range_scale = np.float32(-0.5 / sigma_range**2)
    out = np.empty((height, width, 2), np.float32)
    for rows in _row_blocks(row_cells):
        lightness = lightness_plane[rows]  # S x W
        weight, product = np.empty_like(lightness), np.empty_like(lightness)
        total_a, total_b, norm = np.zeros_like(lightness), np.zeros_like(lightness), np.zeros_like(lightness)
        for cell_row, row_weight in zip(row_cells[:, rows.start], row_weights[:, rows]):
            for cells_of_columns, column_weight in zip(cells_by_column, column_weights):
                cell_l, cell_a, cell_b = cells_of_columns[:, cell_row]  # 3 x W, one cell per column
                np.subtract(lightness, cell_l, out=weight)
                np.multiply(weight, weight, out=weight)
                np.multiply(weight, range_scale, out=weight)
                # exp(-60) > 0: a pixel unlike all four cells still gets their bilinear average
                np.maximum(weight, np.float32(-60), out=weight)
                cv2.exp(weight, dst=weight)
                weight *= row_weight[:, None]  # S -> Sx1, broadcast over columns
                weight *= column_weight
                norm += weight
                total_a += np.multiply(weight, cell_a, out=product)
                total_b += np.multiply(weight, cell_b, out=product)
        out[rows, :, 0] = total_a / norm
        out[rows, :, 1] = total_b / norm
    return out


def bilinear_taps(size: int, grid_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``size`` full-resolution positions along one axis, the two grid cells bilinear
    interpolation reads (int 2 x size, clamped into the grid) and their weights (float32 2 x size;
    a cell beyond the border weighs 0, as cv2's clamping amounts to once normalised)."""
    on_grid = (np.arange(size) + 0.5) * (grid_size / size) - 0.5  # pixel centre in grid coordinates
    below = np.floor(on_grid).astype(np.int64)
    cells = np.stack([below, below + 1])
    fraction = on_grid - below
    weights = np.stack([1 - fraction, fraction])
    weights[(cells < 0) | (cells >= grid_size)] = 0.0
    return np.clip(cells, 0, grid_size - 1), weights.astype(np.float32)


def _row_blocks(row_cells: np.ndarray) -> list[slice]:
    """Runs of consecutive rows that read the same two cell rows (int 2 x H), at most STRIP_ROWS long."""
    height = row_cells.shape[1]
    changes = np.flatnonzero((row_cells[:, 1:] != row_cells[:, :-1]).any(axis=0)) + 1
    starts = np.union1d(np.concatenate([[0], changes]), np.arange(0, height, STRIP_ROWS))
    return [slice(int(start), int(end)) for start, end in zip(starts, np.append(starts[1:], height))]


def resize_rows(grid: np.ndarray, height: int, width: int, rows: slice) -> np.ndarray:
    """Rows ``rows`` of ``cv2.resize(grid, (width, height), interpolation=INTER_LINEAR)`` without
    making the rest: float32 h x w x c -> float32 S x width x c (S the rows that exist)."""
    grid_height = grid.shape[0]
    wanted = np.arange(height)[rows]
    # cv2's bilinear sampling: pixel centres aligned, clamped at the border.
    position = np.clip((wanted + 0.5) * (grid_height / height) - 0.5, 0, grid_height - 1)
    upper = np.floor(position).astype(np.int64)
    lower = np.minimum(upper + 1, grid_height - 1)
    fraction = (position - upper).astype(np.float32)[:, None, None]  # S -> Sx1x1
    blended = grid[upper] * (1 - fraction) + grid[lower] * fraction  # S x w x c
    return cv2.resize(blended, (width, len(wanted)), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h); rows kept


UPSAMPLERS = {
    "bilinear": bilinear_upsample,
    "bicubic": bicubic_upsample,
    "guided": guided_upsample,
    "bilateral": joint_bilateral_upsample,
}
