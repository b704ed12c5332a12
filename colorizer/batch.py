"""The work on one file of a batch: read -> decode -> colorize -> encode -> atomic write -> manifest row.

``process_file`` is the one function every batch engine calls (``local_job`` in threads on this
machine, ``ray_job`` in Ray actors), so a result is bit-identical whichever engine made it. It never
raises for a bad input: every per-file problem becomes a "failed" row and the batch goes on. Only a
problem with the output folder itself (read-only, full, not writable) raises ``OutputFolderError``,
which stops the batch: it would fail every later file the same way.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import onnxruntime

from colorizer.colorizer import check_render_size, check_temperature
from colorizer.decode import DEFAULT_MAX_PIXELS, decode_image
from colorizer.encode import DEFAULT_FORMAT, check_format, check_quality, check_size, looks_complete, write_image
from colorizer.errors import ColorizerError
from colorizer.input_file import read_input_file
from colorizer.limits import max_file_bytes
from colorizer.manifest import FAILED, OK, Row
from colorizer.plan import Decision, Done, Job
from colorizer.provenance import KEY_MODEL, KEY_SETTINGS, provenance_text, read_provenance
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.files import FILM_OUTPUT_SUFFIX, remove_stale_parts

log = logging.getLogger(__name__)

# Errors of the output folder as a whole: the batch stops instead of failing every file on them.
OUTPUT_FOLDER_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM})
# What a decoder may raise on hostile data besides the library's own errors (fuzzed AVIF/HEIC/TIFF:
# RuntimeError, TypeError, OverflowError, MemoryError); a failed file, never an aborted batch.
DECODER_SURPRISES = (
    RuntimeError,
    TypeError,
    OverflowError,
    MemoryError,
    ValueError,
    EOFError,
    SyntaxError,
    struct.error,
    IndexError,
    KeyError,
)
# What the colorizing step may raise on an odd image besides ColorizerError: OpenCV's and
# onnxruntime's own errors. A failed file, with the error's type in its message.
_ORT_ERRORS = onnxruntime.capi.onnxruntime_pybind11_state
COLORIZE_SURPRISES = (
    cv2.error,
    ValueError,
    RuntimeError,
    _ORT_ERRORS.Fail,
    _ORT_ERRORS.RuntimeException,
    _ORT_ERRORS.InvalidArgument,
)


class OutputFolderError(ColorizerError):
    """The output folder cannot take files (read-only, full, no permission, not a folder)."""


class Interrupted(Exception):
    """The batch was asked to stop (Ctrl-C, SIGTERM, SIGHUP) before this file's output was written."""


# Settings that decide only one kind of output: each kind's provenance leaves the other kind's out, so
# a resumed run with another film setting does not redo the photos, nor another format the films.
FILM_ONLY_SETTINGS = frozenset({"stabilize"})
PHOTO_ONLY_SETTINGS = frozenset({"keep_color", "format", "quality", "max_pixels"})


@dataclass(frozen=True)
class Settings:
    """What a batch makes its outputs with; recorded in the manifest and in each output's provenance."""

    temperature: float | None = None
    render_size: int | None = None
    upsample: str = DEFAULT_METHOD
    keep_color: bool = False
    format: str = DEFAULT_FORMAT
    quality: int | str | None = None  # 1..100, or "lossless" for WebP
    max_pixels: int = DEFAULT_MAX_PIXELS
    stabilize: bool = True  # films: steady the colour along the motion (False: each frame alone)

    def checked(self) -> Settings:
        """These settings with the format's name and quality resolved; ColorizerError for a bad one
        (so a batch refuses bad options before it loads a model)."""
        if self.temperature is not None:
            check_temperature(self.temperature)
        if self.render_size is not None:
            check_render_size(self.render_size)
        if self.upsample not in METHODS:
            raise ColorizerError(f"unknown upsampling {self.upsample!r}; choose {', '.join(METHODS)}")
        if self.max_pixels < 1:
            raise ColorizerError(f"max pixels must be positive, got {self.max_pixels}")
        format = check_format(self.format)
        return replace(self, format=format, quality=check_quality(format, self.quality))

    def colorize_options(self) -> dict:
        return {
            "temperature": self.temperature,
            "render_size": self.render_size,
            "upsample": self.upsample,
            "keep_color": self.keep_color,
        }

    def record(self, colorizer) -> dict:
        """The settings as recorded: the defaults ``colorizer``'s model gives filled in, the
        precision added (everything that decides an output's bytes)."""
        values = asdict(self)
        values["temperature"] = self.temperature if self.temperature is not None else colorizer.default_temperature
        values["render_size"] = self.render_size or colorizer.input_size
        values["precision"] = colorizer.precision
        return values


@dataclass(frozen=True)
class Context:
    """What every file of a run shares (picklable, for Ray). settings: checked; recorded: their
    record; model_sha256: of the model file, hashed once; run: this run's id; engine: "local"/"ray"."""

    settings: Settings
    recorded: dict
    model_sha256: str
    run: str
    engine: str = "local"

    @property
    def text(self) -> dict[str, str]:
        """The provenance entries every photo of the run carries (its settings but the films' own)."""
        return provenance_text(self.model_sha256, _without(self.recorded, FILM_ONLY_SETTINGS))

    @property
    def film_text(self) -> dict[str, str]:
        """The provenance entries every film of the run carries (its settings but the photos' own)."""
        return provenance_text(self.model_sha256, _without(self.recorded, PHOTO_ONLY_SETTINGS))

    def row(self, job_or_decision: Job | Decision, status: str, **values) -> Row:
        output = job_or_decision.output
        return Row(
            input=job_or_decision.source,
            output=str(output) if output is not None else None,
            status=status,
            settings=self.recorded,
            model_sha256=self.model_sha256,
            run=self.run,
            engine=self.engine,
            **values,
        )

    def decision_row(self, decision: Decision) -> Row:
        return self.row(decision, decision.status, error=decision.reason, output_bytes=decision.output_bytes)


def process_file(
    colorizer, job: Job, context: Context, data: bytes | None = None, stop: threading.Event | None = None
) -> Row:
    """Colorize one file and write its output; the manifest row says what happened.

    data: the file's bytes when the engine has read them (Ray), else the file is read here.
    Kinds of input part ways here: a film (judged by its content, ``colorizer.video.is_video``;
    bytes without a photo's signature are put in a temporary file to be judged and read) streams
    through ``process_video``, everything else is a photo for ``process_image``.
    stop: set when the batch is interrupted; checked before writing, so an interrupted file leaves
        no output (and no temporary) and a resumed run does it again.
    Raises OutputFolderError (the batch must stop) and Interrupted; nothing else.
    """
    if data is None:
        if _is_local_film(job.source):
            return process_video(colorizer, job, context, Path(job.source), stop)
    elif not _has_photo_signature(data):  # perhaps a film an engine read whole
        with _spooled(data, job.name) as path:
            if _is_film(path):
                return process_video(colorizer, job, context, path, stop)
    return process_image(colorizer, job, context, data, stop)


def _has_photo_signature(data: bytes) -> bool:
    from colorizer.video.container import image_kind  # PyAV is loaded only where films are looked for

    return image_kind(data[:32]) is not None


@contextmanager
def _spooled(data: bytes, name: str) -> Iterator[Path]:
    """``data`` in a temporary file named as the input (PyAV reads films from files; messages name
    the input), deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="colorizer-") as folder:
        path = Path(folder) / (Path(name).name or "input")
        path.write_bytes(data)
        yield path


def _is_local_film(source: str) -> bool:
    """Whether ``source`` is a local path (not a URI) to a film (``_is_film``)."""
    return "://" not in source and _is_film(Path(source))


def _is_film(path: Path) -> bool:
    """Whether ``path`` is a regular file holding a film. Anything else (a FIFO, which opening would
    block on, a device, a missing or unreadable file) is left to ``process_image``, which says why."""
    from colorizer.video import is_video  # PyAV is loaded only where films are looked for

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        return is_video(path)
    except OSError:
        return False


def process_video(colorizer, job: Job, context: Context, source: Path, stop: threading.Event | None) -> Row:
    """``process_file`` for a film: streamed from ``source`` (the input, or a temporary copy of its
    bytes) into ``<name>_color.mp4`` (H.264, the sound kept, the run's provenance as its metadata)
    beside where a photo's output would go (``film_output``); interruptible between frames."""
    from colorizer.video import colorize_video

    started = time.perf_counter()
    settings = context.settings
    output = film_output(job)

    def check_stop(frames: int, total: int | None, fps: float) -> None:
        if stop is not None and stop.is_set():
            raise Interrupted(job.source)

    options = settings.colorize_options()
    options.pop("keep_color")  # films are colorized from their lightness alone
    try:
        remove_stale_parts(output)  # temporaries a killed run left
        result = colorize_video(
            colorizer,
            source,
            output,
            stabilize=settings.stabilize,
            progress=check_stop,
            text=context.film_text,
            **options,
        )
    except ColorizerError as error:
        message = str(error)
        return context.row(
            job,
            FAILED,
            error=message if message.startswith(job.name) else f"{job.name}: {message}",
            seconds=round(time.perf_counter() - started, 4),
        )
    except OSError as error:
        if error.errno in OUTPUT_FOLDER_ERRNOS:
            raise OutputFolderError(f"cannot write to {output.parent}: {error.strerror or error}") from None
        return context.row(
            job, FAILED, error=f"{job.name}: {error.strerror or error}", seconds=round(time.perf_counter() - started, 4)
        )
    row = context.row(
        job,
        OK,
        seconds=round(time.perf_counter() - started, 4),
        width=result.width,
        height=result.height,
        output_bytes=output.stat().st_size,
    )
    return replace(row, output=str(output))


def process_image(colorizer, job: Job, context: Context, data: bytes | None, stop: threading.Event | None) -> Row:
    """``process_file`` for a still image."""
    started = time.perf_counter()
    settings = context.settings
    size: dict[str, int] = {}

    def failed(message: str) -> Row:
        if not message.startswith(job.name):
            message = f"{job.name}: {message}"
        return context.row(job, FAILED, error=message, seconds=round(time.perf_counter() - started, 4), **size)

    try:
        if data is None:
            data = read_input_file(job.source, max_bytes=max_file_bytes(settings.max_pixels), name=job.name)
        image = decode_image(data, max_pixels=settings.max_pixels, name=job.name)
    except ColorizerError as error:
        return failed(str(error))
    except OSError as error:
        return failed(f"cannot read the file: {error.strerror or error}")
    except DECODER_SURPRISES as error:
        return failed(f"the decoder failed on this file ({type(error).__name__}: {error})")
    del data  # the encoded bytes are not needed any more
    size = {"width": int(image.shape[1]), "height": int(image.shape[0])}
    try:
        check_size(settings.format, image.shape[0], image.shape[1], job.name)
        result = colorizer.colorize(image, **settings.colorize_options())
        del image
        if stop is not None and stop.is_set():
            raise Interrupted(job.source)
        output_bytes = write_output(job.output, result, settings, context.text)
    except ColorizerError as error:
        return failed(str(error))
    except MemoryError:
        return failed("not enough memory for this image")
    except COLORIZE_SURPRISES as error:
        return failed(f"colorizing failed ({type(error).__name__}: {str(error).strip().splitlines()[0]})")
    except OSError as error:
        if error.errno in OUTPUT_FOLDER_ERRNOS:
            raise OutputFolderError(f"cannot write to {job.output.parent}: {error.strerror or error}") from None
        return failed(f"cannot write {job.output.name}: {error.strerror or error}")
    return context.row(job, OK, seconds=round(time.perf_counter() - started, 4), output_bytes=output_bytes, **size)


def write_output(path: Path, image: np.ndarray, settings: Settings, text: dict[str, str]) -> int:
    """Write ``image`` atomically (after removing temporaries a killed run left there); bytes written."""
    remove_stale_parts(path)
    return write_image(path, image, settings.format, settings.quality, text)


def film_output(job: Job) -> Path:
    """Where ``process_video`` writes a film's result: ``<name>_color.mp4`` beside where a photo's
    output (``job.output``) would go."""
    return job.output.with_suffix(FILM_OUTPUT_SUFFIX)


def _without(settings: dict, names: frozenset[str]) -> dict:
    return {name: value for name, value in settings.items() if name not in names}


class DoneCheck:
    """For --resume: whether a job's output is already there from an earlier run, whole
    (``looks_complete``) and carrying this run's model and settings in its provenance.

    A film's output is its MP4 (``film_output``); it counts only for an input that is a film, judged
    as ``process_file`` judges (so a photo is never skipped for an MP4 that happens to sit where its
    film output would be). What a photo pays for this is one stat of the absent MP4.
    """

    def __init__(self, context: Context):
        self.model_sha256 = context.model_sha256
        self.photo_settings = context.text[KEY_SETTINGS]
        self.film_settings = context.film_text[KEY_SETTINGS]

    def __call__(self, job: Job) -> Done | None:
        """The output ``job`` need not be made again, or None."""
        film = film_output(job)
        if os.path.exists(film) and self.made_here(film, self.film_settings) and _is_local_film(job.source):
            return Done(film, film.stat().st_size)
        if self.made_here(job.output, self.photo_settings):
            return Done(job.output, job.output.stat().st_size)
        return None

    def size(self, job: Job) -> int | None:
        """The size of ``self(job)``'s output, or None (what ``RayOptions.done`` takes)."""
        done = self(job)
        return done.output_bytes if done else None

    def made_here(self, path: Path, settings: str) -> bool:
        """Whether ``path`` is a whole file made with this run's model and ``settings`` (as recorded)."""
        text = read_provenance(path)
        if text.get(KEY_MODEL) != self.model_sha256 or text.get(KEY_SETTINGS) != settings:
            return False
        return looks_complete(path)


def done_check(context: Context) -> DoneCheck:
    """For --resume: a function of a Job that returns its output (``plan.Done``: the photo's, or the
    film's MP4, and its size) when it exists, is whole, and carries this run's model and settings in
    its provenance; else None."""
    return DoneCheck(context)
