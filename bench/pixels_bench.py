"""Benchmark: the per-pixel work after the network, today's float path against the fast path.

Run by hand:  python -m bench.pixels_bench [--runs 9] [--sizes 4000x3000 640x480] [--memory]

"Per-pixel work" is what ``Colorizer.colorize`` does besides the network: the lightness of the
input, the default (bilateral) upsampling of the network's 56x56 ab, Lab -> 8-bit RGB and the
alpha; today's path is ``testkit/pixels_reference.py``, the new one ``colorizer.pixels``. Both run in
this process on the same grey photo and the same ab (one photo's true colour, averaged over the
network's 56x56 cells), alternately, so that other load on the machine hits both alike; the table
gives the median and the minimum of --runs calls, and the CPU seconds a call takes (all threads).

The floor: one pass over tiles on the same pool that only reads the L plane and writes the RGB
(3 bytes a pixel, no arithmetic): what a fused kernel costs with free arithmetic, set by memory
bandwidth and the threads. And the copy rate of a 48 MB float32 plane (numpy, one thread).

--memory: the rise of peak RSS (VmHWM, reset before the call) while a fresh process runs each path
on a square, a very wide and a very tall image, in bytes per pixel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numba
import numpy as np

from bench.common import REPO_ROOT, SHARED_FIXTURES, photo
from colorizer.color import lightness
from colorizer.jit import kernel
from colorizer.pixels import finish
from colorizer.tiles import Tile, for_each_tile, worker_count
from testkit import pixels_reference as reference

MEMORY_SHAPES = [(2000, 4000), (8, 1_000_000), (1_000_000, 8)]  # height, width: 8 MP each


def network_ab() -> np.ndarray:
    """float32 2 x 56 x 56: the first shared photo's true ab averaged over each network cell
    (random smooth colour if ../shared is absent)."""
    from testkit.color_truth import ground_truth, network_grid
    from testkit.fixtures import shared_photos

    paths = shared_photos()
    if paths:
        return np.ascontiguousarray(network_grid(ground_truth(paths[0])[1]).transpose(2, 0, 1))  # hxwx2 -> 2xhxw
    return np.random.default_rng(0).normal(0, 20, (2, 56, 56)).astype(np.float32)


def today(image: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return reference.reference_colorize_tail(image, ab)


def fast(image: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return finish(image, None, lightness(image), ab)


PATHS = {"today": today, "fast": fast}


@kernel(fastmath=False)
def _read_write_tile(plane, out, top, bottom, left, right):
    for row in range(top, bottom):
        for column in range(left, right):
            level = np.uint8(plane[row, column])
            out[row, column, 0] = level
            out[row, column, 1] = level
            out[row, column, 2] = level


def floor_pass(plane: np.ndarray) -> np.ndarray:
    """Read float32 HxW, write uint8 HxWx3, over tiles on the shared pool: the fused pass's floor."""
    out = np.empty(plane.shape + (3,), np.uint8)

    def work(tile: Tile) -> None:
        _read_write_tile(plane, out, *tile)

    for_each_tile(work, *plane.shape)
    return out


def timed(function, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def speed(width: int, height: int, runs: int) -> None:
    image, ab = photo(width, height), network_ab()
    plane = lightness(image)
    calls: dict[str, tuple] = {"today": (today, image, ab), "fast": (fast, image, ab), "floor": (floor_pass, plane)}
    for function, *args in calls.values():  # warm-up: numba loads or compiles its kernels
        function(*args)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, (function, *args) in calls.items():
            times[name].append(timed(function, *args))
    copy_source = np.ones(12_000_000, np.float32)
    copy_target = np.empty_like(copy_source)
    copy_s = min(timed(np.copyto, copy_target, copy_source)[0] for _ in range(5))
    print(
        f"\n{width}x{height} ({width * height / 1e6:.1f} MP), grey uint8, default settings; {runs} runs each, "
        f"alternating; {worker_count()} tile threads"
    )
    print("| path | median ms | min ms | CPU ms (median) | vs today (median) | vs today (min) |")
    print("|---|---:|---:|---:|---:|---:|")
    base_median = statistics.median(wall for wall, _ in times["today"])
    base_min = min(wall for wall, _ in times["today"])
    for name, samples in times.items():
        median = statistics.median(wall for wall, _ in samples)
        best = min(wall for wall, _ in samples)
        cpu = statistics.median(cpu for _, cpu in samples)
        label = "floor: read L, write RGB" if name == "floor" else name
        print(
            f"| {label} | {median * 1e3:.0f} | {best * 1e3:.0f} | {cpu * 1e3:.0f} | "
            f"{base_median / median:.2f}x | {base_min / best:.2f}x |"
        )
    print(
        f"numpy copy of a 48 MB float32 plane, one thread: {2 * copy_source.nbytes / copy_s / 1e9:.1f} GB/s "
        f"(read + write); the fused pass moves {7 * width * height / 1e6:.0f} MB (4 B/px in, 3 out)"
    )


def memory_worker(path: str, height: int, width: int) -> dict:
    import ctypes
    from pathlib import Path

    def kib(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} in /proc/self/status")

    ab = network_ab()
    PATHS[path](photo(50, 40), ab)  # kernels loaded and pools started before measuring
    image = np.random.default_rng(0).integers(0, 256, (height, width), dtype=np.uint8)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from the RSS now
    before = kib("VmRSS:")
    PATHS[path](image, ab)
    return {"rise_bytes": (kib("VmHWM:") - before) * 1024}


def memory() -> None:
    print("\nPeak RSS rise while one call runs, in a fresh process, grey uint8 input (bytes per pixel):")
    print("| shape (h x w) | " + " | ".join(PATHS) + " |")
    print("|---|" + "---:|" * len(PATHS))
    for height, width in MEMORY_SHAPES:
        cells = []
        for path in PATHS:
            command = [sys.executable, "-m", "bench.pixels_bench", "--memory-worker", path, f"{width}x{height}"]
            result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
            rise = json.loads(result.stdout.strip().splitlines()[-1])["rise_bytes"]
            cells.append(f"{rise / (height * width):.1f} ({rise / 2**20:.0f} MiB)")
        print(f"| {height} x {width} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="timed calls per path (alternating)")
    parser.add_argument("--sizes", nargs="+", default=["4000x3000", "640x480"], help="WIDTHxHEIGHT")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS per pixel for three shapes")
    parser.add_argument("--memory-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        path, size = args.memory_worker
        width, height = (int(value) for value in size.split("x"))
        print(json.dumps(memory_worker(path, height, width)))
        return
    shared = "shared photo" if (SHARED_FIXTURES / "photos").is_dir() else "random"
    print(f"{os.cpu_count()} CPUs; ab from the {shared} grid; numba {numba.__version__}")
    for size in args.sizes:
        width, height = (int(value) for value in size.split("x"))
        speed(width, height, args.runs)
    if args.memory:
        memory()


if __name__ == "__main__":
    main()
