"""Benchmark: one app request through gradio_client against Colorizer.colorize on the same file.

Run by hand:  python -m bench.app_bench [--runs 9] [--size 640x480] [--before ../main]

``--before DIR`` also serves DIR/app.py (another checkout, e.g. the code before a change) and times
its requests in the same alternation: today's and the new figure from one run.

Same model (the benchmarks' random-weight model of the real architecture), same photo, side by
side in one run: the calls alternate (app, library, app, ...) so that the other load on the machine
falls on both alike. The app runs as a real server (``python app.py``, a subprocess) whose network
session has ``appkit.config.SESSION_THREADS`` threads; the library rows use that many threads too, and all the
cores. The app's time is the whole request as a client sees it: upload, queue, decode, colorize,
PNG encode and write, download.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gradio_client import Client, handle_file
from PIL import Image

from appkit.config import SESSION_THREADS
from bench.colorize_bench import model_path
from bench.common import WORK_DIR, photo
from colorizer import Colorizer, read_image
from colorizer.encode import encode_png
from testkit.app_server import running_app


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run(width: int, height: int, runs: int, before: Path | None = None) -> dict[str, float]:
    """Median seconds per call of each row."""
    model = model_path()
    path = WORK_DIR / f"app_bench_{width}x{height}.jpg"
    buffer = io.BytesIO()
    Image.fromarray(photo(width, height)).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue())

    same_threads = Colorizer(model, threads=SESSION_THREADS)
    all_cores = Colorizer(model)
    pixels = read_image(path)
    rows: dict[str, Callable[[], object]] = {
        "app request (gradio_client: upload, colorize, PNG, download)": lambda: None,  # set once the app runs
        f"Colorizer.colorize, {SESSION_THREADS} thread(s) as the app's session": lambda: same_threads.colorize(pixels),
        "Colorizer.colorize, all cores": lambda: all_cores.colorize(pixels),
        f"read_image + colorize + encode_png, {SESSION_THREADS} thread(s)": lambda: encode_png(
            same_threads.colorize(read_image(path))
        ),
    }
    before_row = f"app request, {before}/app.py (before)"
    if before is not None:
        rows[before_row] = lambda: None  # replaced below once the old app runs
    times: dict[str, list[float]] = {name: [] for name in rows}
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        client = Client(
            stack.enter_context(running_app(model, work / "new")), verbose=False, download_files=str(work / "downloads")
        )
        rows[next(iter(rows))] = lambda: client.predict(handle_file(str(path)), api_name="/colorize")
        if before is not None:
            old = Client(
                stack.enter_context(running_app(model, work / "before", app=before.resolve() / "app.py")),
                verbose=False,
                download_files=str(work / "downloads_before"),
            )
            rows[before_row] = lambda: old.predict(handle_file(str(path)), api_name="/colorize")
        for function in rows.values():  # warm up: first sessions runs, first request
            function()
            function()
        for _ in range(runs):
            for name, function in rows.items():
                times[name].append(timed(function))
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the photo")
    parser.add_argument("--before", type=Path, help="another checkout whose app.py is timed too")
    args = parser.parse_args(argv)
    width, height = (int(side) for side in args.size.split("x"))
    medians = run(width, height, args.runs, args.before)
    library = next(value for name, value in medians.items() if name.startswith("Colorizer.colorize,"))
    print(
        f"{args.size}, median of {args.runs} alternating runs; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared: absolute times are noisy, ratios are side by side)\n"
    )
    print("| call | ms | × Colorizer.colorize (same threads) |\n| --- | ---: | ---: |")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds * 1000:.0f} | {seconds / library:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
