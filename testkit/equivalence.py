"""Outputs of two versions of the code on the same inputs, to prove a refactoring changed no byte.

    inputs = write_inputs(tmp / "in")                      # photos of every kind, a film with sound
    old = run_version(legacy_tree, inputs, tmp / "old", model, LEGACY_APP)
    new = run_version(REPO_ROOT, inputs, tmp / "new", model, CURRENT_APP)
    assert old == new                                      # {relative path: SHA-256} of every output

Each version runs in its own Python process on its own source tree (``legacy_tree``: the code as it
was before the refactoring, from git), through what every front end calls: the command line
(``colorizer.cli.main``) for the batches, and the app's per-request functions for one photo, many
photos and a film. The app's functions are the only lines that differ between versions (their names
moved); each version's are given as a script.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from testkit.fixtures import photo
from testkit.video_clips import camera_frames, write_clip

# The last commit before the one pipeline (issue "One pipeline for every front end").
LEGACY_COMMIT = "7df7668"

# Batches through the command line: (output folder name, options). Every input kind and every
# output format, the colour options at other values than their defaults, films steadied and not.
CLI_RUNS: tuple[tuple[str, list[str]], ...] = (
    ("png", []),
    (
        "jpg",
        ["--format", "jpg", "--quality", "90", "--temperature", "0.2", "--render-size", "256", "--upsample", "bicubic"],
    ),
    ("webp", ["--format", "webp", "--quality", "lossless", "--keep-color", "--no-stabilize", "--upsample", "guided"]),
)

# The app's requests: one photo (with its previews), many photos (a ZIP), a film. ``inputs``: the
# photo files; ``film``: the film; ``out``: the folder to write under. Settings as the page sends them.
LEGACY_APP = """
from colorizer.models import ModelSet
from colorizer.options import ColorizeOptions
from colorizer.service import colorize_batch, colorize_file
from colorizer.video_service import colorize_film

models = ModelSet(model)
for source in inputs:
    colorize_file(models, source, out / "app" / source.name, ColorizeOptions.from_request(), original_name=source.name)
options = ColorizeOptions.from_request(80, 256, "bicubic", True)
colorize_batch(models, [(source.name, source) for source in inputs], out / "many", options)
colorize_film(models, film, out / "film", ColorizeOptions.from_request(30), original_name=film.name)
"""

CURRENT_APP = """
from dataclasses import replace
from appkit.config import PUBLIC_FILM_LIMITS
from appkit.requests import colorize_many, colorize_one, colorize_upload_film
from colorizer.models import ModelSet
from colorizer.settings import Settings

colorizer = ModelSet(model).get()
for source in inputs:
    settings = replace(Settings.from_request(), depth=8)  # 8 bits, as before (see CURRENT_CLI)
    colorize_one(colorizer, source, out / "app" / source.name, settings, original_name=source.name)
settings = replace(Settings.from_request(80, 256, "bicubic", True), depth=8)
colorize_many(colorizer, [(source.name, source) for source in inputs], out / "many", settings)
colorize_upload_film(
    colorizer,
    film,
    out / "film",
    Settings.from_request(30, network_every=1),
    original_name=film.name,
    limits=PUBLIC_FILM_LIMITS,
)
"""

_DRIVER = """
import json, sys
from pathlib import Path
spec = json.loads(sys.argv[1])
model, out = spec["model"], Path(spec["out"])
inputs, film = [Path(path) for path in spec["photos"]], Path(spec["film"])
from colorizer.cli import main
for name, options in spec["cli"]:
    main([spec["folder"], "-o", str(out / name), "--model", model, *options, *spec["cli_extra"]])
exec(spec["app"])
"""


def write_inputs(folder: Path) -> dict:
    """Photos of every kind the decoders take (grey JPEG, 16-bit PNG, RGBA PNG, RGB TIFF, BMP, WebP,
    GIF, a sepia-toned JPEG) and a 12-frame film with sound, in ``folder``. Returns the spec's
    "folder", "photos" and "film" entries."""
    folder.mkdir(parents=True)
    grey = photo(200, 150)
    rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    sepia = np.clip(rgb * np.array([1.07, 0.95, 0.78]), 0, 255).astype(np.uint8)
    alpha = np.dstack([rgb[:90, :120], np.linspace(0, 255, 120, dtype=np.uint8)[None].repeat(90, 0)])
    files = {
        "grey.jpg": lambda path: Image.fromarray(grey).save(path, quality=90),
        "deep.png": lambda path: cv2.imwrite(str(path), (grey[:120, :160].astype(np.uint16) * 257)),
        "alpha.png": lambda path: Image.fromarray(alpha, "RGBA").save(path),
        "scan.tif": lambda path: Image.fromarray(rgb[:100]).save(path),
        "old.bmp": lambda path: Image.fromarray(grey[:64, :96]).save(path),
        "pic.webp": lambda path: Image.fromarray(rgb).save(path, quality=80),
        "anim.gif": lambda path: Image.fromarray(grey[:80, :80]).save(path),
        "tinted.jpg": lambda path: Image.fromarray(sepia).save(path, quality=92),
    }
    for name, write in files.items():
        write(folder / name)
    film = write_clip(
        folder / "clip.mp4", camera_frames(rgb, 96, 64, 12, pan=(2.0, 1.0)), fps=Fraction(12), audio="aac"
    )
    return {"folder": str(folder), "photos": [str(folder / name) for name in files], "film": str(film)}


def legacy_tree(repo: Path, folder: Path) -> Path:
    """The code as it was at LEGACY_COMMIT, from the git history of ``repo``, in ``folder``.
    Raises LookupError when that history is not there (an archive, a shallow clone)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", LEGACY_COMMIT], capture_output=True)
    if archive.returncode:
        raise LookupError(f"no commit {LEGACY_COMMIT} in {repo}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


# What the current code is told so that it does what the code before did: the network on every frame
# of a film (the films' keyframes came later, and change the pixels on purpose), and 8-bit results
# (a 16-bit input, deep.png, gives a 16-bit PNG since archive-grade photos, on purpose too:
# tests/test_depth.py proves that output; every other input's is 8-bit either way).
CURRENT_CLI = ("--network-every", "1", "--depth", "8")


def run_version(tree: Path, inputs: dict, out: Path, model: Path, app: str, cli_extra=()) -> dict[str, str]:
    """Run the command line's batches (CLI_RUNS) and the app's requests (``app``) of the code in
    ``tree`` on ``inputs``, in a process of its own; returns the digests of what it wrote."""
    spec = {**inputs, "model": str(model), "out": str(out), "cli": CLI_RUNS, "app": app, "cli_extra": list(cli_extra)}
    environment = {**os.environ, "PYTHONPATH": str(tree), "COLORIZER_MODEL": str(model)}
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(spec)], cwd=tree, env=environment, capture_output=True, text=True
    )
    if done.returncode not in (0, 1):
        raise AssertionError(f"{tree}: the driver failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return digests(out)


def digests(folder: Path) -> dict[str, str]:
    """{path relative to ``folder``: digest} of every output file (ZIPs member by member, in order;
    manifests left out: their rows hold times and run ids); the digest is ``content_digest``'s."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == "manifest.jsonl":
            continue
        name = str(path.relative_to(folder))
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for index, member in enumerate(archive.infolist()):
                    found[f"{name}#{index}"] = content_digest(archive.read(member))
        else:
            found[name] = content_digest(path.read_bytes())
    return found


def content_digest(data: bytes) -> str:
    """SHA-256 of what an output holds, less what the code before could not have written: a photo's
    decoded pixels (exactly as stored: depth, channels) and its text entries (the provenance), a
    film's coded media (its ``mdat`` boxes) and its metadata, the ``Input`` entry (the input's
    identity, recorded since round three of reliability) left out of both, and ``network_every``
    (a film's, since keyframes) when it is 1 and ``depth`` (since archive-grade photos) when it is
    8, as they were. Tags that change no pixel
    (the sRGB tag, since colour management) may differ. Anything else is hashed whole."""
    from colorizer.encode import read_text_stream
    from colorizer.mp4_boxes import boxes
    from colorizer.provenance import KEY_INPUT

    if data[4:8] == b"ftyp":  # MP4: the coded media, and the metadata as PyAV reads it
        import av

        with av.open(io.BytesIO(data)) as container:
            text = dict(container.metadata)
        stream = io.BytesIO(data)
        media = b"".join(data[box.body : box.end] for box in boxes(stream, 0, len(data)) if box.type == b"mdat")
    else:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            return hashlib.sha256(data).hexdigest()
        text = read_text_stream(io.BytesIO(data))
        media = f"{pixels.dtype} {pixels.shape}".encode() + pixels.tobytes()
    text.pop(KEY_INPUT, None)
    if "Settings" in text:  # later settings, at the values that do what the code before did
        settings = json.loads(text["Settings"])
        if settings.get("network_every") == 1:
            del settings["network_every"]
        if settings.get("depth") == 8:
            del settings["depth"]
        text["Settings"] = json.dumps(settings, sort_keys=True)
    digest = hashlib.sha256(media)
    digest.update(json.dumps(text, sort_keys=True).encode())
    return digest.hexdigest()
