"""What a colorized file is called: one rule for the command line, the app's downloads and its ZIP.

    result_name("scan 1.tif")                 # 'scan 1_color.png'
    output_names(["a.jpg", "a.png"], ".png")  # ['a_jpg_color.png', 'a_png_color.png']
    film_output(Path("out/clip_color.png"))   # out/clip_color.mp4

An output is ``<stem>_color.<format>`` (a film's ``<stem>_color.mp4``, whatever it came in). Names
of one folder (or one ZIP) are pairwise distinct even case-insensitively and whatever the Unicode
normalisation (macOS and Windows fold case; macOS takes ``Ä`` as one character or as ``A`` and a
combining diaeresis alike: ``folded``): when two inputs would get the same name (``scan.jpg`` and ``scan.png``), or the name is that
of a file that stays in the folder, the source suffix is kept (``scan_jpg_color.png``), then a
counter (``-2``). Each output also claims its film name, so a film's result can never take another
file's name. Every name fits NAME_MAX_BYTES of UTF-8, the stem cut at a character boundary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from pathlib import Path

from colorkit.files import NAME_MAX_BYTES

OUTPUT_SUFFIX = "_color"  # between an input's stem and the output's suffix
FILM_OUTPUT_SUFFIX = ".mp4"  # a colorized film is H.264 in MP4, whatever container it came in
HINTS_SUFFIX = ".hints.json"  # <stem>.hints.json beside a photo: its colour hints
DEFAULT_STEM = "photo"  # for an uploaded file whose name has nothing left to keep
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")  # control characters and path separators


def output_names(names: Sequence[str], suffix: str, reserved: Collection[str] = ()) -> list[str]:
    """Input file names of one folder -> output names for one output folder (see the module
    docstring), none equal to a ``reserved`` name (files that stay in that folder). suffix: the
    output's, e.g. ".png"."""
    sources = [Path(name) for name in names]
    plain = [fit(source.stem, f"{OUTPUT_SUFFIX}{suffix}") for source in sources]
    counts: dict[str, int] = {}
    for name in plain:
        counts[folded(name)] = counts.get(folded(name), 0) + 1
    taken = {folded(name) for name in reserved}

    def claims(name: str) -> set[str]:
        return {folded(name), folded(name[: -len(suffix)] + FILM_OUTPUT_SUFFIX)}

    result = []
    for source, name in zip(sources, plain):
        if (counts[folded(name)] > 1 or claims(name) & taken) and source.suffix:
            name = fit(source.stem, f"_{source.suffix[1:]}{OUTPUT_SUFFIX}{suffix}")
        number, candidate = 1, name
        while claims(candidate) & taken:
            number += 1
            candidate = fit(name[: -len(suffix)], f"-{number}{suffix}")
        taken |= claims(candidate)
        result.append(candidate)
    return result


def folded(name: str) -> str:
    """``name`` as a file system that ignores case and Unicode normalisation compares it (Unicode's
    canonical caseless match: NFD, case folded, NFD again)."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


def result_name(original_name: str | None, suffix: str = ".png") -> str:
    """The output name of one uploaded file: ``scan 1.tif`` -> ``scan 1_color.png``
    (``upload_name`` first, then ``output_names``)."""
    return output_names([upload_name(original_name)], suffix)[0]


def upload_name(original_name: str | None) -> str:
    """The name a browser or an API client gave a file -> a file name safe to write: its last part,
    without control characters or path separators, the stem stripped of surrounding spaces and
    dots; DEFAULT_STEM when no stem is left."""
    name = Path(_UNSAFE.sub("", Path(str(original_name or "")).name))
    return (name.stem.strip(" .") or DEFAULT_STEM) + name.suffix


def hints_file(source: Path | str) -> Path:
    """Where a photo's own colour hints are kept: ``<stem>.hints.json`` beside it."""
    source = Path(source)
    return source.with_name(source.stem + HINTS_SUFFIX)


def film_output(output: Path) -> Path:
    """Where a film's result goes: its photo output name with FILM_OUTPUT_SUFFIX."""
    return output.with_suffix(FILM_OUTPUT_SUFFIX)


def fit(stem: str, tail: str) -> str:
    """stem + tail, the stem cut (at a character boundary) so the name fits NAME_MAX_BYTES."""
    room = NAME_MAX_BYTES - len(tail.encode("utf-8", "surrogateescape"))
    return stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore") + tail
