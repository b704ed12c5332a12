"""``python -m colorizer``: a batch with broken files still writes every good image; options give the
library's pixels; bad options and output folders are refused up front (exit 2)."""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from colorizer import Colorizer, read_image
from colorizer import cli as colorizer_cli
from colorizer.encode import encode_image
from testkit.batch_tree import texture, write_bgr
from testkit.fixtures import REPO_ROOT

pytestmark = pytest.mark.slow  # CLI subprocesses: not in the quick subset


def run_cli(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "colorizer", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        **options,
    )


@pytest.fixture
def batch(tmp_path):
    """A folder of two good photos, a truncated JPEG, an empty file and a text file named .png."""
    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(0)
    good = cv2.resize(rng.integers(0, 256, (6, 8), dtype=np.uint8), (160, 120), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(folder / "a.jpg"), good)
    cv2.imwrite(str(folder / "b.png"), good[:100, :90])
    encoded = cv2.imencode(".jpg", good)[1].tobytes()
    (folder / "cut.jpg").write_bytes(encoded[: len(encoded) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not an image")
    return folder


def test_batch_writes_every_good_image_and_reports_each_failure(batch, tmp_path, synthetic_model):
    out = tmp_path / "colored"
    result = run_cli(str(batch), "-o", str(out), "--model", str(synthetic_model), "--device", "cpu")
    assert result.returncode == 1, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["a_color.png", "b_color.png", "manifest.jsonl"]
    assert cv2.imread(str(out / "a_color.png")).shape == (120, 160, 3)
    assert cv2.imread(str(out / "b_color.png")).shape == (100, 90, 3)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, result.stderr
    assert any("cut.jpg" in line and "truncated" in line for line in errors)
    assert any("empty.jpg" in line and "empty" in line for line in errors)
    assert any("notes.png" in line and "not a recognised image format" in line for line in errors)
    assert "2 of 5 files colorized (2 photos)" in result.stdout and "3 failed" in result.stdout
    assert "Traceback" not in result.stderr


def test_single_good_file_beside_input_exit_0(batch, synthetic_model):
    result = run_cli(str(batch / "a.jpg"), "--model", str(synthetic_model), "--temperature", "0.2")
    assert result.returncode == 0, result.stderr
    assert (batch / "a_color.png").exists()
    rerun = run_cli(str(batch), "--model", str(synthetic_model), "-o", str(batch / "out"))
    assert rerun.returncode == 1  # the broken files in the folder still fail
    assert not (batch / "out" / "a_color_color.png").exists(), "outputs must not be colorized again"


def test_missing_model_exit_2(tmp_path, batch):
    result = run_cli(str(batch / "a.jpg"), "--model", str(tmp_path / "absent.onnx"))
    assert result.returncode == 2 and "python -m convert" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def library(synthetic_model):
    colorizer = Colorizer(synthetic_model, device="cpu")
    return lambda path, **options: colorizer.colorize(read_image(path), **options)


@pytest.fixture
def colour_photo(tmp_path):
    """A colour photo with strongly coloured areas (so --keep-color has something to keep)."""
    image = texture(90, 120, 3, seed=5)
    image[20:60, 30:90] = (40, 60, 220)  # BGR: a red patch
    return write_bgr(tmp_path / "toned.png", image)


def test_options_give_the_library_pixels(colour_photo, synthetic_model, library):
    options = {"temperature": 0.2, "render_size": 256, "upsample": "guided", "keep_color": True}
    result = run_cli(
        str(colour_photo),
        "--model",
        str(synthetic_model),
        "--temperature",
        "0.2",
        "--render-size",
        "256",
        "--upsample",
        "guided",
        "--keep-colour",
    )
    assert result.returncode == 0, result.stderr
    output = colour_photo.with_name("toned_color.png")
    assert result.stdout.splitlines()[0] == str(output)  # the path written, then the summary
    expected = library(colour_photo, **options)
    np.testing.assert_array_equal(np.asarray(Image.open(output)), expected)
    assert not np.array_equal(expected, library(colour_photo)), "the options must change the pixels"


def test_jpeg_and_webp_outputs(colour_photo, synthetic_model, library):
    expected = library(colour_photo)
    result = run_cli(str(colour_photo), "--model", str(synthetic_model), "--format", "jpg", "--quality", "92")
    assert result.returncode == 0, result.stderr
    jpeg = Image.open(colour_photo.with_name("toned_color.jpg"))
    assert jpeg.format == "JPEG" and jpeg.size == (120, 90)
    same_encoder = np.asarray(Image.open(io.BytesIO(encode_image(expected, "jpg", 92))))
    np.testing.assert_array_equal(np.asarray(jpeg), same_encoder)
    result = run_cli(str(colour_photo), "--model", str(synthetic_model), "--format", "webp", "--quality", "lossless")
    assert result.returncode == 0, result.stderr
    webp = Image.open(colour_photo.with_name("toned_color.webp"))
    assert webp.format == "WEBP"
    np.testing.assert_array_equal(np.asarray(webp), expected)


def test_files_get_umask_permissions(colour_photo, synthetic_model, tmp_path):
    result = run_cli(
        str(colour_photo),
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(synthetic_model),
        preexec_fn=lambda: os.umask(0o002),
    )
    assert result.returncode == 0, result.stderr
    for name in ("toned_color.png", "manifest.jsonl"):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o664, name


@pytest.mark.parametrize(
    "args, message",
    [
        (["--render-size", "300"], "render size 300 must be a multiple of 8 from 224 to 512"),
        (["--temperature", "5"], "temperature 5.0 must be between"),
        (["--quality", "92"], "PNG is lossless"),
        (["--format", "jpg", "--quality", "0"], "quality 0 must be a whole number from 1 to 100"),
        (["--format", "jpg", "--quality", "lossless"], "JPG has no lossless mode"),
        (["--quality", "best"], "'best' is neither a whole number nor lossless"),
        (["--format", "gif"], "invalid choice: 'gif'"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--max-pixels", "0"], "max pixels must be positive"),
        (["--upsample", "magic"], "invalid choice: 'magic'"),
    ],
)
def test_bad_options_refused_before_the_model_loads(batch, tmp_path, args, message):
    result = run_cli(str(batch / "a.jpg"), "--model", str(tmp_path / "absent.onnx"), *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "no model" not in result.stderr and "Traceback" not in result.stderr


def test_the_command_lines_start_imports_no_heavy_module_it_may_not_need():
    """The converter, onnx (0.45 s of ml_dtypes on its own), Gradio and Ray are imported where they
    are used, so ``colorize --help`` and a refused option answer in a fraction of a second."""
    probe = "import sys, colorizer.cli; print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))"
    done = subprocess.run(
        [sys.executable, "-c", probe, "convert", "onnx", "gradio", "ray", "app", "appkit"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_uri_needs_ray(tmp_path):
    result = run_cli("s3://bucket/scans", "-o", str(tmp_path), "--model", str(tmp_path / "absent.onnx"))
    assert result.returncode == 2 and "add --ray" in result.stderr


def test_output_folder_that_is_a_file(batch, tmp_path):
    (tmp_path / "taken").write_text("a file")
    result = run_cli(str(batch), "-o", str(tmp_path / "taken"), "--model", str(tmp_path / "absent.onnx"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: output folder {tmp_path / 'taken'} is a file"


def test_read_only_output_folder_reported_once(batch, tmp_path, synthetic_model, monkeypatch, capsys):
    attempts = []

    def read_only(path, *args, **kwargs):
        attempts.append(path)
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr("colorizer.pipeline.atomic_writer", read_only)
    status = colorizer_cli.main(
        [str(batch), "-o", str(tmp_path / "out"), "--jobs", "1", "--model", str(synthetic_model)]
    )
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert status == 2 and len(attempts) == 1
    assert errors == [
        f"error: cannot write to {tmp_path / 'out'}: Read-only file system; the batch was stopped after no file"
    ]


def test_large_batch_prints_a_summary(tmp_path, synthetic_model):
    folder = tmp_path / "many"
    write_bgr(folder / "good.jpg", texture(40, 60))
    for index in range(colorizer_cli.LIST_LIMIT + 1):
        (folder / f"empty{index:02d}.jpg").write_bytes(b"")
    result = run_cli(str(folder), "-o", str(tmp_path / "out"), "--model", str(synthetic_model))
    assert result.returncode == 1
    [summary] = result.stdout.splitlines()
    assert summary.startswith("1 of 22 files colorized (1 photo)") and f"outputs in {tmp_path / 'out'}" in summary
    assert (tmp_path / "out" / "good_color.png").exists()
