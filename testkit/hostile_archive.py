"""The third hostile corpus: an archive's odd names and odd files, as a batch meets them.

    names = write_odd_names(folder)         # photos and a film whose names are not UTF-8, or hold a newline
    lines = hand_edited_rows(folder)        # manifest lines with a number, a list or a NUL where a string goes
    write_user_file(path)                   # a retouched file of the user's, standing at an output's name

Each is what an old USB drive, a Samba share or a person with a text editor leaves in an archive
(issue "Reliability, round three"); tests/test_archive_safety.py runs the command line over them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from testkit.batch_tree import texture, write_bgr
from testkit.video_clips import write_clip

# File names as bytes: Latin-1 and Shift-JIS names copied from old media are not UTF-8.
NOT_UTF8_PHOTO = b"bad\xff\xfename.jpg"
NOT_UTF8_FILM = b"reel\xe9.mp4"  # "reel" + Latin-1 e-acute
NEWLINE_PHOTO = "two\nlines.png"


def write_odd_names(folder: Path) -> list[Path]:
    """A photo and a film whose names are not UTF-8, and a photo whose name holds a newline, in
    ``folder``; their paths (Python's str for such names keeps the bytes as surrogates)."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / os.fsdecode(NOT_UTF8_PHOTO)
    write_bgr(photo, texture(48, 64, seed=41))
    film = folder / os.fsdecode(NOT_UTF8_FILM)
    frames = [np.repeat(texture(48, 64, seed=42 + index)[..., None], 3, axis=2) for index in range(3)]
    write_clip(film, frames, fps=8)
    newline = folder / NEWLINE_PHOTO
    write_bgr(newline, texture(40, 56, seed=45))
    return [photo, film, newline]


def hand_edited_rows(folder: Path) -> list[str]:
    """Manifest lines a person could leave: fields of the wrong type and a NUL inside a path, each
    beside a whole row's other fields (``folder``: where their paths point)."""
    base = {"input": str(folder / "a.png"), "output": str(folder / "a_color.png"), "status": "ok", "output_bytes": 9}
    edits: list[dict[str, object]] = [
        {"input": 5},
        {"output": ["a", "list"]},
        {"output": str(folder / "a\u0000_color.png")},
        {"input": str(folder / "nul\u0000.png")},
        {"settings": [1, 2]},
        {"output_bytes": "many"},
        {"status": None, "seconds": "slow"},
    ]
    return [json.dumps({**base, **edit}) for edit in edits] + ["[1, 2, 3]", "42", '"text"']


def write_user_file(path: Path) -> bytes:
    """A PNG of the user's own (no provenance: retouched in another program) at ``path``; its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 16, 3), 200, np.uint8)).save(path)
    return path.read_bytes()
