"""The app's command line (``python app.py --help``): where to serve, which model, and the public
film limits and disk budget a server may change."""

from __future__ import annotations

import argparse
from pathlib import Path

from appkit import config
from appkit.film_budget import ServerFilmLimits
from colorkit.cli import HelpFormatter

EPILOG = """examples:
  python app.py                               http://127.0.0.1:7860
  python app.py --host 0.0.0.0 --port 8080    reachable from other machines
  python app.py --release-dir ~/Downloads     build the model from release files you downloaded
  COLORIZER_MODEL=my.onnx gradio app.py       reload mode while editing

exit status: 2 when the model cannot be built or loaded (one line on stderr says why)
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Serve the colorizer as a web page, API and MCP tool.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="ONNX model, built first if missing (default: $COLORIZER_MODEL or models/eccv16.onnx)",
    )
    parser.add_argument(
        "--guided-model",
        type=Path,
        help="the user-guided model (colour hints), built on its first use if missing "
        "(default: $COLORIZER_GUIDED_MODEL or models/guided.onnx)",
    )
    parser.add_argument(
        "--release-dir",
        type=Path,
        help="folder holding release files you downloaded yourself (colorization_deploy_v2.prototxt, "
        "colorization_release_v2.caffemodel, pts_in_hull.npy): used instead of downloading them "
        "when the model must be built",
    )
    parser.add_argument("--host", help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    film = config.PUBLIC_FILM_LIMITS
    for flag, kind, field, refused in (
        ("--max-film-seconds", float, "max_seconds", "longer films"),
        ("--max-film-pixels", int, "max_pixels", "films whose frames have more pixels (width x height)"),
        ("--max-film-frames", int, "max_frames", "films of more frames (each frame costs a network pass)"),
        (
            "--max-film-total-pixels",
            int,
            "max_total_pixels",
            "films whose frames times the pixels of one frame are more (each pixel of each frame costs "
            "decoding, flow, upsampling and encoding)",
        ),
    ):
        parser.add_argument(
            flag, type=kind, default=getattr(film, field), help=f"{refused} are refused before any work"
        )
    parser.add_argument(
        "--max-kept-mb",
        type=positive_int,
        default=config.MAX_KEPT_BYTES // 2**20,
        help="disk the uploads and results may take in all (MiB, counted in blocks); the oldest go first",
    )
    parser.add_argument(
        "--max-kept-files",
        type=positive_int,
        default=config.MAX_KEPT_FILES,
        help="uploads and results kept in all; the oldest go first",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


def film_limits_of(args: argparse.Namespace) -> ServerFilmLimits:
    """The film limits the command line asks for; ColorizerError for one that is not positive."""
    return ServerFilmLimits(
        args.max_film_seconds, args.max_film_pixels, args.max_film_frames, args.max_film_total_pixels
    )


def positive_int(text: str) -> int:
    """A command-line value that must be a whole number above 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return value
