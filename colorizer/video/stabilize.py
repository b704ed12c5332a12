"""Temporal stabilization of the colour: the network's ab for frame t, blended with the previous
output's ab carried along the optical flow of L, where that flow can be trusted.

For each frame (after the first of a shot):

1. flow of the lightness, at a reduced size, from frame t back to frame t-1 and from t-1 to t;
2. trusted pixels: the two flows agree (``flow.consistent``: occluded and uncovered pixels fail)
   and the previous frame's L, carried along the flow, matches this frame's L to within
   ``lightness_tolerance`` (a flow that found the wrong match fails here);
3. ``out = ab_net + blend * trusted * (warp(previous out) - ab_net)``: an exponential moving
   average along motion trajectories, so a trusted pixel's colour is a weighted mean of what the
   network said about that point over the last ~1 / (1 - blend) frames; untrusted pixels take the
   network's new colour as it is.

A scene cut (the distance between consecutive frames' L histograms above ``cut_threshold``) starts
afresh: the first frame of a shot is the network's colour alone.

The defaults were chosen by ``python -m bench.flicker_bench --tune`` (docs/video.md has the table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from colorizer.video.flow import FlowEstimator, consistent, flow_image, flow_size, resize_flow, warp

log = logging.getLogger(__name__)

HISTOGRAM_BINS = 32


@dataclass(frozen=True)
class StabilizerSettings:
    """blend: weight (0..1) of the previous output's colour where the flow is trusted; 0 is the
        plain per-frame result.
    flow_max_side: the flow is computed on frames scaled to this longer side (pixels), for speed.
    flow_preset: OpenCV DIS preset ("ultrafast", "fast", "medium").
    lightness_tolerance: L units (0..100); larger trusts more of the flow.
    cut_threshold: L-histogram distance (0..1, total variation) at which a new shot starts.
    """

    # python -m bench.flicker_bench --tune (docs/video.md): among the settings that at least halve
    # the warping error, full-size flow (at 640x360) kept the colour closest to the truth; blend 0.85+
    # and lightness tolerances of 12+ let colour trail behind moving objects (the oracle's RMSE rose).
    blend: float = 0.8
    flow_max_side: int = 640
    flow_preset: str = "fast"
    lightness_tolerance: float = 6.0
    # L-histogram distance between consecutive frames: at most 0.031 within the bench's shots, at
    # least 0.208 across its cuts (6 photos, every ordered pair); the midpoint.
    cut_threshold: float = 0.12

    def __post_init__(self):
        if not 0.0 <= self.blend < 1.0:
            raise ValueError(f"blend {self.blend} must be in [0, 1)")
        if self.flow_max_side < 16:
            raise ValueError(f"flow_max_side {self.flow_max_side} must be at least 16")


def histogram_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Total-variation distance (0 same .. 1 disjoint) between the grey-level histograms of two
    uint8 images (any sizes)."""
    return 0.5 * float(np.abs(_histogram(first) - _histogram(second)).sum())


def _histogram(image: np.ndarray) -> np.ndarray:
    counts = cv2.calcHist([image], [0], None, [HISTOGRAM_BINS], [0, 256]).ravel()  # float32 bins
    return counts / max(float(counts.sum()), 1.0)


@dataclass(frozen=True)
class Motion:
    """How a frame follows the previous one (``TemporalStabilizer.motion``).

    shot: "continues" the previous frame's shot, follows a "cut", or starts "afresh" (the first
        frame, a size change, or blend 0). small: uint8 h x w, the frame's L at the flow size.
    Within a shot only (else None), on the flow grid: trusted, float32 h x w, 1 where this frame's
    pixel may take the previous frame's colour; backward, float32 h x w x 2, the flow from this
    frame to the previous; forward, float32 h x w x 2, the flow from the previous frame to this
    one (on the previous frame's grid).
    """

    shot: str
    small: np.ndarray
    trusted: np.ndarray | None = None
    backward: np.ndarray | None = None
    forward: np.ndarray | None = None


class TemporalStabilizer:
    """Stabilizes one shot sequence of frames, fed in order. Not thread-safe; one per video.

    stabilizer = TemporalStabilizer()
    for plane, ab in frames:            # float32 H x W L, float32 H x W x 2 ab
        ab = stabilizer.update(plane, ab)
    """

    def __init__(self, settings: StabilizerSettings = StabilizerSettings()):
        self.settings = settings
        self._flow = FlowEstimator(settings.flow_preset)
        self._previous_small: np.ndarray | None = None  # uint8 h x w, the flow-size L of frame t-1
        self._previous_ab: np.ndarray | None = None  # float32 H x W x 2, the output for frame t-1
        self.cuts = 0  # scene cuts seen (a new shot after the first)
        self.trusted_share = 0.0  # share of the last frame's pixels that took the previous colour

    def motion(self, lightness_plane: np.ndarray, *, trust: bool = True) -> Motion:
        """How this frame (float32 H x W L, 0..100) follows the previous one: its shot and, within
        a shot, the flows both ways and (``trust``) where the previous colour may be carried.
        Changes nothing; pass it to ``update`` or ``carry`` so the flows are computed once. Without
        ``trust``, ``update`` needs a Motion with ``trusted`` filled in, and ``carry`` the colour."""
        small = self._small(lightness_plane)
        shot = self._shot(small, lightness_plane.shape)
        if shot != "continues":
            return Motion(shot, small)
        previous = self._previous_small
        assert previous is not None  # "continues" says so
        backward = self._flow(small, previous)  # t -> t-1
        forward = self._flow(previous, small)  # t-1 -> t
        if not trust:
            return Motion(shot, small, None, backward, forward)
        trusted = trusted_where(small, previous, backward, forward, self.settings.lightness_tolerance)
        return Motion(shot, small, trusted, backward, forward)

    def update(
        self,
        lightness_plane: np.ndarray,
        ab: np.ndarray,
        motion: Motion | None = None,
        carried: np.ndarray | None = None,
    ) -> np.ndarray:
        """float32 H x W L (0..100) + float32 H x W x 2 ab (the network's, upsampled) -> float32
        H x W x 2 stabilized ab. The inputs are not modified. motion: ``self.motion(lightness_plane)``
        if the caller has it. carried: the earlier colour on this frame, float32 H x W x 2, if the
        caller carried it (default: the previous output, carried along ``motion``)."""
        height, width = lightness_plane.shape
        motion = motion or self.motion(lightness_plane)
        if motion.shot == "continues":
            assert motion.trusted is not None and motion.backward is not None  # "continues" says so
            assert self._previous_ab is not None
            self.trusted_share = float(motion.trusted.mean())
            if carried is None:
                carried = warp(self._previous_ab, resize_flow(motion.backward, (height, width)))
            out = blend_carried(ab, carried, motion.trusted, self.settings.blend)
        else:
            if motion.shot == "cut":
                self.cuts += 1
                log.debug("scene cut: L histograms differ by more than %.2f", self.settings.cut_threshold)
            out = np.array(ab, np.float32)  # a copy: the caller may reuse its array
            self.trusted_share = 0.0
        self._previous_small, self._previous_ab = motion.small, out
        return out

    def carry(
        self, lightness_plane: np.ndarray, motion: Motion | None = None, carried: np.ndarray | None = None
    ) -> np.ndarray | None:
        """For a frame the network skips: the previous output carried along the motion onto this
        frame (float32 H x W x 2), everywhere, trusted or not; None when there is no previous frame
        or this one starts a new shot, and then nothing is changed (call ``update`` with the
        network's colour). motion: ``self.motion(lightness_plane)`` if the caller has it. carried:
        the colour the caller carried onto this frame otherwise, taken as it is."""
        motion = motion or self.motion(lightness_plane)
        if motion.shot != "continues":
            return None
        assert motion.backward is not None and self._previous_ab is not None  # "continues" says so
        assert carried is not None or motion.trusted is not None  # a Motion without trust comes with the colour
        if motion.trusted is not None:
            self.trusted_share = float(motion.trusted.mean())
        if carried is None:
            carried = warp(self._previous_ab, resize_flow(motion.backward, lightness_plane.shape))
        self._previous_small, self._previous_ab = motion.small, carried
        return carried

    def _small(self, lightness_plane: np.ndarray) -> np.ndarray:
        height, width = lightness_plane.shape
        return flow_image(lightness_plane, flow_size(height, width, self.settings.flow_max_side))

    def _shot(self, small: np.ndarray, size: tuple[int, int]) -> str:
        """Whether this frame (its flow-size L, its full size) "continues" the previous one's shot,
        follows a "cut", or starts "afresh" (first frame, a size change, or blend 0)."""
        previous = self._previous_small
        if (
            previous is None
            or self._previous_ab is None
            or previous.shape != small.shape
            or self._previous_ab.shape[:2] != size
            or self.settings.blend == 0.0
        ):
            return "afresh"
        return "continues" if histogram_distance(small, previous) <= self.settings.cut_threshold else "cut"


def blend_carried(ab: np.ndarray, carried: np.ndarray, trusted: np.ndarray, blend: float) -> np.ndarray:
    """float32 H x W x 2: ``ab`` (the network's) moved towards ``carried`` (the earlier colour,
    float32 H x W x 2) by ``blend`` times ``trusted`` (float32 h x w, 0..1, on the flow grid,
    brought up bilinearly: soft edges)."""
    height, width = ab.shape[:2]
    weight = cv2.resize(trusted * np.float32(blend), (width, height), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    return ab + weight[:, :, None] * (carried - ab)  # HxW -> HxWx1, broadcast over a and b


def trusted_where(
    small: np.ndarray, other: np.ndarray, to_other: np.ndarray, from_other: np.ndarray, lightness_tolerance: float
) -> np.ndarray:
    """float32 h x w on the grid of ``small``: 1 where its pixel may take the colour of frame
    ``other`` carried along the flow, else 0.

    small, other: uint8 h x w flow-size L of the two frames; to_other: float32 h x w x 2 flow from
    ``small`` to ``other``; from_other: the flow back. Trusted: the two flows agree
    (``flow.consistent``: occluded and uncovered pixels fail) and ``other``'s L, carried along the
    flow, matches to within ``lightness_tolerance`` L units (a flow that found the wrong match fails).
    """
    trusted = consistent(to_other, from_other)
    carried_l = warp(other, to_other).astype(np.int16)
    tolerance = lightness_tolerance * 2.55  # L units -> the flow image's 0..255
    trusted &= np.abs(carried_l - small.astype(np.int16)) <= tolerance
    return trusted.astype(np.float32)
