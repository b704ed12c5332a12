"""What a film may declare and hold: the sides of its frames, how many frames come a second, how long
one frame may last, which display matrices are kept, and how much sound it may carry. Each check
raises VideoError (or VideoTooLargeError for a limit) with a one-line message naming the file.

Every frame costs one pass of the network at the render size, however few pixels it has, so a film's
cost grows with its frames as much as with their pixels: the frame rate is bounded here for every
caller, the duration and the number of frames by the caller (``FilmLimits``; the app's are
``appkit.config.PUBLIC_FILM_LIMITS``).
docs/reliability.md lists what each limit was measured against.

Sound costs in proportion to its packets (each is read, and decoded and re-encoded unless copied), its
bytes and its decoded samples, none of which the pictures bound: a 2 s film of 8 MB of tiny sound
packets took 92 CPU s. ``SoundBudget`` allows each of them in proportion to the film's own length
(the span of its video packets' time stamps, plus ``SOUND_SLACK_SECONDS``), at rates far above any
real film's sound, so that only crafted or damaged sound is refused.
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
# Sound, per second of the film's pictures plus SOUND_SLACK_SECONDS, all audio streams together. Real
# sound is far under each rate: AAC has 47 packets a second at 48 kHz, FFmpeg reads PCM in MOV in
# packets of at most 1,024 samples (188 a second at 192 kHz), and 16 channels of 32-bit 192 kHz PCM
# are 12 MB and 3.1 million samples a second.
MAX_SOUND_STREAMS = 32  # each re-encoded stream holds an encoder; films carry 1 to ~16
MAX_SOUND_PACKETS_PER_SECOND = 4_000
MAX_SOUND_BYTES_PER_SECOND = 16 << 20
MAX_SOUND_SAMPLES_PER_SECOND = 8_000_000  # decoded samples (of every channel) of the sound re-encoded
SOUND_SLACK_SECONDS = 2.0  # a sound may start before the pictures or end after them
# A display matrix (FFmpeg's 3x3, 9 int32: a b u / c d v / x y w; a..d in 16.16 fixed point, w 2.30)
# is kept when it turns (any angle), mirrors and moves the picture, nothing else.
_UNIT = 1 << 16
_W_ONE = 1 << 30
MATRIX_SCALE_TOLERANCE = 0.01
LIMIT = "more than the limit of"


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


@dataclass(frozen=True)
class SoundBudget:
    """What the sound of a film whose pictures last ``film_seconds`` may hold, all its audio streams
    together: ``seconds`` (the film's and SOUND_SLACK_SECONDS) at the MAX_SOUND_* rates. Each check
    raises VideoTooLargeError naming the film and its sound."""

    film_seconds: float

    @property
    def seconds(self) -> float:
        return max(self.film_seconds, 0.0) + SOUND_SLACK_SECONDS

    def check_read(self, streams: int, packets: int, size: int, name: str) -> None:
        """The audio streams, their packets and bytes, counted before any frame is colorized."""
        if streams > MAX_SOUND_STREAMS:
            raise VideoTooLargeError(f"{name}: {streams} sound streams, {LIMIT} {MAX_SOUND_STREAMS}")
        self._check(packets, MAX_SOUND_PACKETS_PER_SECOND, "packets", name)
        self._check(size, MAX_SOUND_BYTES_PER_SECOND, "bytes", name)

    def check_decoded(self, samples: int, stream_seconds: float, stream: str, name: str) -> None:
        """``samples``: the samples (of every channel) decoded so far, all streams together;
        ``stream_seconds``: how long the sound of ``stream`` (a label, "sound stream 1 (mp2)") decoded
        so far lasts, at most ``seconds``."""
        self._check(samples, MAX_SOUND_SAMPLES_PER_SECOND, "decoded samples", name)
        if stream_seconds > self.seconds:
            raise VideoTooLargeError(
                f"{name}: {stream} lasts longer than the film's {self.film_seconds:.2f} s of pictures by "
                f"{LIMIT} {SOUND_SLACK_SECONDS:g} s"
            )

    def _check(self, count: int, rate: int, what: str, name: str) -> None:
        limit = math.floor(rate * self.seconds)
        if count > limit:
            raise VideoTooLargeError(
                f"{name}: the sound holds {count:,} {what} for {self.film_seconds:.2f} s of pictures, {LIMIT} "
                f"{limit:,} ({rate:,} a second, {SOUND_SLACK_SECONDS:g} s more than the pictures)"
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
