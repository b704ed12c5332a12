"""Colorize black-and-white photos and films: files, or whole folder trees, into <name>_color.png (or
.jpg, .webp, .tiff); films (recognised by their content) into <name>_color.mp4 with their sound.

With -o the input tree is mirrored there and a manifest (one JSON line per input: status, error,
seconds, size, settings, model SHA-256) is kept beside it; --resume makes a rerun do only what is
missing. --ray runs the same work on a Ray cluster.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from tqdm import tqdm

from colorizer.colorizer import MAX_RENDER_SIZE, MAX_TEMPERATURE, MIN_RENDER_SIZE, MIN_TEMPERATURE
from colorizer.encode import ALIASES, DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY, FORMATS, LOSSLESS
from colorizer.errors import ColorizerError, OutputFolderError
from colorizer.hints import read_hints_file
from colorizer.limits import DEFAULT_MAX_PIXELS
from colorizer.local_job import DEFAULT_WORKERS
from colorizer.manifest import FAILED, MANIFEST_NAME, OK, SKIPPED, Row
from colorizer.providers import DEVICES
from colorizer.ray_job import RayOptions
from colorizer.run import BatchRun, RunSpec, Tally, skip_kind
from colorizer.settings import AUTO, Settings
from colorizer.signals import Stopped, stopped_by
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.cli import HelpFormatter, command_name, configure_logging
from colorkit.contract import MODEL_ENV, default_model_path

log = logging.getLogger(__name__)

LIST_LIMIT = 20  # batches up to this size print each output path; larger ones a progress bar and summary
LOCAL_RAY = "local"  # --ray without an address: a Ray started for this run

EPILOG = """examples:
  %(prog)s old.jpg                       writes old_color.png beside it
  %(prog)s scans/ -o colored/            every image in scans/ -> colored/, manifest colored/manifest.jsonl
  %(prog)s scans/ -o colored/ -r         ... and its subfolders, the tree mirrored under colored/
  %(prog)s scans/ -o colored/ -r --resume    after a crash or Ctrl-C: only what is missing
  %(prog)s a.jpg --format jpg --quality 92   JPEG; --format webp [--quality lossless] for WebP
  %(prog)s scan16.tif --format tiff      a 16-bit TIFF (deflate) from a 16-bit scan; --depth 8 for 8 bits
  %(prog)s a.jpg --strip-metadata        no EXIF, XMP or IPTC of the input in the output
  %(prog)s a.jpg --temperature 0.2       more vivid colour (default 0.38; 1.0 is muted)
  %(prog)s a.jpg --keep-color            keep the colour a toned or tinted photo already has
  %(prog)s a.jpg --model models/guided.onnx --hints a.json   colours where you want them
  %(prog)s clip.mp4 -o films/            films/clip_color.mp4: H.264, sound kept, colour steadied
  %(prog)s clip.mp4 --network-every 1    the network on every frame (slower; default: keyframes only)
  %(prog)s a.jpg --int8                  ~3x faster network on CPU ({convert} --int8 first)
  %(prog)s scans/ -o colored/ -r --ray   the same on a local Ray; --ray=ray://head:10001 on a cluster
  %(prog)s s3://bucket/scans -o /shared/colored -r --ray=auto

exit status: 0 all written (or skipped), 1 some inputs failed (the others are still written),
  2 usage, model or output-folder error (nothing, or nothing more, written), 128+N stopped by signal N
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=command_name("colorizer"),
        description=__doc__,
        epilog=EPILOG.format(convert=command_name("convert")),
        formatter_class=HelpFormatter,
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
    parser.add_argument(  # reliability (#23): --force
        "--force",
        action="store_true",
        help="write over files at output names that the colorizer did not make, and colorize inputs "
        "that carry its provenance (default: such files fail, such inputs are skipped)",
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
        choices=[*FORMATS, *ALIASES],
        type=str.lower,
        help="png and tiff (deflate) are lossless and hold 16 bits; jpg and webp are smaller",
    )
    output.add_argument(
        "--depth",
        type=int,
        choices=[8, 16],
        help="bits per sample of png and tiff outputs (default: as the input: 16 for a 16-bit PNG or "
        "TIFF, else 8; jpg and webp are 8)",
    )
    output.add_argument(
        "--strip-metadata",
        action="store_true",
        help="write none of the input's EXIF, XMP and IPTC (default: carried, orientation set upright); "
        "the provenance and the sRGB tag are always written",
    )
    output.add_argument(
        "--quality",
        type=whole_number_or(LOSSLESS),
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
        "--hints",
        type=Path,
        metavar="FILE.json",
        help='colour hints for the user-guided model (--model guided.onnx): [{"x": 560, "y": 120, "color": '
        '"#2f6fd6"}] in photo pixels; a photo\'s own NAME.hints.json beside it takes precedence',
    )
    colour.add_argument(
        "--network-every",
        type=whole_number_or(AUTO),
        default=AUTO,
        metavar="N|auto",
        help="films: run the network on keyframes only, where the picture really changes (auto), or on "
        "one frame in N (1: every frame, the slowest)",
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
        help=f"ONNX model (default: ${MODEL_ENV}, else {default_model_path()}; with --int8 the -int8.onnx beside it)",
    )
    model.add_argument(
        "--int8", action="store_true", help=f"use the int8 model ({command_name('convert')} --int8 makes it)"
    )
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
        help="colorizing actors, each holding one model (default: cluster CPUs / --ray-threads)",
    )
    ray.add_argument(
        "--ray-threads",
        type=int,
        help="network threads (and CPUs reserved) per actor (default: 1, the fastest per core as measured)",
    )
    ray.add_argument(
        "--ray-retries",
        type=int,
        default=3,
        help="tries again of a file whose actor crashed (the actor is always restarted) before it counts as failed",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


def whole_number_or(word: str) -> Callable[[str], int | str]:
    """An option's type: ``word`` (any case: --quality's "lossless", --network-every's "auto") or a
    whole number; its range is checked later, with the other options."""

    def parse(text: str) -> int | str:
        if text.lower() == word:
            return word
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is neither a whole number nor {word}") from None

    return parse


class UsageError(ColorizerError):
    """A command-line option or combination that cannot work (exit 2)."""


def check_args(args: argparse.Namespace) -> RunSpec:
    """Every option checked before anything is loaded -> the run; UsageError/ColorizerError for a bad one."""
    # Every setting is the option of its name, but for precision (--int8) and hints (read from a file).
    same_settings = (field.name for field in fields(Settings) if field.name not in ("precision", "hints"))
    settings = Settings(
        **{name: getattr(args, name) for name in same_settings},
        precision="int8" if args.int8 else "fp32",
        hints=read_hints_file(args.hints) if args.hints else None,
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
    ray = None
    if args.ray is not None:
        address = None if args.ray == LOCAL_RAY else args.ray
        ray = RayOptions(address, args.ray_actors, args.ray_threads, args.ray_retries, progress=args.verbose)
    same = ("output_dir", "recursive", "manifest", "resume", "force", "model", "device", "threads", "jobs")
    return RunSpec(
        list(args.inputs),
        settings=settings,
        ray=ray,
        **{name: getattr(args, name) for name in same},
    )


class Display:
    """What the user sees of each row: output paths on stdout for small batches, one stderr line per
    failure or notable skip, a progress bar for large ones."""

    def __init__(self, list_outputs: bool):
        self.list_outputs = list_outputs
        self.bar = tqdm(unit="file", disable=list_outputs or not sys.stderr.isatty(), file=sys.stderr)

    def show(self, row: Row) -> None:
        if row.status == OK:
            if self.list_outputs:
                tqdm.write(printable(row.output or ""), file=sys.stdout)
        elif row.status == FAILED:
            tqdm.write(f"error: {printable(row.error or '')}", file=sys.stderr)
        elif skip_kind(row) != "done earlier":
            tqdm.write(f"skipped: {printable(row.error or '')}", file=sys.stderr)
        if row.status != SKIPPED:
            self.bar.update()

    def close(self) -> None:
        self.bar.close()


def printable(text: str) -> str:
    """``text`` on one line: control characters (a newline in a file name) shown as escapes."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    try:
        spec = check_args(args)
        run = BatchRun(spec)
    except ColorizerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while the model loads: nothing written yet
        print("stopped by SIGINT before any image was written", file=sys.stderr)
        return 128 + signal.SIGINT
    with run:
        try:
            display = Display(len(run.peek(LIST_LIMIT + 1)) <= LIST_LIMIT and not spec.uris)
            run.show = display.show
        except KeyboardInterrupt:  # while the first folders are listed
            print("stopped by SIGINT before any image was written", file=sys.stderr)
            return 128 + signal.SIGINT
        try:
            run.execute()
        except (KeyboardInterrupt, Stopped) as stop:
            display.close()
            signum = stopped_by(stop)
            print(
                f"stopped by {signal.Signals(signum).name} after {done_files(run.tally)}; rerun with --resume "
                f"to do the rest",
                file=sys.stderr,
            )
            return 128 + signum
        except OutputFolderError as error:
            display.close()
            print(f"error: {error}; the batch was stopped after {done_files(run.tally)}", file=sys.stderr)
            return 2
        except ColorizerError as error:  # Ray could not start, or an input URI cannot be listed
            display.close()
            print(f"error: {error}", file=sys.stderr)
            return 2
        display.close()
        print(summary(run, spec))
    return 1 if run.tally.failed else 0


def done_files(tally: Tally) -> str:
    """ "3 photos and 1 film", "1 photo", "no file"."""
    parts = [
        f"{count} {what}{'s' if count != 1 else ''}"
        for count, what in ((tally.photos, "photo"), (tally.films, "film"))
        if count
    ]
    return " and ".join(parts) or "no file"


def summary(run: BatchRun, spec: RunSpec) -> str:
    tally, seconds, counts = run.tally, run.seconds, run.planner.counts
    attempted = tally.ok + tally.failed
    rate = tally.ok / seconds if seconds > 0 else 0.0
    text = (
        f"{tally.ok} of {attempted} files colorized ({done_files(tally)}) in {seconds:.1f} s "
        f"({rate:.2f} files/s) on {run.provider}"
    )
    if tally.failed:
        text += f"; {tally.failed} failed"
    if tally.skipped:
        text += "; skipped " + ", ".join(f"{count} {kind}" for kind, count in tally.skipped.items())
    if counts.ignored_files:
        text += f"; {counts.ignored_files} files without an image suffix ignored (-v lists them)"
    if counts.subfolders:
        text += f"; {counts.subfolders} subfolders not read (-r reads them)"
    if counts.ignored_folders:
        text += f"; {counts.ignored_folders} folders not entered (see the warnings)"
    if spec.output_dir is not None:
        text += f"; outputs in {spec.output_dir}"
    if run.manifest is not None:
        text += f"; manifest {run.manifest.path}"
    return text
