"""A film's whole cost on a public server: its frames times the pixels of one frame, besides the
library's limits on each (``colorizer.video.FilmLimits``).

Every frame costs a network pass, and every pixel of every frame costs decoding, optical flow,
upsampling and encoding: 3,600 frames of 1280x720, each within its own limit, held a worker for
far longer than 3,600 small frames or a few large ones. ``within_budget`` counts the frames (the
video packets, read from the file, whatever the header declares) before any work, and tightens
the frame limit the library checks again on every frame decoded, so a film that holds more
frames than its packets said is stopped where it passes the budget.

    limits = within_budget(path, "reel.mp4", ServerFilmLimits(60.0, 1280 * 720, 3600, 829_440_000))
    colorize_film(..., limits=limits)   # at most limits.max_frames frames of this film's size
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from colorizer.errors import ColorizerError, VideoError, VideoTooLargeError
from colorizer.video import FilmLimits, probe


@dataclass(frozen=True)
class ServerFilmLimits(FilmLimits):
    """FilmLimits and ``max_total_pixels``: the frames times the pixels of one frame (width x
    height) a film may hold in all (None: any)."""

    max_total_pixels: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.max_total_pixels is not None and not self.max_total_pixels > 0:
            raise VideoError(f"the film budget must be positive, not {self.max_total_pixels} pixels")


def within_budget(source: Path, name: str, limits: FilmLimits) -> FilmLimits:
    """``limits`` for the film ``source`` (``name`` in messages): with a ``max_total_pixels``, its
    ``max_frames`` lowered to the frames of this film's size the budget holds; VideoTooLargeError
    (one line, naming the film and the budget) when the film's frames are more than that. Other
    limits unchanged; a file the library refuses (not a film, too long ...) is left to it, to be
    refused with its own message."""
    if not isinstance(limits, ServerFilmLimits) or limits.max_total_pixels is None:
        return limits
    budget = limits.max_total_pixels
    try:
        info = probe(
            source, max_pixels=limits.max_pixels, max_duration=limits.max_seconds, max_frames=limits.max_frames
        )
    except ColorizerError:
        return limits  # colorize_film probes it again and refuses it, naming the file
    pixels = info.width * info.height
    frames = budget // pixels
    if info.packets > frames:
        raise VideoTooLargeError(
            f"{name}: {info.packets:,} frames of {info.width}x{info.height} are {info.packets * pixels:,} pixels, "
            f"more than the limit of {budget:,} ({frames:,} frames of this size)"
        )
    return replace(limits, max_frames=min(frames, limits.max_frames or frames))
