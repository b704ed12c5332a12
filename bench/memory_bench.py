"""Peak and current RSS, step by step, of one process that colorizes a 12 MP photo: with the freed
heap returned after the session is created (``colorizer.heap``, today) and without (as before).

    python -m bench.memory_bench [--model PATH] [--size 4000x3000]

Each variant runs in a fresh process (so its peak is its own); the model defaults to the
benchmarks' random-weight model of the real architecture (bench/out/bench_eccv16.onnx).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.common import peak_rss_mb

STEPS = ("imported", "kernels loaded", "session created", "12 MP colorized")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(model: str, size: str, trim: bool) -> None:
    """Run in a fresh process: print a JSON line of (step, RSS MB, peak RSS MB)."""
    import numpy as np

    import colorizer.colorizer as colorizer_module
    from colorizer import Colorizer
    from colorizer.pixels import load_kernels

    steps = [("imported", rss_mb(), peak_rss_mb())]
    load_kernels()
    steps.append(("kernels loaded", rss_mb(), peak_rss_mb()))
    if not trim:
        colorizer_module.release_free_heap = lambda: False  # as before colorizer.heap
    colorizer = Colorizer(model, device="cpu")
    steps.append(("session created", rss_mb(), peak_rss_mb()))
    width, height = (int(value) for value in size.split("x"))
    grey = np.random.default_rng(0).integers(0, 256, (height, width), dtype=np.uint8)
    colorizer.colorize(grey)
    steps.append(("12 MP colorized", rss_mb(), peak_rss_mb()))
    print(json.dumps(steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="ONNX model (default: the benchmarks' synthetic one, built once)")
    parser.add_argument("--size", default="4000x3000")
    parser.add_argument("--worker", choices=["trim", "keep"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.model, args.size, args.worker == "trim")
        return
    if args.model is None:
        from bench.colorize_bench import model_path

        args.model = str(model_path())
    results = {}
    for variant in ("keep", "trim"):
        command = [sys.executable, "-m", "bench.memory_bench", "--model", args.model, "--size", args.size]
        done = subprocess.run([*command, "--worker", variant], capture_output=True, text=True, check=True)
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    print("| step | RSS MB, heap kept | RSS MB, heap returned | peak MB, kept | peak MB, returned |")
    print("|---|---:|---:|---:|---:|")
    for index, step in enumerate(STEPS):
        keep, trim = results["keep"][index], results["trim"][index]
        print(f"| {step} | {keep[1]:.0f} | {trim[1]:.0f} | {keep[2]:.0f} | {trim[2]:.0f} |")


if __name__ == "__main__":
    main()
