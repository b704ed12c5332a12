"""A web page, an HTTP API and an MCP server that colorize black-and-white photos: a thin Gradio
front over ``colorizer``.

    python app.py                        # builds models/eccv16.onnx first if it is missing
    python app.py --model my.onnx --port 8080
    gradio app.py                        # reload mode while editing (model: $COLORIZER_MODEL)

The API has two endpoints: ``colorize``, an image file in, the colorized PNG (same size) out; and
``colorize_video``, a film in, the colorized MP4 (sound kept) out. MCP clients see them as tools at
http://HOST:PORT/gradio_api/mcp/ (docs/app.md).

    from gradio_client import Client, handle_file
    client = Client("http://127.0.0.1:7860")
    client.predict(handle_file("old.jpg"), api_name="/colorize")                          # defaults
    client.predict(handle_file("old.jpg"), 80, 256, "bicubic", api_name="/colorize")      # vivid, finer
    client.predict(handle_file("old.jpg"), keep_colour=True, precision="int8", api_name="/colorize")
    client.predict(handle_file("reel.mp4"), api_name="/colorize_video")                   # a film

Importing this module builds the page (``demo``) but loads no model, starts no server and downloads
nothing: models load on first use (``colorizer.models.ModelSet``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from appkit.disk import DiskBudget, claim_folder
from appkit.guards import only_regular_files_recorded
from appkit.limits import BodyLimit
from appkit.memory import limit_malloc_arenas
from colorizer import ColorizerError
from colorizer.colorizer import MAX_RENDER_SIZE, MIN_RENDER_SIZE
from colorizer.decode import DEFAULT_MAX_PIXELS
from colorizer.models import ModelSet
from colorizer.options import VIBRANCY_DEFAULT, VIBRANCY_MAX, VIBRANCY_MIN, ColorizeOptions
from colorizer.pixels import load_kernels
from colorizer.service import colorize_batch, colorize_file
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorizer.video_service import (
    DEFAULT_MAX_FRAME_PIXELS,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_SECONDS,
    FilmLimits,
    colorize_film,
)
from colorkit.cli import HelpFormatter, configure_logging
from colorkit.contract import INPUT_MULTIPLE, PRECISIONS
from convert.build import ensure_model
from convert.errors import ConversionError, DownloadError
from convert.pins import describe_release_dir

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
MAX_PIXELS = DEFAULT_MAX_PIXELS  # larger uploads are refused before decoding (ImageTooLargeError)
RUN_FOLDER = "colorizer"  # results and previews, one subfolder per request, inside Gradio's upload folder

# Server limits. Gradio 6 has no time limit for ordinary events: the work per request is bounded by
# MAX_PIXELS, MAX_FILE_SIZE, MAX_BATCH_FILES and the render size's maximum.
MAX_FILE_MB = 25
MAX_FILE_BYTES = MAX_FILE_MB * 2**20
MAX_FILE_SIZE = f"{MAX_FILE_MB}mb"  # Gradio's spelling of MAX_FILE_BYTES (it takes "mb" as 2**20 bytes)
MAX_BATCH_FILES = 20  # photos per "Many photos" request
MAX_FILM_SECONDS = DEFAULT_MAX_SECONDS  # longer films are refused before any frame is colorized
MAX_FILM_PIXELS = DEFAULT_MAX_FRAME_PIXELS  # and so are films with larger frames (1280x720)
MAX_FILM_FRAMES = DEFAULT_MAX_FRAMES  # and films of more frames (3,600: each one a network pass)
FILM_LIMITS = FilmLimits(MAX_FILM_SECONDS, MAX_FILM_PIXELS, MAX_FILM_FRAMES)  # --max-film-seconds, -pixels, -frames
CONCURRENCY = 2  # requests colorized at once, page, API, MCP and batch together; the others wait
CONCURRENCY_ID = "colorize"
SESSION_THREADS = max(1, (os.cpu_count() or 1) // CONCURRENCY)
QUEUE_SIZE = 32  # requests waiting beyond that are refused with "queue is full"
DELETE_CACHE = (600, 3600)  # every 10 minutes, Gradio deletes its uploads and results older than an hour
MAX_KEPT_BYTES = 2 * 2**30  # uploads and results kept on disk in all; the oldest go first
MAX_KEPT_SECONDS = sum(DELETE_CACHE)  # and for at most as long as Gradio keeps its own files
BODY_LIMITS = {  # request bodies by path prefix; a larger body gets 413 before it is read
    "/gradio_api/upload": MAX_BATCH_FILES * MAX_FILE_BYTES + 2**20,  # multipart, streamed to disk by Gradio
    "/gradio_api/mcp": MAX_FILE_BYTES * 4 // 3 + 2**20,  # a data: URL of a photo, base64 in JSON
}
MAX_OTHER_BODY = 2**20  # the queue's JSON and everything else
LAUNCH_OPTIONS = {
    "max_file_size": MAX_FILE_SIZE,
    "show_error": True,  # the colorizer's one-line messages reach the page and API clients
    "ssr_mode": False,  # client-side rendering: no Node server
    "enable_monitoring": False,  # left at None, Gradio lets anyone read /monitoring/summary
    "mcp_server": True,  # the public endpoint is also an MCP tool, at /gradio_api/mcp/
}

TITLE = "Black-and-white photo and film colorizer"
INTRO = f"""\
# {TITLE}
Upload an old photo (drag it here, paste it, or click to choose a file): the
[ECCV16 model](https://richzhang.github.io/colorization/) of Zhang, Isola and Efros guesses plausible
colours for it. The result keeps your photo's full resolution and downloads as PNG. Many photos at
once: the **Many photos** tab; a short film: the **Film** tab.
"""
# Gradio 6.31's bundled SourceSansPro-SemiBold.woff2 holds only a few glyphs, so semi-bold text (titles,
# labels, buttons) mixed two fonts; with the complete Bold face declared instead, weight 600 resolves to it.
THEME = gr.themes.Default(
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"]
)
# The before/after view. Gradio 6.31 centres a letterboxed photo in a 400 px panel and lets the slider's
# handle travel the whole panel, over the empty bands beside or above the photo. Here the slider's box
# (.wrap) is the photo's own box: the first layer sits in the flow at its natural size, shrunk to fit
# the column and 400 px of height; the second lies exactly over it; the panel's height follows, so the
# handle's track is the photo and no band is left. (The first layer's size sets the box: both layers
# are the same size, the result having the photo's size.) The films' labels (the limits) stop short of
# the video's toolbar (up to three buttons, 71 px) instead of running under it on a phone.
CSS = """
#model-line { opacity: 0.75; font-size: 0.9em; }
#before-after { height: auto !important; }
#before-after .slider-wrap.limit_height, #before-after .slider-wrap.limit_height .content {
    display: block; height: auto; }
#before-after .slider-wrap.limit_height .wrap { width: fit-content; max-width: 100%; height: auto; margin: 0 auto; }
#before-after .slider-wrap.limit_height img { display: block; width: 100%; height: auto; max-width: none;
    max-height: 400px !important; margin: 0; object-fit: fill; }
#before-after .slider-wrap.limit_height img.fixed { position: absolute; inset: 0; height: 100%; }
#film > label[data-testid="block-label"], #film-result > label[data-testid="block-label"] {
    max-width: calc(100% - 84px); }
"""
WORKING_JS = "() => 'Colorizing…'"
# After a result on a narrow screen (one column), bring the before/after view into sight, once its
# layers and the result below have loaded (up to 10 s): the view takes its photo's height, and the
# page only becomes long enough to scroll it to the top then.
SCROLL_JS = """() => { if (window.innerWidth >= 768) return;
  const deadline = Date.now() + 10000;
  const scroll = () => {
    const images = Array.from(document.querySelectorAll('#before-after img, #result img'));
    if (Date.now() < deadline && (images.length < 3 || !images.every(img => img.complete && img.naturalWidth))) {
      setTimeout(scroll, 100); return; }
    document.getElementById('before-after')?.scrollIntoView({behavior: 'smooth', block: 'start'}); };
  scroll(); }"""


class Handlers:
    """The events' functions over one ModelSet. Their signatures and docstrings are the API's and the
    MCP tool's description."""

    def __init__(self, models: ModelSet, disk: DiskBudget | None = None, film_limits: FilmLimits = FILM_LIMITS):
        self.models = models
        self.disk = disk
        self.film_limits = film_limits

    def colorize(
        self,
        image: str | dict | None,
        vibrancy: float = VIBRANCY_DEFAULT,
        render_size: int = MIN_RENDER_SIZE,
        upsample: str = DEFAULT_METHOD,
        keep_colour: bool = False,
        precision: str = "fp32",
    ) -> str:
        """Colorize a black-and-white photo; the result is a PNG of the photo's size.

        Args:
            image: the photo (JPEG, PNG, TIFF, WebP, BMP, GIF, HEIC or AVIF): an upload, an http(s) URL or a data URL.
            vibrancy: 0 (muted) to 100 (vivid), default 50 (the model's own look); a value above 0 and at most 1 is read as version 1's temperature (0.05 vivid to 1.0 muted).
            render_size: the side the network sees, a multiple of 8 from 224 to 512; larger is finer and slower.
            upsample: how the colour is brought to full size: "bilateral" (default, edge-aware), "guided", "bicubic" or "bilinear".
            keep_colour: for a photo that already has colour, keep it where it is strong.
            precision: "fp32", or "int8" for the faster quantized model when it has been made.
        Returns:
            The colorized PNG (RGB, or RGBA when the photo has transparency), named <photo>_color.png,
            with its provenance in PNG text chunks.
        """
        return str(
            self._colorize_one(image, vibrancy, render_size, upsample, keep_colour, precision, previews=False).result
        )

    def colorize_page(self, image, vibrancy, render_size, upsample, keep_colour, precision):
        """The page's Colorize button and examples: the PNG, the before/after pair and a message."""
        done = self._colorize_one(image, vibrancy, render_size, upsample, keep_colour, precision, previews=True)
        message = f"Colorized {done.width}×{done.height} in {done.seconds:.1f} s."
        if done.note and not keep_colour:
            message += f" {done.note}"
        return str(done.result), (str(done.before), str(done.after)), message

    def colorize_many(self, files, vibrancy, render_size, upsample, keep_colour, precision, progress=gr.Progress()):  # noqa: B008 - Gradio injects the tracker
        """The "Many photos" tab: a gallery, a ZIP of the PNGs, and one line per file that failed."""
        options = _options(vibrancy, render_size, upsample, keep_colour, precision)
        files = [item for item in (files or []) if item]
        if not files:
            raise gr.Error("Upload photos first.", print_exception=False)
        if len(files) > MAX_BATCH_FILES:
            raise gr.Error(f"{len(files)} photos: at most {MAX_BATCH_FILES} at once.", print_exception=False)
        sources = []
        for item in files:
            try:
                sources.append((_original_name(item), _upload_path(item)))
            except gr.Error as refused:
                sources.append((_original_name(item), refused.message))
        batch = colorize_batch(
            self.models,
            sources,
            _request_folder(),
            options,
            max_pixels=MAX_PIXELS,
            progress=lambda index, name: progress(index / len(files), desc=name),
        )
        self._sweep()
        failures = "\n".join(f"- {failure}" for failure in batch.failures)
        if not batch.previews:
            raise gr.Error(f"No photo could be colorized:\n{failures}", print_exception=False)
        report = f"Colorized {len(batch.previews)} of {len(files)} photos."
        if failures:
            report += f" Not colorized:\n{failures}"
        return [(str(path), name) for path, name in batch.previews], str(batch.archive), report

    def colorize_video(
        self,
        video: str | dict | None,
        vibrancy: float = VIBRANCY_DEFAULT,
        render_size: int = MIN_RENDER_SIZE,
        upsample: str = DEFAULT_METHOD,
        precision: str = "fp32",
        stabilize: bool = True,
        progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
    ) -> str:
        """Colorize a black-and-white film; the result is an H.264 MP4 of the film's size, sound kept.

        Args:
            video: the film (MP4, MOV, MKV, WebM, AVI, ...): an upload or an http(s) URL; limited in duration and frame size.
            vibrancy: 0 (muted) to 100 (vivid), default 50 (the model's own look).
            render_size: the side the network sees, a multiple of 8 from 224 to 512; larger is finer and slower.
            upsample: how the colour is brought to full size: "bilateral" (default), "guided", "bicubic" or "bilinear".
            precision: "fp32", or "int8" for the faster quantized model when it has been made.
            stabilize: keep colours steady from frame to frame along the motion (default); false colorizes each frame alone.
        Returns:
            The colorized film, named <film>_color.mp4.
        """
        return str(self._colorize_film(video, vibrancy, render_size, upsample, precision, stabilize, progress).path)

    def colorize_video_page(
        self,
        video,
        vibrancy,
        render_size,
        upsample,
        keep_colour,
        precision,
        stabilize,
        progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
    ):
        """The "Film" tab's Colorize button: the MP4 and a message."""
        done = self._colorize_film(video, vibrancy, render_size, upsample, precision, stabilize, progress)
        message = (
            f"Colorized {done.frames} frames ({done.width}×{done.height}, {done.seconds:.1f} s) in "
            f"{done.elapsed:.1f} s, {done.frames_per_second:.1f} frames/s."
        )
        if not done.audio:
            message += " The film has no sound."
        return str(done.path), message

    def _colorize_film(self, video, vibrancy, render_size, upsample, precision, stabilize, progress):
        options = _options(vibrancy, render_size, upsample, False, precision)
        source = _upload_path(video, what="film")

        def report(done: int, total: int | None, rate: float) -> None:
            progress((done, total), desc=f"{rate:.1f} frames/s", unit="frames")

        with _user_errors():
            done = colorize_film(
                self.models,
                source,
                _request_folder(),
                options,
                original_name=_original_name(video),
                stabilize=bool(stabilize),
                limits=self.film_limits,
                progress=report,
            )
        self._sweep()
        return done

    @staticmethod
    def clear() -> tuple[None, None, str]:
        """A new photo: no old result, before/after or message, and no error badge (only a server
        event resets those; it does no work and reads nothing)."""
        return None, None, ""

    @staticmethod
    def clear_film() -> tuple[None, str]:
        """A new film: no old result or message."""
        return None, ""

    def page_state(self) -> tuple[str, dict]:
        """On page load: the model line, and the speed choice shown only when an int8 model exists."""
        try:
            colorizer = self.models.get()
            line = f"Model `{colorizer.model_path.name}` on `{colorizer.provider}`"
        except ColorizerError as error:
            line = f"Model not loaded: {error}"
        return line, gr.update(visible=self.models.path("int8").is_file())

    def _colorize_one(self, image, vibrancy, render_size, upsample, keep_colour, precision, *, previews: bool):
        options = _options(vibrancy, render_size, upsample, keep_colour, precision)
        source = _upload_path(image)
        with _user_errors():
            done = colorize_file(
                self.models,
                source,
                _request_folder(),
                options,
                original_name=_original_name(image),
                max_pixels=MAX_PIXELS,
                previews=previews,
            )
        self._sweep()
        return done

    def _sweep(self) -> None:
        if self.disk is not None:
            self.disk.sweep_soon()


def _options(vibrancy, render_size, upsample, keep_colour, precision) -> ColorizeOptions:
    with _user_errors():
        return ColorizeOptions.from_request(vibrancy, render_size, upsample, keep_colour, precision)


def _request_folder() -> Path:
    """A new folder for one request's files, inside Gradio's upload folder (so Gradio serves and
    deletes them without copying); created by the first file written there, so a refused request
    leaves none."""
    return Path(get_upload_folder()) / RUN_FOLDER / secrets.token_hex(8)


def _original_name(value: str | dict | None) -> str | None:
    """The name the user's file had (Gradio's payload keeps it as ``orig_name``)."""
    if isinstance(value, dict):
        return value.get("orig_name") or Path(str(value.get("path") or "")).name or None
    return Path(value).name if value else None


def _upload_path(value: str | Path | dict | None, what: str = "photo") -> Path:
    """The file behind an image input: a path, or Gradio's file payload ({"path": ...}) as the events
    receive it unprocessed (see build_demo).

    Only regular files inside Gradio's upload folder (uploads, and the examples Gradio copies there)
    are read: a payload without Gradio's file marker is not checked by Gradio, and could otherwise
    name any file on the server, a folder (the upload folder itself), a FIFO or a device. The refusal
    is the same whether such a path exists or not, and names no server path.
    """
    path = value.get("path") if isinstance(value, dict) else value
    if not path:
        raise gr.Error(f"Upload a {what} first.", print_exception=False)
    refusal = gr.Error(
        f"Send the {what} as a file upload; paths on the server are not accepted.", print_exception=False
    )
    try:
        resolved = Path(path).resolve()
        folder = Path(get_upload_folder()).resolve()
        if resolved == folder or not resolved.is_relative_to(folder) or not resolved.is_file():
            raise refusal
    except (OSError, ValueError, TypeError):  # a name too long, a NUL byte, not a string
        raise refusal from None
    if resolved.stat().st_size > MAX_FILE_BYTES:
        # Inputs sent as URLs skip Gradio's max_file_size (Gradio fetched them already; decoding would cost more).
        raise gr.Error(f"{resolved.name}: the file is larger than the limit of {MAX_FILE_SIZE}", print_exception=False)
    return resolved


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the colorizer's refusals into gr.Error carrying the library's one-line message."""
    try:
        yield
    except ColorizerError as error:
        raise gr.Error(str(error), print_exception=False) from None


def build_demo(models: ModelSet, disk: DiskBudget | None = None, film_limits: FilmLimits = FILM_LIMITS) -> gr.Blocks:
    """The page: settings, then a tab per way of working (one photo, many photos, a film)."""
    handlers = Handlers(models, disk, film_limits)
    limits = {"concurrency_limit": CONCURRENCY, "concurrency_id": CONCURRENCY_ID}
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        with gr.Accordion("Settings", open=False):
            with gr.Row():
                vibrancy = gr.Slider(
                    VIBRANCY_MIN,
                    VIBRANCY_MAX,
                    value=VIBRANCY_DEFAULT,
                    step=1,
                    label="Vibrancy",
                    info="Higher is more colourful; 50 is the model's own look",
                )
                render_size = gr.Slider(
                    MIN_RENDER_SIZE,
                    MAX_RENDER_SIZE,
                    value=MIN_RENDER_SIZE,
                    step=INPUT_MULTIPLE,
                    label="Render size",
                    info="Side of the image the network sees: larger is finer, slower",
                )
            with gr.Row():
                upsample = gr.Dropdown(
                    list(METHODS),
                    value=DEFAULT_METHOD,
                    label="Colour upsampling",
                    info="How the colour is brought to the photo's full size",
                )
                keep_colour = gr.Checkbox(
                    False,
                    label="Keep original colours",
                    info="For photos that already have colour: keep it where it is strong",
                )
                precision = gr.Radio(
                    list(PRECISIONS),
                    value="fp32",
                    label="Speed",
                    visible=False,
                    info="int8: about 3x faster network, checked against fp32 when made",
                )
        settings = [vibrancy, render_size, upsample, keep_colour, precision]
        with gr.Tabs():
            with gr.Tab("One photo"), gr.Row(equal_height=False):
                with gr.Column():
                    # filepath + image_mode=None: Gradio hands over the uploaded file untouched (the
                    # events skip its Pillow preprocessing, below), so colorizer.read_image decodes it:
                    # 16-bit PNGs keep their depth, EXIF orientation is applied, bad files get our message.
                    source = gr.Image(
                        label="Black-and-white photo",
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard"],
                        height=400,
                    )
                    button = gr.Button("Colorize", variant="primary")
                    status = gr.Markdown(elem_id="status")
                    examples = gr.Examples(
                        sorted(str(path) for path in EXAMPLES_DIR.glob("*.jpg")),
                        inputs=source,
                        cache_examples=False,
                        api_visibility="private",
                    )
                with gr.Column():
                    slider = gr.ImageSlider(
                        label="Before / after",
                        type="filepath",
                        interactive=False,
                        buttons=["fullscreen"],
                        height=400,
                        elem_id="before-after",
                    )
                    result = gr.Image(
                        label="Colorized (full resolution, PNG)",
                        type="filepath",
                        interactive=False,
                        buttons=["download", "fullscreen"],
                        elem_id="result",
                    )
            with gr.Tab("Many photos"), gr.Row(equal_height=False):
                with gr.Column():
                    files = gr.File(
                        label=f"Black-and-white photos (up to {MAX_BATCH_FILES})",
                        file_count="multiple",
                        file_types=["image"],
                        elem_id="many-files",
                    )
                    many_button = gr.Button("Colorize all", variant="primary")
                    many_status = gr.Markdown(elem_id="many-status")
                with gr.Column():
                    gallery = gr.Gallery(label="Colorized (previews)", columns=3, height=400, elem_id="many-gallery")
                    archive = gr.File(label="All colorized PNGs (ZIP)", elem_id="many-zip")
            with gr.Tab("Film"), gr.Row(equal_height=False):
                with gr.Column():
                    film = gr.Video(
                        label=f"Black-and-white film (up to {film_limits.max_seconds:g} s, "
                        f"{film_limits.max_frames:,} frames, {film_limits.max_pixels:,} pixels a frame)",
                        sources=["upload"],
                        format=None,
                        elem_id="film",
                    )
                    stabilize = gr.Checkbox(
                        True, label="Steady colours", info="Carry each frame's colours along the motion to the next"
                    )
                    film_button = gr.Button("Colorize", variant="primary", elem_id="film-button")
                    film_status = gr.Markdown(elem_id="film-status")
                with gr.Column():
                    film_result = gr.Video(
                        label="Colorized (MP4, sound kept)", interactive=False, format=None, elem_id="film-result"
                    )
        model_info = gr.Markdown(elem_id="model-line")
        api_trigger = gr.Button(visible=False)  # the API's own event: one image out, as in version 1
        film_api = gr.Button(visible=False)  # the film API's event: the MP4 alone

        # preprocess=False: the events receive the uploads' payloads, not Pillow's reading of them.
        # Every event that colorizes shares one concurrency limit (CONCURRENCY_ID), whoever calls it.
        page_outputs = [result, slider, status]
        clear = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
        source.change(handlers.clear, None, page_outputs, **clear)
        button.click(None, None, status, js=WORKING_JS)
        button.click(
            handlers.colorize_page,
            [source, *settings],
            page_outputs,
            preprocess=False,
            api_visibility="private",
            **limits,
        ).success(None, js=SCROLL_JS)
        examples.load_input_event.then(
            handlers.colorize_page,
            [source, *settings],
            page_outputs,
            preprocess=False,
            api_visibility="private",
            **limits,
        ).success(None, js=SCROLL_JS)
        files.change(handlers.clear, None, [gallery, archive, many_status], **clear)
        many_button.click(None, None, many_status, js=WORKING_JS)
        many_button.click(
            handlers.colorize_many,
            [files, *settings],
            [gallery, archive, many_status],
            preprocess=False,
            api_visibility="private",
            **limits,
        )
        api_trigger.click(
            handlers.colorize, [source, *settings], result, api_name="colorize", preprocess=False, **limits
        )
        film.change(handlers.clear_film, None, [film_result, film_status], **clear)
        film_button.click(None, None, film_status, js=WORKING_JS)
        film_button.click(
            handlers.colorize_video_page,
            [film, *settings, stabilize],
            [film_result, film_status],
            preprocess=False,
            api_visibility="private",
            **limits,
        )
        film_api.click(
            handlers.colorize_video,
            [film, vibrancy, render_size, upsample, precision, stabilize],
            film_result,
            api_name="colorize_video",
            preprocess=False,
            **limits,
        )
        demo.load(handlers.page_state, None, [model_info, precision], api_visibility="private")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    only_regular_files_recorded(demo)
    return demo


demo = build_demo(ModelSet(threads=SESSION_THREADS))  # for `gradio app.py`; main() builds its own


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
        "--release-dir",
        type=Path,
        help="folder holding release files you downloaded yourself (colorization_deploy_v2.prototxt, "
        "colorization_release_v2.caffemodel, pts_in_hull.npy): used instead of downloading them "
        "when the model must be built",
    )
    parser.add_argument("--host", help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument(
        "--max-film-seconds", type=float, default=MAX_FILM_SECONDS, help="longer films are refused before any work"
    )
    parser.add_argument(
        "--max-film-pixels",
        type=int,
        default=MAX_FILM_PIXELS,
        help="films whose frames have more pixels (width x height) are refused before any work",
    )
    parser.add_argument(
        "--max-film-frames",
        type=int,
        default=MAX_FILM_FRAMES,
        help="films of more frames are refused before any work (each frame costs a network pass)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return parser.parse_args(argv)


def prepare_model(models: ModelSet, release_dir: Path | None) -> str:
    """Build the fp32 model if it is missing (from ``release_dir``'s files, else downloads), load it
    and hash it, and ready the per-pixel kernels; returns the line to print. Raises DownloadError, ConversionError, ColorizerError."""
    path = models.path()
    if not path.exists():
        release: dict[str, Path] = {}
        if release_dir is not None:
            release, lines = describe_release_dir(release_dir)
            for line in lines:
                print(line, file=sys.stderr)
        print(
            f"{path} is missing: building it from the ECCV16 release, as python -m convert --output {path} would",
            file=sys.stderr,
        )
        ensure_model(path, **release)
    colorizer = models.get()
    models.sha256()
    load_kernels()  # the per-pixel kernels compile (or load from cache) now, not on the first photo
    return f"model {path} on {colorizer.provider}"


def film_limits_of(args: argparse.Namespace) -> FilmLimits:
    """The film limits the command line asks for; ColorizerError for one that is not positive."""
    return FilmLimits(args.max_film_seconds, args.max_film_pixels, args.max_film_frames)


def example_files(blocks: gr.Blocks) -> set[str]:
    """Files Gradio keeps for the page's lifetime (the examples): never swept."""
    return {path for block in blocks.blocks.values() for path in getattr(block, "keep_in_cache", ())}


def main(argv: list[str] | None = None) -> int:
    limit_malloc_arenas()
    args = parse_args(argv)
    configure_logging(args.verbose)
    models = ModelSet(args.model, threads=SESSION_THREADS)
    try:
        film_limits = film_limits_of(args)
    except ColorizerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        print(prepare_model(models, args.release_dir))
    except DownloadError as error:
        print(
            f"error: {error}; or put those files in a folder and run: python app.py --release-dir FOLDER",
            file=sys.stderr,
        )
        return 2
    except (ConversionError, ColorizerError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    upload_folder = Path(get_upload_folder())
    lock = claim_folder(upload_folder, upload_folder / RUN_FOLDER)  # a killed run's results go now
    page: gr.Blocks | None = None
    disk = DiskBudget(
        upload_folder,
        max_bytes=MAX_KEPT_BYTES,
        max_age=MAX_KEPT_SECONDS,
        keep=lambda: example_files(page) if page is not None else (),
    )
    page = build_demo(models, disk, film_limits)
    disk.sweep()
    disk.start()
    # Stop on SIGTERM (docker stop, systemd) as on Ctrl-C, so Gradio's shutdown deletes the uploads
    # and results it knows of.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    middleware = [Middleware(BodyLimit, limits=BODY_LIMITS, default=MAX_OTHER_BODY)]
    try:
        page.launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            theme=THEME,
            css=CSS,
            app_kwargs={"middleware": middleware},
            **LAUNCH_OPTIONS,
        )
    finally:
        disk.stop()
        if lock is not None:
            lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
