"""A corpus of crafted and hostile films, generated here with PyAV and byte edits (a few KB each), with
what the library, the command line and the app must do with each, and a resource bound.

    from testkit.hostile_films import film_cases, measure_films
    corpus = film_cases(tmp_path / "films")
    results = measure_films(corpus, model, tmp_path / "out")   # each through colorize_video, measured
    for case, result in zip(corpus, results):
        assert result.matches(case.expect) and result.within(case.bound)

``expect`` is ``Written`` (the MP4 written: encoded size, frames, rotation, and where said its sound
and the warning it came with) or ``Refused`` (the
exception class and a regex its one-line message must match, as testkit.hostile_files has it);
``app`` and ``cli`` say where a front end differs from the library (the app's limits are a public
page's; the command line takes a file that is not a film as a photo: ``Photo``). ``frames`` and
``frame_pixels`` are what an accepted film really holds, and ``bound`` the budget for colorizing it
(testkit.hostile_bounds's film rule): every frame costs a network pass at the render size, however
small, so the budget grows with frames and with decoded pixels, never with what a header claims.

``measure_films`` runs each film through ``colorizer.colorize_video`` (library defaults) in one
process of its own (``python -m testkit.hostile_films MODEL``: requests on stdin, JSON results on
stdout), whose peak RSS is reset before each film and CPU time read after it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from appkit.config import PUBLIC_FILM_LIMITS
from testkit.hostile_bounds import film_rss_bytes, film_seconds
from testkit.hostile_corpus import scene
from testkit.hostile_files import Bound, Refused, png_chunk, png_header
from testkit.measured import step_cost
from testkit.video_clips import write_clip

REPO_ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 64, 48  # the accepted films' frames
ACCEPTED_FRAMES = 2  # each costs a network pass in each front end: few, but enough for the stabilizer
LIMIT = "more than the limit of"
NOT_A_PHOTO = r"not a recognised image format"  # the command line takes what is not a film as a photo
BOMB_SIDE = 16_000  # a frame of 16000 x 16000 16-bit RGBA: 2 GB, under FFmpeg's own size limit
MANY_FRAMES, FAST_RATE = (
    (PUBLIC_FILM_LIMITS.max_frames or 0) + 1,
    1000,
)  # frames of 16 x 16 at 1,000 frames/s: one over the app's limit
GAP_SECONDS = 1_000_000  # between the third and fourth frame of the VFR film
DECLARED_SECONDS = 1_000_000  # the Matroska duration of a 0.2 s film
MP4_SAMPLES = 70_000_000  # a 1.6 KB MP4's sample table declares this many 100-byte samples
FRAGMENT_SAMPLES = 50_000_000  # a movie fragment's 'trun' declares this many
SOUND_PACKETS = 10_000  # one-byte sound packets beside two frames (the budget: 8,320)
LONG_SOUND_SECONDS = 20  # of MP2 sound beside two frames (0.08 s)
RESAMPLED = "aac 48000 Hz stereo"  # what sound AAC cannot hold becomes


@dataclass(frozen=True)
class Written:
    """Colorized into an MP4 of ``width`` x ``height`` (encoded: odd sides grow by one), ``frames``
    frames, turned ``rotation`` degrees by players (kept from a usable display matrix, else 0)."""

    width: int
    height: int
    frames: int
    rotation: int = 0
    sound: str | None = None  # the output's sound ("aac 48000 Hz stereo", "none"); None: not checked
    warning: str | None = None  # a regex one of the film's warnings matches; None: not checked


@dataclass(frozen=True)
class Photo:
    """Not a film: the command line colorizes it as a photo, into a PNG of this size."""

    width: int
    height: int


Expectation = Written | Refused | Photo


@dataclass(frozen=True)
class FilmCase:
    name: str
    path: Path
    expect: Written | Refused  # through colorize_video with the library's defaults
    what: str  # one line for the report
    app: Written | Refused | None = None  # through the app's film endpoint, where it differs
    cli: Expectation | None = None  # through python -m colorizer, where it differs
    passes_before_refusal: int = 0  # network passes the library may spend on it before refusing it

    def expect_for(self, front: str) -> Expectation:
        """The expectation for "library", "cli" or "app"."""
        return {"library": self.expect, "cli": self.cli or self.expect, "app": self.app or self.expect}[front]

    def frames_for(self, front: str) -> int:
        expect = self.expect_for(front)
        return expect.frames if isinstance(expect, Written) else 0

    def pixels_for(self, front: str) -> int:
        """Pixels of one frame an accepted film really holds (0 when refused)."""
        expect = self.expect_for(front)
        return expect.width * expect.height if isinstance(expect, Written | Photo) else 0

    def bound_for(self, front: str) -> Bound:
        frames, pixels = self.frames_for(front), self.pixels_for(front)
        return Bound(film_rss_bytes(frames, pixels), film_seconds(frames, pixels))

    @property
    def bound(self) -> Bound:
        return self.bound_for("library")


@dataclass(frozen=True)
class FilmResult:
    """What colorizing one film in the measuring process did."""

    outcome: str  # "written", "refused" or "crashed" (an exception that is not the library's own)
    error: str
    message: str
    width: int
    height: int
    frames: int
    rotation: int
    rss_bytes: int  # peak RSS during the film above the RSS just before it
    seconds: float
    cpu_seconds: float
    leftovers: tuple[str, ...]  # files in the film's output folder after a refusal
    network_passes: int  # frames the network ran on, refused or not
    sound: str = "none"  # the output's sound (``output_sound``)
    warnings: tuple[str, ...] = ()  # the film's warnings (VideoResult.warnings)

    def matches(self, expect: Written | Refused) -> bool:
        if isinstance(expect, Written):
            return (
                self.outcome == "written"
                and (self.width, self.height, self.frames, self.rotation)
                == (expect.width, expect.height, expect.frames, expect.rotation)
                and expect.sound in (None, self.sound)
                and warned(expect, "\n".join(self.warnings))
            )
        return expect.matched_by(self.outcome, self.error, self.message)

    def within(self, bound: Bound) -> bool:
        return bound.admits(self.rss_bytes, self.cpu_seconds)


def warned(expect: Written, text: str) -> bool:
    """Whether ``text`` (the warnings, or a front end's stderr) has the warning ``expect`` says."""
    return expect.warning is None or re.search(expect.warning, text) is not None


def output_sound(path: Path) -> str:
    """A film's first sound stream read back by PyAV: "aac 48000 Hz stereo", or "none"."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return "none"
        context = container.streams.audio[0].codec_context
        return f"{context.name} {context.sample_rate} Hz {context.layout.name}"


# --- the corpus -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    make: Callable[[Path], bytes]  # the film's bytes (given a scratch folder)
    expect: Written | Refused
    what: str
    app: Written | Refused | None = None
    cli: Expectation | None = None
    passes_before_refusal: int = 0


def film_cases(folder: Path) -> list[FilmCase]:
    """Write every film into ``folder`` (created if needed) and return the cases in a fixed order."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as scratch:
        for spec in _specs():
            path = folder / spec.name
            path.write_bytes(spec.make(Path(scratch)))
            made.append(
                FilmCase(spec.name, path, spec.expect, spec.what, spec.app, spec.cli, spec.passes_before_refusal)
            )
    return made


def film_case_names() -> list[str]:
    """The names ``film_cases`` returns, in order, without writing anything."""
    return [spec.name for spec in _specs()]


def _refused(error: str, name: str, message: str) -> Refused:
    return Refused(error, rf"^{re.escape(name)}: {message}")


def _specs() -> list[_Spec]:
    video, too_large = "VideoError", "VideoTooLargeError"
    written = Written(WIDTH, HEIGHT, ACCEPTED_FRAMES)
    damaged = Written(WIDTH, HEIGHT, 3)
    specs = [
        # Damaged containers.
        _Spec(
            "moov_missing.mp4",
            lambda scratch: _cut(_mp4(scratch, _frames(8)), 0.6),
            _refused(video, "moov_missing.mp4", r"no video stream: the file holds no streams at all \(truncated"),
            "MP4 written index-last, cut at 60 %: no index",
        ),
        _Spec(
            "mdat_cut.mp4",
            lambda scratch: _cut(_mp4(scratch, _frames(8), faststart=True), 0.6),
            _refused(video, "mdat_cut.mp4", r"truncated: the file has [\d,]+ bytes but its index refers to [\d,]+$"),
            "MP4 written index-first, cut at 60 %: the index points past the end",
        ),
        _Spec(
            "corrupt_middle.avi",
            lambda scratch: _mjpeg_avi([_jpeg(frame, cut=index == 1) for index, frame in enumerate(_frames(3))]),
            damaged,
            "MJPEG AVI whose middle frame loses the second half of its data: decoded as far as it goes",
        ),
        _Spec(
            "notes.mp4",
            lambda scratch: b"Dear diary,\nthis is not a film.\n" * 20,
            _refused(video, "notes.mp4", r"not a video this colorizer can read \(unknown container"),
            "text named .mp4",
            app=_refused(video, "notes.mp4", r"not a video file \(send photos to the photo endpoint\)$"),
            cli=_refused("ImageDecodeError", "notes.mp4", NOT_A_PHOTO),
        ),
        _Spec(
            "animated.gif",
            lambda scratch: _gif(_frames(3)),
            _refused(video, "animated.gif", r"a still image \(GIF\), not a video; colorize it as a photo$"),
            "3-frame GIF: the film readers take no image formats",
            app=_refused(video, "animated.gif", r"not a video file \(send photos to the photo endpoint\)$"),
            cli=Photo(WIDTH, HEIGHT),
        ),
        _Spec(
            "no_frames.mkv",
            _no_frames,
            _refused(video, "no_frames.mkv", r"the video stream has no frame that decodes$"),
            "Matroska with an H.264 track and no frame, and half a second of sound",
        ),
        _Spec(
            "audio_only.mp4",
            _audio_only,
            _refused(video, "audio_only.mp4", r"no video stream \(audio only\)$"),
            "AAC sound alone, named .mp4",
        ),
        # Frame sizes: headers, and frames whose own header lies about the container's.
        _Spec(
            "frame_lies_16000x16000.avi",
            lambda scratch: _png_avi(
                (WIDTH, HEIGHT), [_png(WIDTH, HEIGHT), _png(BOMB_SIDE, BOMB_SIDE, 16, 6, rows=1), _png(WIDTH, HEIGHT)]
            ),
            _refused(
                video, "frame_lies_16000x16000.avi", r"corrupt video data.*, or a frame of more than [\d,]+ pixels"
            ),
            "PNG-in-AVI, 64 x 48 in its header; the second frame's PNG declares 16000 x 16000 16-bit RGBA "
            "(2 GB) over one row of data",
            passes_before_refusal=1,  # the first frame is colorized before the second is read
        ),
        _Spec(
            "first_frame_lies.avi",
            lambda scratch: _png_avi((WIDTH, HEIGHT), [_png(BOMB_SIDE, BOMB_SIDE, 16, 6, rows=1)] * 2),
            _refused(video, "first_frame_lies.avi", r"corrupt video data at 0\.00 s, or a frame of more than"),
            "the same lie in the first frame, which FFmpeg decodes while opening the file",
        ),
        _Spec(
            "declares_12000x12000.mkv",
            lambda scratch: _mjpeg_mkv((12_000, 12_000), [_jpeg_declaring(12_000, 12_000)] * 2),
            _refused(video, "declares_12000x12000.mkv", r"corrupt video data at 0\.00 s, or a frame of more than"),
            "MJPEG Matroska whose header and JPEG frames declare 12000 x 12000 over 8 x 8 pixels of data (FFmpeg "
            "decodes the first frame while opening the file, before the header can be checked)",
        ),
        _Spec(
            "wide_20000x16.avi",
            lambda scratch: _png_avi((20_000, 16), [_png(20_000, 16)] * 2),
            _refused(too_large, "wide_20000x16.avi", rf"20000x16 frames have a side of 20,000 pixels, {LIMIT} 16,384 "),
            "20000 x 16 frames: under the pixel limits, past what H.264 encodes",
        ),
        _Spec(
            "line_1000000x1.avi",
            lambda scratch: _png_avi((WIDTH, HEIGHT), [_png(1_000_000, 1)] * 2),
            _refused(video, "line_1000000x1.avi", r"1000000x1 frames are too small to colorize as a film"),
            "PNG-in-AVI whose frames declare 1,000,000 x 1",
            app=_refused(
                video, "line_1000000x1.avi", r"corrupt video data at 0\.00 s, or a frame of more than 921,600"
            ),
        ),
        _Spec(
            "tiny_2x2.avi",
            lambda scratch: _png_avi((2, 2), [_png(2, 2)] * 5),
            _refused(video, "tiny_2x2.avi", r"2x2 frames are too small to colorize as a film \(at least 16 "),
            "five 2 x 2 frames (OpenCV's optical flow raised cv2.error on them)",
        ),
        # Frames and time.
        _Spec(
            "fast_1000fps.mp4",
            lambda scratch: _mp4(scratch, _frames(MANY_FRAMES, 16, 16), fps=FAST_RATE),
            _refused(too_large, "fast_1000fps.mp4", rf"3,601 frames in 3\.60 s, {LIMIT} 240 frames a second$"),
            f"{MANY_FRAMES:,} frames of 16 x 16 at {FAST_RATE:,} frames/s (~70 KB; each frame a network pass)",
            app=_refused(too_large, "fast_1000fps.mp4", rf"3,601 frames, {LIMIT} 3,600$"),
        ),
        _Spec(
            "declares_1e6_s.mkv",
            lambda scratch: _mkv_duration(_mkv(scratch, _frames(5)), DECLARED_SECONDS),
            _refused(video, "declares_1e6_s.mkv", r"truncated or damaged: it stops at 0\.20 s of the 1000000\.00 s"),
            "0.2 s Matroska whose header says 1,000,000 s (refused from its packets, before any frame is colorized)",
            app=_refused(too_large, "declares_1e6_s.mkv", rf"1000000\.0 s long, {LIMIT} 60 s$"),
        ),
        _Spec(
            "gap_1e6_s.mkv",
            lambda scratch: _mkv(scratch, _frames(2), pts=[0, GAP_SECONDS * 1000], time_base=Fraction(1, 1000)),
            _refused(video, "gap_1e6_s.mkv", r"the frame at 0\.00 s lasts 1,000,000 s, longer than an MP4 frame can"),
            "variable frame rate: the second frame a million seconds after the first (written, it came out "
            "one tick after it)",
            passes_before_refusal=1,
            app=_refused(too_large, "gap_1e6_s.mkv", rf"1000000\.0 s long, {LIMIT} 60 s$"),
        ),
        # Index amplification: what FFmpeg allocates while opening.
        _Spec(
            "sample_table_bomb.mp4",
            lambda scratch: _stsz_bomb(_mp4(scratch, _frames(2), faststart=True), MP4_SAMPLES),
            _refused(video, "sample_table_bomb.mp4", rf"an MP4 track declares {MP4_SAMPLES:,} samples needing"),
            f"1.6 KB MP4 whose sample table declares {MP4_SAMPLES:,} samples of 100 bytes (FFmpeg's index: 850 MB)",
        ),
        _Spec(
            "fragment_bomb.mp4",
            lambda scratch: _trun_bomb(_fragmented_mp4(_frames(2)), FRAGMENT_SAMPLES),
            _refused(video, "fragment_bomb.mp4", rf"an MP4 track declares {FRAGMENT_SAMPLES:,} samples needing"),
            f"fragmented MP4 whose 'trun' declares {FRAGMENT_SAMPLES:,} samples (FFmpeg's index: 1.7 GB)",
        ),
        # Display matrices.
        _Spec(
            "zero_matrix.mp4",
            lambda scratch: _mp4(scratch, _frames(ACCEPTED_FRAMES), matrix=(0,) * 9),
            written,
            "display matrix of zeros (was copied: players showed the picture turned 232 degrees and collapsed)",
        ),
        _Spec(
            "turned_minus_90.mp4",
            lambda scratch: _mp4(scratch, _frames(ACCEPTED_FRAMES), rotation=-90),
            Written(HEIGHT, WIDTH, ACCEPTED_FRAMES, rotation=270),
            "rotation -90 degrees (stored 48 x 64): kept, as 270",
        ),
        # Sound (issue #23, items 9 and 10) and frames of another size.
        _Spec(
            "sound_packets.mkv",
            lambda scratch: _sound_packets(SOUND_PACKETS),
            _refused(
                too_large,
                "sound_packets.mkv",
                rf"the sound holds {SOUND_PACKETS:,} packets for 0\.08 s of pictures, {LIMIT} 8,320 \(4,000 a second",
            ),
            f"two frames and {SOUND_PACKETS:,} one-byte PCM packets (an 8 MB film of such packets took 92 CPU s)",
        ),
        _Spec(
            "long_sound.avi",
            lambda scratch: _long_sound(scratch, LONG_SOUND_SECONDS),
            _refused(
                too_large,
                "long_sound.avi",
                rf"sound stream 1 \(mp2\) lasts longer than the film's 0\.08 s of pictures by {LIMIT} 2 s$",
            ),
            f"two frames and {LONG_SOUND_SECONDS} s of MP2 sound (decoded and re-encoded: its cost grows with it)",
            passes_before_refusal=ACCEPTED_FRAMES,  # the sound is refused as it is decoded, beside the frames
        ),
        _Spec(
            "sound_192khz.mkv",
            lambda scratch: _pcm_film(192_000, 2, "stereo"),
            Written(
                WIDTH,
                HEIGHT,
                ACCEPTED_FRAMES,
                sound=RESAMPLED,
                warning=r"sound stream 1 \(pcm_s16le\): AAC cannot hold 192000 Hz stereo; resampled to 48000 Hz stereo",
            ),
            '192 kHz PCM (failed the whole film: "FFmpeg failed (Invalid argument)")',
        ),
        _Spec(
            "sound_16_channels.mkv",
            lambda scratch: _pcm_film(48_000, 16, "hexadecagonal", seconds=0.04),
            Written(
                WIDTH,
                HEIGHT,
                ACCEPTED_FRAMES,
                sound=RESAMPLED,
                warning=r"AAC cannot hold 48000 Hz 16 channels; resampled to 48000 Hz stereo",
            ),
            "16-channel PCM (failed the whole film the same way)",
        ),
        _Spec(
            "size_change.avi",
            lambda scratch: _png_avi((WIDTH, HEIGHT), [_png(WIDTH, HEIGHT), _png(96, 72)]),
            Written(
                WIDTH,
                HEIGHT,
                ACCEPTED_FRAMES,
                warning=r"the frames change size at 0\.04 s \(96x72 after 64x48\); those of another",
            ),
            "PNG-in-AVI whose frames grow from 64 x 48 to 96 x 72 (scaled without a word)",
        ),
    ]
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names)), "case names must be unique"
    return specs


# --- builders --------------------------------------------------------------------------------------------


def _frames(count: int, width: int = WIDTH, height: int = HEIGHT) -> list[np.ndarray]:
    """``count`` uint8 HxWx3 grey frames: the corpus scene panning right a pixel a frame."""
    grey = scene(width + count, height)
    return [np.repeat(grey[:, index : index + width, None], 3, axis=2) for index in range(count)]


def _mp4(
    scratch: Path,
    frames: list[np.ndarray],
    *,
    fps: int = 25,
    faststart: bool = False,
    rotation: int = 0,
    matrix: tuple[int, ...] | None = None,
) -> bytes:
    path = scratch / "clip.mp4"
    if matrix is None:
        write_clip(path, frames, fps=fps, faststart=faststart, rotation=rotation)
        return path.read_bytes()
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps, options={"bf": "0"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.set_display_matrix(matrix)
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path.read_bytes()


def _mkv(scratch: Path, frames: list[np.ndarray], **options) -> bytes:
    path = scratch / "clip.mkv"
    write_clip(path, frames, container="matroska", **options)
    return path.read_bytes()


def _fragmented_mp4(frames: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    height, width = frames[0].shape[:2]
    movflags = "frag_keyframe+empty_moov+default_base_moof"
    with av.open(buffer, "w", format="mp4", options={"movflags": movflags}) as output:
        stream = output.add_stream("libx264", rate=25, options={"bf": "0"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def _cut(data: bytes, share: float) -> bytes:
    return data[: int(len(data) * share)]


def _box(data: bytes | bytearray, kind: bytes) -> int:
    """The offset of the first ``kind`` box (its size field)."""
    return data.index(kind) - 4


def _stsz_bomb(data: bytes, samples: int) -> bytes:
    """An MP4 whose sample size table ('stsz') says ``samples`` samples of 100 bytes each (constant
    size: no table in the file) and whose time table ('stts') says as many."""
    edited = bytearray(data)
    stsz = _box(edited, b"stsz")  # size, type, version and flags, constant size, count
    edited[stsz + 12 : stsz + 20] = struct.pack(">II", 100, samples)
    stts = _box(edited, b"stts")  # size, type, version and flags, entries, (count, delta) ...
    edited[stts + 16 : stts + 20] = struct.pack(">I", samples)
    return bytes(edited)


def _trun_bomb(data: bytes, samples: int) -> bytes:
    """A fragmented MP4 whose first 'trun' says ``samples`` samples and no per-sample fields (each
    of the fragment's default size)."""
    edited = bytearray(data)
    trun = _box(edited, b"trun")  # size, type, version and flags, count
    edited[trun + 8 : trun + 16] = struct.pack(">II", 0x000005, samples)  # data offset, first sample flags
    return bytes(edited)


def _mkv_duration(data: bytes, seconds: float) -> bytes:
    """A Matroska file whose Segment Info Duration (ID 0x4489, an 8-byte float of milliseconds at the
    default timestamp scale) says ``seconds``."""
    edited = bytearray(data)
    at = edited.index(b"\x44\x89\x88")
    edited[at + 3 : at + 11] = struct.pack(">d", seconds * 1000)
    return bytes(edited)


def _png(width: int, height: int, depth: int = 8, colour: int = 0, rows: int | None = None) -> bytes:
    """A PNG of width x height (colour type 0 grey, 6 RGBA) whose data holds ``rows`` rows (all of
    them by default) of a grey ramp, compressed row by row."""
    channels = {0: 1, 6: 4}[colour]
    row = b"\x00" + bytes(i * 255 // max(width - 1, 1) for i in range(width)) * channels * (depth // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows)) + compressor.flush()
    return png_header(width, height, depth, colour) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def _png_avi(declared: tuple[int, int], frames: list[bytes], fps: int = 25) -> bytes:
    """An AVI of PNG frames (the bytes given, muxed as they are) whose header declares ``declared``
    (width, height)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="avi") as output:
        stream = output.add_stream("png", rate=fps)
        stream.width, stream.height = declared
        stream.pix_fmt = "gray"
        for index, data in enumerate(frames):
            packet = av.Packet(data)
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, index, index, Fraction(1, fps)
            output.mux(packet)
    return buffer.getvalue()


def _jpeg(frame: np.ndarray, cut: bool = False) -> bytes:
    """uint8 HxWx3 -> a baseline JPEG; ``cut``: without the second half of its entropy-coded data."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    if not cut:
        return data
    scan = data.index(b"\xff\xda")
    return data[: scan + (len(data) - scan) // 2] + b"\xff\xd9"


def _jpeg_declaring(width: int, height: int) -> bytes:
    """An 8 x 8 grey baseline JPEG whose SOF0 declares width x height."""
    data = bytearray(_jpeg(np.full((8, 8, 3), 128, np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)  # SOF: length, precision, height, width
    return bytes(data)


def _mjpeg_mkv(declared: tuple[int, int], frames: list[bytes]) -> bytes:
    return _mjpeg_avi(frames, size=declared, container="matroska")


def _mjpeg_avi(
    frames: list[bytes], fps: int = 25, size: tuple[int, int] = (WIDTH, HEIGHT), container: str = "avi"
) -> bytes:
    """Motion JPEG: the JPEG bytes given, muxed as they are, under a header declaring ``size``."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream("mjpeg", rate=fps)
        (stream.width, stream.height), stream.pix_fmt = size, "yuvj420p"
        for index, data in enumerate(frames):
            packet = av.Packet(data)
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, index, index, Fraction(1, fps)
            output.mux(packet)
    return buffer.getvalue()


def _gif(frames: list[np.ndarray]) -> bytes:
    images = [Image.fromarray(frame[..., 0]) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def _tone_frames(stream, seconds: float):
    rate = stream.codec_context.sample_rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * rate)) / rate)).astype(np.float32)[None]
    for start in range(0, samples.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[:, start : start + 1024]), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        yield frame


def _no_frames(scratch: Path) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as output:
        video = output.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        sound = output.add_stream("aac", rate=44100, layout="mono")
        for frame in _tone_frames(sound, 0.5):
            output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    return buffer.getvalue()


def _video_stream(output: av.container.OutputContainer) -> av.video.stream.VideoStream:
    video = output.add_stream("libx264", rate=25, options={"bf": "0"})
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    return video


def _two_frames(output: av.container.OutputContainer, video: av.video.stream.VideoStream) -> None:
    """ACCEPTED_FRAMES frames of the corpus scene, 25 a second, into ``video`` (``_video_stream``)."""
    for index, pixels in enumerate(_frames(ACCEPTED_FRAMES)):
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts, frame.time_base = index, Fraction(1, 25)
        output.mux(video.encode(frame))
    output.mux(video.encode(None))


def _sound_packets(count: int) -> bytes:
    """Matroska: two frames, and ``count`` one-byte 8-bit PCM packets spread over their 80 ms."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as output:
        video = _video_stream(output)
        sound = output.add_stream("pcm_u8", rate=8000, layout="mono")
        _two_frames(output, video)
        for index in range(count):
            packet = av.Packet(b"\x80")
            packet.stream, packet.time_base = sound, Fraction(1, 1000)
            packet.pts = packet.dts = index * 40 * ACCEPTED_FRAMES // count
            output.mux(packet)
    return buffer.getvalue()


def _long_sound(scratch: Path, seconds: float) -> bytes:
    """AVI (its streams keep their own durations; MP4 would call MP2 MP3, which is copied): two
    frames and ``seconds`` of 8 kb/s MP2 tone."""
    path = scratch / "long_sound.avi"
    with av.open(str(path), "w", format="avi") as output:
        video = _video_stream(output)
        sound = output.add_stream("mp2", rate=16000, layout="mono")
        sound.bit_rate = 8000
        _two_frames(output, video)
        for frame in _tone_frames(sound, seconds):
            output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    return path.read_bytes()


def _pcm_film(rate: int, channels: int, layout: str, seconds: float = 0.08) -> bytes:
    """Matroska: two frames and ``seconds`` of a 16-bit PCM tone of ``rate`` and ``channels``."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as output:
        video = _video_stream(output)
        sound = output.add_stream("pcm_s16le", rate=rate, layout=layout)
        _two_frames(output, video)
        count = round(seconds * rate)
        wave = np.rint(0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(count) / rate)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(wave, channels)[None], format="s16", layout=layout)  # interleaved
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    return buffer.getvalue()


def _audio_only(scratch: Path) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        sound = output.add_stream("aac", rate=44100, layout="mono")
        for frame in _tone_frames(sound, 0.5):
            output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    return buffer.getvalue()


# --- measuring --------------------------------------------------------------------------------------------


def measure_films(cases: list[FilmCase], model: Path, out_dir: Path, *, overtime: float = 3.0) -> list[FilmResult]:
    """Colorize each case with ``colorize_video`` (the library's defaults) into ``out_dir/<name>/``, in
    one process of its own that loads ``model`` once: peak RSS reset before each film, CPU time read
    after it. A film that kills the process (a crash; running ``overtime`` times its bound's seconds,
    at least a minute) and those after it are "crashed"."""
    timeouts = [max(60.0, overtime * case.bound.seconds) for case in cases]
    requests = "".join(
        json.dumps([str(case.path), str(out_dir / case.name), timeout]) + "\n" for case, timeout in zip(cases, timeouts)
    )
    completed = subprocess.run(
        [sys.executable, "-m", "testkit.hostile_films", str(model)],
        input=requests,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=sum(timeouts) + 120,
        check=False,
        env={**os.environ, "OPENCV_LOG_LEVEL": "ERROR"},
    )
    lines = completed.stdout.strip().splitlines()
    results = [
        FilmResult(**{**fields, "leftovers": tuple(fields["leftovers"]), "warnings": tuple(fields["warnings"])})
        for fields in map(json.loads, lines)
    ]
    crashed = FilmResult(
        "crashed", f"exit {completed.returncode}", completed.stderr[-2000:], 0, 0, 0, 0, 0, 0.0, 0.0, (), 0, "none"
    )
    return results + [crashed] * (len(cases) - len(results))


class _Counting:
    """A Colorizer that counts its network passes (``predict``, the network's half of a colorize)."""

    def __init__(self, colorizer):
        self._colorizer = colorizer
        self.passes = 0

    def predict(self, *args, **kwargs):
        self.passes += 1
        return self._colorizer.predict(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._colorizer, name)


def _measure_here(colorizer, source: Path, out_dir: Path) -> dict:
    """Colorize one film in this process: outcome, what was written, peak RSS growth, seconds."""
    from colorizer.errors import ColorizerError
    from colorizer.pipeline import colorize_video
    from testkit.video_clips import read_film

    width = height = frames = rotation = 0
    sound, warnings = "none", ""  # the output's sound; the film's warnings, one a line
    counting = _Counting(colorizer)
    with step_cost() as cost:
        try:
            result = colorize_video(counting, source, out_dir / "film_color.mp4")
            outcome, error, message = "written", "", ""
        except ColorizerError as refusal:
            outcome, error, message = "refused", type(refusal).__name__, str(refusal)
        except BaseException as other:
            outcome, error, message = "crashed", type(other).__name__, str(other)[:500]
    if outcome == "written":
        film = read_film(result.path, audio=False)  # read back by PyAV, not by colorizer.video
        width, height, frames, rotation = film.width, film.height, film.frames, film.rotation
        sound, warnings = output_sound(result.path), "\n".join(result.warnings)
    return {
        "outcome": outcome,
        "error": error,
        "message": message,
        "width": width,
        "height": height,
        "frames": frames,
        "rotation": rotation,
        "rss_bytes": cost.rss_bytes,
        "seconds": cost.seconds,
        "cpu_seconds": cost.cpu_seconds,
        "leftovers": sorted(path.name for path in out_dir.iterdir())
        if outcome != "written" and out_dir.exists()
        else [],
        "network_passes": counting.passes,
        "sound": sound,
        "warnings": warnings.splitlines(),
    }


def _serve(model: str) -> int:
    """Requests on stdin (JSON [film, output folder, timeout] per line), one JSON result per line."""
    import signal

    from colorizer import Colorizer
    from colorizer.pixels import load_kernels

    colorizer = Colorizer(model)
    colorizer.colorize(np.full((48, 64), 128, np.uint8))  # the session's and the kernels' first-use costs
    load_kernels()
    for line in sys.stdin:
        source, out_dir, timeout = json.loads(line)
        signal.alarm(math.ceil(timeout))  # SIGALRM's default action ends the process
        print(json.dumps(_measure_here(colorizer, Path(source), Path(out_dir))), flush=True)
        signal.alarm(0)
    return 0


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1]))
