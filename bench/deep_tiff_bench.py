"""Peak memory and wall time of one 16-bit grey TIFF scan through the per-file pipeline (read, decode,
colorize, encode, write), each way it can be written: 16 bits into a deflate TIFF and into a PNG (as
the input, the default now), and 8 bits into a PNG (what every 16-bit input gave before).

    python -m bench.deep_tiff_bench [--size 8660x5773] [--model PATH]

Each way runs in a fresh process (so its peak is its own): VmRSS once the model is loaded (the base),
VmHWM after the photo (and after loading, which the session's creation may set); the input is written once into bench/out/ (uncompressed, as scanners
write them). The model defaults to the benchmarks' random-weight model of the real architecture.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import WORK_DIR, peak_rss_mb
from bench.memory_bench import rss_mb

WAYS = {"16-bit TIFF": ("tiff", None), "16-bit PNG": ("png", None), "8-bit PNG (before)": ("png", 8)}


def scan(path: Path, width: int, height: int) -> None:
    """A smooth 16-bit grey picture with fine noise (a scan's), written uncompressed."""
    import cv2
    import numpy as np
    import tifffile

    rng = np.random.default_rng(0)
    coarse = rng.uniform(0, 65535, (height // 64 + 2, width // 64 + 2)).astype(np.float32)
    grey = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)  # cv2 sizes are (width, height)
    grey += rng.normal(0, 200, (height, width)).astype(np.float32)
    tifffile.imwrite(path, np.clip(grey, 0, 65535).astype(np.uint16))


def worker(model: str, source: str, format: str, depth: int | None) -> None:
    """In a fresh process: print a JSON line of base MB, loading's peak MB, peak MB, seconds, output bytes."""
    from colorizer import Colorizer
    from colorizer.pipeline import colorize_photo
    from colorizer.pixels import load_kernels
    from colorizer.settings import Settings

    load_kernels()
    colorizer = Colorizer(model, device="cpu")
    base, loading = rss_mb(), peak_rss_mb()
    output = WORK_DIR / f"deep_color.{format}"
    started = time.perf_counter()
    result = colorize_photo(colorizer, source, output, Settings(format=format, depth=depth).checked())
    seconds = time.perf_counter() - started
    print(json.dumps([base, loading, peak_rss_mb(), seconds, result.output_bytes]))
    output.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="ONNX model (default: the benchmarks' synthetic one, built once)")
    parser.add_argument("--size", default="8660x5773", help="WIDTHxHEIGHT (default: 50 MP)")
    parser.add_argument("--worker", nargs=3, metavar=("SOURCE", "FORMAT", "DEPTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        source, format, depth = args.worker
        worker(args.model, source, format, None if depth == "as-input" else int(depth))
        return
    if args.model is None:
        from bench.colorize_bench import model_path

        args.model = str(model_path())
    width, height = (int(value) for value in args.size.split("x"))
    source = WORK_DIR / f"deep_{width}x{height}.tif"
    if not source.exists():
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        scan(source, width, height)
    pixels = width * height
    print(f"{width}x{height} ({pixels / 1e6:.1f} MP) 16-bit grey TIFF, {source.stat().st_size / 2**20:.0f} MiB")
    print(
        "| written as | RSS after loading, MB | peak while loading, MB | peak, MB | peak above RSS after loading, bytes/pixel | seconds | output MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (format, depth) in WAYS.items():
        command = [sys.executable, "-m", "bench.deep_tiff_bench", "--model", args.model]
        command += ["--worker", str(source), format, str(depth or "as-input")]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        base, loading, peak, seconds, size = json.loads(done.stdout.strip().splitlines()[-1])
        per_pixel = (peak - base) * 2**20 / pixels
        print(
            f"| {name} | {base:.0f} | {loading:.0f} | {peak:.0f} | {per_pixel:.1f} | {seconds:.1f} | {size / 2**20:.0f} |"
        )


if __name__ == "__main__":
    main()
