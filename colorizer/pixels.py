"""Everything after the network, fused: the network's ab grid + the photo's L -> the 8- or 16-bit result.

With the default bilateral upsampling, each tile (``colorizer.tiles``) is one pass of one numba
kernel: for each row, the bilateral ab (``upsample.bilateral_row``), its conversion to sRGB
(``color.lab_row_to_rgb8``) and the interleaved RGB, straight into the output. So the H x W x 2 float
ab is never made, and the pass reads 4 bytes of L and writes 3 (or 4) samples of output per pixel.
Other methods, and keeping an input's own colour, make the full-size ab first and convert it a tile
at a time. Either way the work is spread over every core.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from colorizer.chroma import keep_strong_color
from colorizer.color import alpha_to_depth, depth_dtype, lab_row_to_rgb8, lab_to_rgb8_tile, srgb_table
from colorizer.jit import kernel
from colorizer.tiles import Tile, for_each_tile
from colorizer.upsample import DEFAULT_METHOD, bilateral_cells, bilateral_range_scale, bilateral_row, upsample_ab


def finish(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    lightness_plane: np.ndarray,
    ab: np.ndarray,
    *,
    method: str = DEFAULT_METHOD,
    keep_color: bool = False,
    adjust: Callable[[np.ndarray], np.ndarray] | None = None,
    depth: int = 8,
) -> np.ndarray:
    """The network's float32 2 x h x w ab -> uint8 (``depth`` 8) or uint16 (``depth`` 16) HxWx3 RGB,
    or HxWx4 RGBA when ``alpha`` is given (rescaled to the depth).

    pixels: the input's HxW grey or HxWx3 RGB (read only to keep its own colour, ``keep_color``);
    alpha: HxW (uint8, uint16 or float 0..1) or None; lightness_plane: float32 HxW L (0..100) of
    ``pixels``; method: the upsampling (``colorizer.upsample.METHODS``); adjust: a step on the
    full-size float32 HxWx2 ab before its conversion (a film's stabilizer), which the fused pass
    cannot take.
    """
    plane = np.ascontiguousarray(lightness_plane, dtype=np.float32)
    height, width = plane.shape
    out: np.ndarray = np.empty((height, width, 3 if alpha is None else 4), depth_dtype(depth))
    alpha_out = None if alpha is None else alpha_to_depth(alpha, depth)
    if method == "bilateral" and not (keep_color and pixels.ndim == 3) and adjust is None:
        cells = bilateral_cells(ab.transpose(1, 2, 0), plane)  # 2xhxw -> hxwx2
        range_scale = bilateral_range_scale()
        table = srgb_table(depth)

        def convert(tile: Tile) -> None:
            _bilateral_rgb8_tile(plane, cells, range_scale, table, out, *tile)
    else:
        ab_full = upsample_ab(ab, plane, method)
        if keep_color and pixels.ndim == 3:
            ab_full = keep_strong_color(pixels, ab_full)
        if adjust is not None:
            ab_full = np.ascontiguousarray(adjust(ab_full), dtype=np.float32)

        def convert(tile: Tile) -> None:
            lab_to_rgb8_tile(plane, ab_full, out, *tile)

    def work(tile: Tile) -> None:
        convert(tile)
        if alpha_out is not None:
            out[tile.rows, tile.columns, 3] = alpha_out[tile.rows, tile.columns]

    for_each_tile(work, height, width)
    return out


@kernel
def _bilateral_rgb8_tile(plane, cells, range_scale, table, out, top, bottom, left, right):
    """Rows top:bottom, columns left:right: bilateral ab and its sRGB into uint8 (or uint16) HxWxC
    ``out`` (channels 0..2); ``table`` is ``color.srgb_table(depth)`` of ``out``'s depth."""
    count = right - left
    a, b = np.empty(count, np.float32), np.empty(count, np.float32)
    indices = np.empty((3, count), np.int32)
    for row in range(top, bottom):
        bilateral_row(plane[row], row, plane.shape[0], cells, range_scale, left, right, a, b)
        lab_row_to_rgb8(plane[row, left:right], a, b, indices, table, out[row, left:right])


def load_kernels() -> None:
    """Compile, or load from numba's cache, every kernel ``finish`` uses, on a tiny image: a few
    seconds the first time on a machine, well under one after; call it at start-up so that the
    first photo does not wait for it. Idempotent."""
    grey = np.zeros((2, 3), np.uint8)
    ab = np.zeros((2, 2, 2), np.float32)
    plane = np.zeros((2, 3), np.float32)
    for method in ("bilateral", "bilinear"):  # the fused kernel, then the one every other method ends in
        for depth in (8, 16):
            finish(grey, None, plane, ab, method=method, depth=depth)
