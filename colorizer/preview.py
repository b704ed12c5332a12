"""Small copies of a photo for showing on a page: 8-bit, at most a given side, never enlarged."""

from __future__ import annotations

import cv2
import numpy as np

PREVIEW_SIDE = 1600  # the before/after view needs no more; the downloaded PNG keeps the full size


def preview(pixels: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """uint8/uint16 HxW[xC] -> uint8 hxw[xC], shrunk (area average) so that max(h, w) <= max_side;
    returned as is when it is already 8-bit and small enough. The input is not modified."""
    if pixels.dtype == np.uint16:
        pixels = (pixels // 257).astype(np.uint8)  # 0..65535 -> 0..255
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # cv2 sizes are (width, height)
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """uint8 HxW grey, HxWx3 RGB or HxWx4 RGBA -> uint8 HxWx3 RGB or HxWx4 RGBA (grey repeated)."""
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    if pixels.shape[2] == 2:  # grey + alpha
        return np.dstack([cv2.cvtColor(pixels[..., 0], cv2.COLOR_GRAY2RGB), pixels[..., 1]])
    return pixels
