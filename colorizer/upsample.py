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

Only the L plane and the H x W x 2 result are held whole; the edge-aware methods work in tiles of
at most ``tiles.TILE_PIXELS`` pixels on every core, so their other temporaries are a few tile-sized
arrays and a few of grid size or one axis's size, whatever the image's shape. The bilateral method is
a numba kernel (``colorizer.jit``); ``colorizer.pixels`` runs it fused with the Lab -> RGB
conversion so that the H x W x 2 ab is never made. Today's numpy version is kept as the reference in
``testkit/pixels_reference.py``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from colorizer.errors import ColorizerError
from colorizer.jit import F, exp2, kernel
from colorizer.tiles import Tile, for_each_tile

DEFAULT_METHOD = "bilateral"  # the least ab error, overall and at edges (python -m bench.upsample_bench)

# Tuned on coco 36, 61 and 139 of ../shared/fixtures/photos: python -m bench.upsample_bench --tune
GUIDED_GRID_SCALE = 2  # fit on a grid this many times finer than the ab grid (ab brought up bilinearly)
GUIDED_RADIUS = 1  # window radius, in cells of that grid
GUIDED_EPS = 0.25  # regulariser, in L units squared: larger trusts L less and blurs more
BILATERAL_SIGMA_RANGE = 5.0  # in L units: how unlike a cell's mean L a pixel may be and still take its colour
NUMPY_TILE_PIXELS = 1 << 20  # guided's tiles: numpy and OpenCV calls pay per call, so 16 times the kernels' tiles


def upsample_ab(ab: np.ndarray, lightness_plane: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    """float32 2 x h x w ab (the network's layout) -> float32 H x W x 2 (OpenCV's layout), where
    H x W is the full-resolution float32 L plane (0..100) that edge-aware methods follow."""
    check_method(method)
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

    def work(tile: Tile) -> None:
        part = resize_tile(slope, height, width, tile.rows, tile.columns)
        part *= lightness_plane[tile.rows, tile.columns, None]  # SxN -> SxNx1, broadcast over a and b
        part += resize_tile(offset, height, width, tile.rows, tile.columns)
        out[tile.rows, tile.columns] = part

    for_each_tile(work, height, width, NUMPY_TILE_PIXELS)
    return out


def guided_coefficients(
    guide: np.ndarray, source: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
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


def joint_bilateral_upsample(
    ab: np.ndarray, lightness_plane: np.ndarray, *, sigma_range: float = BILATERAL_SIGMA_RANGE
) -> np.ndarray:
    """Joint bilateral upsampling: float32 h x w x 2 ab + float32 H x W L (0..100) -> float32 H x W x 2.

    Each pixel averages the four ab cells that bilinear interpolation would, with bilinear's weights
    times exp(-(L - cell's mean L)^2 / (2 sigma_range^2)). Kopf et al. weight a wider window by a
    Gaussian; a 3x3 Gaussian window (sigma 0.4 cells) was under 1% better on the tuning photos at
    2.5 times the work. Where L is flat the result is exactly bilinear. Runs a tile at a time
    (``colorizer.tiles``); ``colorizer.pixels`` fuses the same kernel with the conversion to RGB.
    """
    plane = np.ascontiguousarray(lightness_plane, dtype=np.float32)
    cells = bilateral_cells(ab, plane)
    range_scale = bilateral_range_scale(sigma_range)
    height, width = plane.shape
    out = np.empty((height, width, 2), np.float32)

    def work(tile: Tile) -> None:
        _bilateral_tile(plane, cells, range_scale, out, *tile)

    for_each_tile(work, height, width)
    return out


def bilateral_cells(ab: np.ndarray, lightness_plane: np.ndarray) -> np.ndarray:
    """float32 h x w x 2 ab + float32 H x W L -> float32 h x w x 3: each cell's mean L, a and b."""
    guide = cell_means(lightness_plane, *ab.shape[:2])
    return np.ascontiguousarray(np.dstack([guide, ab]), dtype=np.float32)  # hxw, hxwx2 -> hxwx3


def cell_means(plane: np.ndarray, grid_height: int, grid_width: int) -> np.ndarray:
    """float32 H x W -> float32 grid_height x grid_width, the mean over each cell's area: what
    cv2.resize(INTER_AREA) gives (to float rounding), here in one pass over tiles on every core
    (OpenCV's takes 4 times the CPU at 12 MP). An image smaller than the grid goes to OpenCV."""
    height, width = plane.shape
    if height < grid_height or width < grid_width:
        return cv2.resize(plane, (grid_width, grid_height), interpolation=cv2.INTER_AREA)  # cv2: (w, h)
    plane = np.ascontiguousarray(plane, dtype=np.float32)
    sums = []

    def work(tile: Tile) -> None:
        part = np.zeros((grid_height, grid_width), np.float64)
        _area_sums(plane, part, *tile)
        sums.append(part)  # list.append is atomic

    for_each_tile(work, height, width)
    return (np.sum(sums, axis=0) * (grid_height * grid_width / (height * width))).astype(np.float32)


@kernel
def _area_sums(plane, sums, top, bottom, left, right):
    """Add each pixel of rows top:bottom, columns left:right times its overlap with each cell into
    float64 grid_height x grid_width ``sums``; a pixel is a unit square, cell (i, j) spans
    [i H/h, (i+1) H/h) x [j W/w, (j+1) W/w), and H >= h, W >= w, so a pixel overlaps at most two
    cells along each axis."""
    grid_height, grid_width = sums.shape
    cell_height, cell_width = plane.shape[0] / grid_height, plane.shape[1] / grid_width
    first_cell = min(int(left / cell_width), grid_width - 1)
    last_cell = min(int((right - 1) / cell_width), grid_width - 1)
    row_sums = np.zeros(grid_width, np.float64)
    for row in range(top, bottom):
        for cell in range(first_cell, last_cell + 1):
            start, stop = cell * cell_width, (cell + 1) * cell_width  # cell_width >= 1
            inner = F(0)
            for column in range(max(math.ceil(start), left), min(math.floor(stop), right)):  # wholly inside
                inner += plane[row, column]
            total = float(inner)
            cut = math.floor(start)  # the pixel the cell's left border cuts, if it cuts one
            if cut < start and left <= cut < right:
                total += (cut + 1.0 - start) * plane[row, cut]
            cut = math.floor(stop)  # and the right border's
            if cut < stop and left <= cut < right:
                total += (stop - cut) * plane[row, cut]
            row_sums[cell] = total
        cell_row = min(int(row / cell_height), grid_height - 1)
        split = (cell_row + 1) * cell_height  # where the next cell row starts
        lower = min(max(row + 1.0 - split, 0.0), 1.0) if cell_row + 1 < grid_height else 0.0
        for cell in range(first_cell, last_cell + 1):
            sums[cell_row, cell] += (1.0 - lower) * row_sums[cell]
            if lower > 0:
                sums[cell_row + 1, cell] += lower * row_sums[cell]


def bilateral_range_scale(sigma_range: float = BILATERAL_SIGMA_RANGE) -> np.float32:
    """-log2(e) / (2 sigma_range^2): the range weight is 2 ** (scale * (L - cell's L)^2)."""
    return np.float32(-0.5 / sigma_range**2 / math.log(2))


@kernel
def _bilateral_tile(plane, cells, range_scale, out, top, bottom, left, right):
    """Rows top:bottom, columns left:right of the bilateral upsampling into float32 HxWx2 ``out``."""
    count = right - left
    a, b = np.empty(count, np.float32), np.empty(count, np.float32)
    for row in range(top, bottom):
        bilateral_row(plane[row], row, plane.shape[0], cells, range_scale, left, right, a, b)
        for i in range(count):
            out[row, left + i, 0] = a[i]
            out[row, left + i, 1] = b[i]


@kernel
def bilateral_row(lightness_row, row, height, cells, range_scale, left, right, a_out, b_out):
    """Columns left:right of row ``row`` (of ``height``; float32 L, the whole row) -> a_out, b_out
    (float32, right - left each), reading the float32 h x w x 3 ``cells``.

    Bilinear interpolation as cv2.resize places it (``grid_position``): pixel x reads cells floor(g)
    and floor(g) + 1, weighted 1 - (g - floor(g)) and g - floor(g); a cell beyond the border weighs
    0 (the same as cv2's clamping once the weights are normalised). Each run of columns that reads
    the same pair of cells goes to ``_bilateral_run`` with the cells as scalars."""
    grid_height, grid_width = cells.shape[0], cells.shape[1]
    width = lightness_row.shape[0]
    below, fraction = grid_position(row, height, grid_height)
    weight_a = F(1) - F(fraction) if below >= 0 else F(0)
    weight_b = F(fraction) if below + 1 < grid_height else F(0)
    row_a, row_b = max(below, 0), min(below + 1, grid_height - 1)
    start = left
    while start < right:
        below, fraction = grid_position(start, width, grid_width)
        stop = min(right, first_position_past(below, width, grid_width))
        column_a, column_b = max(below, 0), min(below + 1, grid_width - 1)
        _bilateral_run(
            lightness_row,
            start,
            stop,
            left,
            F(fraction),
            F(grid_width / width),
            F(1) if below >= 0 else F(0),
            F(1) if below + 1 < grid_width else F(0),
            weight_a,
            weight_b,
            range_scale,
            _cell(cells, row_a, column_a),
            _cell(cells, row_a, column_b),
            _cell(cells, row_b, column_a),
            _cell(cells, row_b, column_b),
            a_out,
            b_out,
        )
        start = stop


@kernel(fastmath=False)
def grid_position(index, size, grid_size):
    """Where pixel ``index`` of ``size`` falls on a grid of ``grid_size`` cells along the same axis,
    as cv2.resize places it: g = (index + 0.5) * grid_size / size - 0.5 -> (floor(g), g - floor(g)).

    In integers, so exact: a pixel on a cell's centre gets weight 0 for the next cell, not the
    1e-15 that float rounding may leave (which the range weights can multiply by up to e^60)."""
    numerator = (2 * index + 1) * grid_size - size  # g = numerator / (2 size)
    below = numerator // (2 * size)  # floor, also for negative numerators
    return below, (numerator - below * 2 * size) / (2 * size)


@kernel
def _cell(cells, row, column):
    """Cell (row, column) of float32 h x w x 3 ``cells`` as three float32 scalars (L, a, b)."""
    return cells[row, column, 0], cells[row, column, 1], cells[row, column, 2]


@kernel(fastmath=False)
def first_position_past(below, size, grid_size):
    """The first pixel index whose ``grid_position`` is past cell ``below`` (floor(g) >= below + 1)."""
    # (2x + 1) * grid_size - size >= (below + 1) * 2 size  <=>  2x grid_size >= (2 below + 3) size - grid_size
    needed = (2 * below + 3) * size - grid_size
    return max(0, -(-needed // (2 * grid_size)))  # ceiling division


@kernel
def _bilateral_run(
    lightness_row,
    start,
    stop,
    left,
    first_fraction,
    fraction_step,
    valid_a,
    valid_b,
    weight_a,
    weight_b,
    range_scale,
    cell_aa,
    cell_ab,
    cell_ba,
    cell_bb,
    a_out,
    b_out,
):
    """Columns start:stop, which all read the same four cells (``_cell``: L, a, b of cell row a or b,
    cell column a or b, as scalars so that the loop vectorizes), into a_out/b_out from index
    start - left. Column start's fraction towards cell column b is first_fraction, and grows by
    fraction_step."""
    (l_aa, a_aa, b_aa), (l_ab, a_ab, b_ab) = cell_aa, cell_ab
    (l_ba, a_ba, b_ba), (l_bb, a_bb, b_bb) = cell_ba, cell_bb
    lowest = F(-60 / math.log(2))  # exp(-60) > 0: a pixel unlike all four cells still gets their bilinear average
    for column in range(start, stop):
        fraction = first_fraction + F(column - start) * fraction_step
        column_a, column_b = (F(1) - fraction) * valid_a, fraction * valid_b
        lum = lightness_row[column]
        d = lum - l_aa
        w_aa = weight_a * column_a * exp2(max(d * d * range_scale, lowest))
        d = lum - l_ab
        w_ab = weight_a * column_b * exp2(max(d * d * range_scale, lowest))
        d = lum - l_ba
        w_ba = weight_b * column_a * exp2(max(d * d * range_scale, lowest))
        d = lum - l_bb
        w_bb = weight_b * column_b * exp2(max(d * d * range_scale, lowest))
        scale = F(1) / (w_aa + w_ab + w_ba + w_bb)
        a_out[column - left] = (w_aa * a_aa + w_ab * a_ab + w_ba * a_ba + w_bb * a_bb) * scale
        b_out[column - left] = (w_aa * b_aa + w_ab * b_ab + w_ba * b_ba + w_bb * b_bb) * scale


def resize_tile(grid: np.ndarray, height: int, width: int, rows: slice, columns: slice) -> np.ndarray:
    """Rows ``rows``, columns ``columns`` of ``cv2.resize(grid, (width, height), INTER_LINEAR)``
    without making the rest: float32 h x w x c -> float32 S x N x c (the rows and columns that exist)."""
    row_below, row_above, row_fraction = _linear_positions(height, grid.shape[0], rows)
    fraction = row_fraction[:, None, None]  # S -> Sx1x1
    blended = grid[row_below] * (1 - fraction) + grid[row_above] * fraction  # S x w x c
    if columns.indices(width)[:2] == (0, width):  # whole rows: OpenCV's resize along them
        return cv2.resize(blended, (width, len(row_below)), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    column_below, column_above, column_fraction = _linear_positions(width, grid.shape[1], columns)
    fraction = column_fraction[None, :, None]  # N -> 1xNx1
    return blended[:, column_below] * (1 - fraction) + blended[:, column_above] * fraction


def _linear_positions(size: int, grid_size: int, span: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2's bilinear sampling along one axis for positions ``span`` of ``size``: pixel centres
    aligned, clamped at the border -> (cell below, cell above: int64; float32 fraction), N each."""
    wanted = np.arange(size)[span]
    position = np.clip((wanted + 0.5) * (grid_size / size) - 0.5, 0, grid_size - 1)
    below = np.floor(position).astype(np.int64)
    return below, np.minimum(below + 1, grid_size - 1), (position - below).astype(np.float32)


UPSAMPLERS = {
    "bilinear": bilinear_upsample,
    "bicubic": bicubic_upsample,
    "guided": guided_upsample,
    "bilateral": joint_bilateral_upsample,
}
METHODS = tuple(UPSAMPLERS)


def check_method(method: object) -> str:
    """``method`` if it is one of METHODS, else ColorizerError naming the choices."""
    if method not in UPSAMPLERS:
        raise ColorizerError(f"unknown upsampling {method!r}; choose one of {', '.join(METHODS)}")
    return str(method)
