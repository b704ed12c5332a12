"""The second hostile corpus (testkit.hostile_files) as uploads for the app: each image ``Case`` as a
``HostileFile`` (testkit.hostile_corpus's form), its expectation taken from the case itself.

    from testkit.hostile_uploads import SECOND_CORPUS
    files = SECOND_CORPUS.files(tmp_path)     # writes the corpus; each entry is built on lookup
    item = files["scans_at_limit_50mp.jpg"]   # HostileFile: its bytes and a Colorize expectation

- ``Refused(error, pattern)`` becomes ``Refuse(pattern)``: the app shows the decoder's one-line
  message as it is (the exception's class does not cross HTTP).
- ``Decoded(shape, dtype)`` becomes ``Colorize`` at the shape's size, with an alpha channel when the
  shape has four; the grey levels the output's lightness must follow are read from the file by
  OpenCV (not by the colorizer): for a colour file, the grey of each pixel's Lab lightness.
- Cases whose file no client can upload (``hostile_files.special_file_names``: a FIFO, a folder, a
  device, a 30 GB sparse file) are left out: the app takes uploads only; Gradio's upload limit and
  the app's refusal of server paths are tested in tests/test_security.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import cv2
import numpy as np

from testkit.hostile_corpus import Colorize, Corpus, HostileFile, Refuse
from testkit.hostile_files import Case, Decoded, case_names, cases, special_file_names

ROLES = ("image",)
L_TOLERANCE = 1.0  # the reference is decoded from the same bytes: only the decoders' rounding differs


def upload_names() -> list[str]:
    """The names of the cases the app is sent, in the corpus's order (nothing is written)."""
    special = special_file_names()
    return [name for name in case_names(roles=ROLES) if name not in special]


def as_upload(case: Case) -> HostileFile:
    """One image case as the app's hostile test takes it (reads its file; for an accepted one,
    decodes it for the reference grey levels)."""
    if isinstance(case.expect, Decoded):
        height, width = case.expect.shape[:2]
        alpha = len(case.expect.shape) == 3 and case.expect.shape[2] == 4
        expect: Colorize | Refuse = Colorize(width, height, displayed_grey(case.path), alpha, L_TOLERANCE)
    else:
        expect = Refuse(case.expect.pattern)
    return HostileFile(case.name, case.path.read_bytes(), expect, case.what)


def displayed_grey(path: Path) -> np.ndarray:
    """float32 HxW in 0..1: for each displayed pixel (EXIF orientation applied, alpha dropped), the
    grey level with its Lab lightness, read by OpenCV."""
    pixels = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)  # BGR or grey, 8 or 16 bits
    if pixels is None:
        raise ValueError(f"OpenCV cannot read {path}")
    unit = pixels.astype(np.float32) / np.iinfo(pixels.dtype).max
    if unit.ndim == 2:
        return unit
    lab = cv2.cvtColor(np.ascontiguousarray(unit[..., 2::-1]), cv2.COLOR_RGB2Lab)  # BGR -> RGB; L 0..100
    lab[..., 1:] = 0
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)[..., 0]  # a neutral grey: R = G = B


class _Uploads(Mapping[str, HostileFile]):
    """The written cases by name; each HostileFile is made when looked up, so that at most one
    accepted file's reference is in memory at a time."""

    def __init__(self, folder: Path):
        names = set(upload_names())
        self._cases = {case.name: case for case in cases(folder, roles=ROLES) if case.name in names}

    def __getitem__(self, name: str) -> HostileFile:
        return as_upload(self._cases[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._cases)

    def __len__(self) -> int:
        return len(self._cases)


SECOND_CORPUS = Corpus(names=upload_names, files=_Uploads)
