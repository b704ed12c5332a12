"""The pipeline against references written from the definitions (testkit.references): CIE L* from
sRGB, bilinear resizing on pixel centres, the paper's annealed mean over the hull. They share no
code with colorizer/ or convert/ and need neither OpenCV 4 nor ../shared, so a channel-order, hull
or rounding bug fails here on every machine."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from colorizer import Colorizer
from colorizer.color import lab_to_rgb8, lightness
from convert.eccv16 import convert_release
from testkit import synthetic
from testkit.probes import recorded_feeds, session_with_logits
from testkit.references import (
    OPENCV_L_ERROR,
    annealed_mean_ab,
    bilinear_resize,
    cie_lab,
    cie_lightness,
    release_annealing,
)

AB_TOLERANCE = 1e-3  # ab units: float32 softmax and sums against float64


# --- the references themselves -------------------------------------------------------------------


def test_cie_reference_reproduces_published_lab_values():
    """sRGB primaries, white, black and mid grey, as published (e.g. Lindbloom's calculator, D65)."""
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [128, 128, 128]]], np.uint8)
    expected = [
        [53.2408, 80.0925, 67.2032],
        [87.7347, -86.1827, 83.1793],
        [32.2970, 79.1875, -107.8602],
        [100, 0, 0],
        [0, 0, 0],
        [53.5850, 0, 0],
    ]
    np.testing.assert_allclose(cie_lab(rgb)[0], expected, atol=2e-3)
    np.testing.assert_allclose(cie_lightness(rgb)[0], np.array(expected)[:, 0], atol=2e-3)
    np.testing.assert_allclose(cie_lightness(np.array([[0, 128, 255]], np.uint8))[0], [0, 53.5850, 100], atol=2e-3)


def test_bilinear_reference_on_a_hand_computed_case():
    """Pixel centres: 2 -> 4 samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped); 4 -> 2 averages pairs."""
    np.testing.assert_allclose(bilinear_resize(np.array([[0.0, 10.0]]), 1, 4), [[0, 2.5, 7.5, 10]])
    np.testing.assert_allclose(bilinear_resize(np.array([[0.0, 1, 2, 3]]), 1, 2), [[0.5, 2.5]])


def test_annealed_mean_reference_limits():
    """T = 1 is the plain expectation under the softmax; a small T approaches the mode's bin."""
    rng = np.random.default_rng(0)
    hull = rng.uniform(-100, 100, (313, 2))
    logits = rng.normal(0, 1, (313, 2, 3))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
    np.testing.assert_allclose(annealed_mean_ab(logits, hull, 1.0), np.einsum("qhw,qc->chw", probabilities, hull))
    logits[17] += 20
    np.testing.assert_allclose(
        annealed_mean_ab(logits, hull, 0.01), np.broadcast_to(hull[17, :, None, None], (2, 2, 3)), atol=1e-6
    )


# --- lightness: the network's input and the output's L ---------------------------------------------


def _lightness_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    primaries = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]]], np.uint8
    )
    return {
        "uint8-grey-every-level": np.arange(256, dtype=np.uint8)[None],
        "uint8-rgb-primaries": primaries,
        "uint8-rgb-random": rng.integers(0, 256, (64, 96, 3), dtype=np.uint8),
        "uint16-grey": rng.integers(0, 65536, (64, 96), dtype=np.uint16),
        "uint16-rgb": rng.integers(0, 65536, (64, 96, 3), dtype=np.uint16),
        "float-rgb": rng.uniform(0, 1, (64, 96, 3)).astype(np.float32),
        "float-grey": rng.uniform(0, 1, (64, 96)),
    }


@pytest.mark.parametrize("name", list(_lightness_inputs()))
def test_lightness_is_cie_lightness_of_srgb(name):
    pixels = _lightness_inputs()[name]
    difference = lightness(pixels) - cie_lightness(pixels)
    assert np.abs(difference).max() <= OPENCV_L_ERROR, (
        f"{name}: L differs from CIE L* by up to {np.abs(difference).max():.3f} (OpenCV's approximation "
        f"allows {OPENCV_L_ERROR}); mean {difference.mean():+.3f}"
    )


# --- rounding: exact where it is exact ------------------------------------------------------------


def test_grey_levels_round_trip_exactly():
    """L of each uint8 grey level with ab = 0 gives back exactly that level in all three channels
    (truncating instead of rounding turns about half of them into the level below)."""
    levels = np.arange(256, dtype=np.uint8)
    no_colour = np.zeros((1, 256, 2), np.float32)
    for source, plane in (
        ("CIE L*", cie_lightness(levels[None]).astype(np.float32)),
        ("colorizer.color.lightness", lightness(levels[None])),
    ):
        out = lab_to_rgb8(plane, no_colour)[0]
        wrong = np.flatnonzero(np.any(out != levels[:, None], axis=1))
        assert wrong.size == 0, f"{source}: levels {wrong[:10].tolist()} came back as {out[wrong[:10], 0].tolist()}"


def test_lab_to_rgb8_rounds_to_nearest():
    """In-gamut colours whose exact RGB is a level plus at most 0.35 come back as that level, every
    one: OpenCV's Lab -> RGB is within 0.09 of a level of the exact inverse, so only rounding to
    nearest gives this (truncation is off by one for half of them, a -0.5 mean bias)."""
    rng = np.random.default_rng(2)
    levels = rng.integers(1, 255, (120, 160, 3))
    exact = (levels + rng.uniform(-0.35, 0.35, levels.shape)) / 255
    lab = cie_lab(exact).astype(np.float32)
    out = lab_to_rgb8(np.ascontiguousarray(lab[..., 0]), np.ascontiguousarray(lab[..., 1:]))
    error = out.astype(int) - levels
    assert abs(error.mean()) < 0.01, f"mean signed error {error.mean():+.3f} levels"
    assert np.count_nonzero(error) == 0, (
        f"{np.count_nonzero(error)} of {error.size} values off, by up to {np.abs(error).max()}"
    )


# --- the ab decoding: the converter's class8_ab against the paper ---------------------------------

DECODING_TAIL = """
layer { name: "data_l" type: "Input" top: "data_l" input_param { shape { dim: 1 dim: 313 dim: 8 dim: 8 } } }
layer { name: "conv8_313_rh" type: "Scale" bottom: "data_l" top: "conv8_313_rh"
        scale_param { bias_term: false filler { type: 'constant' value: 2.606 } } }
layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }
layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab"
        convolution_param { num_output: 2 kernel_size: 1 stride: 1 dilation: 1 } }
layer { name: "Silence" type: "Silence" bottom: "class8_ab" }
"""


@pytest.fixture(scope="module")
def decoding_tail(tmp_path_factory):
    """The release's last three layers (as in the official prototxt) converted by convert_release with
    a random hull whose a and b differ, fed class logits directly. Returns (session, hull)."""
    work = tmp_path_factory.mktemp("decoding")
    prototxt = work / "tail.prototxt"
    prototxt.write_text(DECODING_TAIL)
    caffemodel = work / "tail.caffemodel"
    caffemodel.write_bytes(synthetic.caffemodel_bytes({}, {}))  # no weights of its own (a loss layer's only)
    rng = np.random.default_rng(3)
    hull = np.stack([rng.uniform(-90, 100, 313), rng.uniform(-110, 90, 313)], axis=1).round().astype(np.int64)
    np.save(work / "hull.npy", hull)
    model = convert_release(prototxt, caffemodel, work / "hull.npy")
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]), hull


@pytest.mark.parametrize("temperature", [None, 0.2, 1.0], ids=["default", "0.2", "1.0"])
def test_converted_decoding_is_the_annealed_mean_of_the_hull(decoding_tail, temperature):
    session, hull = decoding_tail
    logits = np.random.default_rng(4).normal(0, 3, (1, 313, 8, 8)).astype(np.float32)
    feeds = {"data_l": logits}
    if temperature is not None:
        feeds["temperature"] = np.array(temperature, np.float32)
    ab = session.run(["class8_ab"], feeds)[0][0]
    expected = annealed_mean_ab(logits[0], hull, release_annealing(temperature))
    for channel, name in enumerate("ab"):
        np.testing.assert_allclose(
            ab[channel],
            expected[channel],
            atol=AB_TOLERANCE,
            err_msg=f"class8_ab[{channel}] must be the expected {name} (hull[:, {channel}])",
        )


# --- the colorizer: what it feeds the network, and what it makes of the answer ---------------------


@pytest.fixture(scope="module")
def colorizer(synthetic_model) -> Colorizer:
    return Colorizer(synthetic_model, providers=["CPUExecutionProvider"])


def colourful_image(height: int = 150, width: int = 225) -> np.ndarray:
    """Smooth random colours, uint8 RGB: L differs a lot between RGB and BGR readings of it."""
    coarse = np.random.default_rng(5).integers(0, 256, (4, 6, 3))
    return (
        np.dstack([bilinear_resize(coarse[..., channel], height, width) for channel in range(3)])
        .round()
        .astype(np.uint8)
    )


@pytest.mark.parametrize("render_size", [None, 256])
def test_network_input_is_bilinear_cie_lightness_minus_50(colorizer, render_size):
    """colorize feeds data_l = (the image's L* resized bilinearly to the render size) - 50, and no
    temperature when none is asked for."""
    rgb = colourful_image()
    with recorded_feeds(colorizer) as feeds:
        colorizer.colorize(rgb, render_size=render_size)
    assert len(feeds) == 1 and set(feeds[0]) == {"data_l"}, f"fed {[sorted(feed) for feed in feeds]}"
    side = render_size or 224
    data_l = feeds[0]["data_l"]
    assert data_l.shape == (1, 1, side, side) and data_l.dtype == np.float32
    expected = bilinear_resize(cie_lightness(rgb), side, side) - 50
    error = np.abs(data_l[0, 0] - expected)
    assert error.max() <= OPENCV_L_ERROR, f"data_l differs from bilinear L* - 50 by up to {error.max():.3f}"


@pytest.mark.parametrize("temperature", [None, 0.38, 0.2])
def test_predicted_ab_is_the_annealed_mean_of_the_network_logits(
    colorizer, synthetic_model, synthetic_release, temperature
):
    """predict_ab's answer is the paper's annealed mean over the release's hull, at the temperature
    asked for, of the class logits the network computes for what predict_ab fed it."""
    probe, logits_name = session_with_logits(synthetic_model)
    plane = cie_lightness(colourful_image(224, 224)).astype(np.float32)
    with recorded_feeds(colorizer) as feeds:
        ab = colorizer.predict_ab(plane, temperature=temperature)
    fed_temperature = feeds[0].get("temperature")
    if temperature in (None, 0.38):
        assert fed_temperature is None, "the default temperature must not be fed"
    else:
        assert fed_temperature is not None and np.isclose(fed_temperature, temperature)
    logits = probe.run([logits_name], {"data_l": feeds[0]["data_l"]})[0][0]
    expected = annealed_mean_ab(logits, np.load(synthetic_release.hull), release_annealing(temperature))
    assert ab.shape == expected.shape == (2, 56, 56)
    assert expected.std() > 1.0, "the synthetic net should give varied colour"
    for channel, name in enumerate("ab"):
        np.testing.assert_allclose(
            ab[channel], expected[channel], atol=AB_TOLERANCE, err_msg=f"predicted {name} at temperature {temperature}"
        )
