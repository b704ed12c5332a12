"""Colorize films as photos are, the network on keyframes only (where the picture really changes),
the colour carried and stabilized along the motion between them, and the sound kept.

    from colorizer import Colorizer
    from colorizer.pipeline import colorize_video
    from colorizer.video import is_video
    if is_video("clip.mp4"):
        result = colorize_video(Colorizer(), "clip.mp4", "clip_color.mp4")
        print(result.frames, result.seconds, [str(audio) for audio in result.audio])

Modules: ``container`` (PyAV reading and writing), ``colorize`` (the frame pipeline), ``stabilize``
(temporal stabilization), ``keyframes`` (which frames get the network, and the colour between them),
``flow`` (optical flow and warping), ``flicker`` (the warping-error measure), ``limits`` (what a film
may declare and hold, its sound included), ``sound`` (the sound copied or re-encoded),
``color_tags`` (the colour tags read and written) and ``preflight`` (MP4 sample tables, checked
before FFmpeg opens a file). docs/video.md has the details and the measured figures;
docs/reliability.md the hostile films.
"""

from colorizer.video.colorize import FrameColorizer, VideoResult, transcode
from colorizer.video.container import (
    DEFAULT_CRF,
    DEFAULT_MAX_FRAME_PIXELS,
    VideoInfo,
    holds_film,
    is_video,
    probe,
)
from colorizer.video.flicker import warping_error
from colorizer.video.keyframes import KeyframeSettings
from colorizer.video.limits import FilmLimits
from colorizer.video.sound import AudioOutcome
from colorizer.video.stabilize import StabilizerSettings, TemporalStabilizer

__all__ = [
    "DEFAULT_CRF",
    "DEFAULT_MAX_FRAME_PIXELS",
    "AudioOutcome",
    "FilmLimits",
    "FrameColorizer",
    "KeyframeSettings",
    "StabilizerSettings",
    "TemporalStabilizer",
    "VideoInfo",
    "VideoResult",
    "holds_film",
    "is_video",
    "probe",
    "transcode",
    "warping_error",
]
