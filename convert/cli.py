"""Convert the ECCV16 Caffe release (deploy prototxt, caffemodel, pts_in_hull.npy) to ONNX."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from convert.build import DEFAULT_MODEL, build_model_file, default_cache_dir
from convert.errors import ConversionError

EPILOG = """examples:
  python -m convert
      download the three release files (verified by SHA-256, cached) and write models/eccv16.onnx
  python -m convert --prototxt colorization_deploy_v2.prototxt \\
      --caffemodel colorization_release_v2.caffemodel --hull pts_in_hull.npy
      convert local files, fully offline
  python -m convert --mirror http://my-mirror/colorization --output /tmp/eccv16.onnx
      try your own mirror first, write elsewhere

exit status: 0 converted, 2 the inputs could not be fetched or converted (one line on stderr says why)
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m convert", description=__doc__, epilog=EPILOG,
        formatter_class=lambda prog: _Formatter(prog, max_help_position=32))
    parser.add_argument("--prototxt", type=Path, help="local deploy prototxt (else downloaded)")
    parser.add_argument("--caffemodel", type=Path, help="local caffemodel weights (else downloaded)")
    parser.add_argument("--hull", type=Path, help="local pts_in_hull.npy (else downloaded)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_MODEL, help="ONNX model to write")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                        help="where downloads are kept ($COLORIZER_CACHE)")
    parser.add_argument("--mirror", action="append", default=[], metavar="URL",
                        help="URL prefix serving the release files, tried before the pinned sources; repeatable")
    parser.add_argument("--no-progress", action="store_true", help="no download progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, and the epilog's examples kept as written."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        output = build_model_file(args.output, prototxt=args.prototxt, caffemodel=args.caffemodel,
                                  hull=args.hull, cache_dir=args.cache_dir, mirrors=tuple(args.mirror),
                                  progress=not args.no_progress)
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the output cannot be written
        print(f"error: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"wrote {output}")
    return 0
