"""colorizer.upsample: shapes, invariants, edge following, memory, and error against true colour."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from colorizer.errors import ColorizerError
from colorizer.tiles import tiles
from colorizer.upsample import DEFAULT_METHOD, METHODS, joint_bilateral_upsample, resize_tile, upsample_ab
from testkit.color_truth import ab_rmse, edge_band, ground_truth, network_grid
from testkit.fixtures import NO_SHARED, shared_photos

EDGE_AWARE = ("guided", "bilateral")


def random_grid(seed: int = 0, size: tuple[int, int] = (56, 56)) -> np.ndarray:
    """float32 2 x h x w ab in the network's layout, smooth-ish random colour."""
    noise = np.random.default_rng(seed).normal(0, 30, size + (2,)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2).transpose(2, 0, 1)  # hxwx2 -> 2xhxw


def random_lightness(height: int, width: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 100, (height, width)).astype(np.float32)


def step_edge(height: int, width: int, edge: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """L 20 | 80 and true ab (-40, 20) | (40, -20) split at index ``edge`` along ``axis`` (1: columns)."""
    coordinate = np.arange(width)[None, :] if axis == 1 else np.arange(height)[:, None]
    right = np.broadcast_to(coordinate >= edge, (height, width))
    lightness = np.where(right, 80, 20).astype(np.float32)
    a = np.where(right, 40, -40).astype(np.float32)
    return lightness, np.dstack([a, -a / 2])


def transition(profile: np.ndarray, step: float) -> tuple[float, int]:
    """(width in pixels = step / steepest change, index i of that change between i and i + 1)."""
    changes = np.abs(np.diff(profile))
    return step / changes.max(), int(changes.argmax())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("height, width", [(7, 13), (1, 1), (150, 2400), (480, 640)])
def test_output_is_full_size_float32(method, height, width):
    out = upsample_ab(random_grid(), random_lightness(height, width), method)
    assert out.shape == (height, width, 2) and out.dtype == np.float32
    assert np.isfinite(out).all()


@pytest.mark.parametrize("method", METHODS)
def test_constant_colour_stays_constant(method):
    grid = np.empty((2, 56, 56), np.float32)
    grid[0], grid[1] = 12.5, -30.0
    out = upsample_ab(grid, random_lightness(123, 457), method)
    np.testing.assert_allclose(out[..., 0], 12.5, atol=1e-3, err_msg=method)
    np.testing.assert_allclose(out[..., 1], -30.0, atol=1e-3, err_msg=method)


@pytest.mark.parametrize("method", METHODS)
def test_inputs_are_not_modified(method):
    grid, lightness = random_grid(), random_lightness(100, 90)
    grid_copy, lightness_copy = grid.copy(), lightness.copy()
    upsample_ab(grid, lightness, method)
    np.testing.assert_array_equal(grid, grid_copy)
    np.testing.assert_array_equal(lightness, lightness_copy)


def test_bilinear_is_cv2_resize():
    grid, lightness = random_grid(), random_lightness(301, 407)
    expected = cv2.resize(grid.transpose(1, 2, 0), (407, 301), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    np.testing.assert_array_equal(upsample_ab(grid, lightness, "bilinear"), expected)


def test_bilateral_without_range_weight_is_bilinear():
    grid, lightness = random_grid(), random_lightness(301, 407)
    expected = upsample_ab(grid, lightness, "bilinear")
    actual = joint_bilateral_upsample(np.ascontiguousarray(grid.transpose(1, 2, 0)), lightness, sigma_range=1e6)
    np.testing.assert_allclose(actual, expected, atol=1e-3)


@pytest.mark.parametrize(
    "height, width, tile_pixels",
    [(480, 640, 4096), (7, 13, 5), (1, 1, 1), (3000, 4000, 1 << 16), (57, 55, 100), (3, 3000, 1000)],
)
def test_tiles_match_whole_resize(height, width, tile_pixels):
    grid = random_grid().transpose(1, 2, 0)
    expected = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    actual = np.full_like(expected, np.nan)
    for tile in tiles(height, width, tile_pixels):
        actual[tile.rows, tile.columns] = resize_tile(grid, height, width, tile.rows, tile.columns)
    np.testing.assert_allclose(actual, expected, atol=1e-4)


def test_unknown_method_names_the_choices():
    with pytest.raises(ColorizerError, match="nearest") as error:
        upsample_ab(random_grid(), random_lightness(8, 8), "nearest")
    for method in METHODS:
        assert method in str(error.value)


@pytest.mark.parametrize("method", EDGE_AWARE)
@pytest.mark.parametrize("axis", [1, 0], ids=["vertical-edge", "horizontal-edge"])
def test_colour_edge_follows_lightness_edge(method, axis):
    height, width, edge = 480, 640, 301 if axis == 1 else 229  # edges inside a cell, not on its border
    lightness, ab = step_edge(height, width, edge, axis)
    grid = network_grid(ab).transpose(2, 0, 1)  # the mean of each 56x56 cell, in the network's layout
    profiles = {
        name: np.take(
            upsample_ab(grid, lightness, name)[..., 0], height // 3 if axis == 1 else width // 3, axis=1 - axis
        )
        for name in ("bilinear", method)
    }
    blurred, _ = transition(profiles["bilinear"], 80)
    sharp, where = transition(profiles[method], 80)
    assert sharp < blurred / 4, f"{method}: transition {sharp:.1f} px, bilinear {blurred:.1f} px"
    assert where == edge - 1, f"{method}: steepest colour change at {where}, the L edge is at {edge - 1}"


@pytest.mark.parametrize("method", METHODS)
def test_12_megapixels_hold_little_beyond_the_result(method):
    grid, lightness = random_grid(), random_lightness(3000, 4000)
    result_bytes = 3000 * 4000 * 2 * 4
    tracemalloc.start()  # numpy (and cv2, which allocates its outputs through numpy) report here
    try:
        upsample_ab(grid, lightness, method)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < result_bytes + 48e6, f"{method}: peak {peak / 1e6:.0f} MB, result {result_bytes / 1e6:.0f} MB"


@pytest.mark.skipif(not shared_photos(), reason=NO_SHARED)
@pytest.mark.parametrize("photo", shared_photos(), ids=lambda path: path.stem)
def test_default_is_no_worse_than_bilinear_at_edges(photo):
    lightness, ab = ground_truth(photo)
    grid = network_grid(ab).transpose(2, 0, 1)  # a perfect network: the true mean colour of each cell
    band = edge_band(lightness)
    default = ab_rmse(upsample_ab(grid, lightness, DEFAULT_METHOD), ab, band)
    bilinear = ab_rmse(upsample_ab(grid, lightness, "bilinear"), ab, band)
    assert default <= bilinear, f"{photo.name}: {DEFAULT_METHOD} {default:.2f}, bilinear {bilinear:.2f} ab RMSE"
