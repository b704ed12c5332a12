"""``python -m colorizer`` on a batch with broken files: every good image is still written."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from testkit.fixtures import REPO_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "colorizer", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


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
    assert sorted(path.name for path in out.iterdir()) == ["a_color.png", "b_color.png"]
    assert cv2.imread(str(out / "a_color.png")).shape == (120, 160, 3)
    assert cv2.imread(str(out / "b_color.png")).shape == (100, 90, 3)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, result.stderr
    assert any("cut.jpg" in line and "truncated" in line for line in errors)
    assert any("empty.jpg" in line and "empty" in line for line in errors)
    assert any("notes.png" in line and "not a recognised image format" in line for line in errors)
    assert "2 of 5 images colorized" in result.stdout and "3 failed" in result.stdout
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
