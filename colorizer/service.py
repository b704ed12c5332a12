"""One photo file in, one colorized PNG (with its provenance) and a before/after pair out: the work
behind each request of the app, done once per request.

The upload is decoded once; the previews are made from the arrays already in memory; the PNG is
encoded once and written once (atomically), named after the original file.
"""

from __future__ import annotations

import logging
import re
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from colorizer.chroma import analyze_input_color
from colorizer.cli import OUTPUT_SUFFIX
from colorizer.color import split_alpha
from colorizer.decode import DEFAULT_MAX_PIXELS, read_image
from colorizer.encode import encode_image
from colorizer.errors import ColorizerError
from colorizer.models import ModelSet
from colorizer.options import ColorizeOptions
from colorizer.preview import PREVIEW_SIDE, as_rgb, preview
from colorizer.provenance import provenance_text
from colorkit.files import atomic_writer, write_atomically

log = logging.getLogger(__name__)

STEM_MAX_BYTES = 120  # of the original name kept in the result's name
PREVIEW_PNG_LEVEL = 1  # previews are shown once; the fastest zlib level


@dataclass(frozen=True)
class ColorizedImage:
    """One colorized photo in memory: the PNG to keep and 8-bit previews of equal size to show."""

    png: bytes  # the full-size PNG, provenance text chunks included
    before: np.ndarray | None  # uint8 hxwx3 RGB (or x4 RGBA) preview of the input, at most PREVIEW_SIDE
    after: np.ndarray | None  # the same for the result (the result itself when small); None: not asked for
    width: int
    height: int
    note: str | None  # the input already has colour (chroma.InputColor.note), else None
    seconds: float

    def preview_png(self) -> bytes:
        """The ``after`` preview as PNG bytes (fastest zlib level); ColorizerError without previews."""
        if self.after is None:
            raise ColorizerError("this result was made without previews")
        return _encode_preview(self.after)


@dataclass(frozen=True)
class Colorized:
    """What ``colorize_file`` wrote. ``before``/``after``: PNG previews of equal size (``after`` is
    the result file itself when it is at most PREVIEW_SIDE a side)."""

    result: Path
    before: Path
    after: Path
    width: int
    height: int
    note: str | None
    seconds: float


def result_name(original_name: str | None) -> str:
    """``scan 1.tif`` -> ``scan 1_color.png``: the original stem (control characters and path
    separators dropped, cut to STEM_MAX_BYTES of UTF-8) + ``_color.png``; ``photo`` when empty."""
    stem = Path(re.sub(r"[\x00-\x1f\x7f/\\]", "", Path(str(original_name or "")).name)).stem.strip(" .")
    stem = stem.encode("utf-8")[:STEM_MAX_BYTES].decode("utf-8", "ignore") or "photo"
    return f"{stem}{OUTPUT_SUFFIX}.png"


def colorize_image(
    models: ModelSet,
    source: Path,
    options: ColorizeOptions,
    *,
    original_name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    previews: bool = True,
) -> ColorizedImage:
    """Decode ``source`` once, colorize it, encode the PNG once (with provenance), make previews from
    the arrays in memory. Raises ColorizerError (bad file, too large, model missing)."""
    start = time.perf_counter()
    pixels = read_image(source, max_pixels=max_pixels)
    rgb = models.get(options.precision).colorize(pixels, **options.colorize_keywords())  # type: ignore[arg-type]
    note = analyze_input_color(split_alpha(pixels)[0]).note()
    png = encode_image(rgb, "png", text=provenance_text(models.sha256(options.precision), options.describe()))
    seconds = time.perf_counter() - start
    log.info("%s: %dx%d in %.2f s", original_name or source.name, rgb.shape[1], rgb.shape[0], seconds)
    before, after = (as_rgb(preview(pixels)), preview(rgb)) if previews else (None, None)
    return ColorizedImage(png, before, after, rgb.shape[1], rgb.shape[0], note, seconds)


def colorize_file(
    models: ModelSet,
    source: Path,
    out_dir: Path,
    options: ColorizeOptions,
    *,
    original_name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    previews: bool = True,
) -> Colorized:
    """Colorize the image file ``source`` into ``out_dir/<original stem>_color.png`` (written once,
    atomically), with ``before.png`` (and ``after.png`` for results over PREVIEW_SIDE) beside it.

    out_dir must be a folder of this request alone. Raises ColorizerError before anything is written.
    """
    done = colorize_image(
        models, source, options, original_name=original_name, max_pixels=max_pixels, previews=previews
    )
    result = out_dir / result_name(original_name or source.name)
    write_atomically(result, done.png)
    before = after = result
    if previews:
        before = out_dir / "before.png"
        assert done.before is not None  # asked for with previews=True
        write_atomically(before, _encode_preview(done.before))
        if max(done.height, done.width) > PREVIEW_SIDE:
            after = out_dir / "after.png"
            write_atomically(after, done.preview_png())
    return Colorized(result, before, after, done.width, done.height, done.note, done.seconds)


@dataclass
class Batch:
    """What ``colorize_batch`` wrote: the ZIP of the PNGs, a preview per PNG, a line per failure."""

    archive: Path
    previews: list[tuple[Path, str]] = field(default_factory=list)  # (preview PNG, name in the ZIP)
    failures: list[str] = field(default_factory=list)  # "<file>: <one-line reason>"


def colorize_batch(
    models: ModelSet,
    sources: Sequence[tuple[str, Path | str]],
    out_dir: Path,
    options: ColorizeOptions,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Callable[[int, str], None] = lambda index, name: None,
) -> Batch:
    """Colorize each (original name, file) into one ZIP of ``<stem>_color.png`` (``_2``, ``_3``...
    for names taken earlier), one image in memory at a time. A source given as a string instead
    of a path is a reason it was refused already; it is listed with the failures, as is each file
    the colorizer refuses (ColorizerError); the others are kept. The ZIP is written atomically."""
    batch = Batch(out_dir / "colorized_photos.zip")
    taken: set[str] = set()
    with (
        atomic_writer(batch.archive) as stream,
        zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive,
    ):  # PNGs are compressed already
        for index, (name, source) in enumerate(sources):
            progress(index, name)
            if isinstance(source, str):
                batch.failures.append(source)
                continue
            try:
                done = colorize_image(models, source, options, original_name=name, max_pixels=max_pixels)
            except ColorizerError as error:
                batch.failures.append(str(error))
                continue
            png_name = _unique(result_name(name), taken)
            archive.writestr(png_name, done.png)
            preview_path = out_dir / f"{index}-{png_name}"
            write_atomically(preview_path, done.preview_png())
            batch.previews.append((preview_path, png_name))
    return batch


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``stem_2.png``, ``stem_3.png``... if an earlier file took it."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{Path(name).stem}_{number}{Path(name).suffix}"
    taken.add(candidate)
    return candidate


def _encode_preview(image: np.ndarray) -> bytes:
    """uint8 HxWx3 RGB / HxWx4 RGBA -> PNG bytes at the fastest zlib level."""
    order = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR  # OpenCV writes BGR(A)
    encoded, data = cv2.imencode(".png", cv2.cvtColor(image, order), [cv2.IMWRITE_PNG_COMPRESSION, PREVIEW_PNG_LEVEL])
    if not encoded:
        raise ColorizerError("PNG encoding of a preview failed")
    return data.tobytes()
