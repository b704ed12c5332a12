"""Benchmark: encoding a colorized 12 MP photo as PNG (zlib levels, strategies, filters), JPEG and WebP.

Run by hand:  python -m bench.encode_bench [--size 4000x3000] [--runs 3]

Times are CPU seconds of the encoding thread (``time.thread_time``), the best of --runs: the
encoders are single-threaded, and CPU time is far less disturbed than wall time by other processes
on a shared machine. Sizes are bytes of the encoded file. The photo is a real colour photograph
(../shared) resized to the size asked for, standing in for a colorized result.
"""

from __future__ import annotations

import argparse
import io
import time

import cv2
import numpy as np
from PIL import Image

from bench.common import SHARED_FIXTURES


def colour_photo(width: int, height: int) -> np.ndarray:
    """uint8 HxWx3 BGR: the first shared photo resized (cv2 sizes are (width, height)), else noise."""
    photos = sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))
    if photos:
        return cv2.resize(cv2.imread(str(photos[0])), (width, height), interpolation=cv2.INTER_CUBIC)
    small = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def cpu_seconds(encode, runs: int) -> tuple[float, int]:
    """Best CPU seconds of the calling thread over ``runs`` calls of ``encode()``, and its size."""
    best, size = float("inf"), 0
    for _ in range(runs):
        start = time.thread_time()
        size = len(encode())
        best = min(best, time.thread_time() - start)
    return best, size


def opencv(suffix: str, params: list[int]):
    def encode(bgr: np.ndarray) -> bytes:
        encoded, data = cv2.imencode(suffix, bgr, params)
        assert encoded
        return data

    return encode


def pillow_webp(**options):
    def encode(bgr: np.ndarray) -> bytes:
        stream = io.BytesIO()
        Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(stream, "WEBP", **options)
        return stream.getvalue()

    return encode


CANDIDATES = [
    ("png", "OpenCV default (level 1, RLE)", opencv(".png", [])),
    *[("png", f"zlib level {level}", opencv(".png", [cv2.IMWRITE_PNG_COMPRESSION, level])) for level in range(1, 10)],
    (
        "png",
        "level 1, filtered strategy",
        opencv(".png", [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_FILTERED]),
    ),
    *[
        (
            "png",
            f"level 1, RLE, {filters}",
            opencv(
                ".png",
                [
                    cv2.IMWRITE_PNG_COMPRESSION,
                    1,
                    cv2.IMWRITE_PNG_STRATEGY,
                    cv2.IMWRITE_PNG_STRATEGY_RLE,
                    cv2.IMWRITE_PNG_FILTER,
                    flag,
                ],
            ),
        )
        for filters, flag in (
            ("Sub filter only", cv2.IMWRITE_PNG_FILTER_SUB),
            ("fast filters", cv2.IMWRITE_PNG_FAST_FILTERS),
        )
    ],
    ("jpg", "JPEG quality 95 (OpenCV)", opencv(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95])),
    ("jpg", "JPEG quality 85 (OpenCV)", opencv(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85])),
    ("webp", "WebP quality 90 (OpenCV)", opencv(".webp", [cv2.IMWRITE_WEBP_QUALITY, 90])),
    ("webp", "WebP lossless (OpenCV: no effort setting)", opencv(".webp", [cv2.IMWRITE_WEBP_QUALITY, 101])),
    ("webp", "WebP quality 90 (Pillow, method 4: used)", pillow_webp(quality=90)),
    ("webp", "WebP lossless (Pillow, method 0: used)", pillow_webp(lossless=True, method=0, quality=0, exact=True)),
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
    for suffix, label, encode in CANDIDATES:
        if args.only and args.only not in label:
            continue
        seconds, size = cpu_seconds(lambda encode=encode: encode(image), args.runs)
        print(f"| {suffix} | {label} | {seconds:.2f} | {size / 1e6:.1f} | {size / raw:.0%} |", flush=True)


if __name__ == "__main__":
    main()
