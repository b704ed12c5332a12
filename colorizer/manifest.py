"""The batch manifest: a JSON-lines log with one row per input per run, appended as each file is done.

A row is appended (one write, flushed) only after its output has been renamed into place, so a row
with status "ok" always names a whole file. A run killed mid-append leaves at most a torn last line;
it is cut off when the manifest is next opened, and readers skip it. The log only grows: a later run
(``--resume``) appends its own rows, each with its run id, and the last row for an input is its state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True)
class Row:
    """What happened to one input in one run.

    input/output: paths (or URIs) as strings; output None when nothing was planned.
    error: the one-line reason for "failed" and "skipped", else None.
    seconds: wall time spent on the file (0 for decisions taken while planning).
    width/height: the input's displayed size when it was decoded; output_bytes: the output's size.
    settings/model_sha256: what made the output (the same for every row of a run).
    """

    input: str
    output: str | None
    status: str
    error: str | None = None
    seconds: float = 0.0
    width: int | None = None
    height: int | None = None
    output_bytes: int | None = None
    settings: dict = field(default_factory=dict)
    model_sha256: str | None = None
    run: str | None = None
    engine: str | None = None

    def to_json(self) -> str:
        """One line of JSON. Valid UTF-8 whatever the names: a file name's bytes that are not UTF-8
        (Python keeps them as lone surrogates, ``surrogateescape``) are written as JSON ``\\udcXX``
        escapes, which read back as the same string, hence the same file name (``os.fsencode``)."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    def to_bytes(self) -> bytes:
        """The row as a manifest line: ``to_json`` + newline in UTF-8 (see ``to_json``: a lone
        surrogate can occur only inside a JSON string, where ``backslashreplace`` writes the escape
        JSON itself would)."""
        return (self.to_json() + "\n").encode("utf-8", "backslashreplace")

    @classmethod
    def from_dict(cls, values: dict) -> Row:
        """A row from a parsed manifest line; TypeError or ValueError for anything that is not one
        (a hand-edited row with a number, a list or a NUL where a path belongs)."""
        if not isinstance(values, dict):
            raise TypeError(f"a row is a JSON object, not {type(values).__name__}")
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        for name, kinds in _FIELD_TYPES.items():
            value = known.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
                raise TypeError(f"{name} is {type(value).__name__}")
        for name in ("input", "output"):
            if "\x00" in (known.get(name) or ""):
                raise ValueError(f"{name} holds a NUL character")
        return cls(**known)


# What each field of a row holds when it is not null (``Row.from_dict`` checks them).
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "input": str,
    "output": str,
    "status": str,
    "error": str,
    "seconds": (int, float),
    "width": int,
    "height": int,
    "output_bytes": int,
    "settings": dict,
    "model_sha256": str,
    "run": str,
    "engine": str,
}


class ManifestLockedError(OSError):
    """Another run holds the manifest (two runs into one output folder would overwrite each other)."""


class NotAManifestError(OSError):
    """The file named as the manifest is something else (a photo, a text, a device): it is never
    written to."""


class Manifest:
    """An open manifest for appending rows; holds an exclusive lock (``flock``) while open, so a
    second run into the same manifest is refused instead of interleaving. Only an empty file or a
    manifest (its first line a row) is taken: anything else raises NotAManifestError, untouched."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        self._descriptor = os.open(self.path, flags, 0o666)
        try:
            _check_is_manifest(self._descriptor)
            _lock(self._descriptor, self.path)
            _cut_torn_line(self._descriptor, self.path)
        except BaseException:
            os.close(self._descriptor)
            raise

    def append(self, row: Row) -> None:
        """Append one row as one write (and flush: it survives a kill of this process)."""
        os.write(self._descriptor, row.to_bytes())

    def close(self) -> None:
        if self._descriptor >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self._descriptor)
            os.close(self._descriptor)  # releases the lock
            self._descriptor = -1

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of a manifest, oldest first; lines that are not whole rows (a torn last line) are
    skipped with a warning. A missing manifest has no rows."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, 1):
                try:
                    yield Row.from_dict(json.loads(line))
                except (ValueError, TypeError) as error:
                    log.warning("%s: line %d is not a whole row (%s); ignored", path, number, error)
    except FileNotFoundError:
        return


def recorded_outputs(path: Path) -> set[str]:
    """Real paths of the outputs the manifest records as written (status ok, or skipped as done):
    files of ours that a later run must not take for inputs."""
    return {os.path.realpath(row.output) for row in read_rows(path) if row.output and row.output_bytes is not None}


ROW_START = re.compile(rb'\s*\{\s*"input"\s*:')  # every row written begins so (``Row`` field order)


def _check_is_manifest(descriptor: int) -> None:
    """NotAManifestError unless ``descriptor`` is a regular file that is empty or begins with a row."""
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        raise NotAManifestError("not a regular file; name a .jsonl file for the manifest")
    if status.st_size and not ROW_START.match(os.pread(descriptor, 256, 0)):
        raise NotAManifestError("not a manifest (its first line is not a row); name another file, or a new one")


def _lock(descriptor: int, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # not on this platform: no protection against a second run
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ManifestLockedError("in use by another run (one run per manifest at a time)") from None


def _cut_torn_line(descriptor: int, path: Path) -> None:
    """Truncate a last line that a killed run left without its newline."""
    size = os.fstat(descriptor).st_size
    if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
        return
    keep, position = 0, size
    while position > 0:  # find the last newline, reading backwards in 64 KiB blocks
        start = max(0, position - (1 << 16))
        cut = os.pread(descriptor, position - start, start).rfind(b"\n")
        if cut >= 0:
            keep = start + cut + 1
            break
        position = start
    log.warning("%s: cut a torn last line (%d bytes) left by an interrupted run", path, size - keep)
    os.ftruncate(descriptor, keep)
