"""Colour hints: parsing and bounds, and the network input they become, against a construction
written out by hand here from the release's code (junyanz/interactive-deep-colorization), with
scikit-image's Lab as the release used it."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from skimage import color

from colorizer.errors import ColorizerError, HintError
from colorizer.hints import (
    MAX_HINTS,
    Hint,
    guided_feed,
    hint_planes,
    max_hint_size,
    parse_hints,
    read_hints_file,
)

WIDTH, HEIGHT = 640, 480  # a landscape photo: 0.4 cells per pixel across, 0.5333 down, on 256 x 256
GRID = 256


def release_snap_ab(rgb: tuple[int, int, int], lightness: float) -> np.ndarray:
    """(a, b) of the colour as the release draws it: data/lab_gamut.py's snap_ab (L replaced by the
    photo's, up to 20 Lab -> clipped RGB -> Lab rounds until they move less than 1), rounded to 8-bit
    RGB, then ui's rgb2lab of the drawn image."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns when it clips a negative Z, as the release ignored
        lab = color.rgb2lab(np.array(rgb, np.uint8).reshape(1, 1, 3)).ravel()
        for _ in range(20):
            lab[0] = lightness
            before = lab
            lab = color.rgb2lab(np.clip(color.lab2rgb(lab.reshape(1, 1, 3)), 0, 1)).ravel()
            if np.abs(lab - before).sum() < 1:
                break
        drawn = np.round(np.clip(color.lab2rgb(lab.reshape(1, 1, 3)), 0, 1) * 255).astype(np.uint8)
        return color.rgb2lab(drawn).ravel()[1:]


@pytest.fixture
def lightness() -> np.ndarray:
    return np.random.default_rng(4).uniform(5, 95, (GRID, GRID)).astype(np.float32)


def test_hint_planes_equal_a_construction_by_hand(lightness):
    hints = [
        Hint(100.5, 37.0, "#2f6fd6"),  # no size: 5 x 5 cells
        Hint(639.9, 479.9, "#ff0000", size=9.0),  # the last pixel; 9 px -> r = int(4.5 * 0.4) = 1
        Hint(110.0, 40.0, "#00ff00", size=20.0),  # r = int(10 * 0.4) = 4, over the first one
    ]
    # By hand: column floor(x * 256 / 640), row floor(y * 256 / 480).
    #   hint 0: column floor(40.2) = 40, row floor(19.73) = 19 -> rows 17..21, columns 38..42
    #   hint 1: column floor(255.96) = 255, row floor(255.95) = 255 -> rows 254..255, columns 254..255 (clipped)
    #   hint 2: column floor(44.0) = 44, row floor(21.33) = 21 -> rows 17..25, columns 40..48, drawn last
    expected = np.zeros((3, GRID, GRID))
    expected[:2, 17:22, 38:43] = release_snap_ab((0x2F, 0x6F, 0xD6), lightness[19, 40])[:, None, None]
    expected[2, 17:22, 38:43] = 1
    expected[:2, 254:256, 254:256] = release_snap_ab((255, 0, 0), lightness[255, 255])[:, None, None]
    expected[2, 254:256, 254:256] = 1
    expected[:2, 17:26, 40:49] = release_snap_ab((0, 255, 0), lightness[21, 44])[:, None, None]
    expected[2, 17:26, 40:49] = 1
    planes = hint_planes(hints, WIDTH, HEIGHT, lightness)
    assert planes.dtype == np.float32 and planes.shape == (3, GRID, GRID)
    np.testing.assert_array_equal(planes[2], expected[2], err_msg="mask: which cells are hinted")
    np.testing.assert_allclose(planes[:2], expected[:2], atol=1e-3, err_msg="hint ab")
    assert np.abs(expected[:2, 19, 38]).max() > 5, "the blue must stay a colour at that lightness"


def test_snapping_keeps_the_hue_and_takes_the_photos_lightness():
    """A vivid blue hinted on a light sky is the release's light blue, not the picker's dark one."""
    light = np.full((GRID, GRID), 85.0, np.float32)
    dark = np.full((GRID, GRID), 30.0, np.float32)
    hint = [Hint(320, 240, "#2f6fd6")]
    a_light, b_light = hint_planes(hint, WIDTH, HEIGHT, light)[:2, 128, 128]
    a_dark, b_dark = hint_planes(hint, WIDTH, HEIGHT, dark)[:2, 128, 128]
    own = color.rgb2lab(np.array([[[0x2F, 0x6F, 0xD6]]], np.uint8)).ravel()
    assert b_light < 0 and b_dark < 0, "still blue"
    assert abs(b_light) < abs(own[2]) - 10, "at L 85 sRGB cannot hold the picker's blue: chroma drops"
    assert (a_light, b_light) != (a_dark, b_dark)


def test_guided_feed_channels(lightness):
    hints = [Hint(10, 10, "#804020")]
    feed = guided_feed(lightness, hints, WIDTH, HEIGHT)
    planes = hint_planes(hints, WIDTH, HEIGHT, lightness)
    assert feed.shape == (1, 4, GRID, GRID) and feed.dtype == np.float32
    np.testing.assert_allclose(feed[0, 0], lightness - 50, err_msg="channel 0: L - 50")
    np.testing.assert_array_equal(feed[0, 1:3], planes[:2], err_msg="channels 1, 2: hint ab")
    np.testing.assert_array_equal(feed[0, 3], planes[2] * 110, err_msg="channel 3: mask x 110")
    assert set(np.unique(feed[0, 3])) == {0.0, 110.0}
    unhinted = guided_feed(lightness, [], WIDTH, HEIGHT)
    np.testing.assert_array_equal(unhinted[0, 1:], 0, err_msg="no hints: zero ab and mask")
    np.testing.assert_array_equal(unhinted[0, 0], feed[0, 0], err_msg="hints never touch the lightness")


def test_non_square_photo_maps_each_axis_by_its_own_size():
    tall_width, tall_height = 300, 900  # portrait: 0.853 cells per pixel across, 0.284 down
    lightness = np.full((GRID, GRID), 50.0, np.float32)
    mask = hint_planes([Hint(299.99, 450.0, "#ffffff", size=1.0)], tall_width, tall_height, lightness)[2]
    assert np.argwhere(mask).tolist() == [[128, 255]], "x = 299.99 -> column 255, y = 450 -> row 128, one cell"
    mask = hint_planes([Hint(0.0, 0.0, "#ffffff")], tall_width, tall_height, lightness)[2]
    assert mask.sum() == 9 and mask[:3, :3].all(), "the corner: a 5 x 5 square clipped to 3 x 3"


def test_hint_planes_at_another_network_size():
    """A non-square network input (h x w multiples of 8): cells per pixel on each axis."""
    lightness = np.full((64, 128), 60.0, np.float32)
    mask = hint_planes([Hint(639.0, 0.0, "#00ff00", size=1)], WIDTH, HEIGHT, lightness)[2]
    assert np.argwhere(mask).tolist() == [[0, 127]]


def test_parse_hints_from_json_list_and_hint_objects_agree():
    text = '[{"x": 560, "y": 120, "color": "#2F6FD6"}, {"x": 1.5, "y": 2.25, "color": "#000000", "size": 7}]'
    from_text = parse_hints(text, WIDTH, HEIGHT)
    assert from_text == [Hint(560.0, 120.0, "#2f6fd6"), Hint(1.5, 2.25, "#000000", 7.0)]
    assert parse_hints(json.loads(text), WIDTH, HEIGHT) == from_text
    assert parse_hints(from_text, WIDTH, HEIGHT) == from_text
    assert parse_hints("[]", WIDTH, HEIGHT) == []


BAD_HINTS = {
    "not-json": ("[{x: 1}]", r"not JSON \(line 1, column 3"),
    "not-a-list": ('{"x": 1, "y": 1, "color": "#000000"}', "must be a list"),
    "not-an-object": ('[{"x": 1, "y": 1, "color": "#000000"}, 5]', r"hints\[1\]: expected an object"),
    "unknown-key": ('[{"x": 1, "y": 1, "colour": "#000000"}]', r"hints\[0\]: unknown key 'colour'"),
    "missing-key": ('[{"x": 1, "color": "#000000"}]', r"hints\[0\]: missing y"),
    "x-right-of-photo": ('[{"x": 640, "y": 1, "color": "#000000"}]', r"hints\[0\]: \(640, 1\) is outside the 640x480"),
    "y-negative": ('[{"x": 1, "y": -0.5, "color": "#000000"}]', r"\(1, -0.5\) is outside"),
    "x-string": ('[{"x": "12", "y": 1, "color": "#000000"}]', r"hints\[0\]: x must be a finite number, got '12'"),
    "x-boolean": ('[{"x": true, "y": 1, "color": "#000000"}]', "x must be a finite number, got True"),
    "y-nan": ('[{"x": 1, "y": NaN, "color": "#000000"}]', "y must be a finite number"),
    "colour-name": ('[{"x": 1, "y": 1, "color": "blue"}]', r"hints\[0\]: color 'blue' is not #rrggbb"),
    "colour-short": ('[{"x": 1, "y": 1, "color": "#fff"}]', "is not #rrggbb"),
    "colour-alpha": ('[{"x": 1, "y": 1, "color": "#ffffff80"}]', "is not #rrggbb"),
    "size-zero": ('[{"x": 1, "y": 1, "color": "#000000", "size": 0}]', r"hints\[0\]: size 0 is outside 0..25 pixels"),
    "size-too-big": ('[{"x": 1, "y": 1, "color": "#000000", "size": 25}]', "size 25 is outside"),
    "nested-too-deep": ("[" * 100_000 + "]" * 100_000, "hints nest too deep to be a list of hints"),
    "integer-past-the-digit-limit": ('[{"x": 1' + "0" * 5000 + ', "y": 1}]', "hints hold a number of more than"),
    "integer-past-float": ('[{"x": 1' + "0" * 400 + ', "y": 1, "color": "#000000"}]', "x must be a finite number"),
}


@pytest.mark.parametrize("case", BAD_HINTS)
def test_bad_hints_are_refused_with_one_line_naming_the_entry(case):
    text, message = BAD_HINTS[case]
    with pytest.raises(HintError, match=message) as raised:
        parse_hints(text, WIDTH, HEIGHT)
    assert "\n" not in str(raised.value)
    assert isinstance(raised.value, ColorizerError)


def test_count_and_size_bounds():
    many = [{"x": 1, "y": 1, "color": "#000000"}] * MAX_HINTS
    assert len(parse_hints(many, WIDTH, HEIGHT)) == MAX_HINTS
    with pytest.raises(HintError, match=f"{MAX_HINTS + 1} hints; at most {MAX_HINTS}"):
        parse_hints(many + many[:1], WIDTH, HEIGHT)
    assert max_hint_size(WIDTH, HEIGHT) == 25.0  # 10 cells of 640 / 256 px: exclusive
    largest = parse_hints([{"x": 320, "y": 240, "color": "#000000", "size": 24.99}], WIDTH, HEIGHT)
    lightness = np.full((GRID, GRID), 50.0, np.float32)
    assert hint_planes(largest, WIDTH, HEIGHT, lightness)[2].sum() == 9 * 9, "r = int(12.495 * 0.4) = 4"
    assert max_hint_size(100, 80) < 4, "a small photo allows only small squares"


def test_a_hints_file_in_utf8_with_or_without_a_byte_order_mark(tmp_path):
    text = '[{"x": 5, "y": 1, "color": "#FF0000"}]'
    for name, data in (("plain.json", text.encode()), ("notepad.json", b"\xef\xbb\xbf" + text.encode())):
        (tmp_path / name).write_bytes(data)
        assert parse_hints(read_hints_file(tmp_path / name), WIDTH, HEIGHT) == [Hint(5.0, 1.0, "#ff0000")], name
    (tmp_path / "utf16.json").write_bytes(text.encode("utf-16"))
    with pytest.raises(HintError, match=r"^utf16\.json: the hints are not UTF-8 text"):
        read_hints_file(tmp_path / "utf16.json")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    with pytest.raises(HintError, match=r"^deep\.json: the hints nest too deep"):
        read_hints_file(tmp_path / "deep.json")


def test_hints_checked_before_their_photo_is_known_say_what_is_wrong():
    """A run's --hints are checked for their form before any photo (math.inf for its size): a
    negative coordinate is named as such, not as outside an 'infxinf' photo."""
    with pytest.raises(
        HintError, match=r"^hints\[0\]: \(-1, 2\): x and y are pixels from the photo's top left"
    ) as raised:
        parse_hints('[{"x": -1, "y": 2, "color": "#000000"}]', math.inf, math.inf)
    assert "inf" not in str(raised.value)


def test_an_integer_past_floats_range_from_a_caller_is_one_line():
    """A library caller's x of 10**5000 (an int whose repr Python refuses to write) is named, not raised on."""
    with pytest.raises(HintError, match=r"^hints\[0\]: x must be a finite number, got an integer past float's range$"):
        parse_hints([{"x": 10**5000, "y": 1, "color": "#000000"}], WIDTH, HEIGHT)
