"""One uploaded film in, one colorized MP4 out: the work behind each film request of the app, with
the app's options (``ColorizeOptions``) and a public page's limits, checked before any work.

    done = colorize_film(models, Path("upload/clip.mov"), out_dir, ColorizeOptions.from_request(60),
                         limits=FilmLimits(max_seconds=30))
    done.result  # out_dir / "clip_color.mp4", written once, atomically

The film is named after the original file as photos are (``service.result_name``), in the request's
own folder; ``colorizer.video.colorize_video`` does the decoding, colorizing and encoding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from colorizer.errors import ColorizerError, VideoError
from colorizer.models import ModelSet
from colorizer.options import ColorizeOptions
from colorizer.provenance import provenance_text
from colorizer.service import result_name
from colorizer.video import VideoResult, colorize_video, is_video
from colorkit.files import FILM_OUTPUT_SUFFIX

log = logging.getLogger(__name__)

# A public page on two CPU cores colorizes ~3-6 frames/s of 640x360 (docs/video.md): a minute of
# 720p at 25 frames/s already keeps one of its two workers busy for several minutes.
DEFAULT_MAX_SECONDS = 60.0
DEFAULT_MAX_FRAME_PIXELS = 1280 * 720
# Each frame costs a network pass however small it is: a minute at 60 frames/s. Without it a minute of
# 2-pixel frames at 1,000 frames/s (a few hundred KB) would be 60,000 passes, hours of a worker.
DEFAULT_MAX_FRAMES = 3600

Progress = Callable[[int, "int | None", float], None]  # (frames done, frames in all or None, frames/s)


@dataclass(frozen=True)
class FilmLimits:
    """What one film request may ask for: its duration in seconds, the pixels of one frame (width x
    height, either orientation) and its number of frames. Longer or larger films, or films with more
    frames, are refused before any frame is colorized, with a message naming the limit."""

    max_seconds: float = DEFAULT_MAX_SECONDS
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS
    max_frames: int = DEFAULT_MAX_FRAMES

    def __post_init__(self):
        if not self.max_seconds > 0 or not self.max_pixels > 0 or not self.max_frames > 0:
            raise ColorizerError(
                f"film limits must be positive, not {self.max_seconds} s, {self.max_pixels} pixels "
                f"and {self.max_frames} frames"
            )


def film_result_name(original_name: str | None) -> str:
    """``old reel.mov`` -> ``old reel_color.mp4``: the photos' naming rule with the MP4 suffix;
    ``photo_color.mp4`` when the name is empty."""
    return Path(result_name(original_name)).with_suffix(FILM_OUTPUT_SUFFIX).name


def colorize_film(
    models: ModelSet,
    source: Path,
    out_dir: Path,
    options: ColorizeOptions,
    *,
    original_name: str | None = None,
    stabilize: bool = True,
    limits: FilmLimits = FilmLimits(),
    progress: Progress | None = None,
) -> VideoResult:
    """Colorize the film file ``source`` into ``out_dir/<original stem>_color.mp4`` (H.264, the
    sound kept; written whole or not at all; its metadata names the model and settings, as a
    photo's PNG does).

    options: vibrancy (as temperature), render size, upsampling and precision apply to every frame;
        ``keep_color`` has no meaning for films and is ignored.
    stabilize: blend each frame's colour with the previous frame's along the motion.
    progress: called after each frame as progress(frames_done, frames_total or None, frames_per_second).
    out_dir must be a folder of this request alone; it is created by the first file written there.
    Raises VideoError for a file that is not a film (a photo, audio only, damaged),
    VideoTooLargeError over ``limits`` (before any frame is colorized), ColorizerError for a
    model that will not load.
    """
    name = original_name or source.name
    if not is_video(source, max_pixels=limits.max_pixels):
        raise VideoError(f"{name}: not a video file (send photos to the photo endpoint)")
    colorizer = models.get(options.precision)
    settings = {**options.describe(), "stabilize": stabilize}
    settings.pop("keep_color", None)  # films are colorized from their lightness alone
    result = colorize_video(
        colorizer,
        source,
        out_dir / film_result_name(name),
        stabilize=stabilize,
        temperature=options.temperature,
        render_size=options.render_size,
        upsample=options.upsample,
        progress=progress,
        max_duration=limits.max_seconds,
        max_pixels=limits.max_pixels,
        text=provenance_text(models.sha256(options.precision), settings),
        max_frames=limits.max_frames,
    )
    log.info("%s: %d frames %dx%d in %.1f s", name, result.frames, result.width, result.height, result.elapsed)
    return result
