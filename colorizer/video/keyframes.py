"""Adaptive keyframes: the network runs only where the colour carried along the motion no longer
holds; between keyframes the colour is carried by the optical flow, from both ends.

For each frame, in order (``KeyframeStabilizer.push``):

1. its motion from the previous frame (``TemporalStabilizer.motion``: the shot, the flows both
   ways);
2. the flow from it back to the last keyframe, chained frame by frame, and along it the
   keyframe's colour and L, sampled once (colour carried frame by frame would be resampled, and
   blurred, at every frame);
3. whether the carried colour still holds: where the keyframe's L, carried here, no longer matches
   this frame's L (both blurred a little, to within the stabilizer's ``lightness_tolerance``),
   something new is in view (uncovered background, an object coming in, a flow that lost its
   way). The forward-backward check is not used here: it fails on flat areas too (DIS's aperture
   problem), where carrying the colour is harmless, and chained over frames it would call most of
   a frame stale;
4. whether it is a keyframe, and why: the first frame ("start"), a scene cut ("cut"), ``max_interval``
   frames since the last keyframe ("interval"), more than ``max_stale`` of the frame where the
   carried colour no longer holds ("occlusion"), or a full look-ahead buffer ("look-ahead"); and
   the last frame of a shot that frames wait on ("shot end": before a cut, or the film's end);
5. a keyframe gets the network's colour, blended (``TemporalStabilizer.update``) with the carried
   colour where that holds; the frames since the last keyframe, held back until now, then get the
   last keyframe's colour carried forward and this one's carried backward, blended by how near
   each keyframe is and where each holds (what an object uncovers is seen by the later keyframe);
6. any other frame gets the carried colour, and waits.

``bidirectional=False`` gives every frame out as soon as it arrives (no look-ahead) with the
forward colour alone.

The defaults were chosen by ``python -m bench.flicker_bench`` (docs/video.md has the table).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from colorizer.video.flow import resize_flow, warp
from colorizer.video.stabilize import Motion, TemporalStabilizer, blend_carried

log = logging.getLogger(__name__)

UNTRUSTED_WEIGHT = np.float32(1e-3)  # where neither chain holds, the keyframes count by nearness alone
AGREEMENT_BLUR = 1.5  # pixels of the flow grid: carried L is a bilinear sample, a little softer than the frame's


@dataclass(frozen=True)
class KeyframeSettings:
    """max_interval: a keyframe at least every this many frames (1: the network on every frame, its
        colour blended with the carried as keyframes' is; network_every=1 is the plain stabilizer).
    max_stale: share (0..1) of a frame where the colour carried from the last keyframe no longer
        holds (its L, carried along, does not match the frame's), above which the frame is a keyframe.
    bidirectional: blend the colour carried forward from the last keyframe with the colour carried
        back from the next (the frames between wait for it); False: forward only, no waiting.
    blend_per_frame: at a keyframe, the carried colour weighs the stabilizer's ``blend`` to the power
        of the frames since the last keyframe, as if the network had run on each of them (the same
        memory, in frames, as with the network on every frame); False: ``blend`` once.
    lookahead_bytes: the most the frames waiting for the next keyframe may hold; a frame that would
        pass it is a keyframe. At 640x360 a frame holds 7.6 MB; at 3840x2160, 104 MB.
    """

    # python -m bench.flicker_bench --tune-keyframes (docs/video.md), ratios to the network on every
    # frame on the bench's 16-frame shots: max_interval 8, 12, 16 ran the network on 22, 22, 18 % of
    # the frames for an oracle ab RMSE of 1.025, 1.026, 1.033; max_stale 0.05 to 1.0 moved it by
    # +-0.5 %; forward only, blend once and no shot-end keyframes gave 1.156, 1.074 and 1.064.
    max_interval: int = 12
    max_stale: float = 0.1
    bidirectional: bool = True
    key_shot_ends: bool = True
    blend_per_frame: bool = True
    lookahead_bytes: int = 256 * 2**20

    def __post_init__(self):
        if self.max_interval < 1:
            raise ValueError(f"max_interval {self.max_interval} must be at least 1")
        if not 0.0 <= self.max_stale <= 1.0:
            raise ValueError(f"max_stale {self.max_stale} must be in [0, 1]")


@dataclass
class _Waiting:
    """A carried frame waiting for the next keyframe."""

    plane: np.ndarray  # float32 H x W L
    ab: np.ndarray  # float32 H x W x 2, carried forward from the last keyframe
    fresh: np.ndarray  # float32 h x w, 1 where the colour carried forward holds, fading to 0
    motion: Motion  # from the previous frame to this one
    item: Any


def _frame_bytes(plane: np.ndarray, motion: Motion) -> int:
    """What a waiting frame holds: its L and ab at full size (12 bytes a pixel), its L, flows both
    ways and trust at the flow size (21 bytes a pixel)."""
    return plane.nbytes * 3 + motion.small.size * 21


class KeyframeStabilizer:
    """Colours one film's frames, fed in order, running ``network`` on keyframes only. Not
    thread-safe; one per film.

    network: float32 H x W L -> float32 H x W x 2 ab (the network's, upsampled).

    keyframes = KeyframeStabilizer(TemporalStabilizer(), network)
    for plane, item in frames:                          # float32 H x W L, anything
        for plane, ab, item in keyframes.push(plane, item):
            ...                                         # in order, float32 H x W x 2 ab
    for plane, ab, item in keyframes.flush():
        ...
    """

    def __init__(
        self,
        stabilizer: TemporalStabilizer,
        network: Callable[[np.ndarray], np.ndarray],
        settings: KeyframeSettings = KeyframeSettings(),
    ):
        self.stabilizer, self.network, self.settings = stabilizer, network, settings
        self.reasons: Counter[str] = Counter()  # keyframes by reason
        self._waiting: list[_Waiting] = []
        self._key_ab: np.ndarray | None = None  # float32 H x W x 2, the last keyframe's colour
        self._key_l: np.ndarray | None = None  # float32 h x w (0..255), its L at the flow size
        self._to_key: np.ndarray | None = None  # float32 h x w x 2, flow from the last frame to it
        self._since_keyframe = 0  # frames carried since the last keyframe

    def push(self, plane: np.ndarray, item: Any = None) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """float32 H x W L (0..100) and anything to hand back with it -> the frames now done, in
        order: (L, float32 H x W x 2 ab, item). The plane is not modified."""
        motion = self.stabilizer.motion(plane, trust=False)  # whether the carried colour holds is decided here
        if motion.shot != "continues":
            done = self.flush()
            return done + [(plane, self._keyframe(plane, "start" if motion.shot == "afresh" else "cut", motion), item)]
        assert motion.backward is not None and self._key_ab is not None and self._key_l is not None  # "continues"
        # the flows chained back to the keyframe, which is then sampled once: colour carried frame
        # by frame would be resampled (blurred) at every frame
        to_key = motion.backward if self._to_key is None else motion.backward + warp(self._to_key, motion.backward)
        fresh = self._agreement(warp(self._key_l, to_key), motion.small)
        carried = warp(self._key_ab, resize_flow(to_key, plane.shape))
        reason = self._reason(motion, fresh, plane)
        if reason is not None:  # the carried colour counts where it holds
            motion = dataclasses.replace(motion, trusted=fresh * self._decay(self._since_keyframe + 1))
            ab = self._keyframe(plane, reason, motion, carried)
            return self._between(plane, ab, motion) + [(plane, ab, item)]
        self.stabilizer.carry(plane, motion, carried)
        self._to_key = to_key
        self._since_keyframe += 1
        if not self.settings.bidirectional:
            return [(plane, carried, item)]
        self._waiting.append(_Waiting(plane, carried, fresh, motion, item))
        return []

    def flush(self) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """The frames still waiting, at a film's end (or a cut): with ``key_shot_ends`` the last of
        them is a keyframe and the others are done as between any two; else the colour carried
        forward alone."""
        if not self._waiting:
            return []
        if not self.settings.key_shot_ends:
            done = [(waiting.plane, waiting.ab, waiting.item) for waiting in self._waiting]
            self._waiting = []
            return done
        last = self._waiting.pop()
        self.reasons["shot end"] += 1
        weight = last.fresh * self._decay(len(self._waiting) + 1)
        ab = blend_carried(self.network(last.plane), last.ab, weight, self.stabilizer.settings.blend)
        return self._between(last.plane, ab, last.motion) + [(last.plane, ab, last.item)]

    def _keyframe(
        self, plane: np.ndarray, reason: str, motion: Motion, carried: np.ndarray | None = None
    ) -> np.ndarray:
        """The network's colour for this frame, stabilized; it becomes the keyframe colour is carried from."""
        self.reasons[reason] += 1
        log.debug("keyframe (%s) after %d carried frames", reason, self._since_keyframe)
        ab = self.stabilizer.update(plane, self.network(plane), motion, carried)
        self._key_ab, self._key_l, self._to_key = ab, motion.small.astype(np.float32), None
        self._since_keyframe = 0
        return ab

    def _decay(self, frames: int) -> np.float32:
        """The carried colour's weight at a keyframe ``frames`` after the last, over ``blend``."""
        return np.float32(self.stabilizer.settings.blend ** (frames - 1) if self.settings.blend_per_frame else 1.0)

    def _reason(self, motion: Motion, fresh: np.ndarray, plane: np.ndarray) -> str | None:
        """Why this frame, within a shot, is a keyframe, or None to carry the colour onto it."""
        if self._since_keyframe + 1 >= self.settings.max_interval:
            return "interval"
        if float((fresh < 1).mean()) > self.settings.max_stale:
            return "occlusion"
        if self.settings.bidirectional:
            waiting = sum(_frame_bytes(frame.plane, frame.motion) for frame in self._waiting)
            if waiting + _frame_bytes(plane, motion) > self.settings.lookahead_bytes:
                return "look-ahead"
        return None

    def _between(self, plane: np.ndarray, ab: np.ndarray, motion: Motion) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """The waiting frames, done now that the keyframe (L ``plane``, colour ``ab``, reached by
        ``motion``) has come: each the blend of its forward colour and the keyframe's carried back."""
        height, width = plane.shape
        count = len(self._waiting) + 1  # frames from the last keyframe to this one
        later_l = motion.small.astype(np.float32)
        to_later: np.ndarray | None = None  # flow from the frame at hand to the later keyframe
        later_motion = motion
        done = []
        for index in range(len(self._waiting) - 1, -1, -1):
            waiting = self._waiting[index]
            forward = later_motion.forward  # from this frame to the next, on this frame's grid
            assert forward is not None  # a waiting frame's successor continues its shot
            to_later = forward if to_later is None else forward + warp(to_later, forward)
            fresh_back = self._agreement(warp(later_l, to_later), waiting.motion.small)
            carried = warp(ab, resize_flow(to_later, (height, width)))
            share_back = (index + 1) / count  # nearness of the later keyframe, 0..1
            weight_forward = (1 - share_back) * (waiting.fresh + UNTRUSTED_WEIGHT)
            weight_back = share_back * (fresh_back + UNTRUSTED_WEIGHT)
            forward_part = weight_forward / (weight_forward + weight_back)
            forward_part = cv2.resize(forward_part, (width, height), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
            blended = carried + forward_part[:, :, None] * (waiting.ab - carried)  # HxW -> HxWx1, over a and b
            done.append((waiting.plane, blended, waiting.item))
            later_motion = waiting.motion
        self._waiting = []
        return done[::-1]

    def _agreement(self, carried_l: np.ndarray, small: np.ndarray) -> np.ndarray:
        """float32 h x w (0..1) on the flow grid: 1 where a keyframe's L carried here (float32,
        0..255) matches this frame's (uint8 ``small``) to within the lightness tolerance, both
        blurred by AGREEMENT_BLUR; falling to 0 at twice the tolerance."""
        tolerance = np.float32(self.stabilizer.settings.lightness_tolerance * 2.55)  # L units -> 0..255
        difference = np.abs(
            cv2.GaussianBlur(carried_l, (0, 0), AGREEMENT_BLUR)
            - cv2.GaussianBlur(small.astype(np.float32), (0, 0), AGREEMENT_BLUR)
        )
        return np.clip(2 - difference / tolerance, 0, 1)
