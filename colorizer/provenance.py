"""What a colorized file says about itself: the text entries the CLI and the app write into results.

    text = provenance(colorizer, {"temperature": 0.38, "render_size": 224})
    encode_image(rgb, text=text)   # PNG tEXt chunks (any PNG reader shows them), JPEG comment, WebP XMP
    colorize_video(colorizer, src, dst, text=text)   # MP4 metadata (moov/udta/meta keys, as FFmpeg writes them)

``looks_complete`` tells whether such a file is whole. The same entries let the CLI recognise its own earlier outputs in a folder (``is_our_output``) and
tell, on --resume, whether an output was made the same way (``read_provenance``), whatever its format,
and from the same input: ``Input`` records the input's identity (its size and SHA-256, ``input_identity``;
by content alone, so the command line, Ray and the app write the same bytes for the same file).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import onnxruntime

from colorizer import tiff
from colorizer.encode import PNG_IEND, PNG_SIGNATURE, TIFF_SIGNATURES, read_text_stream
from colorizer.mp4_boxes import BoxError, boxes
from colorkit.files import sha256_file

SOFTWARE = f"colorizer (ECCV16, Zhang, Isola and Efros 2016) on onnxruntime {onnxruntime.__version__}"
NOTE = "colorized: colours are predicted, not original"
KEY_SOFTWARE = "Software"  # PNG's registered keywords
KEY_COMMENT = "Comment"
KEY_MODEL = "Model SHA-256"
KEY_SETTINGS = "Settings"
KEY_INPUT = "Input"  # the input's identity: JSON {"bytes": size, "sha256": hex}
_HEAD_BYTES = 64 * 1024  # the text chunks sit right after IHDR, well inside this

_hashes: dict[tuple[str, int, int], str] = {}
_hashes_lock = threading.Lock()


def model_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a model file, computed once per (path, size, modification time) per process."""
    path = Path(path)
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    with _hashes_lock:
        if key not in _hashes:
            _hashes[key] = sha256_file(path)
        return _hashes[key]


def provenance_text(
    model_hash: str, settings: Mapping[str, object], source: Mapping[str, object] | None = None
) -> dict[str, str]:
    """The text entries for a result of the model with SHA-256 ``model_hash`` made with ``settings``
    (JSON-serialisable values; written with sorted keys, so equal settings give equal bytes) from
    the input whose identity is ``source`` (``input_identity``; None: no Input entry)."""
    text = {
        KEY_SOFTWARE: SOFTWARE,
        KEY_MODEL: model_hash,
        KEY_SETTINGS: settings_text(settings),
        KEY_COMMENT: NOTE,
    }
    if source is not None:
        text[KEY_INPUT] = json.dumps(dict(source), sort_keys=True)
    return text


def input_identity(data: bytes) -> dict[str, object]:
    """An input's identity from its bytes: {"bytes": size, "sha256": hex}, what ``Input`` records."""
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def file_identity(path: Path | str) -> dict[str, object] | None:
    """``input_identity`` of the file at ``path``, read as a stream (a film is never read whole);
    None when it cannot be read (the reader then says why)."""
    try:
        return {"bytes": os.stat(path).st_size, "sha256": sha256_file(Path(path))}
    except OSError:
        return None


def same_input(recorded: str | None, path: Path | str) -> bool:
    """Whether ``recorded`` (an output's ``Input`` entry) is the identity of the file at ``path``
    now: its size first (one stat), then its SHA-256 (reading it)."""
    try:
        identity = json.loads(recorded or "")
        if not isinstance(identity, dict) or identity.get("bytes") != os.stat(path).st_size:
            return False
    except (ValueError, OSError):
        return False
    return identity == file_identity(path)


def settings_text(settings: Mapping[str, object]) -> str:
    """Settings as the provenance records them: JSON with sorted keys (equal settings, equal text)."""
    return json.dumps(dict(settings), sort_keys=True, ensure_ascii=False)


def provenance(colorizer, settings: Mapping[str, object]) -> dict[str, str]:
    """``provenance_text`` for a result of ``colorizer`` (a Colorizer: its model file is hashed once)
    with ``settings``, to which its precision is added."""
    return provenance_text(model_sha256(colorizer.model_path), {**settings, "precision": colorizer.precision})


def read_provenance(path: Path) -> dict[str, str]:
    """The provenance entries of the PNG, JPEG, WebP, TIFF or MP4 file at ``path`` ({} when it has none or
    cannot be read). Reads only the file's first bytes (and WebP's chunk headers, or an MP4's box
    headers and its small metadata boxes); opens only regular files (a FIFO would block)."""
    try:
        with open(path, "rb", opener=_regular_file_opener) as stream:
            text = read_text_stream(stream, _HEAD_BYTES)
    except OSError:
        return {}
    return text if KEY_MODEL in text and text.get(KEY_SOFTWARE, "").startswith("colorizer") else {}


def is_our_output(path: Path) -> bool:
    """Whether ``path`` is a photo or film this colorizer wrote (it carries the provenance entries)."""
    return bool(read_provenance(path))


def _regular_file_opener(path: str, flags: int) -> int:
    """os.open that does not block on a FIFO and refuses anything but a regular file."""
    descriptor = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError(f"{path}: not a regular file")
    return descriptor


def looks_complete(path: Path) -> bool:
    """Whether ``path`` is a whole PNG, JPEG, WebP, TIFF or MP4 file, one rule per format: PNG ends
    with IEND, JPEG with EOI, WebP's RIFF size matches the file, a TIFF's last strip ends where the
    file does (``tiff.looks_whole``), and an MP4's top-level boxes (``ftyp`` first, ``moov`` and
    ``mdat`` among them) cover the file exactly. Cheap: reads 16 bytes at each end, for a TIFF its
    first directory and strip table, and for an MP4 each top-level box header. A file written by ``write_image`` or
    ``colorize_video`` always is (it appears only by rename); this catches files cut short by other
    tools."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(16)
            size = stream.seek(0, 2)
            if head[4:8] == b"ftyp":
                return _mp4_complete(stream, size)
            if head[:4] in TIFF_SIGNATURES:
                return tiff.looks_whole(stream, size)
            stream.seek(max(0, size - 16))
            tail = stream.read()
    except OSError:
        return False
    if head.startswith(PNG_SIGNATURE):
        return tail.endswith(PNG_IEND)
    if head.startswith(b"\xff\xd8"):
        return tail.endswith(b"\xff\xd9")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return struct.unpack("<I", head[4:8])[0] + 8 == size
    return False


def _mp4_complete(stream: BinaryIO, size: int) -> bool:
    """Whether the MP4 in ``stream`` (``size`` bytes) is top-level boxes end to end, none cut short
    and nothing after the last, with ``ftyp`` first and ``moov`` and ``mdat`` present."""
    kinds, covered = [], 0
    try:
        for box in boxes(stream, 0, size):
            kinds.append(box.type)
            covered = box.end
    except BoxError:
        return False
    return covered == size and kinds[:1] == [b"ftyp"] and {b"moov", b"mdat"} <= set(kinds)
