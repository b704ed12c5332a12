"""Benchmark: the seed pipeline (OpenCV 4 DNN on the Caffe files) against Colorizer.colorize.

Run by hand:  python -m bench.colorize_bench [--runs 7] [--sizes 640x480 4000x3000]

Same random weights (one synthetic caffemodel, converted once), same photo, side by side in one
run. Each (pipeline, size) runs in its own worker process so that its peak RSS is its own; the
worker warms up once, then times --runs calls and reports the median.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from bench.common import REPO_ROOT, WORK_DIR, peak_rss_mb, photo, release_files

NETWORK_GFLOP_224 = 64.0  # 32 GMAC per 224x224 inference (conv/deconv MACs x 2)


def model_path():
    """The fp32 ONNX model converted from the benchmark's synthetic release (built once)."""
    from convert.eccv16 import convert_release
    path = WORK_DIR / "bench_eccv16.onnx"
    if not path.exists():
        path.write_bytes(convert_release(*release_files()).SerializeToString())
    return path


def make_pipeline(name: str, threads: int | None):
    """name -> a function of a uint8 HxW grey photo."""
    if name == "seed":
        import cv2
        from bench.seed_pipeline import load_seed_net, seed_colorize
        net = load_seed_net(*release_files())
        return lambda grey: seed_colorize(net, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB))
    from colorizer import Colorizer
    colorizer = Colorizer(model_path(), providers=["CPUExecutionProvider"], threads=threads)
    if name == "network":  # the network alone: one 224x224 inference, no pre/post-processing
        from colorizer.color import lightness
        return lambda grey, plane=None: colorizer.predict_ab(lightness(grey[:224, :224]))
    return colorizer.colorize


def worker(name: str, width: int, height: int, runs: int, threads: int | None) -> dict:
    grey = photo(width, height)
    run = make_pipeline(name, threads)
    run(grey)  # warm-up: session arenas, lazy initialisation
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        run(grey)
        seconds.append(time.perf_counter() - start)
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "peak_rss_mb": peak_rss_mb()}


def spawn(name: str, width: int, height: int, runs: int, threads: int | None) -> dict:
    command = [sys.executable, "-m", "bench.colorize_bench", "--worker", name, "--sizes", f"{width}x{height}",
               "--runs", str(runs)] + (["--threads", str(threads)] if threads else [])
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", nargs="+", default=["640x480", "4000x3000"])
    parser.add_argument("--pipelines", nargs="+", default=["seed", "fp32"])
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default: its own)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes]
    if args.worker:
        print(json.dumps(worker(args.worker, *sizes[0], args.runs, args.threads)))
        return
    model_path()  # build shared files before timing anything
    network = spawn("network", 640, 480, args.runs, args.threads)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"median of {args.runs} runs after one warm-up")
    print(f"network alone (224x224, fp32): {network['median_s'] * 1000:.0f} ms = "
          f"{NETWORK_GFLOP_224 / network['median_s']:.0f} GFLOP/s")
    print("| size | pipeline | median ms | vs seed | peak RSS MB |")
    print("| --- | --- | --- | --- | --- |")
    for width, height in sizes:
        results = {name: spawn(name, width, height, args.runs, args.threads) for name in args.pipelines}
        seed = results.get("seed", {}).get("median_s")
        for name, result in results.items():
            ratio = f"{seed / result['median_s']:.2f}x faster" if seed else "-"
            print(f"| {width}x{height} | {name} | {result['median_s'] * 1000:.0f} | {ratio} | "
                  f"{result['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
