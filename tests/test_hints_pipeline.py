"""Colour hints through the library and the command line (the one pipeline): on a non-square photo a
hint at (x, y) changes the output colour most near (x, y) and leaves the lightness alone; ECCV16
refuses hints by naming the user-guided model; hints are part of an output's provenance and of what
``--resume`` compares; a bad hints file fails its photo alone."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from colorizer import Colorizer, ColorizerError
from colorizer import cli as colorizer_cli
from colorizer.errors import HintError
from colorizer.manifest import read_rows
from colorizer.provenance import KEY_SETTINGS, read_provenance
from testkit.fixtures import photo
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # command-line runs in subprocesses: not in the quick subset

WIDTH, HEIGHT = 640, 480
BLUE = "#2f6fd6"


@pytest.fixture(scope="module")
def guided(guided_model) -> Colorizer:
    return Colorizer(guided_model, providers=["CPUExecutionProvider"])


def lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 Lab (OpenCV's, L 0..100)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


@pytest.mark.parametrize("x, y", [(520.0, 100.0), (90.0, 400.0)])
def test_a_hint_changes_the_colour_most_near_it_and_never_the_lightness(guided, x, y):
    grey = photo(WIDTH, HEIGHT)
    automatic = guided.colorize(grey)
    hinted = guided.colorize(grey, hints=[{"x": x, "y": y, "color": BLUE}])
    assert hinted.shape == automatic.shape == (HEIGHT, WIDTH, 3)
    change = np.hypot(*(lab(hinted)[..., 1:] - lab(automatic)[..., 1:]).transpose(2, 0, 1))
    smooth = cv2.GaussianBlur(change, (0, 0), 8)
    row, column = np.unravel_index(np.argmax(smooth), smooth.shape)
    assert np.hypot(column - x, row - y) < 40, f"largest change at ({column}, {row}), hint at ({x}, {y})"
    rows, columns = np.mgrid[:HEIGHT, :WIDTH]
    near = np.hypot(columns - x, rows - y) < 40
    assert change[near].mean() > 5 * change[~near].mean()
    hue = lab(hinted)[int(y), int(x), 1:]
    assert hue[1] < lab(automatic)[int(y), int(x), 2], "the hinted spot moved towards blue (lower b)"
    grey_l = lab(np.dstack([grey] * 3))[..., 0]
    for result in (automatic, hinted):  # the photo's own lightness, up to 8-bit rounding and gamut clipping
        assert np.abs(lab(result)[..., 0] - grey_l).mean() < 1.0


def test_hints_in_json_text_are_the_same_hints(guided):
    grey = photo(320, 200)
    hints = [{"x": 100, "y": 50, "color": BLUE, "size": 10}]
    np.testing.assert_array_equal(guided.colorize(grey, hints=hints), guided.colorize(grey, hints=json.dumps(hints)))


def test_hints_outside_the_photo_are_refused_with_their_place(guided):
    with pytest.raises(HintError, match=r"hints\[0\]: \(700, 10\) is outside the 640x480 photo"):
        guided.colorize(photo(WIDTH, HEIGHT), hints=[{"x": 700, "y": 10, "color": BLUE}])


def test_eccv16_refuses_hints_by_naming_the_user_guided_model(synthetic_model):
    with pytest.raises(HintError, match="user-guided model"):
        Colorizer(synthetic_model).colorize(photo(64, 48), hints=[{"x": 1, "y": 1, "color": BLUE}])
    assert Colorizer(synthetic_model).colorize(photo(64, 48), hints=[]).shape == (48, 64, 3)


def test_the_guided_model_has_no_temperature(guided):
    with pytest.raises(ColorizerError, match="no temperature"):
        guided.colorize(photo(64, 48), temperature=0.2)


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "colorizer", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


def test_cli_hints_file_reaches_the_photo_and_its_provenance(guided_model, tmp_path):
    Image.fromarray(photo(WIDTH, HEIGHT)).save(tmp_path / "scan.png")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 520, "y": 100, "color": BLUE}]))
    plain = run_cli(str(tmp_path / "scan.png"), "-o", str(tmp_path / "plain"), "--model", str(guided_model))
    hinted = run_cli(
        str(tmp_path / "scan.png"), "-o", str(tmp_path / "hinted"), "--model", str(guided_model), "--hints", str(hints)
    )
    assert plain.returncode == hinted.returncode == 0, hinted.stderr
    settings = json.loads(read_provenance(tmp_path / "hinted" / "scan_color.png")[KEY_SETTINGS])
    assert settings["hints"] == [{"x": 520.0, "y": 100.0, "color": BLUE}]
    assert "hints" not in json.loads(read_provenance(tmp_path / "plain" / "scan_color.png")[KEY_SETTINGS])
    a, b = (np.asarray(Image.open(tmp_path / name / "scan_color.png")) for name in ("plain", "hinted"))
    assert np.abs(a[80:120, 500:540].astype(int) - b[80:120, 500:540]).mean() > 1.0


@pytest.mark.parametrize("orientation, turns", [(6, 1), (8, 3)], ids=["exif-6", "exif-8"])
def test_hints_fall_where_they_point_on_the_photo_as_shown_after_its_exif_orientation(
    guided_model, tmp_path, orientation, turns
):
    """A phone's portrait or landscape JPEG is stored turned, with an EXIF orientation: the hint's
    x and y are on the photo as it is shown (upright), and so is the output."""
    width, height, x, y = 320, 240, 290, 30  # shown landscape, the hint near its top right corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.rot90(photo(width, height), turns).copy()  # the EXIF turn shows it upright again
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": x, "y": y, "color": BLUE, "size": 10}]))
    source, model = str(tmp_path / "phone.jpg"), str(guided_model)
    assert colorizer_cli.main([source, "-o", str(tmp_path / "plain"), "--model", model]) == 0
    assert colorizer_cli.main([source, "-o", str(tmp_path / "hinted"), "--model", model, "--hints", str(hints)]) == 0
    plain, hinted = (np.asarray(Image.open(tmp_path / name / "phone_color.png")) for name in ("plain", "hinted"))
    assert hinted.shape == (height, width, 3), "the output is the photo as shown"
    change = cv2.GaussianBlur(np.hypot(*(lab(hinted)[..., 1:] - lab(plain)[..., 1:]).transpose(2, 0, 1)), (0, 0), 6)
    row, column = np.unravel_index(np.argmax(change), change.shape)
    assert np.hypot(column - x, row - y) < 25, f"largest change at ({column}, {row}), hint at ({x}, {y})"


def test_cli_own_hints_file_and_resume_redoes_a_photo_whose_hints_changed(guided_model, tmp_path):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(photo(160, 120)).save(source / f"{name}.png")
    (source / "a.hints.json").write_text(json.dumps([{"x": 10, "y": 10, "color": BLUE}]))
    (source / "c.hints.json").write_text('[{"x": 10, "y": 10, "colour": "#000000"}]')  # a misspelt key
    first = run_cli(str(source), "-o", str(out), "--model", str(guided_model))
    assert first.returncode == 1 and "c.png: hints[0]: unknown key 'colour'" in first.stderr
    assert sorted(path.name for path in out.glob("*.png")) == ["a_color.png", "b_color.png"]  # c alone failed
    made = {name: (out / f"{name}_color.png").stat().st_mtime_ns for name in ("a", "b")}
    (source / "a.hints.json").write_text(json.dumps([{"x": 150, "y": 100, "color": "#d62f2f"}]))
    second = run_cli(str(source), "-o", str(out), "--model", str(guided_model), "--resume")
    rows = {row.input.rsplit("/", 1)[-1]: row for row in read_rows(out / "manifest.jsonl")}
    assert second.returncode == 1, second.stderr  # c's hints are still bad
    assert rows["a.png"].status == "ok" and rows["b.png"].status == "skipped"
    assert (out / "a_color.png").stat().st_mtime_ns != made["a"]
    assert (out / "b_color.png").stat().st_mtime_ns == made["b"]
    recorded = json.loads(read_provenance(out / "a_color.png")[KEY_SETTINGS])["hints"]
    assert recorded == [{"x": 150.0, "y": 100.0, "color": "#d62f2f"}]


def test_cli_refuses_an_unreadable_hints_option_before_any_work(guided_model, tmp_path):
    (tmp_path / "bad.json").write_text("[{")
    Image.fromarray(photo(64, 48)).save(tmp_path / "a.png")
    result = run_cli(str(tmp_path / "a.png"), "--model", str(guided_model), "--hints", str(tmp_path / "bad.json"))
    assert result.returncode == 2 and result.stderr.startswith("error: bad.json: the hints are not JSON")
    assert not (tmp_path / "a_color.png").exists()
