"""Color already in the input: detecting it and keeping it.

A colour or toned (sepia, cyanotype) photo is colorized from its lightness like any other; these
functions tell the user so and, if asked, keep the original colour where it is strong.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from colorizer.color import to_unit_float
from colorizer.tiles import Tile, for_each_tile

GREY_CHROMA = 4.0  # p95 chroma (Lab units) below which a photo counts as black-and-white
TONED_CONCENTRATION = 0.9  # chroma-weighted hue concentration above which it is one tint (sepia)
KEEP_FROM, KEEP_FULLY_AT = 10.0, 20.0  # keep_color blends the original in between these chromas
_ANALYSIS_SIDE = 256


@dataclass(frozen=True)
class InputColor:
    """What colour a photo already has: kind is "grey", "toned" (one tint, e.g. sepia) or "colour"."""

    kind: str

    def note(self) -> str | None:
        """A sentence for the user, or None for an ordinary black-and-white photo."""
        if self.kind == "grey":
            return None
        what = "is toned (sepia or a similar tint)" if self.kind == "toned" else "already has colour"
        return (
            f"This photo {what}: it was colorized from its lightness alone. "
            "Use 'keep original colours' to keep them where they are strong."
        )


def analyze_input_color(pixels: np.ndarray) -> InputColor:
    """HxW grey or HxWx3 RGB (uint8, uint16 or float 0..1) -> what colour it already has.

    Looks at a copy at most 256 pixels a side: chroma sqrt(a^2 + b^2) and how concentrated the
    chroma-weighted hue is (1 = a single tint, near 0 = many hues).
    """
    if pixels.ndim == 2:
        return InputColor("grey")
    height, width = pixels.shape[:2]
    scale = min(1.0, _ANALYSIS_SIDE / max(height, width))
    small = cv2.resize(
        to_unit_float(pixels),
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )  # cv2 sizes are (width, height)
    ab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)[..., 1:].reshape(-1, 2)
    chroma = np.hypot(ab[:, 0], ab[:, 1])
    p95 = float(np.percentile(chroma, 95))
    concentration = float(np.hypot(*ab.sum(axis=0)) / max(chroma.sum(), 1e-6))  # |sum of ab| / sum |ab|
    if p95 < GREY_CHROMA:
        return InputColor("grey")
    return InputColor("toned" if concentration > TONED_CONCENTRATION else "colour")


def keep_strong_color(pixels: np.ndarray, predicted_ab: np.ndarray) -> np.ndarray:
    """Blend the input's own ab back where its chroma is strong.

    pixels: HxWx3 RGB (uint8, uint16 or float 0..1); predicted_ab: float32 HxWx2.
    Returns a new float32 HxWx2: the original ab where chroma >= 20, the prediction where
    chroma <= 10, linearly blended between.
    """
    out = np.empty_like(predicted_ab)

    def work(tile: Tile) -> None:  # a tile at a time on every core (colorizer.tiles)
        rows, columns = tile.rows, tile.columns
        original = cv2.cvtColor(to_unit_float(pixels[rows, columns]), cv2.COLOR_RGB2Lab)[..., 1:]
        chroma = np.hypot(original[..., 0], original[..., 1])
        weight = np.clip((chroma - KEEP_FROM) / (KEEP_FULLY_AT - KEEP_FROM), 0.0, 1.0)[..., None]
        out[rows, columns] = weight * original + (1 - weight) * predicted_ab[rows, columns]

    for_each_tile(work, *pixels.shape[:2])
    return out
