"""Benchmark: convert a full-size (128.9 MB) caffemodel to ONNX; wall time and peak RSS.

Run by hand: python -m bench.convert_bench [--runs 3]
Each run is a fresh `python -m convert` process, so its peak RSS is the conversion's alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from bench.common import REPO_ROOT, WORK_DIR, release_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    prototxt, caffemodel, hull = release_files()
    output = WORK_DIR / "bench_eccv16.onnx"
    seconds, peaks = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "convert",
                "--prototxt",
                str(prototxt),
                "--caffemodel",
                str(caffemodel),
                "--hull",
                str(hull),
                "--output",
                str(output),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds.append(time.perf_counter() - start)
        if status:
            sys.exit(f"conversion failed with status {status}")
        peaks.append(usage.ru_maxrss / 1024)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"caffemodel {caffemodel.stat().st_size / 1e6:.1f} MB -> onnx {output.stat().st_size / 1e6:.1f} MB")
    print(
        f"convert: median {statistics.median(seconds):.2f} s (runs: {', '.join(f'{s:.2f}' for s in seconds)}), "
        f"peak RSS {max(peaks):.0f} MB"
    )


if __name__ == "__main__":
    main()
