"""One file through the colorizer, the one way every front end takes: judged photo or film once,
read, colorized, and written atomically with its provenance.

    result = colorize_file(colorizer, "scans/old.tif", Path("out/old_color.png"), settings)
    result.output, result.width, result.height, result.seconds     # the file written, and its facts

The page, many photos, the film tab, the API and MCP (``appkit.requests``), the command line and Ray
(``colorizer.batch``) all come here: a result is bit-identical whichever front end made it. This is
the one module that both reads an input and writes an output. Every problem with the input is a
ColorizerError with one line that starts with the input's name (``Failed`` once the photo was
decoded: it carries the size); a problem of the output folder as a whole is OutputFolderError; a
``stop`` set before writing is Interrupted, and nothing is written.

The output path given is a photo's (``<stem>_color.<format>``); a film's result goes beside it as
``naming.film_output`` says.
"""

from __future__ import annotations

import errno
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import onnxruntime

from colorizer.chroma import analyze_input_color
from colorizer.color import split_alpha
from colorizer.decode import decode_photo
from colorizer.encode import DEFAULT_FORMAT, check_size, encode_image, output_depth
from colorizer.errors import ColorizerError, Interrupted, OutputFolderError, VideoError
from colorizer.hints import parse_hints, read_hints_file
from colorizer.input_file import read_input_file
from colorizer.limits import max_file_bytes
from colorizer.metadata import Metadata
from colorizer.naming import film_output, hints_file
from colorizer.preview import as_rgb, preview
from colorizer.provenance import file_identity, input_identity, model_sha256, provenance_text
from colorizer.settings import FILM, PHOTO, Settings
from colorizer.signatures import image_kind
from colorkit.files import atomic_writer, remove_stale_parts

if TYPE_CHECKING:  # PyAV is loaded by the film path alone
    from colorizer.video import FilmLimits, VideoResult

# Errors of the output folder as a whole: the batch stops instead of failing every file on them.
OUTPUT_FOLDER_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM})
# What a decoder may raise on hostile data besides the library's own errors (fuzzed AVIF/HEIC/TIFF:
# RuntimeError, TypeError, OverflowError, MemoryError); a failed file, never an aborted batch.
DECODER_SURPRISES: tuple[type[Exception], ...] = (RuntimeError, TypeError, OverflowError, MemoryError, ValueError)
DECODER_SURPRISES += (EOFError, SyntaxError, struct.error, IndexError, KeyError)
# What the colorizing step may raise on an odd image besides ColorizerError: OpenCV's and
# onnxruntime's own errors. A failed file, with the error's type in its message.
_ORT = onnxruntime.capi.onnxruntime_pybind11_state
COLORIZE_SURPRISES = (cv2.error, ValueError, RuntimeError, _ORT.Fail, _ORT.RuntimeException, _ORT.InvalidArgument)

Progress = Callable[[int, "int | None", float], None]  # (frames done, frames in all or None, frames/s)


@dataclass(frozen=True)
class Result:
    """What ``colorize_file`` (``colorize_photo``, ``colorize_film``) made.

    kind: PHOTO or FILM. output: the file written (None: a photo asked for in memory, ``data``).
    width, height: a photo's displayed size; a film's encoded frame size. output_bytes: the file's size.
    seconds: wall time. note: with previews, a photo that already has colour says so
    (``chroma.InputColor.note``).
    film: a film's ``VideoResult`` (frames, duration, sound), else None.
    previews: (before, after) uint8 RGB(A) copies of at most ``preview.PREVIEW_SIDE`` a side, when
        asked for. data: the encoded photo when no output path was given.
    """

    kind: str
    output: Path | None
    width: int
    height: int
    output_bytes: int
    seconds: float
    note: str | None = None
    film: VideoResult | None = None
    previews: tuple[np.ndarray, np.ndarray] | None = None
    data: bytes | None = None


class Failed(ColorizerError):
    """A photo that was decoded and then could not be colorized or written: ``width`` and ``height``
    are its size."""

    def __init__(self, message: str, width: int, height: int):
        super().__init__(message)
        self.width, self.height = width, height


def colorize_file(
    colorizer, source: Path | str, output: Path, settings: Settings, *, data: bytes | None = None, kind=None, **call
) -> Result:
    """Colorize the photo or film ``source`` into ``output`` (a photo's name; a film's result goes to
    ``film_output(output)``), judging which it is by content unless ``kind`` says (PHOTO, FILM).

    data: the file's bytes when the caller read them (Ray); bytes without a photo's signature are put
        in a temporary file named as the input, to be judged and read as a film.
    call: ``name`` (the input in messages; default: the file's name), ``stop`` (see the module
        docstring) and ``model_hash`` (the SHA-256 of ``colorizer``'s model when the caller has it, as
        a batch hashes it once; else ``provenance.model_sha256`` hashes it, once per process), as
        ``colorize_photo`` and ``colorize_film`` take them.
    """
    call["name"] = call.get("name") or Path(source).name
    if data is None:
        if kind == FILM or (kind is None and holds_local_film(source)):
            return colorize_film(colorizer, Path(source), output, settings, judged=True, **call)
    elif image_kind(data[:32]) is None:  # perhaps a film an engine read whole
        with _spooled(data, call["name"]) as path:
            if holds_local_film(path):
                return colorize_film(colorizer, path, output, settings, judged=True, **call)
    return colorize_photo(colorizer, source, output, settings, data=data, **call)


def colorize_photo(
    colorizer,
    source: Path | str,
    output: Path | None,
    settings: Settings,
    *,
    data: bytes | None = None,
    name: str | None = None,
    stop: threading.Event | None = None,
    previews: bool = False,
    model_hash: str | None = None,
) -> Result:
    """Read, decode, colorize and encode the photo ``source`` (or its bytes ``data``) with
    ``settings``; write it to ``output`` (after removing temporaries a killed run left there), or keep
    the encoded bytes in ``Result.data`` when ``output`` is None. previews: also make the
    before/after copies and the note on colour the photo already has."""
    started = time.perf_counter()
    name = name or Path(source).name
    pixels, identity, metadata = _read_photo(source, data, settings, name)
    height, width = pixels.shape[:2]
    format = settings.format or DEFAULT_FORMAT
    try:
        hints = parse_hints(photo_hints(source, settings) or [], width, height)
        check_size(format, height, width, name)
        depth = output_depth(format, settings.depth, pixels.dtype)
        rgb = colorizer.colorize(
            pixels, **settings.colorize_keywords(), depth=depth, **({"hints": hints} if hints else {})
        )
        if stop is not None and stop.is_set():
            raise Interrupted(str(source))
        described = settings.describe(PHOTO, colorizer, hints)
        text = provenance_text(model_hash or model_sha256(colorizer.model_path), described, identity)
        encoded = encode_image(rgb, format, settings.quality, text, metadata)
        if output is not None:
            _write(output, encoded, name)
    except (Failed, OutputFolderError):
        raise
    except ColorizerError as error:
        raise Failed(named(str(error), name), width, height) from None
    except MemoryError:
        raise Failed(f"{name}: not enough memory for this image", width, height) from None
    except COLORIZE_SURPRISES as error:
        first_line = str(error).strip().splitlines()[0]
        raise Failed(f"{name}: colorizing failed ({type(error).__name__}: {first_line})", width, height) from None
    note, pair = None, None
    if previews:  # what a person sees beside the result; a batch needs neither
        note = analyze_input_color(split_alpha(pixels)[0]).note()
        pair = as_rgb(preview(pixels)), preview(rgb)
    seconds = time.perf_counter() - started
    return Result(
        PHOTO, output, width, height, len(encoded), seconds, note, previews=pair, data=None if output else encoded
    )


def colorize_film(
    colorizer,
    source: Path,
    output: Path,
    settings: Settings,
    *,
    name: str | None = None,
    limits: FilmLimits | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    judged: bool = False,
    model_hash: str | None = None,
) -> Result:
    """Colorize the film ``source`` into ``film_output(output)`` (H.264, the sound kept, its metadata
    the provenance), frame by frame as ``settings`` say, within ``limits`` (default: the library's,
    ``colorizer.video.FilmLimits``). keep_color, format and quality are a photo's and play no part.

    judged: the caller knows it is a film; else a photo or anything but a film is refused
    (VideoError) before any work. progress: called after each frame as progress(frames_done,
    frames_total or None, frames_per_second). Raises VideoTooLargeError over ``limits``.
    """
    from colorizer.video import FilmLimits

    started = time.perf_counter()
    name = name or source.name
    limits = limits or FilmLimits()
    if not judged and not holds_local_film(source):
        raise VideoError(f"{name}: not a video file (send photos to the photo endpoint)")
    path = film_output(output)

    def report(frames: int, total: int | None, rate: float) -> None:
        if stop is not None and stop.is_set():
            raise Interrupted(str(source))
        if progress is not None:
            progress(frames, total, rate)

    text = provenance_text(
        model_hash or model_sha256(colorizer.model_path), settings.describe(FILM, colorizer), file_identity(source)
    )
    try:
        remove_stale_parts(path)  # temporaries a killed run left
        film = colorize_video(
            colorizer,
            source,
            path,
            text=text,
            stabilize=settings.stabilize,
            network_every=settings.network_every,
            temperature=settings.temperature,
            render_size=settings.render_size,
            upsample=settings.upsample,
            progress=report,
            max_duration=limits.max_seconds,
            max_pixels=limits.max_pixels,
            max_frames=limits.max_frames,
        )
    except ColorizerError as error:
        raise type(error)(named(str(error), name)) from None
    except OSError as error:
        _output_error(error, path, name)
    seconds = time.perf_counter() - started
    return Result(FILM, path, film.width, film.height, path.stat().st_size, seconds, film=film)


def photo_hints(source: Path | str, settings: Settings) -> object:
    """The colour hints for the photo ``source`` as given (JSON values, checked against the photo
    once it is decoded): its own hints file beside it (``naming.hints_file``), else the run's
    (``settings.hints``); None: none. HintError for a hints file that cannot be read."""
    own = hints_file(source) if "://" not in str(source) else None
    if own is not None and own.is_file():
        return read_hints_file(own)
    return settings.hints


def colorize_video(colorizer, src: Path | str, dst: Path | str, *, text=None, **options) -> VideoResult:
    """The library's film call: ``colorizer.video.transcode`` into the file ``dst``, written whole or
    not at all. ``options`` and the result are ``transcode``'s; ``text``: the metadata entries the
    MP4 carries (None: none)."""
    from colorizer.video import transcode

    dst = Path(dst)
    result = transcode(colorizer, src, lambda: atomic_writer(dst), output_name=dst.name, text=text, **options)
    return replace(result, path=dst)


def _read_photo(
    source: Path | str, data: bytes | None, settings: Settings, name: str
) -> tuple[np.ndarray, dict, Metadata]:
    """The photo's pixels, decoded from ``data`` or from the file (read with the size limit its
    pixel limit implies), the input's identity (``provenance.input_identity``) and its metadata to
    carry (none with ``settings.strip_metadata``); ColorizerError naming the input for anything
    unreadable."""
    try:
        if data is None:
            data = read_input_file(source, max_bytes=max_file_bytes(settings.max_pixels), name=name)
        pixels, metadata = decode_photo(
            data, max_pixels=settings.max_pixels, name=name, metadata=not settings.strip_metadata
        )
        return pixels, input_identity(data), metadata
    except ColorizerError as error:
        raise type(error)(named(str(error), name)) from None
    except OSError as error:
        raise ColorizerError(f"{name}: cannot read the file: {error.strerror or error}") from None
    except DECODER_SURPRISES as error:
        raise ColorizerError(f"{name}: the decoder failed on this file ({type(error).__name__}: {error})") from None


def _write(output: Path, data: bytes, name: str) -> None:
    """``data`` -> ``output`` atomically, after removing temporaries a killed run left there."""
    try:
        remove_stale_parts(output)
        with atomic_writer(output) as file:
            file.write(data)
    except OSError as error:
        _output_error(error, output, name)


def _output_error(error: OSError, path: Path, name: str):
    """OutputFolderError for an error of the folder as a whole, else ColorizerError naming the file."""
    reason = error.strerror or error
    if error.errno in OUTPUT_FOLDER_ERRNOS:
        folder = os.path.dirname(os.fsdecode(error.filename)) if error.filename else str(path.parent)
        raise OutputFolderError(f"cannot write to {path.parent}: {reason}", folder, error.errno) from None
    raise ColorizerError(f"{name}: cannot write {path.name}: {reason}") from None


def named(message: str, name: str) -> str:
    """``message`` starting with the input's ``name`` (as every per-file message does)."""
    return message if message.startswith(name) else f"{name}: {message}"


def holds_local_film(source: Path | str) -> bool:
    """Whether ``source`` is a local path (not a URI) holding a film (``colorizer.video.holds_film``):
    the one judgement of photo or film."""
    if "://" in str(source):
        return False
    from colorizer.video import holds_film  # PyAV is loaded only where films are looked for

    return holds_film(source)


@contextmanager
def _spooled(data: bytes, name: str) -> Iterator[Path]:
    """``data`` in a temporary file named as the input (PyAV reads films from files; messages name
    the input), deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="colorizer-") as folder:
        path = Path(folder) / (Path(name).name or "input")
        path.write_bytes(data)
        yield path
