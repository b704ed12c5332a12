"""The colorizer library: fidelity to the seed pipeline, sizes, alpha, bit depth, threads, devices."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from colorizer import Colorizer, ColorizerError, ModelError, ProviderError
from colorizer.providers import choose_providers
from testkit.fixtures import shared_photos
from testkit.references import bilinear_resize, chroma, cie_lightness
from testkit.requirements import OPENCV4_CAFFE, SHARED, requires
from testkit.seed_pipeline import load_seed_net, seed_colorize


@pytest.fixture(scope="module")
def colorizer(synthetic_model) -> Colorizer:
    return Colorizer(synthetic_model, providers=["CPUExecutionProvider"])


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 Lab (L 0..100)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def in_gamut(rgb: np.ndarray) -> np.ndarray:
    """Pixels no channel of which was clipped to 0 or 255 (there L is exactly representable)."""
    return np.all((rgb > 0) & (rgb < 255), axis=2)


def photo_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A uint8 grey image with a photo's spread: smooth shapes from black to white plus fine grain."""
    rng = np.random.default_rng(seed)
    smooth = bilinear_resize(rng.uniform(0, 255, (height // 40 + 2, width // 40 + 2)), height, width)
    return np.clip(smooth + rng.normal(0, 4, (height, width)), 0, 255).round().astype(np.uint8)


@requires(SHARED, OPENCV4_CAFFE)  # skip on a user's machine without them; fail in CI
@pytest.mark.parametrize("photo", shared_photos(), ids=lambda path: path.stem)
def test_agrees_with_seed_pipeline_on_real_photos(photo, colorizer, synthetic_release):
    seed_net = load_seed_net(synthetic_release.prototxt, synthetic_release.caffemodel, synthetic_release.hull)
    grey = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2GRAY)
    ours = colorizer.colorize(grey, upsample="bilinear")  # the seed upsamples bilinearly
    reference = seed_colorize(seed_net, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB))
    ours_lab, reference_lab = lab_of(ours), lab_of(reference)
    for channel, name in ((1, "a"), (2, "b")):
        correlation = np.corrcoef(ours_lab[..., channel].ravel(), reference_lab[..., channel].ravel())[0, 1]
        assert correlation >= 0.95, f"{photo.name}: {name} correlation with the seed {correlation:.3f}"


def test_grey_photo_keeps_its_lightness_and_gets_colour(colorizer):
    """Output L* (CIE, from the written-out formula) is the input's within rounding, without bias:
    each channel rounded to the nearest level moves L* by at most ~0.21, and OpenCV's Lab adds at
    most 0.25 (testkit.references), so 0.5 a pixel; over the image the signed errors cancel (|mean|
    < 0.1, where truncating instead of rounding gives about -0.24). Colour is added to most of the
    image, not a few pixels: chroma above 5 on at least half of them."""
    grey = photo_like(240, 320)
    out = colorizer.colorize(grey)
    mask = in_gamut(out)
    assert mask.mean() > 0.5, "too few in-gamut pixels to judge L"
    error = (cie_lightness(out) - cie_lightness(grey))[mask]
    assert abs(error.mean()) < 0.1, f"output L is biased by {error.mean():+.3f} on average"
    assert np.abs(error).max() <= 0.5, f"output L off by up to {np.abs(error).max():.3f}"
    coloured = (chroma(out) > 5).mean()
    assert coloured >= 0.5, f"only {coloured:.0%} of pixels got colour (chroma > 5)"


@pytest.mark.parametrize("height, width", [(1, 1), (7, 13), (150, 2400), (4000, 3000)])
def test_output_has_input_size(colorizer, height, width):
    grey = np.random.default_rng(0).integers(0, 256, (height, width), dtype=np.uint8)
    out = colorizer.colorize(grey)
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


def test_alpha_passes_through_bit_exactly(colorizer):
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (64, 80, 4), dtype=np.uint8)
    out = colorizer.colorize(rgba)
    assert out.shape == (64, 80, 4)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(
        rgba,
        np.random.default_rng(1).integers(0, 256, (64, 80, 4), dtype=np.uint8),
        err_msg="the input must not be modified",
    )


def test_sixteen_bit_input_is_scaled_and_kept_at_full_precision(colorizer):
    """uint16 is read as 0..65535 (not clipped to 8 bits, not divided twice) and its fine steps
    reach the Lab conversion: the result equals the float path's and tracks the 16-bit L."""
    ramp = np.tile(np.linspace(20000, 45000, 300).astype(np.uint16), (40, 1))
    out = colorizer.colorize(ramp)
    np.testing.assert_array_equal(out, colorizer.colorize(ramp.astype(np.float64) / 65535))
    mask = in_gamut(out)
    assert mask.mean() > 0.2
    error = (cie_lightness(out) - cie_lightness(ramp))[mask]
    assert abs(error.mean()) < 0.1 and np.abs(error).max() <= 0.5, (
        f"L error mean {error.mean():+.3f}, max {np.abs(error).max():.3f}"
    )
    white = colorizer.colorize(np.full((16, 16), 65535, np.uint16))
    assert lab_of(white)[..., 0].mean() > 95, "uint16 must be scaled from 0..65535"


def test_uint8_uint16_and_float_inputs_agree(colorizer):
    grey8 = np.random.default_rng(2).integers(0, 256, (40, 60), dtype=np.uint8)
    out8 = colorizer.colorize(grey8).astype(int)
    out16 = colorizer.colorize(grey8.astype(np.uint16) * 257).astype(int)
    out_float = colorizer.colorize(grey8.astype(np.float32) / 255).astype(int)
    assert np.abs(out8 - out16).max() <= 1 and np.abs(out8 - out_float).max() <= 1


def test_colour_input_is_treated_as_its_lightness(colorizer):
    """A colour photo is colorized from its L* (from the written-out formula, so a channel-order
    mistake shows): the output keeps that L* within rounding."""
    rng = np.random.default_rng(3)
    rgb = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (64, 64), interpolation=cv2.INTER_CUBIC)
    out = colorizer.colorize(rgb)
    mask = in_gamut(out)
    assert mask.mean() > 0.5
    error = (cie_lightness(out) - cie_lightness(rgb))[mask]
    assert abs(error.mean()) < 0.1 and np.abs(error).max() <= 0.5, (
        f"L error mean {error.mean():+.3f}, max {np.abs(error).max():.3f}"
    )


@pytest.mark.slow
def test_concurrent_calls_match_sequential(colorizer):
    images = [np.random.default_rng(seed).integers(0, 256, (50 + seed, 70), dtype=np.uint8) for seed in range(8)]
    sequential = [colorizer.colorize(image) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(colorizer.colorize, images))
    for one, other in zip(sequential, concurrent):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((0, 5), np.uint8), "empty"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((4, 4), np.int32), "int32"),
        ([[0, 1]], "numpy array"),
    ],
)
def test_bad_arrays_are_refused_clearly(colorizer, bad, message):
    with pytest.raises(ColorizerError, match=message):
        colorizer.colorize(bad)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"render_size": 230}, "multiple of 8"),
        ({"render_size": 1024}, "224 to 512"),
        ({"temperature": 0.0}, "between"),
    ],
)
def test_bad_options_are_refused_clearly(colorizer, options, message):
    with pytest.raises(ColorizerError, match=message):
        colorizer.colorize(np.zeros((8, 8), np.uint8), **options)


def test_provider_choice():
    assert choose_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers("auto", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(ProviderError, match="onnxruntime-gpu"):
        choose_providers("cuda", ["CPUExecutionProvider"])
    with pytest.raises(ProviderError, match="unknown device"):
        choose_providers("tpu", ["CPUExecutionProvider"])


def test_active_provider_is_reported(colorizer):
    assert colorizer.provider == "CPUExecutionProvider"


def test_missing_or_foreign_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="python -m convert"):
        Colorizer(tmp_path / "absent.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Colorizer(tmp_path / "junk.onnx")
