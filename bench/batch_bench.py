"""Benchmark: a folder of photos through the seed's read-colorize-write loop, the CLI (one file at a
time and overlapped) and Ray Data (1 and 2 actors), in images/s, side by side in one run.

Run by hand:  python -m bench.batch_bench [--count 24] [--max-mp 12] [--repeat 2] [--no-ray]

The folder: --count grey JPEGs made from a real photo (../shared) at sizes spread evenly in log scale
from 0.3 MP to --max-mp, written once to bench/out/. Every engine runs in its own process, writes PNGs
to its own folder, and is timed from its first file to its last, after its model is loaded (Ray:
after ray.init, so actor start-up and model loading in the actors are included). The seed loop is
OpenCV 4's Caffe net as the seed used it: cv2.imread, seed_colorize, cv2.imwrite(.png). --repeat
runs the whole set that many times, interleaved, and keeps each engine's best (other processes on a
shared machine slow any single run). Same random weights everywhere (one synthetic caffemodel).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2

from bench.colorize_bench import model_path
from bench.common import REPO_ROOT, WORK_DIR, photo, release_files


def photo_folder(count: int, max_mp: float, min_mp: float = 0.3) -> Path:
    """--count grey JPEG photos (quality 95), 4:3, from min_mp to max_mp megapixels."""
    folder = WORK_DIR / f"batch{count}_{max_mp:g}mp"
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index in range(count):
        megapixels = min_mp * (max_mp / min_mp) ** (index / max(1, count - 1))
        width = int(round(math.sqrt(megapixels * 1e6 * 4 / 3) / 8) * 8)
        height = width * 3 // 4
        cv2.imwrite(
            str(folder / f"photo{index:02d}_{width}x{height}.jpg"), photo(width, height), [cv2.IMWRITE_JPEG_QUALITY, 95]
        )
    return folder


def megapixels(folder: Path) -> float:
    total = 0
    for path in folder.glob("*.jpg"):
        width, height = (int(value) for value in path.stem.rsplit("_", 1)[1].split("x"))
        total += width * height
    return total / 1e6


# --- workers (each in its own process) ----------------------------------------------------------------


def seed_worker(folder: Path, out: Path) -> dict:
    from testkit.seed_pipeline import load_seed_net, seed_colorize

    net = load_seed_net(*release_files())
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(folder.glob("*.jpg"))
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        result = seed_colorize(net, rgb)
        cv2.imwrite(str(out / f"{path.stem}_color.png"), cv2.cvtColor(result, cv2.COLOR_RGB2BGR))
    return {"seconds": time.perf_counter() - start, "images": len(files), "cpu": time.process_time() - cpu}


def cli_worker(folder: Path, out: Path, extra: list[str]) -> dict:
    """The CLI as a user runs it; its summary line gives the seconds from first file to last; cpu is
    the whole process's CPU seconds (start-up included: main() subtracts an empty run's)."""
    command = [sys.executable, "-m", "colorizer", *_cli_arguments(folder, out, extra)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = result.stdout.strip().splitlines()[-1]
    match = re.match(r"(\d+) of (\d+) files colorized \(.*?\) in ([\d.]+) s", summary)
    if match is None:
        raise SystemExit(f"unexpected summary from the CLI: {summary!r}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": float(match.group(3)), "images": int(match.group(1)), "cpu": cpu}


def _cli_arguments(folder: Path, out: Path, extra: list[str]) -> list[str]:
    """The CLI's arguments for colorizing ``folder`` into ``out`` on the CPU with the bench's model."""
    return [str(folder), "-o", str(out), "--model", str(model_path()), "--device", "cpu", *extra]


def ray_worker(folder: Path, out: Path, actors: int, threads: int) -> dict:
    import ray

    from colorizer import cli

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    started = time.perf_counter()
    status = cli.main(
        _cli_arguments(folder, out, ["--ray", "--ray-actors", str(actors), "--ray-threads", str(threads)])
    )
    seconds = time.perf_counter() - started
    ray.shutdown()
    assert status == 0
    images = sum(1 for _ in out.glob("*_color.png"))
    return {"seconds": seconds, "images": images}


def spawn(kind: str, folder: Path, *options: str) -> dict:
    out = WORK_DIR / "batch_out" / f"{kind}{'_'.join(options).replace('-', '')}"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "bench.batch_bench",
        "--worker",
        kind,
        "--folder",
        str(folder),
        "--out",
        str(out),
        "--",
        *options,
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{kind} {options} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--max-mp", type=float, default=12.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    parser.add_argument("--ray-only", action="store_true", help="only the seed, CLI --jobs 1 and the Ray rows")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("options", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.worker == "seed":
            result = seed_worker(args.folder, args.out)
        elif args.worker == "cli":
            result = cli_worker(args.folder, args.out, args.options)
        else:
            result = ray_worker(args.folder, args.out, int(args.options[0]), int(args.options[1]))
        print(json.dumps(result))
        return

    folder = photo_folder(args.count, args.max_mp)
    empty = WORK_DIR / "batch_empty"
    empty.mkdir(parents=True, exist_ok=True)
    model_path("int8")  # build the shared models (fp32, and int8 beside it) before timing anything
    total_mp = megapixels(folder)
    cores = os.cpu_count()
    startup_cpu = min(spawn("cli", empty)["cpu"] for _ in range(2))  # imports, model load, hashing
    engines = [
        ("seed loop (OpenCV DNN, cv2.imwrite)", "seed", ()),
        ("CLI --jobs 1 (one file after another)", "cli", ("--jobs", "1")),
    ]
    if not args.ray_only:
        engines += [
            ("CLI --jobs 2 (default: overlapped)", "cli", ("--jobs", "2")),
            ("CLI --jobs 3", "cli", ("--jobs", "3")),
            ("CLI --jobs 2 --int8 (the quantized network)", "cli", ("--jobs", "2", "--int8")),
        ]
    if not args.no_ray:
        engines += [
            ("Ray, 1 actor x 2 threads", "ray", ("1", "2")),
            ("Ray, 2 actors x 1 thread (default)", "ray", ("2", "1")),
        ]
        tiny = photo_folder(1, 0.003, 0.003)
        ray_start = min(spawn("ray", tiny, "1", "2")["seconds"] for _ in range(args.repeat))
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for label, kind, options in engines:
            result = spawn(kind, folder, *options)
            if label not in best or result["seconds"] < best[label]["seconds"]:
                best[label] = result
            print(f"  {label}: {result['seconds']:.1f} s", file=sys.stderr, flush=True)
    print(
        f"machine: {platform.machine()}, {cores} CPUs, Python {platform.python_version()}; "
        f"{args.count} photos, {total_mp:.0f} MP in all (0.3..{args.max_mp:g} MP); best of {args.repeat}"
    )
    print("| engine | seconds | images/s | vs seed loop | MP/s per core | CPU s per image | seed's CPU / this |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    seed = best[engines[0][0]]
    seed_cpu = seed["cpu"] / seed["images"]
    for label, kind, _ in engines:
        result = best[label]
        rate = result["images"] / result["seconds"]
        cpu = "-" if "cpu" not in result else (result["cpu"] - (startup_cpu if kind == "cli" else 0)) / result["images"]
        cpu_cells = "- | -" if cpu == "-" else f"{cpu:.2f} | {seed_cpu / cpu:.2f}x"
        print(
            f"| {label} | {result['seconds']:.1f} | {rate:.2f} | {seed['seconds'] / result['seconds']:.2f}x | "
            f"{total_mp / result['seconds'] / cores:.2f} | {cpu_cells} |"
        )
    print(f"CLI start-up (imports, model load, model hash): {startup_cpu:.1f} CPU s, not counted above")
    if not args.no_ray:
        local = best[engines[1][0]]["seconds"]
        ray_one = best["Ray, 1 actor x 2 threads"]["seconds"]
        print(f"Ray start-up (ray.init excluded; Ray Data, actor and model start, one tiny image): {ray_start:.1f} s")
        print(
            f"Ray's overhead per image (1 actor x 2 threads, less its start-up, vs CLI --jobs 1): "
            f"{(ray_one - ray_start - local) / args.count * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
