"""Ground-truth colour from real colour photos, for judging colour upsampling (tests and bench).

A perfect network would answer the true ab averaged over each of its 56x56 output cells; upsampling
that grid back, guided by the true full-resolution L, and comparing with the true ab measures the
upsampling alone.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

NETWORK_GRID = 56  # ab cells per side: 224x224 input / 4


def ground_truth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A colour photo -> (float32 HxW L 0..100, float32 HxWx2 ab), OpenCV's float Lab."""
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return np.ascontiguousarray(lab[..., 0]), np.ascontiguousarray(lab[..., 1:])


def network_grid(ab: np.ndarray) -> np.ndarray:
    """float32 HxWx2 true ab -> float32 h x w x 2, the mean of each of the network's 56x56 cells."""
    return cv2.resize(ab, (NETWORK_GRID, NETWORK_GRID), interpolation=cv2.INTER_AREA)  # cv2: (w, h)


def edge_band(lightness_plane: np.ndarray) -> np.ndarray:
    """float32 HxW L -> bool HxW: within 3 px of a strong L edge (see the module docstring)."""
    grey = cv2.GaussianBlur(np.rint(lightness_plane * 2.55).astype(np.uint8), (0, 0), 1.5)  # (0, 0): from sigma
    edges = cv2.Canny(grey, 100, 200)
    return cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0  # cv2: (w, h)


def ab_rmse(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """RMSE of the ab vector between two float32 HxWx2, over the pixels of ``mask`` (all if None)."""
    squared = ((predicted - truth) ** 2).sum(axis=2)
    return float(np.sqrt(squared.mean() if mask is None else squared[mask].mean()))
