"""Convert the ECCV16 Caffe release (deploy prototxt, caffemodel, pts_in_hull.npy) to ONNX, or, with
--guided or its prototxt, the user-guided release (deploy_nodist.prototxt, model.caffemodel; with
--guided-dist or deploy_nopred.prototxt and pts_in_hull.npy, its colour distribution)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import onnxruntime as ort

from colorkit.cli import ORT_LOG_SEVERITY, HelpFormatter, command_name, configure_logging
from colorkit.contract import (
    GUIDED_MODEL_ENV,
    KIND_ECCV16,
    KIND_GUIDED,
    KIND_GUIDED_DIST,
    MODEL_ENV,
    default_cache_dir,
    default_guided_model_path,
    default_model_path,
    int8_path,
)
from convert.build import DEFAULT_CALIBRATION_DIR, RELEASES, build_model_file
from convert.caffe_io import read_prototxt
from convert.errors import ConversionError
from convert.guided import is_guided_dist_net, is_guided_net
from convert.pins import mismatch_warnings
from convert.quantize import DEFAULT_MAX_MEAN_DAB, GUIDED_INT8_REFUSAL, quantize_model

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
  %(prog)s --guided
      the user-guided model (hints): download deploy_nodist.prototxt (verified) and model.caffemodel
      (no published checksum: its SHA-256 is logged), write guided.onnx beside the model
  %(prog)s --prototxt deploy_nodist.prototxt --caffemodel model.caffemodel --output guided.onnx
      the user-guided model from local files (recognised by its prototxt; no --hull)
  %(prog)s --prototxt deploy_nopred.prototxt --caffemodel model.caffemodel --hull pts_in_hull.npy
      its colour distribution over the 313 ab bins, guided-dist.onnx (suggested colours)

exit status: 0 converted, 2 the inputs could not be fetched or converted (one line on stderr says why)
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=command_name("convert"), description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--prototxt", type=Path, help="local deploy prototxt (else downloaded)")
    parser.add_argument("--caffemodel", type=Path, help="local caffemodel weights (else downloaded)")
    parser.add_argument("--hull", type=Path, help="local pts_in_hull.npy (else downloaded; ECCV16 only)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--guided",
        action="store_true",
        help="convert the user-guided model (colour hints, SIGGRAPH 2017) instead of ECCV16; "
        "implied by a --prototxt of that network (deploy_nodist.prototxt)",
    )
    which.add_argument(
        "--guided-dist",
        action="store_true",
        help="convert the user-guided network's colour distribution (suggested colours; "
        "deploy_nopred.prototxt, the same caffemodel, --hull); implied by its --prototxt",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help=f"ONNX model to write (default: {default_model_path()}); with --guided, "
        f"{default_guided_model_path()}; ${MODEL_ENV} and ${GUIDED_MODEL_ENV} name others",
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
    target = args.output
    try:
        kind = _model_kind(args)
        target = args.output or RELEASES[kind].default_output()
        if kind != KIND_ECCV16 and args.int8:
            raise ConversionError(GUIDED_INT8_REFUSAL)
        if kind == KIND_GUIDED and args.hull is not None:
            raise ConversionError(
                "--hull is for ECCV16 and the guided distribution; the user-guided network predicts ab directly"
            )
        output = build_model_file(
            target,
            kind=kind,
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
        print(f"error: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return 2
    # Local files that are not the release's (a fine-tuned model?) are said once all went well, so
    # that a refusal stays one line.
    for line in mismatch_warnings({key: path for key, path in local.items() if path is not None}, RELEASES[kind].files):
        print(line, file=sys.stderr)
    return 0


def _model_kind(args: argparse.Namespace) -> str:
    """Which release to convert: the flag's, else the one the --prototxt describes; both must agree."""
    flagged = KIND_GUIDED if args.guided else KIND_GUIDED_DIST if args.guided_dist else None
    if args.prototxt is None:
        return flagged or KIND_ECCV16
    net = read_prototxt(args.prototxt)
    found = (KIND_GUIDED_DIST if is_guided_dist_net(net) else KIND_GUIDED) if is_guided_net(net) else KIND_ECCV16
    if flagged and flagged != found:
        raise ConversionError(f"--{flagged}: {args.prototxt} is the {found} network's prototxt")
    return found
