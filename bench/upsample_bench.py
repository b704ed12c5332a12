"""Benchmark: how well each colour upsampling method restores true colour, and what it costs.

Run by hand:  python -m bench.upsample_bench [--runs 5] [--tune]

Ground truth: each colour photo in ../shared/fixtures/photos as OpenCV float Lab (RGB / 255 -> Lab).
A perfect network stands in for the real one: the network sees the whole photo squashed to 224x224
and answers 56x56 ab, so the true ab is averaged over each of those cells (cv2.INTER_AREA of the whole
photo to 56x56). Each method brings that grid back to full size, guided by the photo's true L.

Error: ab RMSE = sqrt(mean(da^2 + db^2)) over every pixel, and over the edge band: pixels within
3 px (a 7x7 ellipse dilation) of a Canny edge (thresholds 100, 200) of the 8-bit L (L * 2.55)
smoothed by a Gaussian of sigma 1.5 px.

Cost, on a 4000x3000 (12 MP) L plane and one photo's 56x56 grid, each method in its own worker
process: the median time of --runs calls; the peak of the numpy arrays alive during one call
(tracemalloc; cv2's outputs are numpy arrays, numba's tile-sized scratch is not counted); and the
rise of peak RSS over the RSS with the inputs loaded. Both memory figures include the 92 MiB
H x W x 2 float32 result. The last row is today's float bilateral (testkit/pixels_reference.py),
which the numba kernel replaced. (Colorizer.colorize does not make the 92 MiB ab with the default
method: it converts each tile to RGB straight away, see colorizer/pixels.py.)

--tune: the parameter grids of the edge-aware methods on the tuning photos (TUNING_PHOTOS), scored
by the mean of the two RMSEs; the module's defaults in colorizer/upsample.py came from it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import REPO_ROOT, SHARED_FIXTURES, peak_rss_mb, photo
from colorizer import upsample
from colorizer.color import lightness
from testkit import pixels_reference
from testkit.color_truth import NETWORK_GRID, ab_rmse, edge_band, ground_truth, network_grid

TUNING_PHOTOS = 3  # the first three photos, by name, tune; all are reported
BENCH_SIZE = (4000, 3000)  # width, height: 12 MP
TUNING_GRIDS = {
    "guided": [
        dict(grid_scale=scale, radius=radius, eps=eps)
        for scale, radius, eps in itertools.product((1, 2, 4), (1, 2), (0.25, 1.0, 4.0, 16.0, 64.0))
    ],
    "bilateral": [dict(sigma_range=sigma) for sigma in (2.5, 4.0, 5.0, 7.0, 10.0, 14.0)],
}
TUNABLE: dict[str, Callable[..., np.ndarray]] = {
    "guided": upsample.guided_upsample,
    "bilateral": upsample.joint_bilateral_upsample,
}


def photo_paths() -> list[Path]:
    return sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))


def photo_errors(paths: list[Path], upsampler) -> list[tuple[float, float]]:
    """(RMSE over all pixels, RMSE over the edge band) per photo; upsampler(hxwx2 grid, L) -> HxWx2."""
    errors = []
    for path in paths:
        plane, ab = ground_truth(path)
        predicted = upsampler(network_grid(ab), plane)
        errors.append((ab_rmse(predicted, ab), ab_rmse(predicted, ab, edge_band(plane))))
    return errors


TODAY = "bilateral, today's float path"  # testkit/pixels_reference.py: what the numba kernel replaced


def method_upsampler(method: str):
    """The public entry point, fed in the network's 2 x h x w layout (or today's bilateral)."""
    if method == TODAY:
        return lambda grid, plane: pixels_reference.joint_bilateral_upsample(grid, plane)
    return lambda grid, plane: upsample.upsample_ab(grid.transpose(2, 0, 1), plane, method)  # hwc -> chw


def tune(paths: list[Path]) -> None:
    print(f"Tuning on {', '.join(path.stem for path in paths)}; score = mean of the two RMSEs\n")
    for method, grid in TUNING_GRIDS.items():
        rows = []
        for params in grid:
            errors = np.mean(
                photo_errors(
                    paths, lambda ab, plane, method=method, params=params: TUNABLE[method](ab, plane, **params)
                ),
                axis=0,
            )
            rows.append((errors.mean(), errors, params))
        print(f"| {method} parameters | RMSE all | RMSE edge band | score |\n|---|---:|---:|---:|")
        best = min(rows, key=lambda row: row[0])
        for score, (overall, band), params in rows:
            mark = " **best**" if score == best[0] else ""
            setting = ", ".join(f"{name}={value:g}" for name, value in params.items())
            print(f"| {setting} | {overall:.3f} | {band:.3f} | {score:.3f}{mark} |")
        print()


def worker(method: str, runs: int) -> dict:
    """Run ``method`` on 12 MP in this process: the median seconds of ``runs`` calls, the peak of the
    numpy arrays alive during one call (tracemalloc) and the rise of peak RSS over the inputs' RSS."""
    width, height = BENCH_SIZE
    plane = lightness(photo(width, height))
    paths = photo_paths()
    grid = network_grid(ground_truth(paths[0])[1]) if paths else np.zeros((NETWORK_GRID, NETWORK_GRID, 2), np.float32)
    upsampler = method_upsampler(method)
    upsampler(np.zeros((NETWORK_GRID, NETWORK_GRID, 2), np.float32), plane[:40, :50])  # load numba's kernels
    release_freed_memory()
    reset_peak_rss()
    before_mb = current_rss_mb()
    tracemalloc.start()  # numpy reports its allocations here, cv2's outputs included (numba's scratch is not)
    upsampler(grid, plane)
    _, numpy_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_rise_mb = peak_rss_mb() - before_mb
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        upsampler(grid, plane)
        seconds.append(time.perf_counter() - start)
    return {"median_s": statistics.median(seconds), "numpy_peak_mb": numpy_peak / 2**20, "rss_rise_mb": rss_rise_mb}


def release_freed_memory() -> None:
    """Hand memory freed by the set-up back to the OS (glibc), so that the method cannot reuse it
    unseen by the RSS."""
    libc = ctypes.util.find_library("c")
    if libc and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


def reset_peak_rss() -> None:
    """Start the peak RSS (VmHWM) again from the RSS now (Linux: /proc/self/clear_refs), so that
    the set-up's peak does not count."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def current_rss_mb() -> float:
    """This process's resident set size now, MiB (Linux: /proc/self/statm counts pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def spawn(method: str, runs: int) -> dict:
    command = [sys.executable, "-m", "bench.upsample_bench", "--worker", method, "--runs", str(runs)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(paths: list[Path], runs: int) -> None:
    methods = upsample.METHODS + (TODAY,)
    errors = {method: photo_errors(paths, method_upsampler(method)) for method in methods}
    costs = {method: spawn(method, runs) for method in methods}
    tuning = ", ".join(path.stem.removeprefix("coco_").lstrip("0") for path in paths[:TUNING_PHOTOS])
    print(
        f"ab RMSE against ground truth on {len(paths)} photos (~640x480; parameters tuned on {tuning}); "
        f"cost per {BENCH_SIZE[0]}x{BENCH_SIZE[1]} photo, median of {runs}.\n"
    )
    print(
        "| method | RMSE all | RMSE edge band | RMSE all, held-out | RMSE edge band, held-out "
        "| ms / 12 MP | peak numpy / 12 MP | peak RSS rise / 12 MP |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method in methods:
        overall, band = np.mean(errors[method], axis=0)
        held_overall, held_band = np.mean(errors[method][TUNING_PHOTOS:], axis=0)
        default = " (default)" if method == upsample.DEFAULT_METHOD else ""
        print(
            f"| {method}{default} | {overall:.2f} | {band:.2f} | {held_overall:.2f} | {held_band:.2f} "
            f"| {costs[method]['median_s'] * 1000:.0f} | {costs[method]['numpy_peak_mb']:.0f} MiB "
            f"| {costs[method]['rss_rise_mb']:.0f} MiB |"
        )
    print("\nPer photo, ab RMSE all / edge band (* = tuning photo; band = share of pixels in the edge band):\n")
    print("| photo | band | " + " | ".join(methods) + " |")
    print("|---|---:|" + "---:|" * len(methods))
    for index, path in enumerate(paths):
        share = edge_band(ground_truth(path)[0]).mean()
        star = "*" if index < TUNING_PHOTOS else ""
        cells = " | ".join(f"{errors[method][index][0]:.2f} / {errors[method][index][1]:.2f}" for method in methods)
        print(f"| {path.stem}{star} | {share:.0%} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed calls per method (the median is reported)")
    parser.add_argument("--tune", action="store_true", help="print the parameter search instead of the report")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.runs)))
        return
    paths = photo_paths()
    if not paths:
        sys.exit(f"no photos in {SHARED_FIXTURES / 'photos'}: the ground truth comes from ../shared")
    if args.tune:
        tune(paths[:TUNING_PHOTOS])
    else:
        report(paths, args.runs)


if __name__ == "__main__":
    main()
