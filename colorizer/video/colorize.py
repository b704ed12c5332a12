"""Colorize a film: decode, colorize each frame as a photo is (then stabilize its colour), encode.

Frames flow one at a time from the decoder through the network to the encoder: memory is a few
frames (plus the encoder's look-ahead), whatever the film's length. Audio packets are passed to the
writer as they are read, in file order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np

from colorizer.color import lab_to_rgb8, lightness
from colorizer.errors import ColorizerError, VideoError, VideoTooLargeError
from colorizer.settings import AUTO, check_network_every
from colorizer.upsample import DEFAULT_METHOD, check_method, upsample_ab
from colorizer.video.container import (
    DEFAULT_CRF,
    DEFAULT_MAX_FRAME_PIXELS,
    FilmWriter,
    VideoInfo,
    check_frame_size,
    check_reaches,
    decode_packet,
    ffmpeg_reason,
    frame_pixels,
    open_input,
    probe,
    video_stream,
)
from colorizer.video.keyframes import KeyframeSettings, KeyframeStabilizer
from colorizer.video.limits import DEFAULT_MAX_FRAME_RATE, FilmLimits, check_frame_count, check_frame_length
from colorizer.video.sound import AudioOutcome
from colorizer.video.stabilize import StabilizerSettings, TemporalStabilizer

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None", float], None]


@dataclass(frozen=True)
class VideoResult:
    """What ``colorize_video`` wrote.

    path: the MP4. frames: frames written. frame_rate: the input's average rate (frames/s; None if
    it declared none). seconds: the video's duration (first frame's start to last frame's end).
    width, height: the encoded size (the input's, odd sides grown by one). rotation: degrees a
    player turns it (kept from the input). audio: one AudioOutcome per input audio stream.
    scene_cuts: cuts the stabilizer started afresh at. network_frames: frames the network ran on
    (fewer than ``frames`` with network_every "auto" or > 1). elapsed: wall-clock seconds.
    keyframes: with network_every "auto", the keyframes by reason ("start", "cut", "interval",
    "occlusion", "look-ahead", "shot end": colorizer.video.keyframes); empty otherwise.
    warnings: what was changed on the way (sound resampled or left out, frames of another size
    scaled, colour tags H.264 cannot hold, ...), one line each; each was logged as a warning too,
    after the input's name.
    """

    path: Path
    frames: int
    frame_rate: float | None
    seconds: float
    width: int
    height: int
    rotation: int
    audio: tuple[AudioOutcome, ...]
    scene_cuts: int
    network_frames: int
    elapsed: float
    keyframes: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def frames_per_second(self) -> float:
        """Processing speed: frames colorized per wall-clock second."""
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


class FrameColorizer:
    """Colorizes one film's frames in order, exactly as ``Colorizer.colorize`` colorizes a photo
    (same lightness, network call and upsampling), then stabilizes the colour over time.

    colorizer: a ``Colorizer`` (its precision is the model it was built with).
    rotation: degrees counter-clockwise a player turns the stored frames; the network is shown the
        frame upright, as a photo's EXIF orientation is applied before colorizing.
    stabilizer: a TemporalStabilizer, or None for the plain per-frame result.
    network_every: with a stabilizer, "auto" (the default) runs the network on keyframes only, where
        the colour carried along the motion no longer holds (``keyframes``: KeyframeSettings; frames
        then come out of ``push`` in bursts, up to a keyframe); an int runs it on one frame in this
        many and carries the colour forward to the frames between (1: every frame). A new shot
        always gets the network. Without a stabilizer the network runs on every frame.

    ``push`` and ``flush`` work in every mode; ``__call__`` and ``lab`` (one frame in, the same one
    out) in all but "auto" with a stabilizer.
    """

    def __init__(
        self,
        colorizer,
        *,
        rotation: int = 0,
        stabilizer: TemporalStabilizer | None = None,
        temperature: float | None = None,
        render_size: int | None = None,
        upsample: str = DEFAULT_METHOD,
        network_every: int | str = AUTO,
        keyframes: KeyframeSettings | None = None,
    ):
        check_network_every(network_every, stabilize=stabilizer is not None)
        self.colorizer = colorizer
        self.quarter_turns = rotation // 90 % 4 if rotation % 90 == 0 else 0
        self.stabilizer = stabilizer
        self.temperature, self.render_size, self.upsample = temperature, render_size, upsample
        self.network_every = 1 if network_every == AUTO else int(network_every)
        self.network_frames = 0  # frames the network was run on
        self._skipped = 0  # frames carried since the network last ran
        self.keyframe_stabilizer = (
            KeyframeStabilizer(stabilizer, self._network, keyframes or KeyframeSettings())
            if network_every == AUTO and stabilizer is not None
            else None
        )

    def network_ab(self, plane: np.ndarray) -> np.ndarray:
        """float32 H x W L (0..100, as stored) -> float32 H x W x 2: the network's ab (the first half
        of ``Colorizer.colorize``, ``predict``, shown the frame upright), upsampled as ``finish``
        does before the stabilizer takes it."""
        prediction = self.colorizer.predict(
            None,
            plane=plane,
            temperature=self.temperature,
            render_size=self.render_size,
            quarter_turns=self.quarter_turns,
        )
        return upsample_ab(prediction.ab, plane, self.upsample)

    def _network(self, plane: np.ndarray) -> np.ndarray:
        self.network_frames += 1
        return self.network_ab(plane)

    def push(self, pixels: np.ndarray, item: Any = None) -> list[tuple[np.ndarray, Any]]:
        """uint8 or uint16 HxWx3 RGB (or HxW grey) and anything to hand back with it -> the frames
        now done, in order: (uint8 HxWx3 RGB, item). Call ``flush`` after the last frame."""
        if self.keyframe_stabilizer is None:
            return [(self(pixels), item)]
        return [
            (lab_to_rgb8(plane, ab), item) for plane, ab, item in self.keyframe_stabilizer.push(lightness(pixels), item)
        ]

    def flush(self) -> list[tuple[np.ndarray, Any]]:
        """The frames still held back for a keyframe that will not come (the film ended)."""
        if self.keyframe_stabilizer is None:
            return []
        return [(lab_to_rgb8(plane, ab), item) for plane, ab, item in self.keyframe_stabilizer.flush()]

    def lab(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 or uint16 HxWx3 RGB (or HxW grey) -> (float32 H x W L, float32 H x W x 2 ab)."""
        if self.keyframe_stabilizer is not None:
            raise ColorizerError('network_every "auto" holds frames back for a keyframe: use push and flush')
        plane = lightness(pixels)
        if self.stabilizer is not None and self._skipped + 1 < self.network_every:
            carried = self.stabilizer.carry(plane)
            if carried is not None:
                self._skipped += 1
                return plane, carried
        ab = self.network_ab(plane)
        self.network_frames += 1
        self._skipped = 0
        if self.stabilizer is not None:
            ab = self.stabilizer.update(plane, ab)
        return plane, ab

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 or uint16 HxWx3 RGB (or HxW grey) -> uint8 HxWx3 RGB, the colorized frame."""
        return lab_to_rgb8(*self.lab(pixels))


def transcode(
    colorizer,
    src: Path | str,
    output: Callable[[], AbstractContextManager[BinaryIO]],
    *,
    output_name: str,
    stabilize: bool = True,
    stabilizer_settings: StabilizerSettings | None = None,
    crf: int = DEFAULT_CRF,
    temperature: float | None = None,
    render_size: int | None = None,
    upsample: str = DEFAULT_METHOD,
    network_every: int | str = AUTO,
    keyframes: KeyframeSettings | None = None,
    progress: Progress | None = None,
    max_duration: float | None = None,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
    text: Mapping[str, str] | None = None,
    max_frames: int | None = None,
    max_frame_rate: float | None = DEFAULT_MAX_FRAME_RATE,
) -> VideoResult:
    """Colorize the film ``src`` into an H.264 MP4 written to the binary stream ``output()`` opens
    (named ``output_name`` in messages), once the film has passed every check made before any work;
    ``colorizer.pipeline.colorize_video`` writes it as a file, whole or not at all. Returns what was
    written (its ``path`` is ``Path(output_name)``).

    colorizer: a ``Colorizer``; fp32 or int8 is the model it was built with.
    stabilize: blend each frame's colour with the previous frame's along the motion (False: the
        plain per-frame result); stabilizer_settings overrides the measured defaults.
    crf: H.264 constant quality, 0 (lossless) .. 51; 18 is about visually lossless.
    temperature, render_size, upsample: as for ``Colorizer.colorize``.
    network_every: "auto" (the default, with stabilize): the network on keyframes only (a new shot,
        where the colour carried along the motion no longer holds, and at least every
        ``keyframes.max_interval`` frames), the colour carried from both ends between; an int: on
        one frame in this many (1: every frame), the colour carried forward between. docs/video.md
        measures the speed and accuracy of each. Without stabilize the network runs on every frame.
    keyframes: overrides the measured KeyframeSettings of "auto".
    progress: called after each frame as progress(frames_done, frames_total or None, frames_per_second);
        an exception it raises (KeyboardInterrupt too) stops the work and leaves no output.
    max_duration: seconds; longer films are refused (VideoTooLargeError) before any work, or as soon
        as a frame's time stamp passes it when the header does not say.
    max_pixels: frames with more pixels are refused (VideoTooLargeError), by FFmpeg's decoder before
        it allocates them.
    text: entries (name -> value) the MP4 carries as metadata, e.g. ``provenance.provenance(colorizer,
        settings)`` (the batch passes the same entries its photos get); None (the default) writes none.
    max_frames: films with more frames are refused (VideoTooLargeError) before any work; None: no limit.
    max_frame_rate: films whose frames come faster, over the span of their time stamps, are refused
        (VideoTooLargeError) before any work; None: no limit. Each frame costs a network pass.
    Raises VideoError (one line, naming the file) for what is not a readable video.
    """
    src = Path(src)
    if not 0 <= crf <= 51:
        raise ColorizerError(f"crf {crf} must be between 0 and 51")
    check_method(upsample)
    check_text(text or {})
    check_network_every(network_every, stabilize=stabilize)
    name = src.name
    started = time.perf_counter()
    info = probe(
        src, max_pixels=max_pixels, max_duration=max_duration, max_frames=max_frames, max_frame_rate=max_frame_rate
    )
    log.info(
        "%s: %s %dx%d %s, %s frames/s, %s s, audio: %s",
        name,
        info.codec,
        info.width,
        info.height,
        info.pixel_format,
        info.frame_rate,
        info.duration,
        ", ".join(info.audio) or "none",
    )
    stabilizer = TemporalStabilizer(stabilizer_settings or StabilizerSettings()) if stabilize else None
    frames = FrameColorizer(
        colorizer,
        rotation=info.rotation,
        stabilizer=stabilizer,
        temperature=temperature,
        render_size=render_size,
        upsample=upsample,
        network_every=network_every,
        keyframes=keyframes,
    )
    try:
        with output() as file, open_input(src, max_pixels=max_pixels) as container:
            video = video_stream(container, name)
            video.thread_type = "AUTO"
            audio = list(container.streams.audio)
            writer = FilmWriter(file, info, audio, crf=crf, name=name, text=text)
            try:
                limits = FilmLimits(max_duration, max_pixels, max_frames)
                _transcode(container, video, audio, writer, frames, info, limits, name, progress, started)
                writer.close()
            except BaseException:
                writer.abort()
                raise
    except av.error.FFmpegError as error:  # reading or writing failed past the checks above
        raise VideoError(f"{name}: FFmpeg failed ({ffmpeg_reason(error)})") from None
    elapsed = time.perf_counter() - started
    result = VideoResult(
        path=Path(output_name),
        frames=writer.frames,
        frame_rate=float(info.frame_rate) if info.frame_rate else None,
        seconds=float((writer.end_pts - writer.first_pts) * info.time_base),
        width=info.width + info.width % 2,
        height=info.height + info.height % 2,
        rotation=info.rotation,
        audio=writer.audio_outcomes,
        scene_cuts=stabilizer.cuts if stabilizer else 0,
        network_frames=frames.network_frames,
        elapsed=elapsed,
        keyframes=dict(frames.keyframe_stabilizer.reasons) if frames.keyframe_stabilizer else {},
        warnings=tuple(writer.warnings),
    )
    log.info(
        "%s: %d frames (the network on %d) in %.1f s (%.2f frames/s)",
        output_name,
        result.frames,
        result.network_frames,
        elapsed,
        result.frames_per_second,
    )
    return result


def check_text(text: Mapping[str, str]) -> None:
    """ColorizerError unless every entry is a non-empty name and a value, both strings without NUL
    characters (FFmpeg's metadata are C strings: a NUL would cut them short)."""
    for key, value in text.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key or "\0" in key + value:
            raise ColorizerError(
                f"text entry {key!r}: a name must be non-empty, names and values strings without NUL characters"
            )


def _transcode(
    container: av.container.InputContainer,
    video: av.video.stream.VideoStream,
    audio: list,
    writer: FilmWriter,
    frames: FrameColorizer,
    info: VideoInfo,
    limits: FilmLimits,
    name: str,
    progress: Progress | None,
    started: float,
) -> None:
    """Every packet in file order: audio to the writer as it is, video decoded, colorized and
    written frame by frame; then the check that the film was complete. The ``limits`` probe checked
    from the header and the packets are checked again on the frames themselves."""
    size = (info.height, info.width)
    resized = False  # a frame of another size was met (and scaled to the first frame's)
    content_end = 0.0  # the latest end of any packet read, seconds from the start
    previous_pts: int | None = None
    for packet in container.demux(video, *audio):
        if packet.pts is not None and packet.time_base:
            content_end = max(content_end, float((packet.pts + packet.duration) * packet.time_base) - info.start_time)
        if packet.stream.type == "audio":
            writer.write_audio(packet)
            continue
        for frame in decode_packet(packet, name, limits.max_pixels):
            _check_time(frame, info.start_time, limits.max_seconds, name)
            check_frame_size(frame.width, frame.height, limits.max_pixels, name)
            check_frame_count(writer.frames + 1, limits.max_frames, name)
            previous_pts = _check_lengths(frame, previous_pts, info, name)
            if (frame.height, frame.width) != size and not resized:
                resized = True
                writer.warn(
                    f"the frames change size{_when(frame, info.start_time)} ({frame.width}x{frame.height} after "
                    f"{info.width}x{info.height}); those of another size are scaled to {info.width}x{info.height}"
                )
            _write(writer, frames.push(frame_pixels(frame, size), (frame.pts, frame.duration)), info, progress, started)
    _write(writer, frames.flush(), info, progress, started)
    _check_complete(writer, info, content_end, name)


def _write(
    writer: FilmWriter, done: list[tuple[np.ndarray, Any]], info: VideoInfo, progress: Progress | None, started: float
) -> None:
    """Frames done (uint8 RGB, (time stamp, duration)) to the writer, each followed by ``progress``."""
    for rgb, (pts, duration) in done:
        writer.write_frame(rgb, pts, duration)
        if progress is not None:
            progress(writer.frames, info.frames, writer.frames / (time.perf_counter() - started))


def _check_complete(writer: FilmWriter, info: VideoInfo, content_end: float, name: str) -> None:
    """VideoError when the film stops well before the duration declared (a truncated file whose
    container has no index to tell); a warning when frames were lost on the way (damaged data the
    decoder skipped: the film keeps its time stamps, so a lost frame shows its predecessor longer).

    content_end: the latest end of any packet read, seconds from the start. Two frames or 1 % of
    slack: the video stream's declared duration is checked against the frames decoded, the file's
    (which may be the sound's) against everything read.
    """
    if writer.frames == 0:
        raise VideoError(f"{name}: no frame of the video decodes")
    decoded = float((writer.end_pts - writer.first_pts) * info.time_base)
    frame = 1 / float(info.frame_rate) if info.frame_rate else 0.04
    for declared, reached in ((info.video_duration, decoded), (info.duration, content_end)):
        check_reaches(declared, reached, frame, name)
    if info.declared_frames and writer.frames < info.declared_frames:
        writer.warn(
            f"{writer.frames} of the {info.declared_frames} frames declared decoded (damaged data, or an edit list)"
        )


def _check_lengths(frame: av.VideoFrame, previous_pts: int | None, info: VideoInfo, name: str) -> int | None:
    """VideoError when the time since the previous frame, or this frame's own duration, is longer
    than the MP4 written can hold (``limits.check_frame_length``); returns this frame's time stamp."""
    if frame.pts is None:
        return previous_pts
    if previous_pts is not None and frame.pts > previous_pts:
        previous_start = float(previous_pts * info.time_base) - info.start_time
        check_frame_length(frame.pts - previous_pts, previous_start, info.time_base, name)
    if frame.duration:
        check_frame_length(frame.duration, float(frame.pts * info.time_base) - info.start_time, info.time_base, name)
    return frame.pts


def _when(frame: av.VideoFrame, start: float) -> str:
    """ " at 1.23 s" (seconds from the film's start), or "" for a frame without a time stamp."""
    if frame.pts is None or frame.time_base is None:
        return ""
    return f" at {float(frame.pts * frame.time_base) - start:.2f} s"


def _check_time(frame: av.VideoFrame, start: float, max_duration: float | None, name: str) -> None:
    """VideoTooLargeError once a frame starts after ``max_duration`` seconds (for headers that do
    not declare a duration)."""
    if max_duration is None or frame.pts is None or frame.time_base is None:
        return
    if float(frame.pts * frame.time_base) - start > max_duration:
        raise VideoTooLargeError(f"{name}: longer than the limit of {max_duration:g} s")
