"""Suggested colours (colorizer.suggest) on a random-weight model of the real architecture (the
release's deploy_nopred.prototxt): checked against an independent construction (the network fed by
hand, the modes found by distances between bins rather than on a grid), and on a distribution made
by hand whose modes are known."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from colorizer.errors import HintError, ModelError
from colorizer.hints import snapped_ab
from colorizer.suggest import ColourSuggester, distribution_modes
from colorkit.contract import GUIDED_DIST_MODEL_NAME
from testkit.fixtures import photo_like_lightness

WIDTH, HEIGHT = 312, 176  # a non-square photo: the point's cell differs along x and y
POINT = (290.5, 20.2)
OTHER_HINT = {"x": 265, "y": 40, "color": "#2f6fd6"}  # 20 cells from the point: it reaches there


def write_guided_dist_model(folder: Path, hull: Path, seed: int = 5) -> Path:
    """guided-dist.onnx in ``folder``, converted from a random-weight caffemodel that both user-guided
    prototxts read (the release's way: one caffemodel); ``hull``: pts_in_hull.npy."""
    from convert.guided import convert_guided_dist
    from testkit.fixtures import GUIDED_DIST_PROTOTXT, write_guided_release_caffemodel
    from testkit.requirements import SHARED_GUIDED, require

    require(SHARED_GUIDED)
    caffemodel = write_guided_release_caffemodel(folder / "release.caffemodel", seed=seed)
    path = folder / GUIDED_DIST_MODEL_NAME
    path.write_bytes(convert_guided_dist(GUIDED_DIST_PROTOTXT, caffemodel, hull).SerializeToString())
    return path


@pytest.fixture(scope="module")
def dist_model(tmp_path_factory, hull_file) -> Path:
    return write_guided_dist_model(tmp_path_factory.mktemp("guided_dist"), hull_file)


def modes_by_distance(probabilities: np.ndarray, bins: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The suggestions' rule written over the bins themselves: each bin's smoothed probability is the
    sum over bins at most 10 ab units away on each axis, weighted (2 - |da|/10)(2 - |db|/10) / 16;
    the largest is taken with the bins at most 10 units from it (its share their probability), and
    so on among the bins left."""
    steps = np.abs(bins[:, None, :] - bins[None, :, :]) / 10
    near = (steps <= 1).all(axis=2)
    smooth = np.where(near, (2 - steps[..., 0]) * (2 - steps[..., 1]) / 16, 0) @ probabilities
    left = np.ones(len(bins), bool)
    ab, shares = [], []
    for _ in range(k):
        best = np.flatnonzero(left)[np.argmax(smooth[left])]
        shares.append(probabilities[near[best] & left].sum())
        left &= ~near[best]
        ab.append(bins[best])
    return np.array(ab), np.array(shares)


def test_suggestions_are_the_modes_of_the_distribution_at_the_point_given_the_other_hints(dist_model, hull_file):
    plane = photo_like_lightness(HEIGHT, WIDTH, seed=2)
    suggester = ColourSuggester(dist_model, providers=["CPUExecutionProvider"])
    got = suggester.suggest(plane, *POINT, hints=[OTHER_HINT], k=6)

    # The network fed by hand: L - 50, the other hint's 5 x 5 square, mask 110; the point's cell.
    small = cv2.resize(plane, (256, 256), interpolation=cv2.INTER_LINEAR)
    feed = np.zeros((1, 4, 256, 256), np.float32)
    feed[0, 0] = small - 50
    row, column = int(OTHER_HINT["y"] * 256 / HEIGHT), int(OTHER_HINT["x"] * 256 / WIDTH)
    a, b = snapped_ab((0x2F, 0x6F, 0xD6), float(small[row, column]))
    feed[0, 1:, row - 2 : row + 3, column - 2 : column + 3] = np.array([a, b, 110], np.float32)[:, None, None]
    session = ort.InferenceSession(str(dist_model), providers=["CPUExecutionProvider"])
    distribution = session.run(["dist_ab_S"], {"data_l_ab_mask": feed})[0][0]
    row, column = int(POINT[1] * 256 / HEIGHT), int(POINT[0] * 256 / WIDTH)
    bins = np.load(hull_file).astype(np.float64)
    ab, shares = modes_by_distance(distribution[:, row, column].astype(np.float64), bins, 6)

    assert got.rgb.dtype == np.uint8 and got.rgb.shape == (6, 3) and got.ab.shape == (6, 2)
    np.testing.assert_array_equal(got.ab, ab)
    np.testing.assert_allclose(got.share, shares, rtol=1e-4)
    assert got.lightness == pytest.approx(float(small[row, column]))
    # Each colour is its bin at the point's lightness: where that Lab is inside the sRGB gamut,
    # OpenCV's own conversion gives the same 8-bit colour within rounding.
    lab = np.concatenate([np.full((6, 1), got.lightness), ab], axis=1).astype(np.float32)[None]
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)[0] * 255
    inside = ((rgb > 0.5) & (rgb < 254.5)).all(axis=1)  # OpenCV clips: 0 and 255 may be out of gamut
    assert inside.any()
    assert np.abs(got.rgb[inside].astype(np.float64) - rgb[inside]).max() <= 2
    assert got.colours() == [f"#{red:02x}{green:02x}{blue:02x}" for red, green, blue in got.rgb.tolist()]
    # The other hint matters there: without it the distribution at the point differs.
    alone = suggester.distribution(small, [], WIDTH, HEIGHT)[:, row, column]
    assert np.abs(alone - distribution[:, row, column]).max() > 1e-4


def test_the_modes_of_a_distribution_made_by_hand():
    bins = np.array([(a, b) for a in range(-110, 111, 10) for b in range(-110, 111, 10) if a * a + b * b <= 100**2])
    probabilities = np.full(len(bins), 0.1 / len(bins))

    def put(a, b, mass):
        probabilities[(bins == (a, b)).all(axis=1)] += mass

    put(0, 0, 0.4)  # the strongest mode
    put(10, 0, 0.3)  # beside it: part of it, never a suggestion of its own
    put(50, -30, 0.2)  # the second mode, further away
    ab, share = distribution_modes(probabilities / probabilities.sum(), bins.astype(np.float32), k=3)
    assert ab[:2].tolist() == [[0, 0], [50, -30]]
    assert share[0] > 0.7 and share[1] > 0.2 > share[2]
    separation = np.abs(ab[:, None] - ab[None]).max(axis=2) + np.eye(3) * 99
    assert separation.min() >= 20


def test_a_model_that_is_not_the_distribution_is_refused_by_name(guided_model, tmp_path):
    with pytest.raises(ModelError, match="guided model, not the colour distribution"):
        ColourSuggester(guided_model)
    with pytest.raises(ModelError, match=r"no model at .*nothere\.onnx; create it with: .* --guided-dist"):
        ColourSuggester(tmp_path / "nothere.onnx")


def test_a_point_outside_the_photo_is_refused(dist_model):
    suggester = ColourSuggester(dist_model, providers=["CPUExecutionProvider"])
    with pytest.raises(HintError, match=r"outside the 312x176 photo"):
        suggester.suggest(photo_like_lightness(HEIGHT, WIDTH), 312, 10)
