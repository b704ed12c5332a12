"""Optical flow of the lightness between two frames, where to trust it, and warping along it.

Flow convention: ``flow`` from frame A to frame B is float32 H x W x 2 (dx, dy) in pixels of A's
grid, such that pixel (x, y) of A shows what B shows at (x + dx, y + dy). Warping B "back" onto A's
grid samples B there: ``warp(B, flow)``.

OpenCV's DIS flow (Kroeger et al., ECCV 2016) is used: dense, fast on a CPU, and robust enough on
grey images. It needs 8-bit single-channel frames, so L (0..100) is scaled to 0..255 first.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

# Forward-backward agreement (Sundaram et al. 2010, as used by Ruder et al. 2016 and Lai et al.
# 2018): a pixel's round trip A -> B -> A must come back to within
# 0.01 * (|forward|^2 + |backward|^2) + 0.5 pixels^2 of where it started.
CONSISTENCY_RELATIVE = 0.01
CONSISTENCY_ABSOLUTE = 0.5  # pixels^2, on the grid the flow was computed on

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def flow_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """The (height, width) to compute flow at: the frame scaled so that its longer side is at most
    ``max_side`` (None: full size), aspect kept, at least 8 x 8."""
    if max_side is None or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(8, round(height * scale)), max(8, round(width * scale))


def flow_image(lightness_plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 H x W L (0..100) -> uint8 h x w (0..255), area-averaged to ``size`` = (h, w)."""
    height, width = size
    if lightness_plane.shape != size:
        lightness_plane = cv2.resize(lightness_plane, (width, height), interpolation=cv2.INTER_AREA)  # cv2: (w, h)
    return np.clip(lightness_plane * np.float32(2.55) + np.float32(0.5), 0, 255).astype(np.uint8)


class FlowEstimator:
    """DIS optical flow between uint8 h x w frames. One instance per thread (OpenCV's object keeps
    per-call buffers)."""

    def __init__(self, preset: str = "fast"):
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """uint8 h x w A, uint8 h x w B -> float32 h x w x 2 flow from A to B (see module docstring)."""
        return self._dis.calc(source, target, None)


def sampling_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 h x w x 2 flow -> (map_x, map_y), each float32 h x w: x + dx and y + dy."""
    grid_x, grid_y = _pixel_grid(*flow.shape[:2])
    return grid_x + flow[..., 0], grid_y + flow[..., 1]


@functools.lru_cache(maxsize=8)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every pixel, each float32 h x w, read-only (cached: one video has one or two sizes)."""
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    grid_x.flags.writeable = grid_y.flags.writeable = False
    return grid_x, grid_y


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (h x w or h x w x c, float32 or uint8) at x + flow(x): bilinear, borders
    replicated. ``flow`` is float32 h x w x 2 on the output grid; the result has its h x w."""
    map_x, map_y = sampling_grid(flow)
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistent(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Where the flow can be trusted: bool h x w on A's grid.

    forward: float32 h x w x 2 flow A -> B; backward: float32 h x w x 2 flow B -> A (on B's grid).
    A pixel is trusted when following ``forward`` and then ``backward`` returns it to within the
    tolerance above, and its target lies inside B (pixels that leave the frame are occluded).
    """
    height, width = forward.shape[:2]
    map_x, map_y = sampling_grid(forward)
    back = cv2.remap(backward, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = forward + back
    error = np.einsum("ijk,ijk->ij", round_trip, round_trip)  # |f + b(x + f)|^2, h x w
    scale = np.einsum("ijk,ijk->ij", forward, forward) + np.einsum("ijk,ijk->ij", back, back)
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return inside & (error <= CONSISTENCY_RELATIVE * scale + CONSISTENCY_ABSOLUTE)


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 h x w x 2 flow -> float32 H x W x 2 for ``size`` = (H, W): resampled bilinearly and
    its vectors scaled by the same factors, so it is in pixels of the new grid."""
    height, width = size
    if flow.shape[:2] == size:
        return flow
    scaled = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    scaled[..., 0] *= width / flow.shape[1]
    scaled[..., 1] *= height / flow.shape[0]
    return scaled
