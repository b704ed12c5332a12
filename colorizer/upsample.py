"""Bring the network's quarter-resolution ab up to the photo's full resolution.

The network sees the whole photo squashed to 224x224 and answers 56x56 ab, so on a 12 MP photo one
ab cell covers about 71x54 pixels. The methods, compared against true colour by
``python -m bench.upsample_bench``:

- ``bilinear``, ``bicubic``: ``cv2.resize`` of the ab alone; colour edges are as soft as the grid.
- ``guided``: He & Sun's fast guided filter (arXiv:1505.00996). On a grid a little finer than the
  ab grid, fit ab ~ a * L + b in each window (the guided filter's linear model, with L averaged over
  each cell); bring the window-averaged coefficients a, b up bilinearly; output a * L + b with the
  photo's own full-resolution L, so colour edges land where the L edges are.
- ``bilateral`` (the default): joint bilateral upsampling (Kopf et al., SIGGRAPH 2007) over the
  four cells bilinear interpolation reads: bilinear's weights times how close each cell's mean L
  is to the pixel's own L, so a pixel takes its colour from the cells on its side of an edge.

Only the L plane and the H x W x 2 result are held whole; the edge-aware methods work in strips of
``STRIP_ROWS`` rows, so their other temporaries are a few strip-sized arrays.
"""
from __future__ import annotations

import cv2
import numpy as np

from colorizer.errors import ColorizerError

STRIP_ROWS = 256
DEFAULT_METHOD = "bilateral"  # the least ab error, overall and at edges (python -m bench.upsample_bench)

# Tuned on coco 36, 61 and 139 of ../shared/fixtures/photos: python -m bench.upsample_bench --tune
GUIDED_GRID_SCALE = 2  # fit on a grid this many times finer than the ab grid (ab brought up bilinearly)
GUIDED_RADIUS = 1  # window radius, in cells of that grid
GUIDED_EPS = 0.25  # regulariser, in L units squared: larger trusts L less and blurs more
BILATERAL_SIGMA_RANGE = 5.0  # in L units: how unlike a cell's mean L a pixel may be and still take its colour


def upsample_ab(ab: np.ndarray, lightness_plane: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    """float32 2 x h x w ab (the network's layout) -> float32 H x W x 2 (OpenCV's layout), where
    H x W is the full-resolution float32 L plane (0..100) that edge-aware methods follow."""
    if method not in UPSAMPLERS:
        raise ColorizerError(f"unknown upsampling {method!r}; choose one of {', '.join(METHODS)}")
    channels_last = np.ascontiguousarray(ab.transpose(1, 2, 0), dtype=np.float32)  # 2xhxw -> hxwx2
    return UPSAMPLERS[method](channels_last, lightness_plane)


def bilinear_upsample(ab: np.ndarray, lightness_plane: np.ndarray) -> np.ndarray:
    """float32 h x w x 2 ab -> float32 H x W x 2, H x W the L plane's size (L itself is unused)."""
    height, width = lightness_plane.shape
    return cv2.resize(ab, (width, height), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)


def bicubic_upsample(ab: np.ndarray, lightness_plane: np.ndarray) -> np.ndarray:
    """float32 h x w x 2 ab -> float32 H x W x 2, H x W the L plane's size (L itself is unused)."""
    height, width = lightness_plane.shape
    return cv2.resize(ab, (width, height), interpolation=cv2.INTER_CUBIC)  # cv2: (w, h)


def guided_upsample(ab: np.ndarray, lightness_plane: np.ndarray, *, grid_scale: int = GUIDED_GRID_SCALE,
                    radius: int = GUIDED_RADIUS, eps: float = GUIDED_EPS) -> np.ndarray:
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


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int,
                        eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's window-averaged linear model source ~ slope * guide + offset.

    guide: float32 h x w; source: float32 h x w x c. Returns (slope, offset), each float32 h x w x c.
    """
    mean_guide = _box(guide, radius)[:, :, None]  # hxw -> hxwx1, broadcast over the source's channels
    mean_source = _box(source, radius)
    covariance = _box(source * guide[:, :, None], radius) - mean_guide * mean_source
    variance = _box(guide * guide, radius)[:, :, None] - mean_guide * mean_guide
    slope = covariance / (variance + np.float32(eps))
    offset = mean_source - slope * mean_guide
    return _box(slope, radius), _box(offset, radius)


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    """The mean over each (2r+1) x (2r+1) window, borders mirrored; same shape and dtype."""
    return cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)  # cv2: (w, h)


def joint_bilateral_upsample(ab: np.ndarray, lightness_plane: np.ndarray, *,
                             sigma_range: float = BILATERAL_SIGMA_RANGE) -> np.ndarray:
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
    range_scale = np.float32(-0.5 / sigma_range ** 2)
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
METHODS = tuple(UPSAMPLERS)
