"""A web page and an HTTP API that colorize black-and-white photos: a thin Gradio front over ``colorizer``.

    python app.py                        # builds models/eccv16.onnx first if it is missing
    python app.py --model my.onnx --port 8080
    gradio app.py                        # reload mode while editing (model: $COLORIZER_MODEL)

The API has one endpoint, ``colorize``: an image file in, the colorized PNG (same size) out.

    from gradio_client import Client, handle_file
    client = Client("http://127.0.0.1:7860")
    client.predict(handle_file("old.jpg"), api_name="/colorize")                          # defaults
    client.predict(handle_file("old.jpg"), 0.2, 256, "bicubic", api_name="/colorize")     # vivid, finer
    client.predict(handle_file("old.jpg"), keep_colour=True, precision="int8", api_name="/colorize")

Importing this module builds the page (``demo``) but loads no model, starts no server and downloads
nothing: the model is loaded on first use by ``get_colorizer``.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from colorizer import Colorizer, ColorizerError, default_model_path, read_image
from colorizer.chroma import analyze_input_color
from colorizer.color import split_alpha
from colorizer.colorizer import MAX_RENDER_SIZE, MIN_RENDER_SIZE, PRECISIONS
from colorizer.decode import DEFAULT_MAX_PIXELS
from colorizer.encode import write_png
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.cli import HelpFormatter, configure_logging
from colorkit.contract import DEFAULT_TEMPERATURE, model_for_precision
from convert.build import ensure_model
from convert.errors import ConversionError, DownloadError
from convert.sources import release_files_in

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
MAX_PIXELS = DEFAULT_MAX_PIXELS  # larger uploads are refused before decoding (ImageTooLargeError)
PREVIEW_SIDE = 1600  # the before/after slider shows at most this many pixels a side; the PNG is full size
RENDER_STEP = 8  # the network's input side must be a multiple of 8

# Server limits. Gradio 6 has no time limit for ordinary (non-streaming) events: the work per request
# is bounded instead by MAX_PIXELS, MAX_FILE_SIZE and the render size's maximum.
MAX_FILE_SIZE = "25mb"
MAX_FILE_BYTES = 25 * 2 ** 20  # what Gradio takes "25mb" to mean
CONCURRENCY = 2  # requests colorized at once; the others wait in the queue
SESSION_THREADS = max(1, (os.cpu_count() or 1) // CONCURRENCY)
QUEUE_SIZE = 32  # requests waiting beyond that are refused with "queue is full"
DELETE_CACHE = (600, 3600)  # every 10 minutes, delete uploads and results older than an hour
LAUNCH_OPTIONS = {
    "max_file_size": MAX_FILE_SIZE,
    "show_error": True,  # the colorizer's one-line messages reach the page and API clients
    "ssr_mode": False,  # client-side rendering: no Node server
    "enable_monitoring": False,  # left at None, Gradio lets anyone read /monitoring/summary
}

TITLE = "Black-and-white photo colorizer"
INTRO = """\
# Black-and-white photo colorizer
Upload an old photo (drag it here, paste it, or click to choose a file): the
[ECCV16 model](https://richzhang.github.io/colorization/) of Zhang, Isola and Efros guesses plausible
colours for it. The result keeps your photo's full resolution and downloads as PNG.
"""
# Gradio 6.31's bundled SourceSansPro-SemiBold.woff2 holds only a few glyphs, so semi-bold text (titles,
# labels, buttons) mixed two fonts; with the complete Bold face declared instead, weight 600 resolves to it.
THEME = gr.themes.Default(font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
                                "ui-sans-serif", "system-ui", "sans-serif"])
CSS = """
#model-line { opacity: 0.75; font-size: 0.9em; }
"""

_model_path: Path | None = None  # set by main() from --model; None: $COLORIZER_MODEL or models/eccv16.onnx


def model_path(precision: str = "fp32") -> Path:
    """The model file this app uses: --model, else $COLORIZER_MODEL, else models/eccv16.onnx;
    for int8 the ``-int8.onnx`` file beside it (``python -m convert --int8`` writes it)."""
    if _model_path is None:
        return default_model_path(precision)
    return model_for_precision(_model_path, precision)


@functools.cache
def get_colorizer(precision: str = "fp32") -> Colorizer:
    """The Colorizer of this process for a precision, loaded on first use (a failed load is retried
    next time). Its network gets cores / CONCURRENCY threads: with 2 requests at once on 2 cores,
    one thread each served 3.27 images/s against 2.78 with two threads each (python -m
    bench.threads_bench, README)."""
    return Colorizer(model_path(precision), precision=precision, threads=SESSION_THREADS)


def colorize(image: str | dict | None, vibrancy: float = DEFAULT_TEMPERATURE,
             render_size: int = MIN_RENDER_SIZE, upsample: str = DEFAULT_METHOD,
             keep_colour: bool = False, precision: str = "fp32") -> str:
    """Colorize a black-and-white photo; the result has the photo's size.

    image: the photo (JPEG, PNG, TIFF, WebP, BMP, GIF, HEIC or AVIF).
    vibrancy: annealing temperature, 0.05 (vivid) .. 1.0 (muted); the release uses 0.38.
    render_size: the side the network sees, a multiple of 8 from 224 to 512; larger is finer and slower.
    upsample: how the colour is brought to full size, e.g. "bilinear", "bicubic" or an edge-aware
        method (the choices and the default are colorizer.upsample's METHODS and DEFAULT_METHOD).
    keep_colour: for a photo that already has colour, keep it where it is strong.
    precision: "fp32", or "int8" for the faster quantized model when it has been made.
    Returns the path of a new PNG (RGB, or RGBA when the photo has transparency) in Gradio's
    cache: a file of its own per request, so that two identical results never share a file that
    one client is still downloading (Gradio names the files it saves by their content).
    """
    if upsample not in METHODS:
        raise gr.Error(f"unknown colour upsampling {upsample!r}; choose one of {', '.join(METHODS)}")
    if precision not in PRECISIONS:
        raise gr.Error(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    source = _upload_path(image)
    _check_upload_size(source)
    with _user_errors():
        pixels = read_image(source, max_pixels=MAX_PIXELS)
        colorizer = get_colorizer(precision)
        note = analyze_input_color(split_alpha(pixels)[0]).note()
        if note:
            gr.Info(note)
        rgb = colorizer.colorize(pixels, temperature=vibrancy, render_size=int(render_size),
                                 upsample=upsample, keep_color=bool(keep_colour))
        path = Path(get_upload_folder()) / "results" / f"colorized-{secrets.token_hex(8)}.png"
        write_png(path, rgb)  # a temporary file renamed into place: never read half-written
        return str(path)


def before_after(image: str | dict | None, result: str | dict | None) -> tuple[np.ndarray, np.ndarray]:
    """The upload and its colorized PNG as a pair of previews for the before/after slider."""
    with _user_errors():
        return preview(read_image(_upload_path(image), max_pixels=MAX_PIXELS)), \
            preview(read_image(_upload_path(result), max_pixels=MAX_PIXELS))


def model_line() -> str:
    """One Markdown line naming the model file and the execution provider that runs it."""
    try:
        colorizer = get_colorizer()
    except ColorizerError as error:
        return f"Model not loaded: {error}"
    return f"Model `{colorizer.model_path.name}` on `{colorizer.provider}`"


def page_state() -> tuple[str, dict]:
    """On page load: the model line, and the speed choice shown only when an int8 model exists."""
    return model_line(), gr.update(visible=model_path("int8").is_file())


def preview(pixels: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """uint8/uint16 HxW[xC] -> uint8, shrunk (never enlarged) to at most ``max_side`` a side."""
    if pixels.dtype == np.uint16:
        pixels = (pixels // 257).astype(np.uint8)  # 0..65535 -> 0..255
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # cv2 sizes are (width, height)
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _upload_path(value: str | Path | dict | None) -> str:
    """The file behind an image input: a path, or Gradio's file payload ({"path": ...}) as the events
    receive it unprocessed (see build_demo).

    Only files in Gradio's upload/cache folder (uploads, and the examples Gradio copies there) are
    read: a payload without
    Gradio's file marker is not checked by Gradio, and could otherwise name any file on the server.
    The refusal is the same whether such a file exists or not.
    """
    path = value.get("path") if isinstance(value, dict) else value
    if not path:
        raise gr.Error("Upload a photo first.")
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(get_upload_folder()).resolve()):
        raise gr.Error("Send the photo as a file upload; paths on the server are not accepted.",
                       print_exception=False)
    return str(resolved)


def _check_upload_size(path: str) -> None:
    """Refuse an input over MAX_FILE_BYTES before reading it: inputs sent as URLs skip Gradio's
    max_file_size (Gradio has fetched them already, but decoding would cost more)."""
    with contextlib.suppress(OSError):  # a missing file gets read_image's own message
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            raise gr.Error(f"{Path(path).name}: the file is larger than the limit of {MAX_FILE_SIZE}",
                           print_exception=False)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the colorizer's refusals into gr.Error carrying the library's one-line message."""
    try:
        yield
    except ColorizerError as error:
        raise gr.Error(str(error), print_exception=False) from None


def build_demo() -> gr.Blocks:
    """The page: upload and controls on the left, before/after and the full-size PNG on the right."""
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column():
                # filepath + image_mode=None: Gradio hands over the uploaded file untouched (the events
                # skip its Pillow preprocessing, below), so colorizer.read_image decodes it: 16-bit PNGs
                # keep their depth, palettes and EXIF orientation are handled, bad files get our message.
                source = gr.Image(label="Black-and-white photo", type="filepath", image_mode=None,
                                  sources=["upload", "clipboard"], height=400)
                with gr.Accordion("Settings", open=False):
                    vibrancy = gr.Slider(0.05, 1.0, value=DEFAULT_TEMPERATURE, step=0.01, label="Vibrancy",
                                         info="Annealing temperature: lower is more vivid, 1.0 is muted")
                    render_size = gr.Slider(MIN_RENDER_SIZE, MAX_RENDER_SIZE, value=MIN_RENDER_SIZE,
                                            step=RENDER_STEP, label="Render size",
                                            info="Side of the image the network sees: larger is finer, slower")
                    upsample = gr.Dropdown(list(METHODS), value=DEFAULT_METHOD, label="Colour upsampling",
                                           info="How the colour is brought to the photo's full size")
                    keep_colour = gr.Checkbox(False, label="Keep original colours",
                                              info="For photos that already have colour: keep it where it is strong")
                    precision = gr.Radio(list(PRECISIONS), value="fp32", label="Speed", visible=False,
                                         info="int8: about 3x faster network, checked against fp32 when made")
                button = gr.Button("Colorize", variant="primary")
                gr.Examples(sorted(str(path) for path in EXAMPLES_DIR.glob("*.jpg")), inputs=source,
                            cache_examples=False, api_visibility="private")
                model_info = gr.Markdown(elem_id="model-line")
            with gr.Column():
                # Previews (PREVIEW_SIDE); the full-size PNG to download is the image below.
                slider = gr.ImageSlider(label="Before / after", type="numpy", format="png", interactive=False,
                                        buttons=["fullscreen"], height=400, elem_id="before-after")
                result = gr.Image(label="Colorized (full resolution, PNG)", type="numpy", format="png",
                                  interactive=False, buttons=["download", "fullscreen"], elem_id="result")

        # preprocess=False: the events receive the uploaded file's payload, not Pillow's reading of it.
        inputs = [source, vibrancy, render_size, upsample, keep_colour, precision]
        button.click(colorize, inputs, result, api_name="colorize", preprocess=False).success(
            before_after, [source, result], slider, api_visibility="private", preprocess=False)
        demo.load(page_state, None, [model_info, precision], api_visibility="private")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


demo = build_demo()


EPILOG = """examples:
  python app.py                               http://127.0.0.1:7860
  python app.py --host 0.0.0.0 --port 8080    reachable from other machines
  COLORIZER_MODEL=my.onnx gradio app.py       reload mode while editing

exit status: 2 when the model cannot be built or loaded (one line on stderr says why)
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description="Serve the colorizer as a web page and API.",
                                     epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--model", type=Path, help="ONNX model, built first if missing "
                                                   "(default: $COLORIZER_MODEL or models/eccv16.onnx)")
    parser.add_argument("--release-dir", type=Path,
                        help="folder holding release files you downloaded yourself (colorization_deploy_v2.prototxt, "
                             "colorization_release_v2.caffemodel, pts_in_hull.npy): used instead of downloading them "
                             "when the model must be built")
    parser.add_argument("--host", help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(count: int = 2) -> None:
    """Cap glibc's malloc arenas (unless $MALLOC_ARENA_MAX sets them): glibc gives threads that
    allocate at once arenas of their own, and under load Gradio's worker threads grew the server's
    RSS by about 70 MB a minute; with two arenas it stayed flat (python -m bench.load_test, README).
    Does nothing where the C library is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, count)


def main(argv: list[str] | None = None) -> int:
    global _model_path
    limit_malloc_arenas()
    args = parse_args(argv)
    configure_logging(args.verbose)
    _model_path = args.model
    get_colorizer.cache_clear()
    path = model_path()
    try:
        if not path.exists():
            print(f"{path} is missing: building it from the ECCV16 release, as "
                  f"python -m convert --output {path} would", file=sys.stderr)
            ensure_model(path, **release_files_in(args.release_dir))
        colorizer = get_colorizer()
    except DownloadError as error:
        print(f"error: {error}; or put those files in a folder and run: python app.py --release-dir FOLDER",
              file=sys.stderr)
        return 2
    except (ConversionError, ColorizerError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"model {path} on {colorizer.provider}")
    # Stop on SIGTERM (docker stop, systemd) as on Ctrl-C, so Gradio's shutdown deletes the uploads
    # and results it knows of; a later start would not know them.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, theme=THEME, css=CSS,
                **LAUNCH_OPTIONS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
