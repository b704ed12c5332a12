"""What a film may declare and hold: the sides of its frames, how many frames come a second, how long
one frame may last, and which display matrices are kept. Each check raises VideoError (or
VideoTooLargeError for a limit) with a one-line message naming the file.

Every frame costs one pass of the network at the render size, however few pixels it has, so a film's
cost grows with its frames as much as with their pixels: the frame rate is bounded here for every
caller, the duration and the number of frames by the caller (``FilmLimits``; the app's are
``appkit.config.PUBLIC_FILM_LIMITS``).
docs/reliability.md lists what each limit was measured against.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction

from colorizer.errors import VideoError, VideoTooLargeError

log = logging.getLogger(__name__)

DEFAULT_MAX_FRAME_PIXELS = 3840 * 2160  # 4K UHD: the library's limit for one frame
# OpenCV's DIS optical flow (the stabilizer's) raises on frames under 12 pixels a side, and no film is
# that small; 16 is one H.264 macroblock.
MIN_FRAME_SIDE = 16
MAX_FRAME_SIDE = 16_384  # the longest side libx264 encodes (H.264 level 6.2); past it only the encoder would fail
# Slow-motion phone films are stored at 240 frames/s; a film packing more frames into each second of
# its own time costs that many network passes for nothing a viewer could see.
DEFAULT_MAX_FRAME_RATE = 240.0
# The MP4 writer keeps the film's time base; its sample table holds each frame's duration in 32 bits
# of the track's timescale (the time base's denominator, doubled up to at least 10,000), and FFmpeg
# silently shortens a longer one to a single tick.
MP4_MAX_SAMPLE_TICKS = 2**31 - 1
MP4_MIN_TIMESCALE = 10_000
# A display matrix (FFmpeg's 3x3, 9 int32: a b u / c d v / x y w; a..d in 16.16 fixed point, w 2.30)
# is kept when it turns (any angle), mirrors and moves the picture, nothing else.
_UNIT = 1 << 16
_W_ONE = 1 << 30
MATRIX_SCALE_TOLERANCE = 0.01


@dataclass(frozen=True)
class FilmLimits:
    """What one film may ask for: its duration in seconds (None: any), the pixels of one frame (width
    x height, either orientation) and its number of frames (None: any). Longer or larger films, or
    films with more frames, are refused before any frame is colorized, with a message naming the
    limit. The defaults are the library's; a public server sets all three."""

    max_seconds: float | None = None
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS
    max_frames: int | None = None

    def __post_init__(self):
        for value in (self.max_seconds, self.max_pixels, self.max_frames):
            if value is not None and not value > 0:
                raise VideoError(
                    f"film limits must be positive, not {self.max_seconds} s, {self.max_pixels} pixels "
                    f"and {self.max_frames} frames"
                )


def check_frame_sides(width: int, height: int, name: str) -> None:
    """VideoError for frames too small to colorize as a film, VideoTooLargeError for a side longer
    than H.264 can encode (checked from the header and the first frame, before any work)."""
    if min(width, height) < MIN_FRAME_SIDE:
        raise VideoError(
            f"{name}: {width}x{height} frames are too small to colorize as a film (at least "
            f"{MIN_FRAME_SIDE} pixels a side)"
        )
    if max(width, height) > MAX_FRAME_SIDE:
        raise VideoTooLargeError(
            f"{name}: {width}x{height} frames have a side of {max(width, height):,} pixels, more than the "
            f"limit of {MAX_FRAME_SIDE:,} pixels a side (H.264)"
        )


def check_frame_count(frames: int, max_frames: int | None, name: str) -> None:
    """VideoTooLargeError when the film has more than ``max_frames`` frames (None: no limit)."""
    if max_frames is not None and frames > max_frames:
        raise VideoTooLargeError(f"{name}: {frames:,} frames, more than the limit of {max_frames:,}")


def check_frame_rate(frames: int, seconds: float | None, max_rate: float | None, name: str) -> None:
    """VideoTooLargeError when ``frames`` frames come within ``seconds`` of the film's own time (its
    time stamps' span; None: unknown, not checked) faster than ``max_rate`` a second, one frame of
    slack. Frames that all share one time stamp (``seconds`` 0) come infinitely fast."""
    if max_rate is None or seconds is None or frames <= 1:
        return
    if frames > max_rate * seconds + 1:
        raise VideoTooLargeError(
            f"{name}: {frames:,} frames in {seconds:.2f} s, more than the limit of {max_rate:g} frames a second"
        )


def mp4_timescale(time_base: Fraction) -> int:
    """The timescale (ticks a second) FFmpeg's MP4 writer gives a video track of this time base."""
    timescale = time_base.denominator
    while timescale < MP4_MIN_TIMESCALE:
        timescale *= 2
    return timescale


def check_frame_length(ticks: int, start: float, time_base: Fraction, name: str) -> None:
    """VideoError when a frame starting at ``start`` seconds lasts ``ticks`` of ``time_base`` (until
    the next frame, or its own duration) longer than an MP4 sample can (MP4_MAX_SAMPLE_TICKS of the
    track's timescale): written, its time stamps would come out wrong."""
    seconds = ticks * time_base
    limit = Fraction(MP4_MAX_SAMPLE_TICKS, mp4_timescale(time_base))
    if seconds > limit:
        raise VideoError(
            f"{name}: the frame at {start:.2f} s lasts {float(seconds):,.0f} s, longer than an MP4 frame can "
            f"last at this film's time base ({float(limit):,.0f} s)"
        )


def usable_display_matrix(matrix: tuple[int, ...] | None, name: str) -> tuple[int, ...] | None:
    """The display matrix if it only turns, mirrors and moves the picture (what cameras and editors
    write), else None, with a warning: a zero, scaling, shearing or perspective matrix would be
    copied to the output, where players show the picture collapsed, stretched or not at all."""
    if matrix is None:
        return None
    a, b, u, c, d, v, _, _, w = matrix
    scale_x, scale_y = math.hypot(a, c) / _UNIT, math.hypot(b, d) / _UNIT
    determinant = (a * d - b * c) / _UNIT**2
    if (
        u == v == 0
        and w == _W_ONE
        and abs(scale_x - 1) <= MATRIX_SCALE_TOLERANCE
        and abs(scale_y - 1) <= MATRIX_SCALE_TOLERANCE
        and abs(abs(determinant) - 1) <= 2 * MATRIX_SCALE_TOLERANCE
    ):
        return matrix
    log.warning("%s: display matrix %s is not a rotation or mirroring; left out", name, matrix)
    return None
