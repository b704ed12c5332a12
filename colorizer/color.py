"""Colour-space conversions between the user's pixels and CIE Lab, done in row strips.

OpenCV's float Lab: L in 0..100, a and b roughly -128..127, from RGB in 0..1 (sRGB gamma, D65).
Working a strip of rows at a time keeps the float copies of a 12 MP photo out of memory: only the
L plane (4 bytes a pixel) is ever held whole.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

STRIP_ROWS = 256


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
    """HxW grey or HxWx3 RGB (uint8, uint16 or float 0..1) -> float32 HxW Lab L in 0..100."""
    if pixels.ndim == 2 and pixels.dtype == np.uint8:  # a table lookup: exact, 8 ms instead of 70 at 12 MP
        return cv2.LUT(pixels, grey_lightness_table(np.uint8))
    if pixels.ndim == 2 and pixels.dtype == np.uint16:
        return grey_lightness_table(np.uint16)[pixels]
    height = pixels.shape[0]
    out = np.empty(pixels.shape[:2], np.float32)
    for top in range(0, height, STRIP_ROWS):
        strip = to_unit_float(pixels[top: top + STRIP_ROWS])
        if strip.ndim == 2:  # grey: R = G = B
            strip = cv2.cvtColor(strip, cv2.COLOR_GRAY2RGB)
        out[top: top + STRIP_ROWS] = cv2.cvtColor(strip, cv2.COLOR_RGB2Lab)[..., 0]
    return out


@functools.cache
def grey_lightness_table(dtype: type) -> np.ndarray:
    """float32 L of every uint8 or uint16 grey level, computed by the same OpenCV conversion."""
    levels = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
    strip = cv2.cvtColor(to_unit_float(levels)[None, :], cv2.COLOR_GRAY2RGB)  # 1 x levels x 3
    table = cv2.cvtColor(strip, cv2.COLOR_RGB2Lab)[0, :, 0]
    table.flags.writeable = False
    return table


def lab_to_rgb8(lightness_plane: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """float32 HxW L (0..100) + float32 HxWx2 ab -> uint8 HxWx3 RGB, out-of-gamut colours clipped."""
    height, width = lightness_plane.shape
    out = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, STRIP_ROWS):
        lab = np.concatenate([lightness_plane[top: top + STRIP_ROWS, :, None], ab[top: top + STRIP_ROWS]], axis=2)
        rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
        out[top: top + STRIP_ROWS] = np.rint(np.clip(rgb, 0.0, 1.0) * 255)
    return out


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """HxW alpha in uint8 (returned as is), uint16 or float 0..1 -> uint8 HxW."""
    if alpha.dtype == np.uint8:
        return alpha
    return np.rint(to_unit_float(alpha) * 255).astype(np.uint8)
