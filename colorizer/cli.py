"""Colorize black-and-white photos and films: files, or whole folder trees, into <name>_color.png (or
.jpg, .webp); films (recognised by their content) into <name>_color.mp4 with their sound.

With -o the input tree is mirrored there and a manifest (one JSON line per input: status, error,
seconds, size, settings, model SHA-256) is kept beside it; --resume makes a rerun do only what is
missing. --ray runs the same work on a Ray cluster.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from colorizer.batch import Context, OutputFolderError, Settings, done_check
from colorizer.colorizer import MAX_RENDER_SIZE, MAX_TEMPERATURE, MIN_RENDER_SIZE, MIN_TEMPERATURE, Colorizer
from colorizer.decode import DEFAULT_MAX_PIXELS
from colorizer.encode import DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY, FORMATS, LOSSLESS
from colorizer.errors import ColorizerError
from colorizer.limits import max_file_bytes
from colorizer.local_job import DEFAULT_WORKERS, run_local
from colorizer.manifest import FAILED, MANIFEST_NAME, OK, SKIPPED, Manifest, Row, recorded_outputs
from colorizer.plan import OURS, OUTPUT_SUFFIX, PlanCounts, Planner
from colorizer.provenance import model_sha256
from colorizer.providers import DEVICES
from colorizer.signals import Stopped, StopSignals, stopped_by
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.cli import HelpFormatter, configure_logging
from colorkit.contract import model_for_precision

log = logging.getLogger(__name__)

__all__ = ["main", "OUTPUT_SUFFIX"]  # OUTPUT_SUFFIX: the app names its downloads the same way
LIST_LIMIT = 20  # batches up to this size print each output path; larger ones a progress bar and summary
LOCAL_RAY = "local"  # --ray without an address: a Ray started for this run

EPILOG = """examples:
  python -m colorizer old.jpg                       writes old_color.png beside it
  python -m colorizer scans/ -o colored/            every image in scans/ -> colored/, manifest colored/manifest.jsonl
  python -m colorizer scans/ -o colored/ -r         ... and its subfolders, the tree mirrored under colored/
  python -m colorizer scans/ -o colored/ -r --resume    after a crash or Ctrl-C: only what is missing
  python -m colorizer a.jpg --format jpg --quality 92   JPEG; --format webp [--quality lossless] for WebP
  python -m colorizer a.jpg --temperature 0.2       more vivid colour (default 0.38; 1.0 is muted)
  python -m colorizer a.jpg --keep-color            keep the colour a toned or tinted photo already has
  python -m colorizer clip.mp4 -o films/            films/clip_color.mp4: H.264, sound kept, colour steadied
  python -m colorizer a.jpg --int8                  ~3x faster network on CPU (python -m convert --int8 first)
  python -m colorizer scans/ -o colored/ -r --ray   the same on a local Ray; --ray=ray://head:10001 on a cluster
  python -m colorizer s3://bucket/scans -o /shared/colored -r --ray=auto

exit status: 0 all written (or skipped), 1 some inputs failed (the others are still written),
  2 usage, model or output-folder error (nothing, or nothing more, written), 128+N stopped by signal N
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m colorizer", description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="IMAGE_OR_DIR",
        help="image files and folders (with --ray also URIs such as s3://bucket/prefix)",
    )
    parser.add_argument(
        "-o", "--output-dir", type=Path, help="where to write, mirroring the input tree (default: beside each input)"
    )
    parser.add_argument("-r", "--recursive", action="store_true", help="also read the folders' subfolders")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs whose output is already there, whole and made with the same model and settings",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        help=f"the manifest (JSON lines) to append to (default: OUTPUT_DIR/{MANIFEST_NAME}; none without -o)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        default="png",
        choices=[*FORMATS, "jpeg"],
        type=str.lower,
        help="png is lossless; jpg and webp are smaller",
    )
    output.add_argument(
        "--quality",
        type=quality_option,
        help=f"jpg/webp quality 1..100 (default: jpg {DEFAULT_JPEG_QUALITY}, webp {DEFAULT_WEBP_QUALITY}), "
        f"or {LOSSLESS} for webp",
    )
    colour = parser.add_argument_group("colour")
    colour.add_argument(
        "--temperature",
        type=float,
        help=f"annealing temperature {MIN_TEMPERATURE}..{MAX_TEMPERATURE}, "
        f"lower is more vivid (default: the model's 0.38)",
    )
    colour.add_argument(
        "--render-size",
        type=int,
        help=f"network input side, multiple of 8, {MIN_RENDER_SIZE}..{MAX_RENDER_SIZE} (default: 224)",
    )
    colour.add_argument("--upsample", default=DEFAULT_METHOD, choices=METHODS, help="colour upsampling")
    colour.add_argument(
        "--keep-color",
        "--keep-colour",
        dest="keep_color",
        action="store_true",
        help="keep strong colour a photo already has (toned, tinted or hand-coloured prints)",
    )
    colour.add_argument(
        "--no-stabilize",
        dest="stabilize",
        action="store_false",
        help="films: colorize each frame alone (default: the colour is steadied along the motion)",
    )
    model = parser.add_argument_group("model and machine")
    model.add_argument(
        "--model",
        type=Path,
        help="ONNX model (default: $COLORIZER_MODEL, else models/eccv16.onnx; with --int8 the -int8.onnx beside it)",
    )
    model.add_argument("--int8", action="store_true", help="use the int8 model (python -m convert --int8 makes it)")
    model.add_argument("--device", default="auto", choices=["auto", *DEVICES], help="execution provider")
    model.add_argument("--threads", type=int, help="CPU threads for the network (default: all cores)")
    model.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_WORKERS,
        help="files in work at once (reading and writing overlap colorizing; 1: one after another)",
    )
    model.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    ray = parser.add_argument_group("Ray (pip install 'ray[data]')")
    ray.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL_RAY,
        metavar="ADDRESS",
        help="run on Ray: without ADDRESS a local Ray started for the run; 'auto' or ray://HOST:PORT "
        "for a cluster. Put it after the inputs, or write --ray=ADDRESS",
    )
    ray.add_argument(
        "--ray-actors",
        type=int,
        default=None,
        help="colorizing actors, each holding one model (default: cluster CPUs / --ray-threads)",
    )
    ray.add_argument(
        "--ray-threads",
        type=int,
        default=None,
        help="network threads (and CPUs reserved) per actor (default: 1, the fastest per core as measured)",
    )
    ray.add_argument(
        "--ray-retries",
        type=int,
        default=3,
        help="restarts of a crashed actor, and retries of its files, before they count as failed",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


def quality_option(text: str) -> int | str:
    """--quality's value: a whole number, or "lossless" (range and format are checked later)."""
    if text.lower() == LOSSLESS:
        return LOSSLESS
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a whole number nor {LOSSLESS}") from None


class UsageError(ColorizerError):
    """A command-line option or combination that cannot work (exit 2)."""


def check_args(args: argparse.Namespace) -> Settings:
    """Every option checked before anything is loaded; UsageError/ColorizerError for a bad one."""
    settings = Settings(
        temperature=args.temperature,
        render_size=args.render_size,
        upsample=args.upsample,
        keep_color=args.keep_color,
        format=args.format,
        quality=args.quality,
        max_pixels=args.max_pixels,
        stabilize=args.stabilize,
    ).checked()
    for option in ("threads", "jobs", "ray_actors", "ray_threads"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
    if args.ray_retries < 0:
        raise UsageError(f"--ray-retries must be 0 or more, got {args.ray_retries}")
    if args.ray not in (None, LOCAL_RAY) and "://" not in args.ray and os.path.exists(args.ray):
        raise UsageError(
            f"--ray took {args.ray!r} for a Ray address; put --ray after the inputs, or write --ray=ADDRESS"
        )
    uris = [value for value in args.inputs if "://" in value]
    if uris and args.ray is None:
        raise UsageError(f"{uris[0]}: URIs are read through Ray; add --ray")
    if uris and len(uris) != len(args.inputs):
        raise UsageError("local paths and URIs cannot be mixed in one run")
    if uris and args.output_dir is None:
        raise UsageError("inputs on a remote filesystem need an output folder (-o)")
    return settings


def prepare_output_dir(path: Path) -> None:
    """Create the output folder and prove a file can be written there; UsageError naming the problem."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".colorizer-probe-", dir=path)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"cannot write to output folder {path}: {error.strerror or error}") from None


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


class Reporter:
    """Takes each row: appends it to the manifest, counts it, tells the user (output paths on stdout
    for small batches, one stderr line per failure or notable skip, a progress bar for large ones)."""

    def __init__(self, manifest: Manifest | None, list_outputs: bool):
        self.manifest = manifest
        self.list_outputs = list_outputs
        self.tally = Tally()
        self.bar = tqdm(unit="image", disable=list_outputs or not sys.stderr.isatty(), file=sys.stderr)

    def on_row(self, row: Row) -> None:
        if self.manifest is not None:
            try:
                self.manifest.append(row)
            except OSError as error:  # the manifest's disk is full or gone: nothing more can be recorded
                raise OutputFolderError(
                    f"cannot append to the manifest {self.manifest.path}: {error.strerror or error}"
                ) from None
        if row.status == OK:
            self.tally.ok += 1
            if self.list_outputs:
                tqdm.write(row.output, file=sys.stdout)
        elif row.status == FAILED:
            self.tally.failed += 1
            tqdm.write(f"error: {row.error}", file=sys.stderr)
        else:
            kind = (
                "done earlier"
                if row.output_bytes is not None
                else "outputs of ours"
                if (row.error or "").endswith(OURS)
                else "special files"
            )
            self.tally.skipped[kind] = self.tally.skipped.get(kind, 0) + 1
            if kind != "done earlier":
                tqdm.write(f"skipped: {row.error}", file=sys.stderr)
        if row.status != SKIPPED:
            self.bar.update()

    def close(self) -> None:
        self.bar.close()


def peek(items: Iterator, count: int) -> tuple[list, Iterator]:
    """The first ``count`` items, and an iterator over all of them."""
    head = list(itertools.islice(items, count))
    return head, itertools.chain(head, items)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = check_args(args)
        if args.output_dir is not None:
            prepare_output_dir(args.output_dir)
    except ColorizerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    manifest_path = args.manifest or (args.output_dir / MANIFEST_NAME if args.output_dir else None)
    try:
        known = recorded_outputs(manifest_path) if manifest_path else set()
        manifest = Manifest(manifest_path) if manifest_path else None
    except OSError as error:
        print(f"error: manifest {manifest_path}: {error.strerror or error}", file=sys.stderr)
        return 2
    try:
        return run(args, settings, manifest, known)
    except KeyboardInterrupt:  # while the model loads or the first folders are listed: nothing written yet
        print("stopped by SIGINT before any image was written", file=sys.stderr)
        return 128 + signal.SIGINT
    finally:
        if manifest is not None:
            manifest.close()


def run(args: argparse.Namespace, settings: Settings, manifest: Manifest | None, known: set[str]) -> int:
    precision = "int8" if args.int8 else "fp32"
    model = model_for_precision(args.model, precision) if args.model else None  # --int8: the -int8.onnx beside it
    try:  # with Ray the driver's model only gives its metadata and hash: the actors colorize
        colorizer = Colorizer(
            model,
            precision=precision,
            **(
                {"providers": ["CPUExecutionProvider"], "threads": 1}
                if args.ray
                else {"device": args.device, "threads": args.threads}
            ),
        )
    except ColorizerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    context = Context(
        settings,
        settings.record(colorizer),
        model_sha256(colorizer.model_path),
        run=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}",
        engine="ray" if args.ray else "local",
    )
    done = done_check(context) if args.resume else None
    local_inputs = [value for value in args.inputs if "://" not in value]
    planner = Planner(
        local_inputs,
        output_dir=args.output_dir,
        recursive=args.recursive,
        format=settings.format,
        max_bytes=max_file_bytes(settings.max_pixels),
        known_outputs=known,
        done=done,
    )
    plan = iter(planner)
    head, plan = peek(plan, LIST_LIMIT + 1)
    reporter = Reporter(manifest, list_outputs=len(head) <= LIST_LIMIT and not any("://" in v for v in args.inputs))
    started = time.perf_counter()
    try:
        with StopSignals().installed() as signals:
            if args.ray:
                from colorizer.ray_job import RayOptions, run_ray

                run_ray(
                    colorizer.model_path,
                    plan,
                    planner.naming,
                    context,
                    reporter.on_row,
                    RayOptions(
                        address=None if args.ray == LOCAL_RAY else args.ray,
                        actors=args.ray_actors,
                        threads=args.ray_threads,
                        retries=args.ray_retries,
                        device=args.device,
                        uris=[value for value in args.inputs if "://" in value],
                        output_dir=args.output_dir,
                        recursive=args.recursive,
                        done=done.size if done else None,
                        progress=args.verbose,
                    ),
                    deferred=signals.deferred,
                )
            else:
                run_local(colorizer, plan, context, reporter.on_row, workers=args.jobs, deferred=signals.deferred)
    except (KeyboardInterrupt, Stopped) as stop:
        reporter.close()
        signum = stopped_by(stop)
        print(
            f"stopped by {signal.Signals(signum).name} after {reporter.tally.ok} images; rerun with --resume "
            f"to do the rest",
            file=sys.stderr,
        )
        return 128 + signum
    except OutputFolderError as error:
        reporter.close()
        print(f"error: {error}; the batch was stopped after {reporter.tally.ok} images", file=sys.stderr)
        return 2
    except ColorizerError as error:  # Ray could not start, or an input URI cannot be listed
        reporter.close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    reporter.close()
    seconds = time.perf_counter() - started
    print(
        summary(reporter.tally, seconds, colorizer.provider if not args.ray else "Ray", args, manifest, planner.counts)
    )
    return 1 if reporter.tally.failed else 0


def summary(
    tally: Tally, seconds: float, where: str, args: argparse.Namespace, manifest: Manifest | None, counts: PlanCounts
) -> str:
    attempted = tally.ok + tally.failed
    rate = tally.ok / seconds if seconds > 0 else 0.0
    text = f"{tally.ok} of {attempted} images colorized in {seconds:.1f} s ({rate:.2f} images/s) on {where}" + (
        f"; {tally.failed} failed" if tally.failed else ""
    )
    if tally.skipped:
        text += "; skipped " + ", ".join(f"{count} {kind}" for kind, count in tally.skipped.items())
    if counts.ignored_files:
        text += f"; {counts.ignored_files} files without an image suffix ignored (-v lists them)"
    if counts.subfolders:
        text += f"; {counts.subfolders} subfolders not read (-r reads them)"
    if counts.ignored_folders:
        text += f"; {counts.ignored_folders} folders not entered (see the warnings)"
    if args.output_dir is not None:
        text += f"; outputs in {args.output_dir}"
    if manifest is not None:
        text += f"; manifest {manifest.path}"
    return text
