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
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, values: dict) -> Row:
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        return cls(**known)


class ManifestLockedError(OSError):
    """Another run holds the manifest (two runs into one output folder would overwrite each other)."""


class Manifest:
    """An open manifest for appending rows; holds an exclusive lock (``flock``) while open, so a
    second run into the same manifest is refused instead of interleaving."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            _lock(self._descriptor, self.path)
            _cut_torn_line(self._descriptor, self.path)
        except BaseException:
            os.close(self._descriptor)
            raise

    def append(self, row: Row) -> None:
        """Append one row as one write (and flush: it survives a kill of this process)."""
        os.write(self._descriptor, (row.to_json() + "\n").encode("utf-8"))

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
        stream = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 (closed by the with-block below)
    except FileNotFoundError:
        return
    with stream:
        for number, line in enumerate(stream, 1):
            try:
                yield Row.from_dict(json.loads(line))
            except (ValueError, TypeError):
                log.warning("%s: line %d is not a whole row; ignored", path, number)


def recorded_outputs(path: Path) -> set[str]:
    """Real paths of the outputs the manifest records as written (status ok, or skipped as done):
    files of ours that a later run must not take for inputs."""
    return {os.path.realpath(row.output) for row in read_rows(path) if row.output and row.output_bytes is not None}


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
