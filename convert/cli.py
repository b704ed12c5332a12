"""Convert the ECCV16 Caffe release (deploy prototxt, caffemodel, pts_in_hull.npy) to ONNX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import onnxruntime as ort

from colorkit.cli import ORT_LOG_SEVERITY, HelpFormatter, command_name, configure_logging
from colorkit.contract import MODEL_ENV, default_cache_dir, default_model_path, int8_path
from convert.build import DEFAULT_CALIBRATION_DIR, build_model_file
from convert.errors import ConversionError
from convert.pins import mismatch_warnings
from convert.quantize import DEFAULT_MAX_MEAN_DAB, quantize_model

# %(prog)s: the command as this process was started (colorkit.cli.command_name).
EPILOG = """examples:
  %(prog)s
      download the three release files (verified by SHA-256, cached) and write the model (--output)
  %(prog)s --prototxt colorization_deploy_v2.prototxt \\
      --caffemodel colorization_release_v2.caffemodel --hull pts_in_hull.npy
      convert local files, fully offline (a file that differs from the official one: a warning)
  %(prog)s --mirror http://my-mirror/colorization --output /tmp/eccv16.onnx
      try your own mirror first, write elsewhere
  %(prog)s --int8
      also write eccv16-int8.onnx beside the model, calibrated on the example photos and checked against fp32

exit status: 0 converted, 2 the inputs could not be fetched or converted (one line on stderr says why)
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=command_name("convert"), description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--prototxt", type=Path, help="local deploy prototxt (else downloaded)")
    parser.add_argument("--caffemodel", type=Path, help="local caffemodel weights (else downloaded)")
    parser.add_argument("--hull", type=Path, help="local pts_in_hull.npy (else downloaded)")
    parser.add_argument(
        "-o", "--output", type=Path, default=default_model_path(), help=f"ONNX model to write (${MODEL_ENV} when set)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=default_cache_dir(), help="where downloads are kept ($COLORIZER_CACHE)"
    )
    parser.add_argument(
        "--mirror",
        action="append",
        default=[],
        metavar="URL",
        help="URL prefix serving the release files, tried before the pinned sources; repeatable",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also write an int8 model beside the output (<name>-int8.onnx), if it passes the self-check",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        default=DEFAULT_CALIBRATION_DIR,
        help="photos to calibrate int8 on (every third is held out for the self-check)",
    )
    parser.add_argument(
        "--int8-max-dab",
        type=float,
        default=DEFAULT_MAX_MEAN_DAB,
        help="refuse the int8 model if its mean |dab| vs fp32 exceeds this (ab units)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no download progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Our own warnings show; onnxruntime's quantizer's chatter on the root logger only with -v.
    configure_logging(args.verbose, quiet_root=True, package="convert")
    if not args.verbose:
        ort.set_default_logger_severity(ORT_LOG_SEVERITY)
    local = {"prototxt": args.prototxt, "caffemodel": args.caffemodel, "hull": args.hull}
    try:
        output = build_model_file(
            args.output,
            **local,
            cache_dir=args.cache_dir,
            mirrors=tuple(args.mirror),
            progress=not args.no_progress,
        )
        print(f"wrote {output}")
        if args.int8:
            check = quantize_model(output, int8_path(output), args.calibration, max_mean_dab=args.int8_max_dab)
            print(check.summary())
            print(f"wrote {int8_path(output)}")
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the output cannot be written
        print(f"error: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
        return 2
    # Local files that are not the release's (a fine-tuned model?) are said once all went well, so
    # that a refusal stays one line.
    for line in mismatch_warnings({key: path for key, path in local.items() if path is not None}):
        print(line, file=sys.stderr)
    return 0
