"""Benchmark: encoding a colorized 12 MP photo as PNG (zlib levels, strategies, filters), JPEG and WebP.

Run by hand:  python -m bench.encode_bench [--size 4000x3000] [--runs 3]

Times are CPU seconds of the encoding thread (``time.thread_time``), the best of --runs: the
encoders are single-threaded, and CPU time is far less disturbed than wall time by other processes
on a shared machine. Sizes are bytes of the encoded file. The photo is a real colour photograph
(../shared) resized to the size asked for, standing in for a colorized result.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from bench.common import SHARED_FIXTURES


def colour_photo(width: int, height: int) -> np.ndarray:
    """uint8 HxWx3 BGR: the first shared photo resized (cv2 sizes are (width, height)), else noise."""
    photos = sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))
    if photos:
        return cv2.resize(cv2.imread(str(photos[0])), (width, height), interpolation=cv2.INTER_CUBIC)
    small = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def cpu_seconds(image: np.ndarray, suffix: str, params: list[int], runs: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(runs):
        start = time.thread_time()
        encoded, data = cv2.imencode(suffix, image, params)
        best = min(best, time.thread_time() - start)
        assert encoded
        size = len(data)
    return best, size


CANDIDATES = [
    ("png", "OpenCV default (level 1, RLE)", []),
    *[("png", f"zlib level {level}", [cv2.IMWRITE_PNG_COMPRESSION, level]) for level in range(1, 10)],
    (
        "png",
        "level 1, filtered strategy",
        [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_FILTERED],
    ),
    (
        "png",
        "level 1, RLE, Sub filter only",
        [
            cv2.IMWRITE_PNG_COMPRESSION,
            1,
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE,
            cv2.IMWRITE_PNG_FILTER,
            cv2.IMWRITE_PNG_FILTER_SUB,
        ],
    ),
    (
        "png",
        "level 1, RLE, fast filters",
        [
            cv2.IMWRITE_PNG_COMPRESSION,
            1,
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE,
            cv2.IMWRITE_PNG_FILTER,
            cv2.IMWRITE_PNG_FAST_FILTERS,
        ],
    ),
    ("jpg", "JPEG quality 95", [cv2.IMWRITE_JPEG_QUALITY, 95]),
    ("jpg", "JPEG quality 85", [cv2.IMWRITE_JPEG_QUALITY, 85]),
    ("webp", "WebP quality 90", [cv2.IMWRITE_WEBP_QUALITY, 90]),
    ("webp", "WebP lossless", [cv2.IMWRITE_WEBP_QUALITY, 101]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="4000x3000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="run only candidates whose label contains this text")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    image = colour_photo(width, height)
    raw = image.nbytes
    print(f"{width}x{height} RGB ({raw / 1e6:.0f} MB raw); CPU seconds of the encoding thread, best of {args.runs}")
    print("| format | settings | CPU s | MB | of raw |")
    print("| --- | --- | --- | --- | --- |")
    for suffix, label, params in CANDIDATES:
        if args.only and args.only not in label:
            continue
        seconds, size = cpu_seconds(image, f".{suffix}", params, args.runs)
        print(f"| {suffix} | {label} | {seconds:.2f} | {size / 1e6:.1f} | {size / raw:.0%} |", flush=True)


if __name__ == "__main__":
    main()
