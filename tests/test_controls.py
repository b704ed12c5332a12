"""The user-facing controls: vibrancy (temperature), render size, already-coloured photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from colorizer import Colorizer
from colorizer.chroma import analyze_input_color
from testkit.fixtures import colorfulness, shared_photos
from testkit.probes import recorded_feeds
from testkit.requirements import SHARED, prefer


@pytest.fixture(scope="module")
def colorizer(synthetic_model) -> Colorizer:
    return Colorizer(synthetic_model, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def photo_rgb() -> np.ndarray:
    """A real colour photo (shared fixtures; required in CI) or a colourful synthetic one, uint8 RGB."""
    if prefer(SHARED):
        return cv2.cvtColor(cv2.imread(str(shared_photos()[2])), cv2.COLOR_BGR2RGB)
    coarse = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return cv2.resize(coarse, (320, 240), interpolation=cv2.INTER_CUBIC)


def lab_of(rgb):
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def test_colourfulness_rises_as_temperature_falls(colorizer, photo_rgb):
    grey = cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)
    scores = [colorfulness(colorizer.colorize(grey, temperature=t)) for t in (1.0, 0.38, 0.1)]
    assert scores[0] < scores[1] < scores[2], f"colourfulness at T = 1, 0.38, 0.1: {scores}"


@pytest.mark.parametrize("render_size", [256, 512])
def test_render_size_is_the_network_input_and_keeps_output_size(colorizer, photo_rgb, render_size):
    grey = cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)
    with recorded_feeds(colorizer) as feeds:
        out = colorizer.colorize(grey, render_size=render_size)
    assert [feed["data_l"].shape for feed in feeds] == [(1, 1, render_size, render_size)]
    assert out.shape == (*grey.shape, 3)
    assert not np.array_equal(out, colorizer.colorize(grey)), "a render size must change the result"


def test_detects_grey_toned_and_colour_photos(photo_rgb):
    grey = cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)
    assert analyze_input_color(grey).kind == "grey"
    assert analyze_input_color(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)).kind == "grey"
    sepia = np.clip(grey[..., None] * np.array([1.07, 0.74, 0.43]) + np.array([20, 20, 20]), 0, 255).astype(np.uint8)
    toned = analyze_input_color(sepia)
    assert toned.kind == "toned" and "toned" in toned.note()
    colour = analyze_input_color(photo_rgb)
    assert colour.kind == "colour" and "already has colour" in colour.note()
    assert analyze_input_color(grey).note() is None


def test_keep_colour_keeps_strong_original_colour(colorizer, photo_rgb):
    original_lab = lab_of(photo_rgb)
    strong = np.hypot(original_lab[..., 1], original_lab[..., 2]) >= 20
    assert strong.mean() > 0.05, "the test photo needs some strong colour"
    kept = lab_of(colorizer.colorize(photo_rgb, keep_color=True))
    plain = lab_of(colorizer.colorize(photo_rgb))
    kept_error = np.abs(kept[..., 1:] - original_lab[..., 1:])[strong].mean()
    plain_error = np.abs(plain[..., 1:] - original_lab[..., 1:])[strong].mean()
    assert kept_error < 2.0 < plain_error, f"|dab| to the original: kept {kept_error:.2f}, plain {plain_error:.2f}"
