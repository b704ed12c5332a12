"""The page: a thin Gradio layout over ``colorizer``, with an HTTP API and an MCP server.

    python app.py                        # builds models/eccv16.onnx first if it is missing
    python app.py --model my.onnx --port 8080
    gradio app.py                        # reload mode while editing (model: $COLORIZER_MODEL)

The API's endpoints (``colorize``, ``colorize_with_hints``, ``colorize_video``; MCP tools too) and
their clients are in docs/app.md; the events' functions in ``appkit.handlers``. Importing this
module builds the page (``demo``) but loads no model, starts no server and downloads nothing.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from appkit import config
from appkit.disk import DiskBudget, claim_folder, delete_run_files, stop_now
from appkit.guards import only_regular_files_recorded
from appkit.handlers import Handlers
from appkit.hint_tools import hint_tools, wire_hint_tools
from appkit.limits import BodyLimit
from appkit.memory import limit_malloc_arenas
from appkit.options import film_limits_of, parse_args
from appkit.page import CSS, INTRO, SCROLL_JS, THEME, TITLE, WORKING_JS
from appkit.uploads import RUN_FOLDER
from colorizer import ColorizerError
from colorizer.colorizer import MAX_RENDER_SIZE, MIN_RENDER_SIZE
from colorizer.models import ModelSet, prepare
from colorizer.settings import VIBRANCY_DEFAULT, VIBRANCY_MAX, VIBRANCY_MIN
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorizer.video import FilmLimits
from colorkit.cli import configure_logging
from colorkit.contract import GUIDED_INPUT_SIZE, INPUT_MULTIPLE, KIND_ECCV16, KIND_GUIDED, PRECISIONS

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def build_demo(
    models: ModelSet, disk: DiskBudget | None = None, film_limits: FilmLimits = config.PUBLIC_FILM_LIMITS
) -> gr.Blocks:
    """The page: settings, then a tab per way of working (one photo, many photos, a film)."""
    handlers = Handlers(models, disk, film_limits)
    limits = {"concurrency_limit": config.CONCURRENCY, "concurrency_id": config.CONCURRENCY_ID}
    film_lane = {"concurrency_limit": config.FILM_CONCURRENCY, "concurrency_id": config.FILM_CONCURRENCY_ID}
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=config.DELETE_CACHE) as demo:
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
            model = gr.Radio(
                [("Classic (automatic colours)", KIND_ECCV16), ("User-guided (your colour hints)", KIND_GUIDED)],
                value=KIND_ECCV16,
                label="Model",
                info="User-guided: click the colorized photo to put a colour where it belongs",
                elem_id="model",
            )
        settings = [vibrancy, render_size, upsample, keep_colour, precision, model]
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
                    tools = hint_tools()  # the user-guided model's: points, their colours, suggestions
                    hints_json = gr.Textbox("", visible=False)  # the API's hints: JSON text
            with gr.Tab("Many photos"), gr.Row(equal_height=False):
                with gr.Column():
                    files = gr.File(
                        label=f"Black-and-white photos (up to {config.MAX_BATCH_FILES})",
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
                    network_every = gr.Radio(
                        [("Keyframes only (fast)", "auto"), ("Every frame (slow)", "1")],
                        value="auto",
                        label="Network on",
                        info="Keyframes: where the picture really changes; the colour is carried between",
                    )
                    film_button = gr.Button("Colorize", variant="primary", elem_id="film-button")
                    film_status = gr.Markdown(elem_id="film-status")
                with gr.Column():
                    film_result = gr.Video(
                        label="Colorized (MP4, sound kept)", interactive=False, format=None, elem_id="film-result"
                    )
        model_info = gr.Markdown(elem_id="model-line")
        api_trigger = gr.Button(visible=False)  # the API's own event: one image out, as in version 1
        hints_api = gr.Button(visible=False)  # the API's user-guided event: a photo and hints in, one image out
        guided_size = gr.Number(GUIDED_INPUT_SIZE, visible=False)  # its render size: the trained one
        film_api = gr.Button(visible=False)  # the film API's event: the MP4 alone

        # preprocess=False: the events receive the uploads' payloads, not Pillow's reading of them.
        # Every event that colorizes shares one concurrency limit (CONCURRENCY_ID), whoever calls it.
        page_outputs = [result, slider, status]
        clear = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
        source.change(handlers.clear, None, page_outputs, **clear)
        model.change(lambda chosen: gr.update(visible=chosen == KIND_GUIDED), model, tools.group, **clear)
        button.click(None, None, status, js=WORKING_JS)
        private = {"preprocess": False, "api_visibility": "private", **limits}
        photo_inputs = [source, *settings, tools.hints]
        for trigger in (button.click, examples.load_input_event.then):  # the button, and a click on an example
            trigger(handlers.colorize_page, photo_inputs, page_outputs, **private).success(None, js=SCROLL_JS)
        wire_hint_tools(tools, handlers, source, result, (photo_inputs, page_outputs, private), clear)
        files.change(handlers.clear, None, [gallery, archive, many_status], **clear)
        many_button.click(None, None, many_status, js=WORKING_JS)
        many_button.click(handlers.colorize_many, [files, *settings], [gallery, archive, many_status], **private)
        api_trigger.click(
            handlers.colorize, [source, *settings[:-1]], result, api_name="colorize", preprocess=False, **limits
        )
        hints_api.click(
            handlers.colorize_with_hints,
            [source, hints_json, guided_size, upsample, keep_colour],
            result,
            api_name="colorize_with_hints",
            preprocess=False,
            **limits,
        )
        film.change(handlers.clear_film, None, [film_result, film_status], **clear)
        film_button.click(None, None, film_status, js=WORKING_JS)
        # Films have their own lane (one at a time), so photos keep flowing while films run.
        film_page = {**private, **film_lane}
        film_button.click(
            handlers.colorize_video_page,
            [film, *settings, stabilize, network_every],
            [film_result, film_status],
            **film_page,
        )
        film_inputs = [film, vibrancy, render_size, upsample, precision, stabilize]
        film_api.click(
            handlers.colorize_video, film_inputs, film_result, api_name="colorize_video", preprocess=False, **film_lane
        )
        demo.load(handlers.page_state, None, [model_info, precision], api_visibility="private")
    demo.queue(default_concurrency_limit=config.CONCURRENCY, max_size=config.QUEUE_SIZE)
    only_regular_files_recorded(demo)
    return demo


demo = build_demo(ModelSet(threads=config.SESSION_THREADS))  # for `gradio app.py`; main() builds its own


def example_files(blocks: gr.Blocks) -> set[str]:
    """Files Gradio keeps for the page's lifetime (the examples): never swept."""
    return {path for block in blocks.blocks.values() for path in getattr(block, "keep_in_cache", ())}


def main(argv: list[str] | None = None) -> int:
    limit_malloc_arenas()
    args = parse_args(argv)
    configure_logging(args.verbose)
    models = ModelSet(args.model, guided_path=args.guided_model, threads=config.SESSION_THREADS)
    try:
        film_limits = film_limits_of(args)
        colorizer = prepare(models, build=True, release_dir=args.release_dir)
    except ColorizerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"model {colorizer.model_path} on {colorizer.provider}")
    upload_folder = Path(get_upload_folder())
    lock = claim_folder(upload_folder, upload_folder / RUN_FOLDER)  # a killed run's results go now
    page: gr.Blocks | None = None
    disk = DiskBudget(
        upload_folder,
        max_files=args.max_kept_files,
        max_bytes=args.max_kept_mb * 2**20,
        max_age=config.MAX_KEPT_SECONDS,
        keep=lambda: example_files(page) if page is not None else (),
    )
    page = build_demo(models, disk, film_limits)
    disk.sweep()
    disk.start()
    signal.signal(signal.SIGTERM, lambda *_: stop_now(page))  # docker stop, systemd
    middleware = [
        Middleware(BodyLimit, limits=config.BODY_LIMITS, default=config.MAX_OTHER_BODY, advice=config.BODY_ADVICE)
    ]
    try:
        page.launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            theme=THEME,
            css=CSS,
            app_kwargs={"middleware": middleware},
            **config.LAUNCH_OPTIONS,
        )
    finally:
        disk.stop()
        delete_run_files(page)
        if lock is not None:
            lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
