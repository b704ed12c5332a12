"""The int8 fast path: quantization keeps the contract, the self-check refuses a bad model."""

from __future__ import annotations

import shutil
import subprocess
import sys

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from colorizer import Colorizer
from colorkit.contract import int8_path
from convert.quantize import QuantizationRefused, quantize_model
from testkit.fixtures import REPO_ROOT, shared_photos

pytestmark = pytest.mark.slow  # int8 calibration: not in the quick subset


@pytest.fixture(scope="module")
def calibration_dir(tmp_path_factory):
    """The shared real photos when present, else six synthetic photo-like images."""
    directory = tmp_path_factory.mktemp("calibration")
    if shared_photos():
        for photo in shared_photos():
            shutil.copy(photo, directory)
        return directory
    rng = np.random.default_rng(0)
    for index in range(6):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        cv2.imwrite(
            str(directory / f"synthetic_{index}.jpg"), cv2.resize(coarse, (320, 240), interpolation=cv2.INTER_CUBIC)
        )
    return directory


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory, synthetic_model, calibration_dir):
    fp32 = tmp_path_factory.mktemp("int8") / "eccv16.onnx"
    shutil.copy(synthetic_model, fp32)
    check = quantize_model(fp32, int8_path(fp32), calibration_dir)
    return fp32, int8_path(fp32), check


def test_int8_model_keeps_the_onnx_contract(int8_model):
    fp32, int8, check = int8_model
    model = onnx.load(str(int8))
    onnx.checker.check_model(model)
    assert any(node.op_type == "QuantizeLinear" for node in model.graph.node), "no quantized layers"
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    data_l = np.random.default_rng(1).uniform(-50, 50, (1, 1, 224, 224)).astype(np.float32)
    ab = session.run(["class8_ab"], {"data_l": data_l})[0]
    assert ab.shape == (1, 2, 56, 56)
    hotter = session.run(["class8_ab"], {"data_l": data_l, "temperature": np.array(1.0, np.float32)})[0]
    assert np.abs(hotter).mean() < np.abs(ab).mean(), "temperature must still work in the int8 model"
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    assert metadata["io.ab_output"] == "class8_ab" and metadata["precision"] == "int8"
    assert float(metadata["int8.mean_abs_dab"]) == pytest.approx(check.mean_abs_dab, abs=1e-3)
    assert check.mean_abs_dab <= 3.0 and check.images >= 1


def test_colorizer_int8_precision_finds_the_int8_model(int8_model, monkeypatch):
    fp32, int8, _ = int8_model
    monkeypatch.setenv("COLORIZER_MODEL", str(fp32))
    colorizer = Colorizer(precision="int8")
    assert colorizer.model_path == int8
    grey = np.random.default_rng(2).integers(0, 256, (90, 120), dtype=np.uint8)
    assert colorizer.colorize(grey).shape == (90, 120, 3)


def test_self_check_refuses_and_writes_nothing(tmp_path, synthetic_model, calibration_dir):
    fp32 = tmp_path / "eccv16.onnx"
    shutil.copy(synthetic_model, fp32)
    with pytest.raises(QuantizationRefused, match="above the limit 0.001"):
        quantize_model(fp32, int8_path(fp32), calibration_dir, max_mean_dab=0.001)
    assert not int8_path(fp32).exists()
    assert list(tmp_path.iterdir()) == [fp32]


def test_cli_int8_refusal_is_one_line_exit_2(tmp_path, synthetic_release, calibration_dir):
    output = tmp_path / "eccv16.onnx"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "convert",
            *synthetic_release.convert_args(),
            "--output",
            str(output),
            "--int8",
            "--calibration",
            str(calibration_dir),
            "--int8-max-dab",
            "0.001",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: int8 vs fp32"), result.stderr
    assert output.exists() and not int8_path(output).exists()
