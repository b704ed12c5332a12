"""The library's front door: what Colorizer.colorize refuses, and its film entry point."""

from __future__ import annotations

import numpy as np
import pytest

import colorizer as colorizer_package
from colorizer import Colorizer, ColorizerError
from colorizer.pipeline import colorize_film
from colorizer.settings import Settings
from testkit.video_clips import film_frames, write_clip


@pytest.fixture(scope="module")
def colorizer(synthetic_model) -> Colorizer:
    return Colorizer(synthetic_model, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_pixels_are_refused_by_name(colorizer, bad):
    image = np.full((16, 24, 3), 0.5, np.float32)
    image[3, 4, 1] = bad
    with pytest.raises(ColorizerError, match="1 of 1,152 values are NaN or infinite"):
        colorizer.colorize(image)


def test_finite_float_pixels_still_colorize(colorizer):
    image = np.linspace(0, 1, 16 * 24, dtype=np.float32).reshape(16, 24)
    assert colorizer.colorize(image).shape == (16, 24, 3)


def test_colorize_video_is_the_pipelines_film_path(colorizer, tmp_path):
    """The library's film call (``colorizer.colorize_video``) gives what every front end's pipeline
    gives (``pipeline.colorize_film`` with the same settings), frame for frame."""
    frames = [np.full((32, 48, 3), 40 + 20 * index, np.uint8) for index in range(3)]
    source = write_clip(tmp_path / "grey.mp4", frames, fps=10)
    by_library = colorizer_package.colorize_video(colorizer, source, tmp_path / "library.mp4", stabilize=False)
    by_pipeline = colorize_film(colorizer, source, tmp_path / "pipeline.png", Settings(stabilize=False))
    assert by_library.frames == by_pipeline.film.frames == 3
    for ours, theirs in zip(film_frames(by_library.path), film_frames(by_pipeline.output), strict=True):
        np.testing.assert_array_equal(ours, theirs)
