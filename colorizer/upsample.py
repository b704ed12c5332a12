"""Bring the network's quarter-resolution ab up to the photo's full resolution."""
from __future__ import annotations

import cv2
import numpy as np

INTERPOLATIONS = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
METHODS = tuple(INTERPOLATIONS)
DEFAULT_METHOD = "bilinear"


def upsample_ab(ab: np.ndarray, lightness_plane: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    """float32 2 x h x w ab (the network's layout) -> float32 H x W x 2 (OpenCV's layout), where
    H x W is the full-resolution float32 L plane (0..100) that edge-aware methods follow."""
    height, width = lightness_plane.shape
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown upsampling {method!r}; choose one of {', '.join(METHODS)}")
    channels_last = np.ascontiguousarray(ab.transpose(1, 2, 0))  # CHW -> HWC
    return cv2.resize(channels_last, (width, height), interpolation=INTERPOLATIONS[method])  # cv2: (w, h)
