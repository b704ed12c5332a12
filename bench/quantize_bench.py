"""Benchmark: which layers to keep in float in the int8 model (accuracy against fp32, and speed).

Run by hand: python -m bench.quantize_bench

Calibrates on the shared photos (every third held out for the check), as `python -m convert --int8`
does, once per choice of float layers, and times the network alone.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import onnxruntime as ort

from bench.colorize_bench import model_path
from bench.common import REPO_ROOT, SHARED_FIXTURES, WORK_DIR
from convert.quantize import FLOAT_LAYERS, quantize_model

CHOICES = {
    "everything int8": (),
    "tail float: conv8_313 .. class8_ab (default)": FLOAT_LAYERS,
    "first conv + tail float": ("bw_conv1_1", *FLOAT_LAYERS),
}


def network_ms(path, runs: int = 7) -> float:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {"data_l": np.zeros((1, 1, 224, 224), np.float32)}
    session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    ort.set_default_logger_severity(3)
    fp32 = model_path()
    photos = SHARED_FIXTURES / "photos"
    calibration = photos if photos.is_dir() else REPO_ROOT / "examples"
    print(f"fp32 network: {network_ms(fp32):.0f} ms; calibration: {calibration}")
    print("| float layers | mean abs dab | p99 abs dab | RGB PSNR dB | network ms |")
    print("| --- | --- | --- | --- | --- |")
    for label, layers in CHOICES.items():
        out = WORK_DIR / "quantize_choice.onnx"
        check = quantize_model(fp32, out, calibration, max_mean_dab=float("inf"), float_layers=layers)
        print(
            f"| {label} | {check.mean_abs_dab:.2f} | {check.p99_abs_dab:.2f} | {check.psnr_db:.1f} | "
            f"{network_ms(out):.0f} |"
        )


if __name__ == "__main__":
    main()
