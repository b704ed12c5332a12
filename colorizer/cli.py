"""Colorize black-and-white photos: each image (or every image in a folder) -> <stem>_color.png."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from colorizer.colorizer import MAX_RENDER_SIZE, MIN_RENDER_SIZE, Colorizer
from colorizer.decode import DEFAULT_MAX_PIXELS, read_image
from colorizer.encode import write_png
from colorizer.errors import ColorizerError
from colorizer.providers import DEVICES
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.cli import HelpFormatter, configure_logging
from colorkit.contract import model_for_precision
from colorkit.files import is_image_name

OUTPUT_SUFFIX = "_color"

EPILOG = """examples:
  python -m colorizer old.jpg                  writes old_color.png beside it
  python -m colorizer scans/ -o colored/       every image in scans/ (not recursive)
  python -m colorizer a.jpg --temperature 0.2  more vivid colour (default 0.38; 1.0 is muted)
  python -m colorizer a.jpg --device cuda      needs onnxruntime-gpu
  python -m colorizer a.jpg --int8             ~3x faster network on CPU (python -m convert --int8 first)

exit status: 0 all written, 1 some inputs failed (the others are still written), 2 usage or model error
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m colorizer", description=__doc__, epilog=EPILOG,
                                     formatter_class=HelpFormatter)
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IMAGE_OR_DIR")
    parser.add_argument("-o", "--output-dir", type=Path, help="where to write (default: beside each input)")
    parser.add_argument("--model", type=Path, help="ONNX model (default: $COLORIZER_MODEL, else models/eccv16.onnx; "
                                                  "with --int8 the -int8.onnx beside it)")
    parser.add_argument("--int8", action="store_true", help="use the int8 model (python -m convert --int8 makes it)")
    parser.add_argument("--device", default="auto", choices=["auto", *DEVICES], help="execution provider")
    parser.add_argument("--threads", type=int, help="CPU threads for the network (default: all cores)")
    parser.add_argument("--temperature", type=float, help="annealing temperature 0.01..1, lower is more vivid "
                                                          "(default: the model's 0.38)")
    parser.add_argument("--render-size", type=int, help=f"network input side, multiple of 8, "
                                                        f"{MIN_RENDER_SIZE}..{MAX_RENDER_SIZE} (default: 224)")
    parser.add_argument("--upsample", default=DEFAULT_METHOD, choices=METHODS, help="colour upsampling")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; folders -> their image files (sorted, not recursive, skipping our outputs)."""
    files = []
    for path in inputs:
        if path.is_dir():
            files += sorted(child for child in path.iterdir()
                            if is_image_name(child) and not child.stem.endswith(OUTPUT_SUFFIX))
        else:
            files.append(path)
    return files


def output_path(source: Path, output_dir: Path | None) -> Path:
    return (output_dir or source.parent) / f"{source.stem}{OUTPUT_SUFFIX}.png"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    try:
        precision = "int8" if args.int8 else "fp32"
        model = model_for_precision(args.model, precision) if args.model else None  # --int8: the -int8.onnx beside it
        colorizer = Colorizer(model, device=args.device, threads=args.threads, precision=precision)
    except ColorizerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files = expand_inputs(args.inputs)
    failures = 0
    for source in tqdm(files, unit="image", disable=len(files) < 2):
        try:
            image = read_image(source, max_pixels=args.max_pixels)
            result = colorizer.colorize(image, temperature=args.temperature, render_size=args.render_size,
                                        upsample=args.upsample)
            write_png(output_path(source, args.output_dir), result)
        except (ColorizerError, OSError) as error:
            failures += 1
            tqdm.write(f"error: {source}: {error}", file=sys.stderr)
    print(f"{len(files) - failures} of {len(files)} images colorized on {colorizer.provider}"
          + (f"; {failures} failed" if failures else ""))
    return 1 if failures else 0
