"""Reading an input file's bytes safely: only regular files, only up to a size limit, never hanging.

A FIFO named ``photo.png`` would block ``open()`` until a writer appears, ``/dev/zero`` never ends,
and a 30 GB sparse file would be read into memory whole. So the file's type and size are checked
with ``stat`` before opening, the file is opened with ``O_NONBLOCK`` (a FIFO swapped in between the
two cannot block), checked again on the open descriptor (the object actually read), and read with
a hard cap of ``max_bytes + 1`` bytes, so that even a file that grows while it is read costs at most
the limit. Every refusal is a one-line ImageDecodeError (ImageTooLargeError for the size) that
names the file by its name only, never by its full path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from colorizer.errors import ImageDecodeError, ImageTooLargeError
from colorizer.limits import DEFAULT_MAX_FILE_BYTES

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
# O_NONBLOCK: opening a FIFO returns at once; O_NOCTTY: a terminal device never becomes ours.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_CHUNK = 1 << 20


def read_input_file(path: Path | str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES, name: str | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (symbolic links followed), at most ``max_bytes``.

    Raises ImageDecodeError for a missing or unreadable file and for anything that is not a regular
    file (folder, FIFO, socket, device), and ImageTooLargeError for a file over ``max_bytes``, each
    before reading any of it. Messages start with ``name`` (default: the file's name).
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    path = Path(path)
    name = name or path.name or str(path)
    try:
        check_file_status(os.stat(path), name, max_bytes)
        descriptor = os.open(path, _OPEN_FLAGS)
        try:
            status = os.fstat(descriptor)  # the file opened may not be the one stat saw
            check_file_status(status, name, max_bytes)
            return _read_capped(descriptor, name, max_bytes, status.st_size)
        finally:
            os.close(descriptor)
    except OSError as error:
        raise ImageDecodeError(f"{name}: cannot read the file: {error.strerror or error}") from None


def check_file_status(status: os.stat_result, name: str, max_bytes: int) -> None:
    """Refuse what ``status`` describes unless it is a regular file of at most ``max_bytes``:
    ImageDecodeError naming the kind of file, ImageTooLargeError naming the size and the limit."""
    for is_kind, kind in _KINDS:
        if is_kind(status.st_mode):
            raise ImageDecodeError(f"{name}: not an image file but {kind}")
    if not stat.S_ISREG(status.st_mode):
        raise ImageDecodeError(f"{name}: not a regular file")
    if status.st_size > max_bytes:
        raise ImageTooLargeError(
            f"{name}: the file is {_size(status.st_size)}, more than the limit of {_size(max_bytes)}"
        )


def _read_capped(descriptor: int, name: str, max_bytes: int, size: int) -> bytes:
    """Read to the end, refusing once more than ``max_bytes`` arrive (the file grew after stat).
    The ``size`` fstat said comes in one read, so that the bytes are held once, not twice (joining
    pieces of a 60 MB file took 120 MB)."""
    chunks, total, wanted = [], 0, size + 1
    while chunk := os.read(descriptor, min(max(wanted, _READ_CHUNK), max_bytes + 1 - total)):
        wanted = 0
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise ImageTooLargeError(
                f"{name}: the file is more than the limit of {_size(max_bytes)} (it grew while being read)"
            )
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _size(count: int) -> str:
    """A byte count for a message: 256 MiB, 1.5 GiB, 900 KiB, 12 bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"
