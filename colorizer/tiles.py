"""Tiles of at most ``TILE_PIXELS`` pixels, and running a function over them on every core.

Per-pixel work is done a tile at a time so that its temporaries are a few tile-sized buffers
whatever the image's shape: a 3000 x 4000 photo is cut into bands of full rows, and a 10 x 5,000,000
strip into pieces of one row. The tiles are run by one small thread pool shared by the whole
process (numba kernels, numpy and OpenCV release the GIL), sized to the cores this process may use,
so that concurrent ``Colorizer.colorize`` calls share the cores instead of multiplying threads.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

TILE_PIXELS = 1 << 16  # 64 Ki pixels: a tile's float32 planes (256 KiB each) stay in the 1 MiB L2 cache


class Tile(NamedTuple):
    """Rows ``top:bottom`` and columns ``left:right`` of an image."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def rows(self) -> slice:
        return slice(self.top, self.bottom)

    @property
    def columns(self) -> slice:
        return slice(self.left, self.right)


def tiles(height: int, width: int, max_pixels: int = TILE_PIXELS) -> Iterator[Tile]:
    """Cover a height x width image, row-major, with tiles of at most ``max_pixels`` pixels: bands
    of whole rows while a row fits, else pieces of single rows."""
    if width <= max_pixels:
        band = max_pixels // width
        for top in range(0, height, band):
            yield Tile(top, min(top + band, height), 0, width)
        return
    for top in range(height):
        for left in range(0, width, max_pixels):
            yield Tile(top, top + 1, left, min(left + max_pixels, width))


def for_each_tile(work: Callable[[Tile], None], height: int, width: int, max_pixels: int = TILE_PIXELS) -> None:
    """Call ``work(tile)`` for every tile of a height x width image on the shared pool; returns when
    all are done and re-raises the first error. ``work`` writes its results into arrays it closes over,
    and must not call ``for_each_tile`` itself (the pool's threads would wait on each other)."""
    for _ in worker_pool().map(work, tiles(height, width, max_pixels)):
        pass


def worker_count() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@functools.cache
def worker_pool() -> ThreadPoolExecutor:
    """The process-wide pool that runs tiles: one thread per core, started on first use."""
    return ThreadPoolExecutor(worker_count(), thread_name_prefix="colorizer-tiles")


if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads: it starts its own pool
    os.register_at_fork(after_in_child=worker_pool.cache_clear)
