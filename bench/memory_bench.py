"""Peak and current RSS, step by step, of one process that colorizes a 12 MP photo: with the freed
heap returned after the session is created (``colorizer.heap``, today), without (as before), and
with the heap returned and the model's weights stored as external data (a copy of the model whose
initializers live in a sidecar file, ``onnx.save_model(save_as_external_data=True)``; the Colorizer
unchanged: onnxruntime reads the sidecar beside the model).

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

from bench.common import WORK_DIR, peak_rss_mb

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
    models = {"keep": args.model, "trim": args.model, "external": str(external_copy(Path(args.model)))}
    results = {}
    for variant, model in models.items():
        command = [sys.executable, "-m", "bench.memory_bench", "--model", model, "--size", args.size]
        worker_variant = "keep" if variant == "keep" else "trim"
        done = subprocess.run([*command, "--worker", worker_variant], capture_output=True, text=True, check=True)
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    columns = ("heap kept", "heap returned", "returned + external weights")
    print(
        "| step | "
        + " | ".join(f"RSS MB, {name}" for name in columns)
        + " | "
        + " | ".join(f"peak MB, {name}" for name in columns)
        + " |"
    )
    print("|---|" + "---:|" * 2 * len(columns))
    for index, step in enumerate(STEPS):
        rows = [results[variant][index] for variant in models]
        print(
            f"| {step} | "
            + " | ".join(f"{row[1]:.0f}" for row in rows)
            + " | "
            + " | ".join(f"{row[2]:.0f}" for row in rows)
            + " |"
        )


def external_copy(model: Path) -> Path:
    """A copy of ``model`` in bench/out/external/ with its initializers in a sidecar file (written once)."""
    import onnx

    folder = WORK_DIR / "external"
    path = folder / model.name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        onnx.save_model(onnx.load(str(model)), str(path), save_as_external_data=True, location=f"{model.name}.data")
    return path


if __name__ == "__main__":
    main()
