"""The page's and the API's event functions, over one ModelSet. Their signatures and docstrings are
the API's and the MCP tools' descriptions; the work is ``appkit.requests``' (the one pipeline)."""

from __future__ import annotations

import logging

import gradio as gr

from appkit.abandon import ClientGone
from appkit.config import MAX_BATCH_FILES, PUBLIC_FILM_LIMITS, PUBLIC_MAX_PIXELS
from appkit.disk import DiskBudget
from appkit.requests import colorize_many, colorize_one, colorize_upload_film
from appkit.uploads import original_name, request_folder, upload_path, user_errors
from colorizer.color import lightness, split_alpha
from colorizer.colorizer import MIN_RENDER_SIZE
from colorizer.decode import read_image
from colorizer.errors import ColorizerError
from colorizer.models import ModelSet, prepare, prepare_suggester
from colorizer.settings import AUTO, VIBRANCY_DEFAULT, Settings
from colorizer.suggest import ColourSuggester
from colorizer.upsample import DEFAULT_METHOD
from colorizer.video import FilmLimits
from colorkit.contract import GUIDED_INPUT_SIZE, KIND_ECCV16, KIND_GUIDED

log = logging.getLogger(__name__)


class Handlers:
    """The events' functions over one ModelSet; ``disk``: the budget swept after each request."""

    def __init__(self, models: ModelSet, disk: DiskBudget | None = None, film_limits: FilmLimits = PUBLIC_FILM_LIMITS):
        self.models = models
        self.disk = disk
        self.film_limits = film_limits
        self._suggest_error = ""  # why there are no suggested colours, once building their model failed

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
        done = self._colorize_one(
            image, vibrancy, render_size, upsample, keep_colour, precision, KIND_ECCV16, None, False
        )
        return str(done.result)

    def colorize_with_hints(
        self,
        image: str | dict | None,
        hints: str = "",
        render_size: int = GUIDED_INPUT_SIZE,
        upsample: str = DEFAULT_METHOD,
        keep_colour: bool = False,
    ) -> str:
        """Colorize a black-and-white photo with colours where you want them (the user-guided model of Zhang, Zhu et al. 2017: each hint's colour spreads along the photo's edges); the result is a PNG of the photo's size.

        Args:
            image: the photo (JPEG, PNG, TIFF, WebP, BMP, GIF, HEIC or AVIF): an upload, an http(s) URL or a data URL.
            hints: JSON, a list of {"x": 560, "y": 120, "color": "#2f6fd6"} (optionally "size", the side of the hinted square in pixels) in the photo's pixel coordinates, x to the right and y down from the top-left corner; at most 64. Empty: the same model's automatic colours.
            render_size: the side the network sees, a multiple of 8 from 224 to 512 (256, the size it was trained at, by default).
            upsample: how the colour is brought to full size: "bilateral" (default, edge-aware), "guided", "bicubic" or "bilinear".
            keep_colour: for a photo that already has colour, keep it where it is strong.
        Returns:
            The colorized PNG, named <photo>_color.png, its hints recorded in its provenance (PNG text chunks).
        """
        done = self._colorize_one(
            image, VIBRANCY_DEFAULT, render_size, upsample, keep_colour, "fp32", KIND_GUIDED, hints, False
        )
        return str(done.result)

    def colorize_page(self, image, vibrancy, render_size, upsample, keep_colour, precision, model, hints=None):
        """The page's Colorize button, examples and hint edits: the PNG, the before/after pair and a message."""
        hints = hints_from_table(hints) if model == KIND_GUIDED else None
        done = self._colorize_one(image, vibrancy, render_size, upsample, keep_colour, precision, model, hints, True)
        message = f"Colorized {done.width}×{done.height} in {done.seconds:.1f} s."
        if done.note and not keep_colour:
            message += f" {done.note}"
        return str(done.result), (str(done.before), str(done.after)), message

    def colorize_many(
        self,
        files,
        vibrancy,
        render_size,
        upsample,
        keep_colour,
        precision,
        model,
        progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
    ):
        """The "Many photos" tab: a gallery, a ZIP of the PNGs, and one line per file that failed."""
        settings = _settings(vibrancy, render_size, upsample, keep_colour, precision)
        colorizer = self._colorizer(precision, model)
        files = [item for item in (files or []) if item]
        if not files:
            raise gr.Error("Upload photos first.", print_exception=False)
        if len(files) > MAX_BATCH_FILES:
            raise gr.Error(f"{len(files)} photos: at most {MAX_BATCH_FILES} at once.", print_exception=False)
        sources = []
        for item in files:
            try:
                sources.append((original_name(item), upload_path(item)))
            except gr.Error as refused:
                sources.append((original_name(item), refused.message))
        with user_errors():  # stopped for a client that has gone
            batch = colorize_many(
                colorizer,
                sources,
                request_folder(),
                settings,
                progress=lambda index, name: progress(index / len(files), desc=name),
                stop=ClientGone(),
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
        return str(self._colorize_film(video, vibrancy, render_size, upsample, precision, stabilize, progress).output)

    def colorize_video_page(
        self,
        video,
        vibrancy,
        render_size,
        upsample,
        keep_colour,
        precision,
        model,
        stabilize,
        network_every,
        progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
    ):
        """The "Film" tab's Colorize button: the MP4 and a message (films take the classic model)."""
        done = self._colorize_film(
            video, vibrancy, render_size, upsample, precision, stabilize, progress, network_every
        )
        film = done.film
        assert film is not None  # a film's result
        message = (
            f"Colorized {film.frames} frames ({film.width}×{film.height}, {film.seconds:.1f} s) in "
            f"{film.elapsed:.1f} s, {film.frames_per_second:.1f} frames/s; the network ran on {film.network_frames} of them."
        )
        if not film.audio:
            message += " The film has no sound."
        message += "".join(f" Note: {warning}." for warning in film.warnings)
        return str(done.output), message

    def _colorize_film(
        self, video, vibrancy, render_size, upsample, precision, stabilize, progress, network_every=AUTO
    ):
        settings = _settings(
            vibrancy, render_size, upsample, False, precision, stabilize=stabilize, network_every=network_every
        )
        source = upload_path(video, what="film")

        def report(done: int, total: int | None, rate: float) -> None:
            progress((done, total), desc=f"{rate:.1f} frames/s", unit="frames")

        with user_errors():
            done = colorize_upload_film(
                self._colorizer(precision, KIND_ECCV16),
                source,
                request_folder(),
                settings,
                original_name=original_name(video),
                limits=self.film_limits,
                progress=report,
                stop=ClientGone(),
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

    @staticmethod
    def add_hint(table, colour: str, event: gr.SelectData):
        """A click on the colorized photo: a hint of ``colour`` at the pixel clicked (x, y in the
        photo's own pixels, as Gradio reports them), added to the hints table and chosen."""
        x, y = event.index
        rows = [*hints_rows(table), [int(x), int(y), colour, None]]
        return rows, len(rows) - 1

    @staticmethod
    def choose_row(table, event: gr.SelectData) -> int | None:
        """A click on a cell of the hints table: its row is the chosen point, counted as
        ``hints_rows`` counts (blank rows left out; a blank row chooses none)."""
        rows, row = _table_rows(table), event.index[0]
        return len(hints_rows(rows[:row])) if hints_rows(rows[row : row + 1]) else None

    def suggest(self, image, table, chosen):
        """The suggested colours at the chosen point, given the other points (``colorizer.suggest``):
        the choices (each #rrggbb, labelled with its share) and a note (empty, or why there are
        none). Without the distribution model (built on first use, like the user-guided one) the
        page keeps working with the free picker, and the note says so."""
        rows = hints_rows(table)
        if chosen is None or not 0 <= chosen < len(rows) or image is None:
            return self.no_suggestions()
        point = hints_from_table([rows[chosen]])[0]
        others = hints_from_table(rows[:chosen] + rows[chosen + 1 :])
        with user_errors():
            suggester = self._suggester()
            if suggester is None:
                return gr.update(choices=[], value=None, visible=False), self._suggest_error
            pixels = read_image(upload_path(image), max_pixels=PUBLIC_MAX_PIXELS)
            found = suggester.suggest(lightness(split_alpha(pixels)[0]), point["x"], point["y"], hints=others)
        choices = [(f"{share:.0%}", colour) for colour, share in zip(found.colours(), found.share)]
        return gr.update(choices=choices, value=None, visible=True), ""

    @staticmethod
    def no_suggestions():
        """No chosen point: no suggested colours, no note."""
        return gr.update(choices=[], value=None, visible=False), ""

    @staticmethod
    def choose_suggestion(table, chosen, colour: str):
        """A suggested colour chosen: the chosen point takes it, and so does the picker."""
        return Handlers.recolour_hint(table, chosen, colour), colour

    @staticmethod
    def recolour_hint(table, chosen, colour: str):
        """The picker's colour given to the chosen point (the table as it was without one)."""
        rows = hints_rows(table)
        if chosen is not None and 0 <= chosen < len(rows):
            rows[chosen][2] = colour
        return rows

    @staticmethod
    def delete_hint(table, chosen):
        """*Delete point*: the chosen point (else the last one) leaves the table; none is chosen."""
        rows = hints_rows(table)
        if rows:
            del rows[chosen if chosen is not None and 0 <= chosen < len(rows) else -1]
        return rows, None

    def _suggester(self) -> ColourSuggester | None:
        """The suggested colours' model, built on first use when missing; None (and the reason in
        ``_suggest_error``) when it cannot be: tried once, again only once its file exists."""
        if self._suggest_error and not self.models.suggester_path().exists():
            return None
        try:
            return prepare_suggester(self.models, build=True)
        except ColorizerError as error:
            log.warning("no suggested colours: %s", error)
            self._suggest_error = (
                f"No suggested colours ({str(error).split(';')[0]}): choose the point's colour with the picker. "
                "They need the distribution model: python -m convert --guided-dist."
            )
            return None

    def _colorize_one(self, image, vibrancy, render_size, upsample, keep_colour, precision, model, hints, previews):
        settings = _settings(vibrancy, render_size, upsample, keep_colour, precision, hints)
        colorizer = self._colorizer(precision, model)
        source = upload_path(image)
        with user_errors():
            done = colorize_one(
                colorizer, source, request_folder(), settings, original_name=original_name(image), previews=previews
            )
        self._sweep()
        return done

    def _colorizer(self, precision: str, model: str):
        """The model asked for, built on its first use if it is missing (the user-guided model)."""
        with user_errors():
            if model == KIND_GUIDED and not self.models.path(precision, model).exists():
                return prepare(self.models, precision, model=model, build=True, kernels=False)
            return self.models.get(precision, model)

    def _sweep(self) -> None:
        if self.disk is not None:
            self.disk.sweep_soon()


def _settings(vibrancy, render_size, upsample, keep_colour, precision, hints=None, **film) -> Settings:
    """Every colorize event's settings, checked, with the public server's pixel limit; ``film``:
    stabilize and network_every."""
    with user_errors():
        return Settings.from_request(
            vibrancy,
            render_size,
            upsample,
            keep_colour,
            precision,
            max_pixels=PUBLIC_MAX_PIXELS,
            hints=hints or None,
            **film,
        )


def hints_rows(table) -> list[list]:
    """The hints table's rows as Gradio hands them over (a DataFrame, its payload {"data": rows},
    or rows), blank rows left out."""
    return [list(row) for row in _table_rows(table) if any(cell not in (None, "") and cell == cell for cell in row)]


def _table_rows(table) -> list:
    """Every row of the hints table as Gradio hands it over (NaN or None in a blank cell)."""
    if table is None:
        return []
    if isinstance(table, dict):
        return table.get("data") or []
    if hasattr(table, "to_numpy"):  # a pandas DataFrame
        return table.to_numpy().tolist()
    return list(table)


def hints_from_table(table) -> list[dict] | str | None:
    """The page's hints table (rows of x, y, colour and size) -> hints as the library takes them;
    JSON text (the API's) is passed on as it is. Bad cells are the library's to refuse, by name."""
    if isinstance(table, str):
        return table
    hints = []
    for x, y, colour, *size in hints_rows(table):
        hint = {"x": _cell(x), "y": _cell(y), "color": colour}
        if size and size[0] not in (None, ""):
            hint["size"] = _cell(size[0])
        hints.append(hint)
    return hints


def _cell(value):
    """A table cell as a number where it reads as one (the page's cells may come back as text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
