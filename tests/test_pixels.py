"""The fast per-pixel path (numba kernels over bounded tiles) against today's float path, kept in
testkit/pixels_reference.py: the same pixels within one 8-bit level, for every input kind and shape,
with memory that follows the pixel count whatever the shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import cv2
import numba
import numpy as np
import pytest

from colorizer import Colorizer, jit
from colorizer.chroma import keep_strong_color
from colorizer.color import lab_to_rgb8, lightness, split_alpha, srgb_table
from colorizer.pixels import finish, load_kernels
from colorizer.tiles import TILE_PIXELS, tiles
from colorizer.upsample import METHODS, cell_means, guided_upsample, joint_bilateral_upsample
from testkit import pixels_reference as reference
from testkit.color_truth import ground_truth, network_grid
from tests.conftest import NO_SHARED, REPO_ROOT, shared_photos

ODD_SIZES = [(1, 1), (7, 13), (3, 3000)]
KINDS = ["grey8", "grey16", "rgb8", "rgb16", "rgba8", "rgba16", "grey-float", "rgb-float"]


# -- inputs ---------------------------------------------------------------------------------------


def smooth_noise(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """float64 HxWxC in 0..1: photo-like (smooth regions, some edges), any size."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, height // 8), max(2, width // 8), channels))
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)  # cv2: (w, h)
    return np.clip(
        big.reshape(height, width, channels) + rng.normal(0, 0.03, big.shape).reshape(height, width, channels), 0, 1
    )


def make_image(kind: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    """An input of ``kind`` (see KINDS): grey HxW, RGB HxWx3 or RGBA HxWx4; uint8, uint16 or float32."""
    channels = 1 if kind.startswith("grey") else 4 if kind.startswith("rgba") else 3
    unit = smooth_noise(height, width, channels, seed)
    if channels == 1:
        unit = unit[..., 0]
    if kind.endswith("16"):
        return np.rint(unit * 65535).astype(np.uint16)
    if kind.endswith("float"):
        return unit.astype(np.float32)
    return np.rint(unit * 255).astype(np.uint8)


def random_ab(seed: int = 0, size: int = 56) -> np.ndarray:
    """float32 2 x size x size ab in the network's layout: smooth colour up to ~+-60."""
    noise = np.random.default_rng(seed).normal(0, 30, (size, size, 2)).astype(np.float32)
    return np.ascontiguousarray(cv2.GaussianBlur(noise, (0, 0), 2).transpose(2, 0, 1) * 2)  # hxwx2 -> 2xhxw


def on_cell_centres(size: int, grid_size: int) -> np.ndarray:
    """bool ``size``: the positions whose centre falls exactly on a grid cell's centre (the
    bilinear weight of the next cell is exactly 0 there)."""
    return ((2 * np.arange(size) + 1) * grid_size - size) % (2 * size) == 0


def assert_within_one_level(
    actual: np.ndarray, expected: np.ndarray, what: str, grid: tuple[int, int] = (56, 56)
) -> None:
    """Same shape and dtype; 99% of values within one 8-bit level, and all of them but on the rows
    and columns that sit exactly on a cell centre of the ab grid. There today's path gives the next
    cell a weight of ~1e-15 where the exact weight is 0; when that cell's L is much nearer the
    pixel's than the others', exp(-dL^2/50) lets the 1e-15 decide (40 pixels of a 12 MP photo)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, what
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    if difference.ndim == 3:
        difference = difference.max(axis=2)
    p99 = np.percentile(difference, 99)
    assert p99 <= 1, f"{what}: p99 difference {p99} levels"
    height, width = difference.shape
    knife_edge = on_cell_centres(height, grid[0])[:, None] | on_cell_centres(width, grid[1])[None, :]
    off = (difference > 1) & ~knife_edge
    assert not off.any(), f"{what}: {off.sum()} pixels more than one level off (max {difference[off].max()})"


# -- the building blocks ---------------------------------------------------------------------------


@numba.njit
def _exp2(values):
    out = np.empty(values.shape[0], np.float64)
    for i in range(values.shape[0]):
        out[i] = jit.exp2(values[i])
    return out


def test_exp2_is_accurate():
    exponents = np.linspace(-126, 0, 200_001).astype(np.float32)
    exact = np.exp2(exponents.astype(np.float64))
    assert np.max(np.abs(_exp2(exponents) / exact - 1)) < 3e-7


def test_srgb_table_rounds_like_the_exact_curve():
    """Linear light -> sRGB level by the table, as the kernel reads it, against the exact curve."""
    table = srgb_table()
    linear = np.linspace(-0.1, 1.1, 1_200_001).astype(np.float32)
    steps = np.float32(len(table) - 1)
    levels = table[(np.sqrt(np.clip(linear, 0, 1)) * steps + np.float32(0.5)).astype(np.int32)]
    clipped = np.clip(linear.astype(np.float64), 0, 1)
    curve = np.where(clipped <= 0.0031308, 12.92 * clipped, 1.055 * clipped ** (1 / 2.4) - 0.055)
    difference = np.abs(levels.astype(np.int16) - np.rint(curve * 255))
    assert difference.max() <= 1 and (difference > 0).mean() < 2e-3


@pytest.mark.parametrize(
    "height, width, max_pixels",
    [
        (1, 1, 1),
        (7, 13, 5),
        (3, 3000, 1000),
        (1, 200_000, 65536),
        (400_000, 3, 65536),
        (3000, 4000, TILE_PIXELS),
        (5, 7, 1000),
    ],
)
def test_tiles_cover_every_pixel_once_and_stay_small(height, width, max_pixels):
    covered = np.zeros((height, width), np.uint8)
    for tile in tiles(height, width, max_pixels):
        assert 0 < (tile.bottom - tile.top) * (tile.right - tile.left) <= max_pixels, tile
        covered[tile.rows, tile.columns] += 1
    assert (covered == 1).all()


@pytest.mark.parametrize(
    "height, width, grid",
    [(3000, 4000, 56), (61, 59, 56), (57, 55, 56), (8, 100_000, 4), (100_000, 8, 4), (1, 70_000, 1), (200, 300, 112)],
)
def test_cell_means_are_opencvs_area_average(height, width, grid):
    plane = np.random.default_rng(height).uniform(0, 100, (height, width)).astype(np.float32)
    expected = cv2.resize(
        plane, (grid, grid if height >= grid else height), interpolation=cv2.INTER_AREA
    )  # cv2: (w, h)
    actual = cell_means(plane, *expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-4)  # OpenCV sums 50,000 pixels in float32


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("height, width", ODD_SIZES + [(480, 640)])
def test_lightness_is_todays(kind, height, width):
    pixels, _ = split_alpha(make_image(kind, height, width))
    actual, expected = lightness(pixels), reference.lightness(pixels)
    assert actual.shape == (height, width) and actual.dtype == np.float32
    if kind in ("grey8", "grey16"):  # a table of OpenCV's conversion: exact, as before
        np.testing.assert_array_equal(actual, expected)
    else:  # the same OpenCV conversion, in tiles instead of strips
        np.testing.assert_allclose(actual, expected, atol=1e-4, err_msg=kind)


@pytest.mark.parametrize("height, width", ODD_SIZES + [(480, 640)])
def test_lab_to_rgb8_is_todays(height, width):
    plane = reference.lightness(make_image("rgb8", height, width))
    ab = np.random.default_rng(3).normal(0, 40, (height, width, 2)).astype(np.float32)  # far out of gamut too
    assert_within_one_level(lab_to_rgb8(plane, ab), reference.lab_to_rgb8(plane, ab), f"{height}x{width}")


# -- the whole path after the network --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("height, width", ODD_SIZES + [(480, 640)])
def test_fast_path_matches_todays_path(kind, height, width):
    image, ab = make_image(kind, height, width), random_ab()
    pixels, alpha = split_alpha(image)
    actual = finish(pixels, alpha, lightness(pixels), ab)
    expected = reference.reference_colorize_tail(image, ab)
    assert_within_one_level(actual, expected, f"{kind} {height}x{width}")
    if alpha is not None:  # the alpha is carried over exactly
        np.testing.assert_array_equal(actual[..., 3], expected[..., 3])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("keep_color", [False, True])
def test_every_method_matches_todays_path(method, keep_color):
    image, ab = make_image("rgb8", 123, 457, seed=2), random_ab(seed=5)
    actual = finish(image, None, lightness(image), ab, method=method, keep_color=keep_color)
    expected = reference.reference_colorize_tail(image, ab, method, keep_color)
    assert_within_one_level(actual, expected, f"{method}, keep_color={keep_color}")


@pytest.mark.parametrize("kind", ["grey8", "grey16", "rgb8", "rgba16"])
@pytest.mark.parametrize("height, width", ODD_SIZES)
def test_colorize_end_to_end_matches_todays_path(synthetic_model, kind, height, width):
    colorizer = Colorizer(synthetic_model, providers=["CPUExecutionProvider"])
    image = make_image(kind, height, width, seed=7)
    pixels, _ = split_alpha(image)
    ab = colorizer.predict_ab(reference.lightness(pixels))
    expected = reference.reference_colorize_tail(image, ab)
    assert_within_one_level(colorizer.colorize(image), expected, f"{kind} {height}x{width}")


@pytest.mark.skipif(not shared_photos(), reason=NO_SHARED)
@pytest.mark.parametrize("photo", shared_photos(), ids=lambda path: path.stem)
@pytest.mark.parametrize("as_grey", [False, True], ids=["rgb", "grey"])
def test_shared_photos_match_todays_path(photo, as_grey, tmp_path):
    """A perfect network (each cell's true mean colour) on each real photo, as the upsampling
    benchmark scores it: the RGB result stays within one level of today's float path."""
    rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if as_grey else rgb
    ab = np.ascontiguousarray(network_grid(ground_truth(photo)[1]).transpose(2, 0, 1))  # hxwx2 -> 2xhxw
    actual = finish(image, None, lightness(image), ab)
    expected = reference.reference_colorize_tail(image, ab)
    try:
        assert_within_one_level(actual, expected, photo.name)
    except AssertionError:
        cv2.imwrite(str(tmp_path / f"{photo.stem}_fast.png"), cv2.cvtColor(actual, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(tmp_path / f"{photo.stem}_reference.png"), cv2.cvtColor(expected, cv2.COLOR_RGB2BGR))
        raise


@pytest.mark.parametrize("method", METHODS)
def test_nan_and_inf_give_pixels_not_a_crash(method):
    """The kernels skip bounds checks; garbage in (NaN, inf from a broken model) must still index
    inside their tables. (Whether such input is refused is Colorizer's business.)"""
    image = make_image("grey8", 64, 80)
    plane = lightness(image)
    plane[::7, ::5], plane[3::11, ::3] = np.nan, np.inf
    ab = random_ab()
    ab[0, ::3, ::4], ab[1, 1::5, ::2] = np.nan, -np.inf
    out = finish(image, None, plane, ab, method=method)
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8  # what the garbage pixels hold is unspecified


def test_concurrent_calls_share_the_pool_and_give_the_same_pixels():
    """Colorizer.colorize may run in several threads at once; their tiles share one pool."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        (make_image(kind, 300 + 17 * seed, 500 - 13 * seed, seed=seed), random_ab(seed))
        for seed, kind in enumerate(["grey8", "rgb8", "rgba16", "grey16", "rgb8", "grey8"])
    ]

    def run(job):
        image, ab = job
        pixels, alpha = split_alpha(image)
        return finish(pixels, alpha, lightness(pixels), ab)

    alone = [run(job) for job in jobs]
    with ThreadPoolExecutor(len(jobs)) as callers:
        together = list(callers.map(run, jobs))
    for index, (first, second) in enumerate(zip(alone, together)):
        np.testing.assert_array_equal(first, second, err_msg=f"job {index}")


def _colorize_in_child(queue):
    image = make_image("rgb8", 50, 70)
    queue.put(finish(image, None, lightness(image), random_ab()).shape)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_gets_its_own_tile_pool():
    """The parent's pool threads do not exist in a forked child (a batch with multiprocessing);
    the child must start its own instead of queueing tiles nobody runs."""
    import multiprocessing

    image = make_image("grey8", 50, 70)
    finish(image, None, lightness(image), random_ab())  # the parent's pool is running
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_colorize_in_child, args=(queue,))
    child.start()
    child.join(120)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung on the parent's tile pool"
    assert queue.get(timeout=5) == (50, 70, 3)


def test_load_kernels_compiles_what_finish_runs():
    from colorizer import color, pixels, upsample

    load_kernels()
    for dispatcher in (pixels._bilateral_rgb8_tile, color._lab_to_rgb8_tile, upsample._area_sums):
        assert dispatcher.signatures, f"{dispatcher.__name__} not compiled"


# -- every shape: the same result, memory that follows the pixels -----------------------------------


def exact_bilateral(ab: np.ndarray, plane: np.ndarray, sigma_range: float = 5.0) -> np.ndarray:
    """An independent float64 joint bilateral upsampling (positions as exact fractions):
    float32 h x w x 2 + H x W -> float64 H x W x 2. For small images only."""
    height, width = plane.shape
    grid_height, grid_width = ab.shape[:2]
    guide = cv2.resize(plane, (grid_width, grid_height), interpolation=cv2.INTER_AREA).astype(np.float64)  # cv2: (w, h)

    def taps(size, grid_size):
        numerator = (2 * np.arange(size) + 1) * grid_size - size  # g = numerator / (2 size)
        below = numerator // (2 * size)
        fraction = (numerator - below * 2 * size) / (2 * size)
        return [
            (below + k, weight * ((below + k >= 0) & (below + k < grid_size)))
            for k, weight in ((0, 1 - fraction), (1, fraction))
        ]

    total, norm = np.zeros((height, width, 2)), np.zeros((height, width))
    for cell_rows, row_weights in taps(height, grid_height):
        for cell_columns, column_weights in taps(width, grid_width):
            r = np.clip(cell_rows, 0, grid_height - 1)[:, None]
            c = np.clip(cell_columns, 0, grid_width - 1)[None, :]
            exponent = np.maximum(-((plane - guide[r, c]) ** 2) / (2 * sigma_range**2), -60)
            weight = row_weights[:, None] * column_weights[None, :] * np.exp(exponent)
            norm += weight
            total += weight[..., None] * ab[r, c].astype(np.float64)
    return total / norm[..., None]


@pytest.mark.parametrize("height, width", ODD_SIZES + [(61, 59), (480, 640), (300, 4)])
def test_bilateral_is_the_exact_formula(height, width):
    plane = reference.lightness(make_image("grey8", height, width, seed=4))
    ab = random_ab(seed=6).transpose(1, 2, 0)
    np.testing.assert_allclose(joint_bilateral_upsample(ab, plane), exact_bilateral(ab, plane), atol=2e-3)


@pytest.mark.parametrize("height, width", [(3, 3000), (1, 200_000), (400_000, 3)])
def test_wide_and_tall_images_match_todays_functions(height, width):
    image = make_image("rgb8", height, width, seed=9)
    plane = lightness(image)
    np.testing.assert_allclose(plane, reference.lightness(image), atol=1e-4)
    ab = random_ab(seed=1).transpose(1, 2, 0)
    bilateral = joint_bilateral_upsample(ab, plane)
    np.testing.assert_allclose(bilateral, exact_bilateral(ab, plane), atol=2e-3)  # today's: see assert_within_one_level
    np.testing.assert_allclose(guided_upsample(ab, plane), reference.guided_upsample(ab, plane), atol=2e-3)
    np.testing.assert_allclose(
        keep_strong_color(image, bilateral), reference.keep_strong_colour(image, bilateral), atol=1e-4
    )
    assert_within_one_level(lab_to_rgb8(plane, bilateral), reference.lab_to_rgb8(plane, bilateral), f"{height}x{width}")


PEAK_SCRIPT = textwrap.dedent("""
    import ctypes, json, sys
    from pathlib import Path
    import numpy as np
    from colorizer.color import lightness
    from colorizer.pixels import finish, load_kernels

    def kib(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])

    height, width, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ab = np.random.default_rng(0).normal(0, 20, (2, 56, 56)).astype(np.float32)
    small = np.random.default_rng(1).integers(0, 256, (40, 50), dtype=np.uint8)
    finish(small, None, lightness(small), ab, method=method)  # compile (or load) the kernels first
    image = np.random.default_rng(2).integers(0, 256, (height, width), dtype=np.uint8)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from the RSS now
    before = kib("VmRSS:")
    finish(image, None, lightness(image), ab, method=method)
    print(json.dumps({"rise_bytes": (kib("VmHWM:") - before) * 1024}))
""")


def peak_rise(height: int, width: int, method: str) -> int:
    """Bytes the peak RSS rises by while a fresh process runs lightness + finish on a grey uint8
    height x width image (the kernels compiled, and the image made, beforehand)."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(height), str(width), method],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["rise_bytes"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads and resets the peak RSS through /proc")
@pytest.mark.parametrize("method, bytes_per_pixel", [("bilateral", 12), ("guided", 24)])
@pytest.mark.parametrize("height, width", [(8, 1_000_000), (1_000_000, 8), (2000, 4000)])
def test_peak_memory_follows_the_pixel_count(method, bytes_per_pixel, height, width):
    """What must be held whole: the L plane (4 bytes a pixel) and the output (3), plus the full-size
    ab (8) for methods other than the fused default. Generously: 12 or 24 bytes a pixel and 64 MB,
    however wide or tall. (Today's path held 3 x 56 x width floats per tap: 1.3 GB for 8 x 1,000,000.)"""
    pixels = height * width
    rise = peak_rise(height, width, method)
    limit = bytes_per_pixel * pixels + 64e6
    assert rise < limit, f"{height}x{width} {method}: peak rose {rise / 1e6:.0f} MB, limit {limit / 1e6:.0f} MB"
