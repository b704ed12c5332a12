"""A measure of flicker: the warping error of Lai et al. 2018 ("Learning Blind Video Temporal
Consistency", ECCV), on the colour alone.

For each pair of consecutive frames t, t+1: the flow of the *input* from t to t+1, its occlusion
mask M (forward-backward agreement, ``flow.consistent``), and

    E_t = sum_x M(x) * |ab_t(x) - ab_{t+1}(x + flow(x))|^2 / sum_x M(x)

averaged over the pairs. Lai et al. use RGB; here only Lab ab, since the lightness of a colorized
frame is the input's own and would only add the input's changes. Units: ab units squared.

The flow is computed on the full-size L with DIS's "medium" preset, deliberately not the
stabilizer's cheaper reduced-size flow, so that the measure does not reward agreeing with the
stabilizer's own motion estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colorizer.video.flow import FlowEstimator, consistent, flow_image, warp

MEASURE_PRESET = "medium"


@dataclass(frozen=True)
class PairFlow:
    """The input's motion between frames t and t+1: ``flow`` float32 H x W x 2 from t to t+1 and
    ``mask`` bool H x W (True where the flow is trusted)."""

    flow: np.ndarray
    mask: np.ndarray


def pair_flow(lightness_t: np.ndarray, lightness_next: np.ndarray, estimator: FlowEstimator | None = None) -> PairFlow:
    """float32 H x W L of frames t and t+1 (0..100) -> their PairFlow, at full size."""
    estimator = estimator or FlowEstimator(MEASURE_PRESET)
    size = lightness_t.shape
    first, second = flow_image(lightness_t, size), flow_image(lightness_next, size)
    forward, backward = estimator(first, second), estimator(second, first)
    return PairFlow(forward, consistent(forward, backward))


def pair_warping_error(ab_t: np.ndarray, ab_next: np.ndarray, motion: PairFlow) -> float:
    """float32 H x W x 2 ab of frames t and t+1 -> E_t (ab units squared); NaN when no pixel is
    trusted."""
    carried = warp(np.ascontiguousarray(ab_next, np.float32), motion.flow)
    squared = ((ab_t - carried) ** 2).sum(axis=2)  # HxWx2 -> HxW
    trusted = int(motion.mask.sum())
    return float(squared[motion.mask].sum() / trusted) if trusted else float("nan")


def warping_error(lightness_frames, ab_frames) -> float:
    """The mean E_t over consecutive pairs of a sequence (iterables of float32 H x W L and float32
    H x W x 2 ab, read once, two frames held at a time). Pairs with no trusted pixel are left out;
    NaN if none is left."""
    estimator = FlowEstimator(MEASURE_PRESET)
    errors = []
    previous = None
    for plane, ab in zip(lightness_frames, ab_frames):
        if previous is not None:
            error = pair_warping_error(previous[1], ab, pair_flow(previous[0], plane, estimator))
            if not np.isnan(error):
                errors.append(error)
        previous = plane, ab
    return float(np.mean(errors)) if errors else float("nan")
