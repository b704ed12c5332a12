"""Benchmark: onnxruntime intra-op threads against concurrent requests (as the app serves them).

Run by hand: python -m bench.threads_bench [--requests 12] [--size 640x480]

For each (threads per session, concurrent requests) pair, one Colorizer (one session, as in the
app) serves --requests colorizations from that many threads at once; prints throughput and
median latency so the app's defaults (threads, concurrency limit) rest on numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench.colorize_bench import model_path
from bench.common import photo
from colorizer import Colorizer


def measure(threads: int, concurrency: int, requests: int, grey, precision: str) -> tuple[float, float]:
    """(images per second, median seconds per request)."""
    colorizer = Colorizer(model_path(precision), providers=["CPUExecutionProvider"], threads=threads)
    colorizer.colorize(grey)  # warm-up

    def one(_):
        start = time.perf_counter()
        colorizer.colorize(grey)
        return time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(one, range(requests)))
    return requests / (time.perf_counter() - start), statistics.median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    grey = photo(width, height)
    cores = os.cpu_count() or 1
    print(f"{cores} CPUs; {args.requests} requests of {args.size} per row; {args.precision}")
    print("| intra-op threads | concurrent requests | images/s | median latency ms |")
    print("| --- | --- | --- | --- |")
    for threads in sorted({1, cores}):
        for concurrency in (1, 2, 4):
            rate, latency = measure(threads, concurrency, args.requests, grey, args.precision)
            print(f"| {threads} | {concurrency} | {rate:.2f} | {latency * 1000:.0f} |")


if __name__ == "__main__":
    main()
