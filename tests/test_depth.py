"""Bit depth (issue "Archive-grade photos", item 4): a 16-bit input gives a 16-bit PNG or TIFF whose
colour is computed without an 8-bit step — more than 256 levels, and the input's lightness kept
(CIE L* computed here independently, by scikit-image, in float64) — through the library, the command
line and the app alike; ``--depth 8|16`` chooses; JPEG and WebP are 8-bit and refuse 16."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest
import tifffile
from skimage.color import rgb2lab

from appkit.requests import colorize_one
from colorizer import Colorizer, ColorizerError, cli
from colorizer.encode import encode_image, output_depth
from colorizer.provenance import KEY_SETTINGS, read_provenance
from colorizer.settings import Settings
from testkit.fixtures import REPO_ROOT
from testkit.hostile_bounds import RSS_BYTES_PER_PIXEL, rss_bytes
from testkit.measured import run_measured

HEIGHT, WIDTH = 96, 640
MAX_MEAN_DELTA_L = 0.3  # the bound on the mean |L*out - L*in|
CLI_BASE_RSS_BYTES = 1000 << 20  # interpreter, onnxruntime session, numba kernels (as tests/test_hostile_cli.py)


def grey_ramp() -> np.ndarray:
    """uint16 HxW: a horizontal ramp over all 65,536 levels' range, a gentle vertical wave on it so
    the network sees some structure."""
    ramp = np.linspace(0.0, 1.0, WIDTH)[None, :] * np.ones((HEIGHT, 1))
    wave = 0.04 * np.sin(np.linspace(0, 3 * np.pi, HEIGHT))[:, None]
    return np.rint(np.clip(ramp * 0.92 + 0.04 + wave, 0, 1) * 65535).astype(np.uint16)


def input_lightness(pixels: np.ndarray) -> np.ndarray:
    """float64 HxW CIE L* of uint16 grey or RGB pixels (sRGB)."""
    rgb = np.dstack([pixels] * 3) if pixels.ndim == 2 else pixels
    return rgb2lab(rgb.astype(np.float64) / 65535)[..., 0]


def lightness_error(output: np.ndarray, source: np.ndarray) -> tuple[float, float]:
    """(mean |L*out - L*in| over the pixels whose colour was not clipped into the sRGB gamut, the
    share of such pixels): clipping is the one loss allowed."""
    top = np.iinfo(output.dtype).max
    delta = np.abs(rgb2lab(output[..., :3].astype(np.float64) / top)[..., 0] - input_lightness(source))
    inside = ~((output[..., :3] == 0) | (output[..., :3] == top)).any(axis=-1)
    return float(delta[inside].mean()), float(inside.mean())


def assert_deep(output: np.ndarray, source: np.ndarray, what: str) -> None:
    assert output.dtype == np.uint16, f"{what}: {output.dtype}, not 16 bits"
    levels = len(np.unique(output[..., 1]))
    assert levels > 256, f"{what}: {levels} green levels: an 8-bit step"
    error, inside = lightness_error(output, source)
    assert inside > 0.5, f"{what}: only {inside:.0%} of the pixels kept their colour unclipped"
    assert error <= MAX_MEAN_DELTA_L, f"{what}: mean |delta L*| {error:.3f} > {MAX_MEAN_DELTA_L}"


@pytest.fixture(scope="module")
def colorizer(synthetic_model) -> Colorizer:
    return Colorizer(synthetic_model, device="cpu")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    """16-bit grey PNG and TIFF, a 16-bit RGB TIFF (grey, slightly warm), an 8-bit PNG."""
    folder = tmp_path_factory.mktemp("deep_inputs")
    grey = grey_ramp()
    warm = np.dstack([grey, (grey * 0.97).astype(np.uint16), (grey * 0.92).astype(np.uint16)])
    cv2.imwrite(str(folder / "grey16.png"), grey)
    tifffile.imwrite(folder / "grey16.tif", grey)
    tifffile.imwrite(folder / "rgb16.tif", warm, photometric="rgb")
    cv2.imwrite(str(folder / "grey8.png"), (grey // 257).astype(np.uint8))
    return {"folder": folder, "grey16.png": grey, "grey16.tif": grey, "rgb16.tif": warm}


def read_output(path) -> np.ndarray:
    """An output file's pixels exactly as stored, RGB(A)."""
    if path.suffix == ".tiff":
        return tifffile.imread(path)
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)  # OpenCV reads BGR


def test_the_library_finishes_at_16_bits_without_an_8_bit_step(colorizer):
    grey = grey_ramp()
    deep = colorizer.colorize(grey, depth=16)
    assert_deep(deep, grey, "colorize(depth=16)")
    shallow = colorizer.colorize(grey)
    assert shallow.dtype == np.uint8 and len(np.unique(shallow[..., 1])) <= 256
    # The same colour, only finer: the 16-bit result rounded to 8 bits is the 8-bit one within a level.
    rounded = np.rint(deep / 257.0)
    assert np.abs(rounded - shallow).max() <= 1
    assert lightness_error(deep, grey)[0] < lightness_error(shallow, grey)[0], "16 bits should be closer"


def test_an_alpha_channel_is_carried_at_the_results_depth(colorizer):
    grey = grey_ramp()
    alpha = np.linspace(0, 65535, WIDTH, dtype=np.uint16)[None].repeat(HEIGHT, 0)
    deep = colorizer.colorize(np.dstack([grey, grey, grey, alpha]), depth=16)
    np.testing.assert_array_equal(deep[..., 3], alpha)
    shallow = colorizer.colorize(np.dstack([grey, grey, grey, alpha]))
    np.testing.assert_array_equal(shallow[..., 3], np.rint(alpha / 257).astype(np.uint8))


def test_a_bad_depth_is_refused_before_anything_runs(colorizer):
    with pytest.raises(ColorizerError, match="8 or 16"):
        colorizer.colorize(grey_ramp(), depth=12)
    for format in ("jpg", "webp"):
        with pytest.raises(ColorizerError, match="8 bits a sample"):
            Settings(format=format, depth=16).checked()
    assert Settings(format="tif", depth=16).checked().depth == 16


@pytest.mark.parametrize("channels", [3, 4])
def test_a_16_bit_png_is_written_and_read_back_exactly(channels):
    pixels = np.random.default_rng(channels).integers(0, 65536, (23, 37, channels), dtype=np.uint16)
    data = encode_image(pixels, "png", text={"Software": "test"})
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    order = cv2.COLOR_BGRA2RGBA if channels == 4 else cv2.COLOR_BGR2RGB  # OpenCV reads BGR(A)
    np.testing.assert_array_equal(cv2.cvtColor(back, order), pixels)
    with pytest.raises(ColorizerError, match="JPG takes uint8"):
        encode_image(pixels[..., :3], "jpg")


@pytest.mark.parametrize(
    "format, depth, dtype, expected",
    [
        ("png", None, np.uint16, 16),
        ("tiff", None, np.uint16, 16),
        ("jpg", None, np.uint16, 8),  # JPEG and WebP hold 8 bits: "as the input" falls back to 8
        ("webp", None, np.uint16, 8),
        ("png", None, np.uint8, 8),
        ("png", 8, np.uint16, 8),
        ("tiff", 16, np.uint8, 16),
    ],
)
def test_output_depth_is_the_inputs_unless_chosen(format, depth, dtype, expected):
    assert output_depth(format, depth, dtype) == expected


@pytest.mark.parametrize("format", ["png", "tiff"])
@pytest.mark.parametrize("name", ["grey16.png", "grey16.tif", "rgb16.tif"])
def test_cli_writes_16_bits_from_16_bits(inputs, synthetic_model, tmp_path, capsys, name, format):
    out = tmp_path / "out"
    status = cli.main(
        [str(inputs["folder"] / name), "-o", str(out), "--model", str(synthetic_model), "--format", format]
    )
    assert status == 0, capsys.readouterr().err
    written = out / f"{name.split('.')[0]}_color.{format}"
    assert_deep(read_output(written), inputs[name], f"{name} -> {format}")
    assert "depth" not in json.loads(read_provenance(written)[KEY_SETTINGS]), "the default is not recorded"


def test_cli_depth_8_and_16_override_the_input(inputs, synthetic_model, tmp_path, capsys):
    model = ["--model", str(synthetic_model)]
    assert cli.main([str(inputs["folder"] / "grey16.tif"), "-o", str(tmp_path / "a"), "--depth", "8", *model]) == 0
    assert read_output(tmp_path / "a" / "grey16_color.png").dtype == np.uint8
    assert cli.main([str(inputs["folder"] / "grey8.png"), "-o", str(tmp_path / "b"), *model]) == 0
    assert read_output(tmp_path / "b" / "grey8_color.png").dtype == np.uint8
    assert cli.main([str(inputs["folder"] / "grey8.png"), "-o", str(tmp_path / "c"), "--depth", "16", *model]) == 0
    written = tmp_path / "c" / "grey8_color.png"
    assert read_output(written).dtype == np.uint16
    assert json.loads(read_provenance(written)[KEY_SETTINGS])["depth"] == 16
    capsys.readouterr()
    status = cli.main(
        [str(inputs["folder"] / "grey16.png"), "-o", str(tmp_path / "d"), "--format", "jpg", "--depth", "16", *model]
    )
    assert status == 2 and "JPG holds 8 bits a sample" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_resume_compares_the_depth(inputs, synthetic_model, tmp_path, capsys):
    source, out = str(inputs["folder"] / "grey16.tif"), tmp_path / "out"
    run = [source, "-o", str(out), "--model", str(synthetic_model), "--format", "tiff", "--resume"]
    assert cli.main(run) == 0
    written = out / "grey16_color.tiff"
    made = written.stat().st_mtime_ns
    assert cli.main(run) == 0 and written.stat().st_mtime_ns == made, "--resume redid a finished TIFF"
    assert cli.main([*run, "--depth", "8"]) == 0
    assert read_output(written).dtype == np.uint8, "--resume kept an output made at another depth"


def test_the_apps_download_keeps_the_inputs_depth(inputs, colorizer, tmp_path):
    """The page, the API and MCP go through ``appkit.requests.colorize_one`` with the page's settings
    (no format, no depth): a 16-bit upload's download is a 16-bit PNG; its preview stays 8-bit."""
    done = colorize_one(colorizer, inputs["folder"] / "grey16.png", tmp_path, Settings.from_request())
    assert done.result.suffix == ".png"
    assert_deep(read_output(done.result), inputs["grey16.png"], "the app's download")
    assert cv2.imread(str(done.before), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    eight = colorize_one(colorizer, inputs["folder"] / "grey8.png", tmp_path / "8", Settings.from_request())
    assert read_output(eight.result).dtype == np.uint8


@pytest.mark.slow  # two CLI runs on megapixel scans
def test_memory_of_a_16_bit_tiff_grows_with_its_pixels_alone(synthetic_model, tmp_path):
    """A 16-bit scan into a 16-bit TIFF: the command's peak memory grows, from a 2 MP scan to an 8 MP
    one, by at most RSS_BYTES_PER_PIXEL a pixel more (the bound every photo has; measured 12.1 B
    here: uint16 grey in, float32 lightness, uint16 RGB out, the deflated strips and the file), and
    stays within the bound the hostile tests give a photo of its size."""
    peaks = {}
    for width, height in ((1600, 1250), (3200, 2500)):
        source = tmp_path / f"scan_{width}.tif"
        coarse = np.random.default_rng(width).uniform(0, 65535, (height // 50, width // 50)).astype(np.float32)
        tifffile.imwrite(source, cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.uint16))
        command = [sys.executable, "-m", "colorizer", str(source), "--model", str(synthetic_model), "--format", "tiff"]
        done = run_measured([*command, "-o", str(tmp_path / "out"), "--jobs", "1"], cwd=REPO_ROOT)
        assert done.status == 0, done.stderr
        assert tifffile.imread(tmp_path / "out" / f"scan_{width}_color.tiff").dtype == np.uint16
        peaks[width * height] = done.peak_mb * 2**20
        assert peaks[width * height] <= rss_bytes(width * height, base_bytes=CLI_BASE_RSS_BYTES)
    (small, small_peak), (large, large_peak) = sorted(peaks.items())
    per_pixel = (large_peak - small_peak) / (large - small)
    assert per_pixel <= RSS_BYTES_PER_PIXEL, f"{per_pixel:.1f} bytes a pixel more for a larger 16-bit scan"
