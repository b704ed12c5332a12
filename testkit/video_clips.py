"""Small test films made here with PyAV, and what a written film holds, read back independently.

A virtual camera pans and zooms slowly over a colour photo (``camera_frames``); the frames are turned
grey with the photo's own Lab lightness (``grey``), so the true colour of every frame is known.
``write_clip`` encodes them with any codec, pixel format, container, rotation, time stamps and a tone
for sound; ``read_film`` reports what a file holds, through PyAV but not through colorizer.video.

    frames = list(camera_frames(photo, 160, 96, 12, pan=(1.5, 0.5)))
    write_clip(tmp_path / "pan.mp4", [grey(f) for f in frames], audio="aac")
    film = read_film(tmp_path / "pan.mp4")

``Shot`` describes one shot (a photo, a camera motion, an object crossing); ``shots_frames`` films
several in a row, cut to one another, and says where the cuts are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

TONE_HZ = 440.0
# accurate YUV -> RGB (swscale's default is ~2 levels off on coloured pixels)
ACCURATE = (
    av.video.reformatter.Interpolation.BILINEAR
    | av.video.reformatter.Interpolation.ACCURATE_RND
    | av.video.reformatter.Interpolation.FULL_CHR_H_INT
)


def load_photo(path: Path) -> np.ndarray:
    """A photo file -> uint8 HxWx3 RGB."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)  # OpenCV reads BGR


def camera_frames(
    photo: np.ndarray, width: int, height: int, count: int, *, pan: tuple[float, float] = (0.0, 0.0), zoom: float = 1.0
) -> Iterator[np.ndarray]:
    """A camera moving over ``photo`` (uint8 HxWx3 RGB): ``count`` uint8 height x width x 3 frames.

    pan: output pixels the view moves per frame (x, y); zoom: magnification per frame (1.01 is 1 %
    closer each frame). The photo is first cropped to the frame's aspect and scaled to 1.5 times
    the frame, so the view starts on its middle with room to move."""
    photo_height, photo_width = photo.shape[:2]
    aspect = width / height
    crop_width = min(photo_width, round(photo_height * aspect))
    crop_height = min(photo_height, round(crop_width / aspect))
    top, left = (photo_height - crop_height) // 2, (photo_width - crop_width) // 2
    base_width, base_height = round(width * 1.5), round(height * 1.5)
    base = cv2.resize(
        photo[top : top + crop_height, left : left + crop_width],
        (base_width, base_height),
        interpolation=cv2.INTER_AREA,
    )  # cv2: (w, h)
    for index in range(count):
        scale = zoom**index  # output pixels per base pixel
        centre_x = base_width / 2 + pan[0] * index / scale
        centre_y = base_height / 2 + pan[1] * index / scale
        # base -> output: x_out = scale * (x_base - centre_x) + width / 2, same for y
        matrix = np.array(
            [[scale, 0, width / 2 - scale * centre_x], [0, scale, height / 2 - scale * centre_y]], np.float32
        )
        yield cv2.warpAffine(
            base, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )  # cv2: (w, h)


def with_object(
    frames: Iterable[np.ndarray], patch: np.ndarray, start: tuple[float, float], velocity: tuple[float, float]
) -> Iterator[np.ndarray]:
    """Frames (uint8 HxWx3) with ``patch`` (uint8 hxwx3, an elliptical cut-out of it) moving over
    them on its own: top-left corner at ``start`` + t * ``velocity`` pixels (sub-pixel, bilinear).
    It hides and uncovers the background, as a person walking through a panning shot does."""
    patch_height, patch_width = patch.shape[:2]
    mask = np.zeros((patch_height, patch_width), np.float32)
    cv2.ellipse(mask, (patch_width // 2, patch_height // 2), (patch_width // 2, patch_height // 2), 0, 0, 360, 1.0, -1)
    for index, frame in enumerate(frames):
        height, width = frame.shape[:2]
        left, top = start[0] + velocity[0] * index, start[1] + velocity[1] * index
        matrix = np.array([[1, 0, left], [0, 1, top]], np.float32)
        moved = cv2.warpAffine(patch, matrix, (width, height), flags=cv2.INTER_LINEAR)  # cv2: (w, h)
        alpha = cv2.warpAffine(mask, matrix, (width, height), flags=cv2.INTER_LINEAR)[..., None]  # HxW -> HxWx1
        yield np.rint(frame * (1 - alpha) + moved * alpha).astype(np.uint8)


@dataclass(frozen=True)
class Shot:
    """One shot of a test film: the camera over ``photos[photo]`` for ``frames`` frames.

    pan (x, y) output pixels a frame and zoom (magnification a frame), as ``camera_frames`` takes
    them, given for a frame 640 wide (scaled to the film's width). object: the velocity (x, y,
    pixels a frame at 640 wide) of an elliptical cut-out of ``photos[object_photo]`` (default: the
    next photo), ``object_size`` of the frame's height, crossing the frame's middle at mid-shot.
    """

    photo: int
    frames: int
    pan: tuple[float, float] = (0.0, 0.0)
    zoom: float = 1.0
    object: tuple[float, float] | None = None
    object_photo: int | None = None
    object_size: float = 1 / 3


def shot_frames(photos: list[np.ndarray], shot: Shot, width: int, height: int) -> list[np.ndarray]:
    """The colour frames (uint8 height x width x 3 RGB) of one ``Shot`` over ``photos``."""
    scale = width / 640  # motions are given at 640 wide
    pan = (shot.pan[0] * scale, shot.pan[1] * scale)
    frames = list(camera_frames(photos[shot.photo % len(photos)], width, height, shot.frames, pan=pan, zoom=shot.zoom))
    if shot.object is None:
        return frames
    velocity = (shot.object[0] * scale, shot.object[1] * scale)
    side = round(height * shot.object_size)
    source = shot.object_photo if shot.object_photo is not None else shot.photo + 1
    patch = next(camera_frames(photos[source % len(photos)], side, side, 1))
    start = (
        width / 2 - side / 2 - velocity[0] * shot.frames / 2,
        height / 2 - side / 2 - velocity[1] * shot.frames / 2,
    )
    return list(with_object(frames, patch, start, velocity))


def shots_frames(
    photos: list[np.ndarray], shots: Iterable[Shot], width: int, height: int
) -> tuple[list[np.ndarray], list[int]]:
    """Shots one after another (uint8 height x width x 3 RGB colour frames), and the index of the
    first frame of every shot after the first: where the cuts are."""
    frames: list[np.ndarray] = []
    cuts = []
    for shot in shots:
        if frames:
            cuts.append(len(frames))
        frames.extend(shot_frames(photos, shot, width, height))
    return frames, cuts


def lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 HxWx3 Lab (L 0..100), OpenCV's conversion."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> uint8 HxWx3 grey RGB with (to rounding) the same Lab lightness."""
    grey_lab = lab(rgb)
    grey_lab[..., 1:] = 0
    return np.rint(np.clip(cv2.cvtColor(grey_lab, cv2.COLOR_Lab2RGB), 0, 1) * 255).astype(np.uint8)


def tone(seconds: float, sample_rate: int = 44100, channels: int = 1) -> np.ndarray:
    """A 440 Hz sine, float32 channels x samples in -0.5..0.5."""
    samples = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = (0.5 * np.sin(2 * np.pi * TONE_HZ * samples)).astype(np.float32)
    return np.repeat(wave[None], channels, axis=0)


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    fps: Fraction | int = 25,
    codec: str = "libx264",
    pixel_format: str = "yuv420p",
    container: str | None = None,
    rotation: int = 0,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    audio: str | None = None,
    audio_rate: int = 44100,
    audio_seconds: float | None = None,
    faststart: bool = False,
) -> Path:
    """Encode uint8 HxWx3 RGB frames (as displayed) into a film at ``path``.

    rotation: counter-clockwise degrees a player should turn the stored picture; the frames are
        stored turned the other way, so the film displays them as given.
    pts: each frame's time stamp in ``time_base`` units (variable frame rate); default 0, 1, 2 ...
        at 1 / fps.
    audio: an audio codec ("aac", "mp3", "pcm_s16le", ...) for a tone as long as the video (or
        ``audio_seconds``), or None.
    faststart: MP4/MOV with its index before the data (as streamed files are).
    """
    frames = list(frames)
    fps = Fraction(fps)
    time_base = time_base or 1 / fps
    pts = pts if pts is not None else [round(index / fps / time_base) for index in range(len(frames))]
    turns = rotation // 90
    stored = [np.ascontiguousarray(np.rot90(frame, -turns)) for frame in frames]
    height, width = stored[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, options=options) as output:
        video = output.add_stream(codec, rate=fps, options={"bf": "0"} if codec == "libx264" else {})
        video.width, video.height, video.pix_fmt = width, height, pixel_format
        video.time_base = video.codec_context.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            layout = "mono"
            sound = output.add_stream(audio, rate=audio_rate, layout=layout)
        for frame_pixels, stamp in zip(stored, pts):
            frame = av.VideoFrame.from_ndarray(frame_pixels, format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        if sound is not None:
            seconds = audio_seconds or float((pts[-1] + round(1 / fps / time_base)) * time_base)
            _write_tone(output, sound, tone(seconds, audio_rate))
    return path


def _write_tone(output, stream, samples: np.ndarray) -> None:
    rate = stream.codec_context.sample_rate
    chunk = stream.codec_context.frame_size or 1024
    for start in range(0, samples.shape[1], chunk):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[:, start : start + chunk]), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        output.mux(stream.encode(frame))
    output.mux(stream.encode(None))


@dataclass
class Film:
    """What a film file holds. Sizes are as stored; ``rotation`` is what a player applies."""

    container: str
    width: int
    height: int
    pixel_format: str
    codec: str
    frames: int
    frame_rate: Fraction | None
    rotation: int
    frame_times: list[float]  # each frame's time stamp, seconds, in presentation order
    frame_end: float  # the last frame's time stamp + its duration, seconds
    audio_codec: str | None = None
    audio_seconds: float | None = None
    audio_packets: list[bytes] = field(default_factory=list)


def read_film(path: Path, *, audio: bool = True, audio_payloads: bool = True) -> Film:
    """Decode ``path`` fully with PyAV and report its video and (``audio``) first audio stream."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        times, rotation, end = [], 0, 0.0
        for frame in container.decode(video):
            times.append(float(frame.pts * frame.time_base))
            end = max(end, float((frame.pts + (frame.duration or 0)) * frame.time_base))
            rotation = frame.rotation or 0
        film = Film(
            container.format.name,
            video.codec_context.width,
            video.codec_context.height,
            video.codec_context.pix_fmt,
            video.codec_context.name,
            len(times),
            video.average_rate,
            round(rotation) % 360,
            sorted(times),
            end,
        )
    if not audio:
        return film
    with av.open(str(path)) as container:
        if container.streams.audio:
            sound = container.streams.audio[0]
            film.audio_codec = sound.codec_context.name
            samples = 0
            for packet in container.demux(sound):
                if packet.size:
                    film.audio_packets.append(bytes(packet) if audio_payloads else b"")
                    samples += sum(frame.samples for frame in packet.decode())
            film.audio_seconds = samples / sound.codec_context.sample_rate
    return film


def film_frames(path: Path) -> Iterator[np.ndarray]:
    """The film's frames as stored, uint8 HxWx3 RGB, in presentation order."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24", interpolation=ACCURATE)
