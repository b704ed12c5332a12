"""The app's requests over the one pipeline (``colorizer.pipeline``): what is the page's own —
before/after previews written beside a result, many photos gathered into one ZIP — and nothing else.

    done = colorize_one(colorizer, upload, out_dir, Settings.from_request(60), original_name="scan 1.tif")
    done.result   # out_dir / "scan 1_color.png", written once, atomically; done.before, done.after
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from appkit.film_budget import within_budget
from colorizer.colorizer import Colorizer
from colorizer.errors import ColorizerError, Interrupted
from colorizer.naming import output_names, result_name, upload_name
from colorizer.pipeline import Progress, Result, colorize_film, colorize_photo
from colorizer.preview import PREVIEW_SIDE
from colorizer.settings import Settings
from colorizer.video import FilmLimits
from colorkit.files import atomic_writer, write_atomically

PREVIEW_PNG_LEVEL = 1  # previews are shown once; the fastest zlib level
ZIP_NAME = "colorized_photos.zip"


@dataclass(frozen=True)
class Colorized:
    """What ``colorize_one`` wrote. ``before``/``after``: PNG previews of equal size (``after`` is
    the result file itself when it is at most PREVIEW_SIDE a side; both are the result without
    previews)."""

    result: Path
    before: Path
    after: Path
    width: int
    height: int
    note: str | None
    seconds: float


@dataclass
class Batch:
    """What ``colorize_many`` wrote: the ZIP of the PNGs, a preview per PNG, a line per failure."""

    archive: Path
    previews: list[tuple[Path, str]] = field(default_factory=list)  # (preview PNG, name in the ZIP)
    failures: list[str] = field(default_factory=list)  # "<file>: <one-line reason>"


def colorize_one(
    colorizer: Colorizer,
    source: Path,
    out_dir: Path,
    settings: Settings,
    *,
    original_name: str | None = None,
    previews: bool = True,
) -> Colorized:
    """Colorize the photo ``source`` into ``out_dir/<original stem>_color.png`` (``naming.result_name``),
    with ``before.png`` (and ``after.png`` for results over PREVIEW_SIDE) beside it. out_dir must be a
    folder of this request alone. Raises ColorizerError before anything is written."""
    output = out_dir / result_name(original_name or source.name)
    done = colorize_photo(colorizer, source, output, settings, previews=previews)
    before = after = output
    if done.previews is not None:
        before = out_dir / "before.png"
        write_atomically(before, preview_png(done.previews[0]))
        if max(done.height, done.width) > PREVIEW_SIDE:
            after = out_dir / "after.png"
            write_atomically(after, preview_png(done.previews[1]))
    return Colorized(output, before, after, done.width, done.height, done.note, done.seconds)


def colorize_many(
    colorizer: Colorizer,
    sources: Sequence[tuple[str, Path | str]],
    out_dir: Path,
    settings: Settings,
    *,
    progress: Callable[[int, str], None] = lambda index, name: None,
    stop: threading.Event | None = None,
) -> Batch:
    """Colorize each (original name, file) into one ZIP of ``<stem>_color.png``, named as the command
    line names a folder's outputs (``naming.output_names``), one photo in memory at a time. A source
    given as a string instead of a path is a reason it was refused already; it is listed with the
    failures, as is each file the colorizer refuses; the others are kept. The ZIP is written
    atomically. ``stop`` set: Interrupted before the next photo, and no ZIP."""
    batch = Batch(out_dir / ZIP_NAME)
    names = output_names([upload_name(name) for name, _ in sources], ".png")
    with atomic_writer(batch.archive) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        for index, ((name, source), png_name) in enumerate(zip(sources, names)):  # PNGs are compressed already
            if stop is not None and stop.is_set():
                raise Interrupted(name)
            progress(index, name)
            if isinstance(source, str):
                batch.failures.append(source)
                continue
            try:
                done = colorize_photo(colorizer, source, None, settings, previews=True, stop=stop)
            except ColorizerError as error:
                batch.failures.append(str(error))
                continue
            assert done.data is not None and done.previews is not None  # in memory, with previews
            archive.writestr(png_name, done.data)
            preview_path = out_dir / f"{index}-{png_name}"
            write_atomically(preview_path, preview_png(done.previews[1]))
            batch.previews.append((preview_path, png_name))
    return batch


def colorize_upload_film(
    colorizer: Colorizer,
    source: Path,
    out_dir: Path,
    settings: Settings,
    *,
    original_name: str | None,
    limits: FilmLimits,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> Result:
    """Colorize the uploaded film ``source`` into ``out_dir/<original stem>_color.mp4`` within the
    server's ``limits`` (a ``ServerFilmLimits``' budget of frames x pixels too,
    ``film_budget.within_budget``); a photo or anything but a film is refused (VideoError) before
    any work. ``stop`` set: Interrupted within a frame, and nothing written."""
    name = original_name or source.name
    return colorize_film(
        colorizer,
        source,
        out_dir / result_name(name),
        settings,
        name=name,
        limits=within_budget(source, name, limits),
        progress=progress,
        stop=stop,
    )


def preview_png(image: np.ndarray) -> bytes:
    """uint8 HxWx3 RGB / HxWx4 RGBA -> PNG bytes at the fastest zlib level."""
    order = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR  # OpenCV writes BGR(A)
    encoded, data = cv2.imencode(".png", cv2.cvtColor(image, order), [cv2.IMWRITE_PNG_COMPRESSION, PREVIEW_PNG_LEVEL])
    if not encoded:
        raise ColorizerError("PNG encoding of a preview failed")
    return data.tobytes()
