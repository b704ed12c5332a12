"""Benchmark: the seed pipeline (OpenCV 4 DNN on the Caffe files) against Colorizer.colorize, fp32 and int8.

Run by hand:  python -m bench.colorize_bench [--runs 7] [--sizes 640x480 4000x3000] [--threads N]

Same random weights (one synthetic caffemodel, converted once), same photo, side by side in one
run. Each (pipeline, size) runs in its own worker process so that its peak RSS is its own; the
worker warms up once, then times --runs calls and reports the median and the minimum (other work
on the machine inflates the median). ``fp32-today`` is the network with the float per-pixel path
the fast one replaced (testkit/pixels_reference.py).
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

from bench.common import REPO_ROOT, SHARED_FIXTURES, WORK_DIR, peak_rss_mb, photo, release_files

NETWORK_GFLOP_224 = 64.0  # 32 GMAC per 224x224 inference (conv/deconv MACs x 2)


def model_path(precision: str = "fp32"):
    """The ONNX model converted from the benchmark's synthetic release (built once); int8 is
    calibrated on the shared photos (or the app's examples)."""
    from colorkit.contract import int8_path
    from convert.eccv16 import convert_release
    from convert.quantize import quantize_model

    path = WORK_DIR / "bench_eccv16.onnx"
    if not path.exists():
        path.write_bytes(convert_release(*release_files()).SerializeToString())
    if precision == "int8" and not int8_path(path).exists():
        photos = SHARED_FIXTURES / "photos"
        quantize_model(path, int8_path(path), photos if photos.is_dir() else REPO_ROOT / "examples")
    return int8_path(path) if precision == "int8" else path


def sgemm_peak_gflops() -> float:
    """The machine's measured fp32 peak: the best of a few 4096^3 float32 matrix products (BLAS)."""
    import numpy as np

    a = np.random.default_rng(0).random((4096, 4096), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(3))
    return 2 * 4096**3 / best / 1e9


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def make_pipeline(name: str, threads: int | None):
    """name -> a function of a uint8 HxW grey photo."""
    if name == "seed":
        import cv2

        from testkit.seed_pipeline import load_seed_net, seed_colorize

        net = load_seed_net(*release_files())
        return lambda grey: seed_colorize(net, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB))
    from colorizer import Colorizer

    precision = "int8" if "int8" in name else "fp32"
    colorizer = Colorizer(model_path(precision), providers=["CPUExecutionProvider"], threads=threads)
    if name.startswith("network"):  # the network alone: one 224x224 inference, no pre/post-processing
        import numpy as np

        plane = np.full((224, 224), 50, np.float32)
        return lambda grey: colorizer.predict_ab(plane)
    if name.endswith("-today"):  # the same network with today's float per-pixel path around it
        from testkit import pixels_reference

        return lambda grey: pixels_reference.reference_colorize_tail(
            grey, colorizer.predict_ab(pixels_reference.lightness(grey))
        )
    return colorizer.colorize


def worker(name: str, width: int, height: int, runs: int, threads: int | None) -> dict:
    grey = photo(width, height)
    run = make_pipeline(name, threads)
    run(grey)  # warm-up: session arenas, lazy initialisation
    seconds = [_timed(lambda: run(grey)) for _ in range(runs)]
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "peak_rss_mb": peak_rss_mb()}


def spawn(name: str, width: int, height: int, runs: int, threads: int | None) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.colorize_bench",
        "--worker",
        name,
        "--sizes",
        f"{width}x{height}",
        "--runs",
        str(runs),
    ] + (["--threads", str(threads)] if threads else [])
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", nargs="+", default=["640x480", "4000x3000"])
    parser.add_argument(
        "--pipelines",
        nargs="+",
        default=["seed", "fp32-today", "fp32", "int8"],
        help="seed, fp32, int8, and fp32-today / int8-today: the network with the float "
        "per-pixel path of testkit/pixels_reference.py",
    )
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default: its own)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [(int(size.split("x")[0]), int(size.split("x")[1])) for size in args.sizes]
    if args.worker:
        print(json.dumps(worker(args.worker, *sizes[0], args.runs, args.threads)))
        return
    model_path("int8")  # build shared files before timing anything
    peak = sgemm_peak_gflops()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"median of {args.runs} runs after one warm-up; threads: {args.threads or 'onnxruntime default'}"
    )
    print(f"measured fp32 peak (4096^3 sgemm): {peak:.0f} GFLOP/s")
    networks = {}
    for name in ("network", "network-int8"):
        networks[name] = spawn(name, 640, 480, args.runs, args.threads)
        rate = NETWORK_GFLOP_224 / networks[name]["median_s"]
        print(
            f"{name} alone (224x224): {networks[name]['median_s'] * 1000:.0f} ms = {rate:.0f} GFLOP/s "
            f"({rate / peak:.0%} of the fp32 peak{', int8 ops counted as FLOPs' if 'int8' in name else ''})"
        )
    print("| size | pipeline | median ms | min ms | vs seed (median) | vs seed (min) | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for width, height in sizes:
        results = {name: spawn(name, width, height, args.runs, args.threads) for name in args.pipelines}
        seed = results.get("seed")
        for name, result in results.items():
            ratio = f"{seed['median_s'] / result['median_s']:.2f}x" if seed else "-"
            ratio_min = f"{seed['min_s'] / result['min_s']:.2f}x" if seed else "-"
            print(
                f"| {width}x{height} | {name} | {result['median_s'] * 1000:.0f} | {result['min_s'] * 1000:.0f} "
                f"| {ratio} | {ratio_min} | {result['peak_rss_mb']:.0f} |"
            )
        for name in results:
            network = networks["network-int8" if name.startswith("int8") else "network"]
            if name != "seed":
                rest = results[name]["min_s"] - network["min_s"]
                print(
                    f"{width}x{height} {name}: everything but the network {rest * 1000:.0f} ms "
                    f"(min minus the network's min)"
                )


if __name__ == "__main__":
    main()
