"""Films: colorize_video on clips made here with PyAV (testkit/video_clips.py), read back independently.

The network is the random-weight model (its colours are arbitrary but deterministic), so the tests
check what the pipeline must keep (frames, time stamps, size, rotation, sound, lightness), that
colour is there, that stabilization lowers flicker, and that bad input is refused cleanly. Each
network call costs ~0.5 s here, so the clips are a few frames long and one film serves many checks.
"""

from __future__ import annotations

import re
import shutil
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from colorizer import Colorizer
from colorizer.color import lightness
from colorizer.errors import ColorizerError, VideoError, VideoTooLargeError
from colorizer.pipeline import colorize_video
from colorizer.video import (
    FrameColorizer,
    StabilizerSettings,
    TemporalStabilizer,
    is_video,
    probe,
    warping_error,
)
from colorizer.video.flow import FlowEstimator, consistent, flow_image, warp
from testkit.fixtures import NO_SHARED, shared_photos
from testkit.video_clips import (
    _write_tone,
    camera_frames,
    film_frames,
    grey,
    lab,
    load_photo,
    read_film,
    tone,
    write_clip,
)

pytestmark = pytest.mark.slow  # films: not in the quick subset

FPS = 25
FRAMES = 6  # of the panning film
CHROMA = 4.0  # ab units: a pixel with |ab| above this is coloured, not grey


@pytest.fixture(scope="module")
def colorizer(synthetic_model) -> Colorizer:
    return Colorizer(synthetic_model)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    paths = shared_photos()
    if len(paths) < 2:
        pytest.skip(NO_SHARED)
    return [load_photo(path) for path in paths[:2]]


def pattern(width: int = 160, height: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth synthetic colour 'photo' (uint8 HxWx3 RGB) for tests that need no real photo."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)  # cv2: (w, h)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def lightness_error(output: np.ndarray, source: np.ndarray) -> float:
    """Mean |L| difference between two uint8 HxWx3 RGB frames (the output may be padded)."""
    height, width = source.shape[:2]
    return float(np.abs(lightness(output[:height, :width]) - lightness(source)).mean())


# --- one panning film, odd-sized, with a tone: colorized stabilized and per-frame --------------------


@pytest.fixture(scope="module")
def pan(tmp_path_factory, photos, colorizer):
    """A slow pan and zoom over a real photo, 161x97 (odd: 4:4:4 H.264 takes it), 6 frames, AAC tone."""
    folder = tmp_path_factory.mktemp("pan")
    colour = list(camera_frames(photos[0], 161, 97, FRAMES, pan=(1.5, 0.5), zoom=1.01))
    source = write_clip(folder / "pan.mp4", [grey(frame) for frame in colour], pixel_format="yuv444p", audio="aac")
    calls = []
    stable = colorize_video(
        colorizer,
        source,
        folder / "out" / "pan_color.mp4",
        progress=lambda done, total, rate: calls.append((done, total, rate)),
    )
    plain = colorize_video(colorizer, source, folder / "out" / "pan_plain.mp4", stabilize=False)
    return dict(source=source, colour=colour, stable=stable, plain=plain, calls=calls, folder=folder)


def test_pan_keeps_frames_rate_time_stamps_and_size(pan):
    source, result = read_film(pan["source"]), pan["stable"]
    film = read_film(result.path)
    assert (result.frames, film.frames) == (FRAMES, FRAMES)
    assert film.codec == "h264" and film.pixel_format == "yuv420p"
    assert film.frame_rate == FPS and result.frame_rate == FPS
    assert film.frame_times == pytest.approx(source.frame_times, abs=1e-3)
    assert film.frame_end == pytest.approx(source.frame_end, abs=1e-3)
    assert result.seconds == pytest.approx(FRAMES / FPS)
    # 4:2:0 needs even sides: the odd last row and column are repeated, nothing is cropped
    assert (film.width, film.height) == (result.width, result.height) == (162, 98)
    first = next(film_frames(result.path)).astype(int)
    assert np.abs(first[:, -1] - first[:, -2]).mean() < 3 and np.abs(first[-1] - first[-2]).mean() < 3
    assert leftovers(result.path.parent) == ["pan_color.mp4", "pan_plain.mp4"]


def test_pan_copies_the_audio_bit_for_bit(pan):
    source, film = read_film(pan["source"]), read_film(pan["stable"].path)
    assert [str(outcome) for outcome in pan["stable"].audio] == ["aac copied"]
    assert film.audio_codec == source.audio_codec == "aac"
    assert film.audio_packets == source.audio_packets and len(film.audio_packets) > 5
    assert abs(film.audio_seconds - source.audio_seconds) <= 1 / FPS


def test_pan_keeps_the_lightness_and_adds_colour(pan):
    for output, colour in zip(film_frames(pan["stable"].path), pan["colour"]):
        assert lightness_error(output, grey(colour)) < 2.0
        ab = lab(output)[..., 1:]
        coloured = (np.hypot(ab[..., 0], ab[..., 1]) > CHROMA).mean()
        assert coloured > 0.3, f"only {coloured:.0%} of the pixels have colour"


def test_progress_reports_every_frame(pan):
    calls = pan["calls"]
    assert [done for done, _, _ in calls] == list(range(1, FRAMES + 1))
    assert all(total == FRAMES and rate > 0 for _, total, rate in calls)


def test_stabilization_lowers_the_warping_error(pan):
    """Measured on the decoded films, so both carry the same codec loss."""

    def flicker(path: Path) -> float:
        frames = list(film_frames(path))
        return warping_error([lightness(frame) for frame in frames], [lab(frame)[..., 1:] for frame in frames])

    stable, plain = flicker(pan["stable"].path), flicker(pan["plain"].path)
    assert stable < 0.7 * plain, f"warping error stabilized {stable:.2f} vs per-frame {plain:.2f}"


def test_per_frame_output_is_the_photo_pipeline(pan, colorizer):
    """stabilize=False gives, frame by frame, what Colorizer.colorize gives for the decoded frame:
    exactly in memory, and to within H.264's loss in the film."""
    decoded = next(film_frames(pan["source"]))
    expected = colorizer.colorize(decoded)
    np.testing.assert_array_equal(FrameColorizer(colorizer)(decoded), expected)
    got, want = lab(next(film_frames(pan["plain"].path))[:97, :161]), lab(expected)
    assert np.abs(got[..., 0] - want[..., 0]).mean() < 1.0
    chroma = np.hypot(want[..., 1], want[..., 2]).mean()
    assert np.abs(got[..., 1:] - want[..., 1:]).mean() < 0.3 * chroma  # 4:2:0 halves the colour's resolution


# --- rotation, time stamps, cuts, audio re-encoding, bit depths --------------------------------------


def test_rotation_is_kept_and_the_network_sees_the_picture_upright(tmp_path, colorizer):
    upright = [pattern(96, 160)]  # displayed 96 wide, 160 high
    turned = write_clip(tmp_path / "phone.mp4", upright, rotation=90)
    plain = write_clip(tmp_path / "plain.mp4", upright)
    info = probe(turned)
    assert (info.rotation, info.width, info.height) == (90, 160, 96)
    result = colorize_video(colorizer, turned, tmp_path / "phone_color.mp4", stabilize=False)
    reference = colorize_video(colorizer, plain, tmp_path / "plain_color.mp4", stabilize=False)
    film = read_film(result.path)
    assert (film.rotation, film.width, film.height) == (90, 160, 96) and result.rotation == 90
    stored, shown = next(film_frames(result.path)), next(film_frames(reference.path))
    displayed = np.rot90(stored, 1)  # a player turns it 90 degrees counter-clockwise
    # what the film would hold had the network been shown the stored, sideways picture
    sideways = np.rot90(FrameColorizer(colorizer)(next(film_frames(turned))), 1)
    error = np.abs(lab(displayed)[..., 1:] - lab(shown)[..., 1:]).mean()
    sideways_error = np.abs(lab(sideways)[..., 1:] - lab(shown)[..., 1:]).mean()
    assert error < 0.5 * sideways_error, f"ab error {error:.2f}; shown sideways it would be {sideways_error:.2f}"


def test_variable_frame_rate_time_stamps_are_kept_and_a_cut_gets_the_network(tmp_path, photos, colorizer):
    first = [grey(f) for f in camera_frames(photos[0], 160, 96, 3, pan=(1.0, 0.0))]
    second = [grey(f) for f in camera_frames(photos[1], 160, 96, 3, pan=(1.0, 0.0))]
    stamps = [0, 40, 80, 200, 240, 400]  # milliseconds: gaps of 40, 120 and 160
    source = write_clip(tmp_path / "vfr.mkv", first + second, pts=stamps, time_base=Fraction(1, 1000))
    result = colorize_video(colorizer, source, tmp_path / "vfr_color.mp4", network_every=2)
    film = read_film(result.path)
    assert film.frame_times == pytest.approx([stamp / 1000 for stamp in stamps], abs=1e-3)
    assert result.frames == 6 and result.scene_cuts == 1
    # the network ran on frames 0, 2, 5 and on 3, the cut, which the colour cannot be carried across
    assert result.network_frames == 4


@pytest.mark.parametrize(
    "name, container, rate",
    [
        ("pcm.mov", None, 44100),
        ("pcm.mkv", "matroska", 44100),  # Matroska's PCM only counts its channels ("1 channels")
        ("pcm 8k.mkv", "matroska", 8000),
    ],
)
def test_audio_mp4_cannot_take_is_re_encoded_to_aac(tmp_path, colorizer, name, container, rate):
    frames = [pattern(seed=index) for index in range(3)]
    source = write_clip(tmp_path / name, frames, audio="pcm_s16le", container=container, audio_rate=rate)
    result = colorize_video(colorizer, source, tmp_path / "pcm_color.mp4", stabilize=False)
    film, original = read_film(result.path), read_film(source)
    assert [str(outcome) for outcome in result.audio] == ["pcm_s16le re-encoded to aac"]
    assert film.audio_codec == "aac" and original.audio_codec == "pcm_s16le"
    assert abs(film.audio_seconds - original.audio_seconds) <= 1 / FPS + 1024 / rate  # an AAC frame of padding
    with av.open(str(result.path)) as output:
        assert output.streams.audio[0].codec_context.layout.name == "mono"


@pytest.mark.parametrize(
    "codec, pixel_format, container",
    [
        ("libx264", "yuv420p10le", "matroska"),  # 10-bit
        ("libx264", "yuv444p", "mp4"),  # 4:4:4
        ("ffv1", "yuv420p", "matroska"),  # odd size, lossless
    ],
)
def test_deep_full_chroma_and_odd_inputs_give_8_bit_4_2_0(tmp_path, colorizer, codec, pixel_format, container):
    width, height = (161, 97) if codec == "ffv1" else (160, 96)
    frames = [grey(pattern(width, height, seed=index)) for index in range(2)]
    source = write_clip(tmp_path / "in.mkv", frames, codec=codec, pixel_format=pixel_format, container=container)
    assert read_film(source).pixel_format == pixel_format
    result = colorize_video(colorizer, source, tmp_path / "out.mp4", stabilize=False)
    film = read_film(result.path)
    assert (film.codec, film.pixel_format, film.frames) == ("h264", "yuv420p", 2)
    assert (film.width, film.height) == (width + width % 2, height + height % 2)
    for output, frame in zip(film_frames(result.path), frames):
        assert lightness_error(output, frame) < 2.0


# --- the stabilizer and the measure, without the network ---------------------------------------------


def test_stabilizer_restarts_at_a_cut_and_not_within_a_shot(photos):
    settings = StabilizerSettings()
    for photo in photos:  # within a shot: no cut
        stabilizer = TemporalStabilizer(settings)
        for frame in camera_frames(photo, 160, 96, 6, pan=(2.0, 1.0), zoom=1.01):
            stabilizer.update(lightness(grey(frame)), np.zeros((96, 160, 2), np.float32))
        assert stabilizer.cuts == 0
    stabilizer = TemporalStabilizer(settings)
    red, blue = np.full((96, 160, 2), (40, 30), np.float32), np.full((96, 160, 2), (10, -40), np.float32)
    a = [lightness(grey(f)) for f in camera_frames(photos[0], 160, 96, 3, pan=(1.0, 0.0))]
    b = [lightness(grey(f)) for f in camera_frames(photos[1], 160, 96, 2, pan=(1.0, 0.0))]
    for plane in a:
        stabilizer.update(plane, red)
    blended = stabilizer.update(a[-1], blue)  # the same picture again: it keeps some of the old colour
    assert np.abs(blended - blue).mean() > 5
    assert stabilizer.cuts == 0
    assert stabilizer.carry(a[-1]) is not None  # within the shot the colour can be carried
    assert stabilizer.carry(b[0]) is None  # not across the cut: the network must see it
    after_cut = stabilizer.update(b[0], blue)  # a new shot: the new colour as it is
    assert stabilizer.cuts == 1
    np.testing.assert_array_equal(after_cut, blue)


def test_stabilizer_carries_colour_along_the_motion():
    """A textured picture moving 3 px right a frame: the previous colour follows it."""
    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur(rng.random((120, 220), np.float32) * 100, (0, 0), 2)
    frames = [np.ascontiguousarray(texture[10:106, 30 - 3 * t : 190 - 3 * t]) for t in range(2)]  # 96x160
    colour = np.zeros((96, 160, 2), np.float32)
    colour[:, 40:80] = 50  # a stripe of colour on frame 0
    stabilizer = TemporalStabilizer(StabilizerSettings(blend=0.9))
    stabilizer.update(frames[0], colour)
    out = stabilizer.update(frames[1], np.zeros_like(colour))  # the network now says "no colour"
    stripe_moved = out[20:76, 48:78, 0].mean()  # the stripe is now at x 43..83
    stripe_old = out[20:76, 40:43, 0].mean()
    assert stripe_moved > 35 and stripe_old < 25
    assert stabilizer.trusted_share > 0.8


def test_flow_warp_and_consistency_on_a_known_shift():
    rng = np.random.default_rng(2)
    texture = cv2.GaussianBlur(rng.random((96, 200), np.float32) * 100, (0, 0), 1.5)
    first, second = texture[:, 20:180], texture[:, 16:176]  # content moves 4 px right
    estimator = FlowEstimator("medium")
    forward = estimator(flow_image(first, first.shape), flow_image(second, second.shape))
    backward = estimator(flow_image(second, second.shape), flow_image(first, first.shape))
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(forward[inner][..., 0]) == pytest.approx(4.0, abs=0.3)
    np.testing.assert_allclose(warp(second, forward)[inner], first[inner], atol=6)
    trusted = consistent(forward, backward)
    assert trusted[inner].mean() > 0.8
    assert trusted[:, -3:].mean() < 0.2  # leaves the frame: occluded


def test_warping_error_is_zero_for_steady_colour_and_grows_with_flicker():
    rng = np.random.default_rng(3)
    planes = [cv2.GaussianBlur(rng.random((64, 96), np.float32) * 100, (0, 0), 2)] * 3
    steady = [np.full((64, 96, 2), 20, np.float32)] * 3
    flicker = [np.full((64, 96, 2), value, np.float32) for value in (20, 26, 20)]
    assert warping_error(planes, steady) == pytest.approx(0.0, abs=1e-6)
    assert warping_error(planes, flicker) == pytest.approx(2 * 6**2, rel=1e-3)  # |(6, 6)|^2


# --- recognising films, bad input, limits, interruption ---------------------------------------------


@pytest.fixture(scope="module")
def small_films(tmp_path_factory) -> dict[str, Path]:
    """Films and non-films (names that lie included), made once."""
    folder = tmp_path_factory.mktemp("films")
    frames = [pattern(seed=index) for index in range(3)]
    made = {
        "mp4": write_clip(folder / "clip.mp4", frames, audio="aac"),
        "mkv": write_clip(folder / "clip.mkv", frames),
        "avi": write_clip(folder / "clip.avi", frames, codec="mpeg4"),
        "no_extension": write_clip(folder / "clip", frames, container="mp4"),
    }
    data = made["mp4"].read_bytes()
    ok, jpeg = cv2.imencode(".jpg", frames[0])
    png = cv2.imencode(".png", frames[0])[1].tobytes()
    bad = {
        "photo.mp4": jpeg.tobytes(),
        "png.mp4": png,
        "sequence.mp4": jpeg.tobytes() * 4,
        "empty.mp4": b"",
        "text.mp4": b"not a film\n" * 100,
        "truncated.mp4": data[: len(data) // 2],
    }
    long = [pattern(seed=index % 3) for index in range(8)]
    for name, clip in (
        ("indexed.mp4", write_clip(folder / "indexed_full.mp4", long, faststart=True)),
        ("truncated.mkv", write_clip(folder / "full.mkv", long, audio="aac")),
    ):
        whole = clip.read_bytes()
        bad[name] = whole[: len(whole) // 2]
    bad["corrupt.mp4"] = (
        data[: len(data) // 2]
        + bytes(np.random.default_rng(4).integers(0, 256, 1500, np.uint8))
        + data[len(data) // 2 + 1500 :]
    )
    for name, content in bad.items():
        made[name] = folder / name
        made[name].write_bytes(content)
    with av.open(str(folder / "tone.m4a"), "w") as output:  # audio only
        _write_tone(output, output.add_stream("aac", rate=44100, layout="mono"), tone(0.3))
    made["tone.m4a"] = folder / "tone.m4a"
    return made


@pytest.mark.parametrize(
    "name, expected",
    [
        ("mp4", True),
        ("mkv", True),
        ("avi", True),
        ("no_extension", True),
        ("photo.mp4", False),
        ("png.mp4", False),
        ("sequence.mp4", False),
        ("empty.mp4", False),
        ("text.mp4", False),
        ("tone.m4a", False),
        # damaged films are films: colorize_video says what is wrong with them
        ("truncated.mp4", True),
        ("indexed.mp4", True),
        ("truncated.mkv", True),
        ("corrupt.mp4", True),
    ],
)
def test_is_video_judges_by_content(small_films, name, expected):
    assert is_video(small_films[name]) is expected


@pytest.mark.parametrize(
    "name, message",
    [
        ("photo.mp4", r"photo\.mp4: a still image \(JPEG\), not a video"),
        ("png.mp4", r"png\.mp4: a still image \(PNG\)"),
        ("sequence.mp4", r"sequence\.mp4: a still image \(JPEG\)"),
        ("empty.mp4", r"empty\.mp4: empty file"),
        ("text.mp4", r"text\.mp4: not a video this colorizer can read"),
        ("truncated.mp4", r"truncated\.mp4: not a video this colorizer can read .*truncated"),  # index at the end
        ("indexed.mp4", r"indexed\.mp4: truncated: the file has [\d,]+ bytes but its index refers to [\d,]+"),
        ("truncated.mkv", r"truncated\.mkv: truncated or damaged: it stops at [\d.]+ s of the [\d.]+ s it declares"),
        ("tone.m4a", r"tone\.m4a: no video stream \(audio only\)"),
    ],
)
def test_bad_input_is_refused_in_one_line_and_nothing_is_left(tmp_path, small_films, colorizer, name, message):
    output = tmp_path / "out"
    with pytest.raises(VideoError, match=message) as refused:
        colorize_video(colorizer, small_films[name], output / "result.mp4")
    assert "\n" not in str(refused.value)
    assert leftovers(output) == []


def test_damaged_data_is_refused_or_skipped_in_time(tmp_path, small_films, colorizer):
    """Garbage inside a film: FFmpeg either reports it (a one-line VideoError, nothing written) or
    skips what does not decode; then the film holds the frames that do, at their own times."""
    output = tmp_path / "out" / "result.mp4"
    try:
        result = colorize_video(colorizer, small_films["corrupt.mp4"], output)
    except VideoError as error:
        assert re.match(r"corrupt\.mp4: corrupt video data at [\d.]+ s \(.+\)$", str(error)), str(error)
        assert leftovers(output.parent) == []
        return
    # (the damaged sound is copied as it is, so only the video is decoded here)
    film, original = read_film(result.path, audio=False), read_film(small_films["mp4"], audio=False)
    assert 1 <= film.frames <= original.frames
    assert set(np.round(film.frame_times, 3)) <= set(np.round(original.frame_times, 3))


def test_missing_file_is_a_video_error(tmp_path, colorizer):
    with pytest.raises(VideoError, match=r"nothing\.mp4: cannot open"):
        colorize_video(colorizer, tmp_path / "nothing.mp4", tmp_path / "out.mp4")
    assert is_video(tmp_path / "nothing.mp4") is False


@pytest.mark.parametrize(
    "limits, message",
    [
        (dict(max_duration=0.05), r"clip\.mp4: 0\.1 s long, more than the limit of 0\.05 s"),
        (dict(max_pixels=160 * 96 - 1), r"clip\.mp4: 160x96 frames are 15,360 pixels, more than the limit of 15,359"),
    ],
)
def test_limits_are_refused_before_any_work(tmp_path, small_films, limits, message):
    class NoNetwork:  # the refusal must come before the first frame reaches the network
        def predict(self, *args, **kwargs):
            raise AssertionError("the network was called")

    with pytest.raises(VideoTooLargeError, match=message):
        colorize_video(NoNetwork(), small_films["mp4"], tmp_path / "out" / "result.mp4", **limits)
    assert leftovers(tmp_path / "out") == []


def test_bad_options_are_refused(tmp_path, small_films, colorizer):
    with pytest.raises(ColorizerError, match="crf 60 must be between 0 and 51"):
        colorize_video(colorizer, small_films["mp4"], tmp_path / "out.mp4", crf=60)
    with pytest.raises(ColorizerError, match="unknown upsampling 'sharp'"):
        colorize_video(colorizer, small_films["mp4"], tmp_path / "out.mp4", upsample="sharp")
    with pytest.raises(ColorizerError, match="network_every 2 must be 1, or more with stabilization"):
        colorize_video(colorizer, small_films["mp4"], tmp_path / "out.mp4", stabilize=False, network_every=2)
    with pytest.raises(ColorizerError, match="render size 100"):
        colorize_video(colorizer, small_films["mp4"], tmp_path / "out.mp4", render_size=100)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_interruption_mid_way_leaves_no_file(tmp_path, small_films, colorizer, interruption):
    def progress(done, total, rate):
        if done == 1:
            raise interruption("stop")

    with pytest.raises(interruption):
        colorize_video(colorizer, small_films["mp4"], tmp_path / "result.mp4", progress=progress)
    assert leftovers(tmp_path) == []


def test_an_existing_output_is_replaced_only_when_done(tmp_path, small_films, colorizer):
    target = tmp_path / "result.mp4"
    shutil.copy(small_films["mkv"], target)
    before = target.read_bytes()

    def progress(done, total, rate):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(colorizer, small_films["mp4"], target, progress=progress)
    assert target.read_bytes() == before and leftovers(tmp_path) == ["result.mp4"]
