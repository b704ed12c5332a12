"""Benchmark: a hinted colorize with the user-guided model against ECCV16's automatic one, same photo,
same size, side by side in one run (interleaved, so load on the machine falls on all alike); and
what the page's suggested colours at a point cost (colorizer.suggest, the distribution network).

Run by hand:  python -m bench.hints_bench [--runs 9] [--size 640x480] [--hints 5]

Random weights of the real architectures (the release weights cannot be fetched here; the cost of a
network does not depend on its weights). Rows: ECCV16 at its trained 224, the user-guided model at
its trained 256 without hints and with ``--hints`` hints (the hints' own cost, parsing and drawing
them, is the difference of those two); the suggested colours at one point given those hints.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from bench.colorize_bench import model_path
from bench.common import WORK_DIR, photo


def guided_model_path():
    """The user-guided ONNX model from the shared prototxt with random weights (built once)."""
    from convert.guided import convert_guided
    from testkit.fixtures import GUIDED_PROTOTXT, write_guided_caffemodel

    path = WORK_DIR / "bench_guided.onnx"
    if not path.exists():
        caffemodel = write_guided_caffemodel(WORK_DIR / "bench_guided.caffemodel", GUIDED_PROTOTXT, seed=3)
        path.write_bytes(convert_guided(GUIDED_PROTOTXT, caffemodel).SerializeToString())
    return path


def guided_dist_model_path():
    """The user-guided network's distribution version (guided-dist.onnx) from the shared prototxt,
    random weights (built once)."""
    from convert.guided import convert_guided_dist
    from testkit.fixtures import GUIDED_DIST_PROTOTXT, official_hull, write_guided_release_caffemodel

    path = WORK_DIR / "bench_guided-dist.onnx"
    if not path.exists():
        caffemodel = write_guided_release_caffemodel(WORK_DIR / "bench_guided_release.caffemodel", seed=3)
        hull = official_hull(WORK_DIR)
        path.write_bytes(convert_guided_dist(GUIDED_DIST_PROTOTXT, caffemodel, hull).SerializeToString())
    return path


def main(argv: list[str] | None = None) -> None:
    from colorizer import Colorizer
    from colorizer.color import lightness
    from colorizer.suggest import ColourSuggester

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--hints", type=int, default=5)
    args = parser.parse_args(argv)
    width, height = (int(side) for side in args.size.split("x"))
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    grey = photo(width, height)
    rng = np.random.default_rng(0)
    hints = [
        {"x": float(rng.uniform(0, width)), "y": float(rng.uniform(0, height)), "color": "#2f6fd6"}
        for _ in range(args.hints)
    ]
    eccv16, guided = Colorizer(model_path()), Colorizer(guided_model_path())
    suggester = ColourSuggester(guided_dist_model_path())
    rows = {
        "ECCV16, automatic (224)": lambda: eccv16.colorize(grey),
        "user-guided, no hints (256)": lambda: guided.colorize(grey),
        f"user-guided, {args.hints} hints (256)": lambda: guided.colorize(grey, hints=hints),
        f"suggested colours, {args.hints} hints": lambda: suggester.suggest(
            lightness(grey), width / 2, height / 2, hints
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    for call in rows.values():
        call()  # warm-up: sessions, kernels
    for _ in range(args.runs):
        for name, call in rows.items():
            started = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times[next(iter(rows))])
    print(f"{args.size}, {args.runs} runs interleaved, {platform.processor() or platform.machine()}")
    print(f"{'':<32} {'median s':>9} {'min s':>7} {'vs ECCV16':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<32} {median:>9.3f} {min(values):>7.3f} {median / base:>9.2f}x")


if __name__ == "__main__":
    main()
