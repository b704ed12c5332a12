"""Films in and out with PyAV (FFmpeg): what a file holds, its frames, and the H.264 MP4 written.

Reading. The file is opened as a Python file object (so its name is never read as an FFmpeg URL or
protocol) and FFmpeg may only choose among the demuxers in ``VIDEO_DEMUXERS``: the containers films
come in. Image formats, playlists (HLS, concat) and raw streams are refused, so a photo named
``.mp4`` is never a "video" and a file cannot make FFmpeg open other files. A file that starts like
a photo (JPEG, PNG, GIF, BMP, TIFF, WebP, HEIF/AVIF) is named as one in the error. Before FFmpeg
opens it, an MP4's sample tables are checked against the file's size (``preflight``); FFmpeg's
decoders are given the frame pixel limit, so a frame whose own header (a PNG or JPEG frame, an H.264
sequence header) claims more is refused before it is allocated, whatever the container said.
``probe`` then reads every packet once without decoding, to count the frames and check their rate,
and to count the sound's packets and bytes against the film's length (``limits``), before any frame
is colorized.

Writing. H.264 (libx264, ``PRESET``, constant quality ``crf``) in 4:2:0 with the input's colour tags
(``color_tags``: its primaries, transfer, matrix and range; BT.709 limited range where it says none), no
B-frames (with them MP4 sample durations follow the decode order and a variable-frame-rate film's
last frames could fall outside the track's duration), ``+faststart`` so browsers can start playing
before the end arrives. Each frame keeps its input time stamp, so the frame rate, variable frame
rates and the duration are kept. 4:2:0 needs even sizes: an odd last row or column is repeated
(``even_size``), nothing is cropped. The input's display matrix (rotation, mirroring) and sample
aspect ratio are copied. Audio streams are copied packet for packet or re-encoded to AAC (``sound``).
Text entries given (the provenance)
become MP4 metadata under their own names (``movflags=use_metadata_tags``: ``moov/udta/meta`` keys,
which PyAV's ``container.metadata`` and ``colorizer.mp4_boxes`` read back).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import stat
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from colorizer.errors import VideoError, VideoTooLargeError
from colorizer.signatures import film_kind, image_kind
from colorizer.video.color_tags import ColorTags, check_readable, read_tags, written
from colorizer.video.limits import (
    DEFAULT_MAX_FRAME_PIXELS,
    DEFAULT_MAX_FRAME_RATE,
    SoundBudget,
    check_frame_count,
    check_frame_rate,
    check_frame_sides,
    usable_display_matrix,
)
from colorizer.video.preflight import check_mp4_sample_tables
from colorizer.video.sound import (
    AAC_BITRATE_PER_CHANNEL,
    MAX_AAC_BITRATE,
    AudioOutcome,
    SoundTrack,
    aac_target,
    audio_is_copyable,
    codec_name,
    describe,
    encoder_layout,
    mp4_takes,
)

log = logging.getLogger(__name__)

# FFmpeg demuxer names (one per container family; "mov" covers MP4, MOV, M4V and 3GP).
VIDEO_DEMUXERS = ("mov", "matroska", "avi", "flv", "mpegts", "mpeg", "ogg", "asf", "mxf", "dv")
DEFAULT_CRF = 18  # libx264 constant quality: 0 lossless .. 51 worst; 18 is about visually lossless
PRESET = "medium"
FALLBACK_RATE = Fraction(25)  # for streams that declare no frame rate
# swscale's default YUV <-> RGB conversion is off by ~2 levels on coloured pixels; accurate rounding
# and full-resolution chroma make it agree with the BT.601/709 formulas to within 1.
SWS_FLAGS = (
    av.video.reformatter.Interpolation.BILINEAR
    | av.video.reformatter.Interpolation.ACCURATE_RND
    | av.video.reformatter.Interpolation.FULL_CHR_H_INT
    | av.video.reformatter.Interpolation.FULL_CHR_H_INP
)


@dataclass(frozen=True)
class VideoInfo:
    """What the input holds, read before any frame is colorized.

    width, height: the stored frame size (before rotation). rotation: degrees counter-clockwise a
    player turns the stored picture (0, 90, 180 or 270; other angles are kept in the matrix but
    reported as 0). display_matrix: FFmpeg's 3x3 display matrix (9 int32, row-major) or None.
    frame_rate: the average rate, None if the file gives none. duration: seconds, None if unknown
    (the video stream's own, else the file's). video_duration: the video stream's own declared
    duration, None if it declares none. frames: the frame count declared, else estimated from the
    duration, None if unknown; declared_frames: the count the stream declares, None if none.
    audio: the audio streams' codecs. packets: the video packets in the file (one frame each),
    counted before any frame is colorized. span: the seconds they span (their time stamps' first
    start to last end; where they carry none, their count at the frame rate): the film's own length,
    which its sound is held to (``limits.SoundBudget``). color: the first frame's colour tags.
    """

    container: str
    codec: str
    pixel_format: str
    width: int
    height: int
    rotation: int
    display_matrix: tuple[int, ...] | None
    frame_rate: Fraction | None
    time_base: Fraction
    start_time: float
    duration: float | None
    video_duration: float | None
    frames: int | None
    declared_frames: int | None
    sample_aspect_ratio: Fraction | None
    audio: tuple[str, ...]
    packets: int = 0
    span: float = 0.0
    color: ColorTags = ColorTags()


@contextlib.contextmanager
def open_input(path: Path, *, max_pixels: int | None = None) -> Iterator[av.container.InputContainer]:
    """Open a film for reading; VideoError for a photo, an unknown container or unreadable data.

    max_pixels: FFmpeg's decoders (those that open the file too) refuse larger frames before
    allocating them (None: FFmpeg's own limit, about 268 million pixels)."""
    name = path.name
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed by the with-block below)
    except OSError as error:
        raise VideoError(f"{name}: cannot open ({error.strerror})") from None
    with stream:
        head = stream.read(32)
        if not head:
            raise VideoError(f"{name}: empty file")
        kind = image_kind(head)
        if kind:
            raise VideoError(f"{name}: a still image ({kind}), not a video; colorize it as a photo")
        if film_kind(head) in (None, "MP4/MOV"):  # FFmpeg reads MP4 whatever its first box
            check_mp4_sample_tables(stream, os.fstat(stream.fileno()).st_size, name)
        stream.seek(0)
        decoder_options = {"max_pixels": str(max_pixels)} if max_pixels is not None else {}
        try:
            container = av.open(
                stream,
                "r",
                options=decoder_options,  # for the decoders opening the file runs
                container_options={"format_whitelist": ",".join(VIDEO_DEMUXERS)},
            )
        except av.error.FFmpegError as error:
            raise VideoError(
                f"{name}: not a video this colorizer can read (unknown container, "
                f"or corrupt or truncated: {ffmpeg_reason(error)})"
            ) from None
        for video in container.streams.video:
            if video.codec_context is not None:
                video.codec_context.options = {**video.codec_context.options, **decoder_options}
        try:
            yield container
        finally:
            container.close()


def video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    """The first video stream that is not a cover picture; VideoError if there is none."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic and stream.codec_context is not None:
            return stream
    if not container.streams:
        raise VideoError(f"{name}: no video stream: the file holds no streams at all (truncated or damaged)")
    has_audio = bool(container.streams.audio)
    raise VideoError(f"{name}: no video stream" + (" (audio only)" if has_audio else ""))


def probe(
    path: Path | str,
    *,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
    max_duration: float | None = None,
    max_frames: int | None = None,
    max_frame_rate: float | None = DEFAULT_MAX_FRAME_RATE,
) -> VideoInfo:
    """Read a film's header, decode its first frame (for the display matrix, and to be sure the
    video decodes) and count the video packets that follow without decoding them.

    VideoTooLargeError when the frame size or duration declared, the frames counted (``max_frames``,
    None: no limit) or their rate over the span of their time stamps (``max_frame_rate``) is over a
    limit; VideoError for frames too small to colorize. Reading the packets costs time in proportion
    to the file's size, not its pixels."""
    path = Path(path)
    name = path.name
    with open_input(path, max_pixels=max_pixels) as container:
        stream = video_stream(container, name)
        context = stream.codec_context
        check_frame_size(context.width, context.height, max_pixels, name)
        if context.width and context.height:  # 0 x 0: FFmpeg could not tell without a frame
            check_frame_sides(context.width, context.height, name)
        _check_index(container, path)
        duration = _duration(container, stream)
        if max_duration is not None and duration is not None and duration > max_duration:
            raise VideoTooLargeError(f"{name}: {duration:.1f} s long, more than the limit of {max_duration:g} s")
        first, packets = _first_frame_and_packets(container, stream, name, max_pixels)
        if first is None:
            raise VideoError(f"{name}: the video stream has no frame that decodes")
        check_frame_size(first.width, first.height, max_pixels, name)
        check_frame_sides(first.width, first.height, name)
        check_frame_count(packets.count, max_frames, name)
        check_frame_rate(packets.count, packets.seconds(stream.time_base), max_frame_rate, name)
        rate = stream.average_rate or stream.guessed_rate
        span = packets.seconds(stream.time_base)
        span = span if span is not None else packets.count / float(rate or FALLBACK_RATE)
        SoundBudget(span).check_read(len(container.streams.audio), packets.sound, packets.sound_bytes, name)
        check_reaches(duration, packets.content_end, 1 / float(rate) if rate else 0.04, name)
        color = read_tags(first)
        check_readable(color, name)
        matrix = usable_display_matrix(display_matrix(first), name)
        frames = stream.frames or (round(duration * rate) if duration and rate else None)
        start = container.start_time / av.time_base if container.start_time is not None else 0.0
        return VideoInfo(
            container=container.format.name,
            codec=codec_name(stream),
            pixel_format=first.format.name,
            width=first.width,
            height=first.height,
            rotation=_quarter_turns(first.rotation) * 90 if matrix else 0,
            display_matrix=matrix,
            frame_rate=Fraction(rate) if rate else None,
            time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
            start_time=start,
            duration=duration,
            frames=frames,
            declared_frames=stream.frames or None,
            video_duration=float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None,
            sample_aspect_ratio=Fraction(context.sample_aspect_ratio) if context.sample_aspect_ratio else None,
            audio=tuple(codec_name(audio) for audio in container.streams.audio),
            packets=packets.count,
            span=span,
            color=color,
        )


@dataclass
class _Packets:
    """The packets read: the video packets' count and the span of their time stamps (stream time
    base), the audio packets' count and bytes, and the latest end of any packet, sound included
    (seconds, as ``_transcode`` counts it)."""

    count: int = 0
    sound: int = 0
    sound_bytes: int = 0
    first: int | None = None  # the earliest video time stamp
    end: int | None = None  # the latest video time stamp plus its packet's duration
    content_end: float = 0.0

    def add(self, packet: av.Packet, start: float) -> None:
        stop = packet.pts + (packet.duration or 0) if packet.pts is not None else None
        if stop is not None and packet.time_base:
            self.content_end = max(self.content_end, float(stop * packet.time_base) - start)
        if packet.stream.type != "video":
            self.sound += 1
            self.sound_bytes += packet.size
            return
        self.count += 1
        if packet.pts is not None and stop is not None:
            self.first = packet.pts if self.first is None else min(self.first, packet.pts)
            self.end = stop if self.end is None else max(self.end, stop)

    def seconds(self, time_base: Fraction | None) -> float | None:
        """The time the packets span, None when they carry no time stamps."""
        if self.first is None or self.end is None or not time_base:
            return None
        return float((self.end - self.first) * time_base)


def _first_frame_and_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str, max_pixels: int
) -> tuple[av.VideoFrame | None, _Packets]:
    """The video stream's first decoded frame, and every video and audio packet counted: video
    packets are decoded only until the first frame comes out, then just read."""
    first, packets = None, _Packets()
    start = container.start_time / av.time_base if container.start_time is not None else 0.0
    for packet in container.demux(stream, *container.streams.audio):
        if packet.size:
            packets.add(packet, start)
        if first is None and packet.stream.type == "video":
            frames = decode_packet(packet, name, max_pixels)
            first = frames[0] if frames else None
    return first, packets


def is_video(path: Path | str, *, max_pixels: int = DEFAULT_MAX_FRAME_PIXELS) -> bool:
    """Whether the file holds a film, judged by its content (not its name): a container of
    ``VIDEO_DEMUXERS`` with a video stream that is not a cover picture, or a file that starts like
    a film container (MP4, Matroska, AVI, ...) but is too damaged to open or holds no video, so that
    colorize_video names what is wrong with it ("no video stream (audio only)"). Reads the header
    only (FFmpeg may decode a first frame, of at most ``max_pixels``). A photo, an audio file (an
    M4A's brand, MP3, WAV, ...), an image sequence or any other file is not a video."""
    path = Path(path)
    try:
        with open_input(path, max_pixels=max_pixels) as container:
            video_stream(container, path.name)
    except VideoError:
        try:
            with open(path, "rb") as file:
                head = file.read(32)
        except OSError:
            return False
        return film_kind(head) is not None
    return True


def holds_film(path: Path | str) -> bool:
    """Whether ``path`` is a regular file holding a film (``is_video``): the one judgement of photo
    or film. Anything else (a FIFO, which opening would block on, a device, a missing or unreadable
    file) is not a film; the photo reader says what it is."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        return is_video(path)
    except OSError:
        return False


def check_frame_size(width: int, height: int, max_pixels: int, name: str) -> None:
    if width * height > max_pixels:
        raise VideoTooLargeError(
            f"{name}: {width}x{height} frames are {width * height:,} pixels, more than the limit of {max_pixels:,}"
        )


def decode_packet(packet: av.Packet, name: str, max_pixels: int | None = None) -> list:
    """A packet's frames (video or audio); an empty packet flushes the decoder. ``max_pixels``: the
    limit the decoder was opened with (``open_input``), named when FFmpeg refuses a frame."""
    try:
        return packet.decode()
    except av.error.FFmpegError as error:
        when = f" at {float(packet.pts * packet.time_base):.2f} s" if packet.pts is not None else ""
        # FFmpeg reports a frame over the decoder's pixel limit as invalid data or an invalid argument
        limited = max_pixels is not None and packet.stream.type == "video"
        larger = f", or a frame of more than {max_pixels:,} pixels" if limited else ""
        raise VideoError(f"{name}: corrupt {packet.stream.type} data{when}{larger} ({ffmpeg_reason(error)})") from None


def display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    """The frame's display matrix side data as 9 int32 (FFmpeg's layout), or None."""
    for side_data in frame.side_data:
        if side_data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            return struct.unpack("<9i", bytes(side_data))
    return None


def frame_pixels(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    """A decoded frame -> RGB pixels, uint8 HxWx3, or uint16 HxWx3 when the video has more than 8
    bits a sample; (H, W) = ``size``: a frame of another size (a mid-stream change) is scaled to it.
    The conversion uses the frame's own colour matrix and range."""
    height, width = size
    deep = any(component.bits > 8 for component in frame.format.components)
    rgb_format = "rgb48le" if deep else "rgb24"
    if (frame.height, frame.width) != size:
        return frame.to_ndarray(format=rgb_format, width=width, height=height, interpolation=SWS_FLAGS)
    return frame.to_ndarray(format=rgb_format, interpolation=SWS_FLAGS)


def even_size(height: int, width: int) -> tuple[int, int]:
    """The (height, width) of the encoded picture: 4:2:0 needs both even, an odd one grows by 1."""
    return height + height % 2, width + width % 2


class FilmWriter:
    """Writes the colorized film to ``file`` (an open binary file) as H.264 MP4 with the input's
    audio. Call ``write_frame`` for each frame, ``write_audio`` for each audio packet in file order,
    then ``close``; on failure ``abort`` (the caller removes the file). text: entries (name -> value,
    no NUL characters) written as the file's metadata, or None for none. name: the input, in
    messages. warnings: what was changed on the way (logged too), one line each, starting with
    ``name``. The sound decoded is held to ``SoundBudget(info.span)``."""

    def __init__(
        self,
        file: BinaryIO,
        info: VideoInfo,
        audio_streams: list[av.audio.stream.AudioStream],
        *,
        crf: int = DEFAULT_CRF,
        name: str = "output",
        text: Mapping[str, str] | None = None,
    ):
        self.name = name
        self.warnings: list[str] = []
        movflags = "+faststart+use_metadata_tags" if text else "+faststart"  # custom names need mdta keys
        self._output = av.open(file, "w", format="mp4", container_options={"movflags": movflags})
        self._output.metadata.update(text or {})
        self._closed = False
        try:
            self._video = self._add_video(info, crf)
            supported = self._output.supported_codecs
            self._audio: dict[int, SoundTrack] = {}
            self.audio_outcomes = tuple(self._add_audio(stream, supported) for stream in audio_streams)
        except BaseException:
            self.abort()
            raise
        self._sound_budget = SoundBudget(info.span)
        self._start = max(info.start_time, 0.0)  # seconds taken off every time stamp, audio's too
        self._last_pts: int | None = None
        self._step = max(1, round(1 / ((info.frame_rate or FALLBACK_RATE) * info.time_base)))
        self._time_base = info.time_base
        self.frames = 0
        self.first_pts = 0  # the first frame's time stamp written, in time_base units (once frames > 0)
        self.end_pts = 0  # the end of the last frame written, in time_base units (once frames > 0)

    def _add_video(self, info: VideoInfo, crf: int) -> av.video.stream.VideoStream:
        rate = info.frame_rate or FALLBACK_RATE
        stream = self._output.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": PRESET, "bf": "0"})
        stream.height, stream.width = even_size(info.height, info.width)
        stream.pix_fmt = "yuv420p"
        stream.time_base = stream.codec_context.time_base = info.time_base
        context = stream.codec_context
        self._tags, lost = written(info.color)
        if lost:
            self.warn(lost)
        context.color_primaries, context.color_trc = self._tags.primaries, self._tags.transfer
        context.colorspace, context.color_range = self._tags.matrix, self._tags.range
        if info.sample_aspect_ratio:
            context.sample_aspect_ratio = info.sample_aspect_ratio
        if info.display_matrix:
            stream.set_display_matrix(info.display_matrix)
        return stream

    def _add_audio(self, source: av.audio.stream.AudioStream, supported: set[str]) -> AudioOutcome:
        codec = codec_name(source)
        label = f"sound stream {source.index} ({codec})"
        if audio_is_copyable(codec, supported) and mp4_takes(source):
            self._audio[source.index] = SoundTrack(self._output.add_stream_from_template(source), True, label)
            return AudioOutcome(codec, "copied")
        context = source.codec_context
        if context is None or not context.sample_rate:
            self.warn(f"{label} cannot be decoded; left out")
            return AudioOutcome(codec, "dropped")
        layout = encoder_layout(context.layout)
        rate, target = aac_target(context.sample_rate, layout)
        stream = self._output.add_stream("aac", rate=rate, layout=target)
        stream.bit_rate = min(AAC_BITRATE_PER_CHANNEL * stream.codec_context.channels, MAX_AAC_BITRATE)
        stream.time_base = Fraction(1, rate)
        self._audio[source.index] = SoundTrack(stream, False, label)
        change = ""
        if (rate, av.AudioLayout(target).name) != (context.sample_rate, av.AudioLayout(layout).name):
            change = f"{describe(context.sample_rate, layout)} -> {describe(rate, target)}"
            self.warn(
                f"{label}: AAC cannot hold {describe(context.sample_rate, layout)}; resampled to {describe(rate, target)}"
            )
        return AudioOutcome(codec, "re-encoded to aac", change)

    def warn(self, message: str) -> None:
        """A warning about the film: logged after the film's name, and kept in ``warnings`` as is."""
        log.warning("%s: %s", self.name, message)
        self.warnings.append(message)

    def write_frame(self, rgb: np.ndarray, pts: int | None, duration: int | None) -> None:
        """uint8 HxWx3 RGB (the stored size; padded here to even) with its input time stamp and
        duration (in the input stream's time base; None: one frame after the last)."""
        height, width = rgb.shape[:2]
        pad_rows, pad_columns = height % 2, width % 2
        if pad_rows or pad_columns:  # repeat the last row / column; 4:2:0 needs even sizes
            rgb = np.pad(rgb, ((0, pad_rows), (0, pad_columns), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format="yuv420p",
            dst_colorspace=self._tags.sws_matrix,
            dst_color_range=self._tags.range,
            interpolation=SWS_FLAGS,
        )
        pts = self._next_pts(pts)
        frame.pts, frame.time_base = pts, self._time_base
        if duration:
            frame.duration = duration
        self._mux(self._video.encode(frame))
        self.frames += 1
        self.first_pts = pts if self.frames == 1 else self.first_pts
        self.end_pts = pts + (duration or self._step)

    def _next_pts(self, pts: int | None) -> int:
        """The input's time stamp less the start offset; made strictly increasing (H.264 needs it)."""
        if pts is None:
            pts = self._last_pts + self._step if self._last_pts is not None else 0
        else:
            pts -= round(self._start / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            self.warn(f"frame time stamp {pts} not after {self._last_pts}; moved")
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def write_audio(self, packet: av.Packet) -> None:
        """One packet of an input audio stream, in file order (empty packets flush the decoder).
        VideoTooLargeError once the sound decoded is over the film's ``SoundBudget``; VideoError
        naming the stream when FFmpeg cannot write it."""
        track = self._audio.get(packet.stream.index)
        if track is None:
            return
        try:
            if track.copy:
                self._copy(packet, track)
                return
            for frame in decode_packet(packet, self.name):
                track.count(frame)
                decoded = sum(track.samples for track in self._audio.values())
                self._sound_budget.check_decoded(decoded, track.seconds, track.label, self.name)
                self._mux(track.encode(frame, self._start))
        except av.error.FFmpegError as error:
            raise VideoError(f"{self.name}: {track.label} cannot be written ({ffmpeg_reason(error)})") from None

    def _copy(self, packet: av.Packet, track: SoundTrack) -> None:
        if packet.dts is None or not packet.size:
            return
        shift = round(self._start / packet.time_base) if packet.time_base else 0
        packet.pts = packet.pts - shift if packet.pts is not None else None
        packet.dts -= shift
        packet.stream = track.stream
        self._output.mux(packet)

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self._output.mux(packet)

    def close(self) -> None:
        """Flush the encoders and finish the MP4."""
        self._mux(self._video.encode(None))
        for track in self._audio.values():
            if not track.copy:
                try:
                    self._mux(track.flush())
                except av.error.FFmpegError as error:
                    raise VideoError(f"{self.name}: {track.label} cannot be written ({ffmpeg_reason(error)})") from None
        self._closed = True
        self._output.close()

    def abort(self) -> None:
        """Close without finishing (the file is incomplete and must be removed)."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(av.error.FFmpegError, ValueError):
                self._output.close()


def check_reaches(declared: float | None, reached: float, frame: float, name: str) -> None:
    """VideoError when a film's content stops at ``reached`` seconds, well before the ``declared``
    duration (None: not declared): a truncated file whose container has no index to tell, or a
    header that lies. Two frames (``frame`` seconds each) or 1 % of slack."""
    if declared and reached < declared - max(2 * frame, 0.01 * declared):
        raise VideoError(
            f"{name}: truncated or damaged: it stops at {reached:.2f} s of the {declared:.2f} s it declares"
        )


def _check_index(container: av.container.InputContainer, path: Path, tail: int = 64) -> None:
    """VideoError when the container's index (MP4, MOV) places data past the end of the file: a
    truncated download or copy, which would otherwise give a shortened film without complaint."""
    size = path.stat().st_size
    end = 0
    for stream in container.streams:
        entries = stream.index_entries
        for position in range(max(0, len(entries) - tail), len(entries)):
            entry = entries[position]
            end = max(end, entry.pos + entry.size)
    if end > size:
        raise VideoError(f"{path.name}: truncated: the file has {size:,} bytes but its index refers to {end:,}")


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _quarter_turns(degrees: float | None) -> int:
    """Counter-clockwise degrees -> 0..3 quarter turns; 0 for angles that are not multiples of 90."""
    if degrees is None or not math.isfinite(degrees) or round(degrees) % 90:
        return 0
    return round(degrees) // 90 % 4


def ffmpeg_reason(error: av.error.FFmpegError) -> str:
    """FFmpeg's message for an error, one line."""
    return (getattr(error, "strerror", None) or str(error)).splitlines()[0]
