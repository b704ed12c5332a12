"""A film's colour tags (issue #25, item 5): primaries, transfer, matrix and range are read from the
input and written to the output, and the frames are encoded with that matrix and range, so that a
player honouring the tags shows the output's greys as it showed the input's.

The films are written here with PyAV in BT.601 and BT.709 limited range and in full range, as bands
of known grey levels (Y codes straight into the encoder, chroma neutral); the output is read back with
PyAV, honouring its tags. The network adds colour, so the greys are compared by their lightness L*,
which the colorizer keeps. A range misread or miswritten moves the dark bands by 4 L* or more (a
full-range black written as limited comes out at 16/255, L* 5)."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from colorizer import Colorizer
from colorizer.errors import VideoError
from colorizer.pipeline import colorize_video
from colorizer.video.color_tags import ColorTags, read_tags, written

pytestmark = pytest.mark.slow  # films' colour tags: films, not in the quick subset

WIDTH, HEIGHT, BAND = 96, 48, 16
LEVELS = (0.0, 0.1, 0.5, 0.9, 1.0)  # of the range: black, dark grey, mid-grey, light grey, white
BT601 = {"color_primaries": 6, "color_trc": 6, "colorspace": 6, "color_range": 1}  # SMPTE 170M, limited
BT709 = {"color_primaries": 1, "color_trc": 1, "colorspace": 1, "color_range": 1}
FULL = {"color_primaries": 1, "color_trc": 1, "colorspace": 1, "color_range": 2}  # what a yuvj420p film says
FULL_ALONE = {"color_range": 2}  # a JPEG-style film that says its range and nothing else (FFmpeg: yuvj420p)
WRITTEN_UNTAGGED = (1, 1, 1, 1)  # BT.709 limited range


@pytest.fixture(scope="module")
def colorizer(synthetic_model):
    return Colorizer(synthetic_model)


def grey_film(path, tags: dict, *, full: bool):
    """An H.264 MP4 tagged ``tags`` of three frames of vertical bands at LEVELS (Y 0..255 or 16..235)."""
    low, high = (0, 255) if full else (16, 235)
    luma = np.zeros((HEIGHT, WIDTH), np.uint8)
    for index, level in enumerate(LEVELS):
        luma[:, index * BAND : (index + 1) * BAND] = round(low + level * (high - low))
    planes = np.concatenate([luma, np.full((HEIGHT // 2, WIDTH), 128, np.uint8)])  # yuv420p: Y, then U and V
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=25, options={"bf": "0", "crf": "0"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for key, value in tags.items():
            setattr(stream.codec_context, key, value)
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def read_back(path) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
    """The middle frame: its tags (primaries, transfer, matrix, range), each band's mean L* (RGB
    decoded by FFmpeg honouring the tags) and median Y code."""
    with av.open(str(path)) as container:
        frame = list(container.decode(video=0))[1]
        tags = (frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range)
        rgb = frame.to_ndarray(format="rgb24")
        luma = frame.to_ndarray()[:HEIGHT]
    lightness = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 0]
    inner = [np.s_[8:-8, index * BAND + 4 : (index + 1) * BAND - 4] for index in range(len(LEVELS))]
    return (
        tags,
        np.array([lightness[band].mean() for band in inner]),
        np.array([np.median(luma[band]) for band in inner]),
    )


@pytest.mark.parametrize(
    ("tags", "full", "written"),
    [
        (BT601, False, (6, 6, 6, 1)),
        (BT709, False, (1, 1, 1, 1)),
        (FULL, True, (1, 1, 1, 2)),
        (FULL_ALONE, True, (1, 1, 1, 2)),  # the range kept; what it leaves unsaid written as BT.709
        ({}, False, WRITTEN_UNTAGGED),  # untagged: decoded as FFmpeg assumes (BT.601 limited), tagged BT.709
    ],
    ids=["bt601", "bt709", "full", "full-alone", "untagged"],
)
def test_output_keeps_the_tags_and_the_greys(tmp_path, colorizer, tags, full, written):
    source = grey_film(tmp_path / "reel.mp4", tags, full=full)
    result = colorize_video(colorizer, source, tmp_path / "reel_color.mp4")
    in_tags, in_lightness, _ = read_back(source)
    out_tags, out_lightness, out_luma = read_back(result.path)
    assert in_tags[3] == (2 if full else tags.get("color_range", 0))  # the film says what the test meant
    assert out_tags == written, f"tags {out_tags}, expected {written} (input {in_tags})"
    truth = cv2.cvtColor(np.array([LEVELS] * 3, np.float32).T[None], cv2.COLOR_RGB2Lab)[0, :, 0]  # grey RGB -> L*
    np.testing.assert_allclose(in_lightness, truth, atol=0.6, err_msg="the input's own greys")
    # Black and the dark band, where a range error shows most (black at 16/255 is L* 5; the dark band
    # moves by 4); mid and light greys within a small tolerance; white a little lower: the colour the
    # network adds to it is clipped into RGB, which costs lightness.
    assert out_lightness[0] <= 2.5, f"black came out at L* {out_lightness[0]:.1f}"
    np.testing.assert_allclose(out_lightness[1:4], in_lightness[1:4], atol=2.0, err_msg="grey bands' L*")
    assert out_lightness[4] >= 95, f"white came out at L* {out_lightness[4]:.1f}"
    black = out_luma[0]  # the output's own code for black: its range, written
    assert black <= 8 if written[3] == 2 else 14 <= black <= 24, f"black coded as Y {black}"
    assert result.warnings == ()


def test_a_matrix_swscale_cannot_read_is_refused_in_one_line(tmp_path, colorizer):
    """YCgCo (8): H.264 can say it, swscale cannot turn it into RGB (it failed the first frame with
    "FFmpeg failed (Operation not supported)"); refused before any work, naming the matrix."""
    source = grey_film(tmp_path / "ycgco.mp4", {**BT601, "colorspace": 8}, full=False)
    with pytest.raises(VideoError, match=r"^ycgco\.mp4: its colour matrix \(YCgCo\) is not one this colorizer reads"):
        colorize_video(colorizer, source, tmp_path / "out" / "ycgco_color.mp4")
    assert not (tmp_path / "out").exists()


def test_what_h264_cannot_hold_is_written_as_bt709_with_a_note():
    """EBU 3213 primaries (22) have no H.264 code (libx264 drops them): BT.709's, said in the note;
    the rest kept. Unsaid values are not noted."""
    kept, note = written(ColorTags(primaries=22, transfer=6, matrix=6, range=2))
    assert kept == ColorTags(1, 6, 6, 2)
    assert note == (
        "its colour primaries (primaries 22, transfer 6, matrix 6, full range) cannot be written in H.264; "
        "BT.709's written instead"
    )
    assert written(ColorTags()) == (ColorTags(1, 1, 1, 1), None)


def test_rgb_and_grey_frames_say_no_matrix_or_range():
    """A PNG's RGB or grey frames (FFmpeg tags them full range, matrix RGB) are written as before."""
    for pixel_format in ("rgb24", "gray"):
        frame = av.VideoFrame(16, 16, pixel_format)
        frame.color_range, frame.colorspace = 2, 0
        tags = read_tags(frame)
        assert (tags.matrix, tags.range) == (2, 0), pixel_format
        assert written(tags) == (ColorTags(1, 1, 1, 1), None)
