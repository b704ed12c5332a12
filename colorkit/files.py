"""Files: written atomically, hashed, and recognised as images by their suffix.

A reader never sees a partial file: it is written under a hidden temporary name beside the target,
flushed, fsynced and renamed into place. The temporary name is never longer than the final one
allows: a long file name is shortened in the temporary, not refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"
NAME_MAX_BYTES = 255  # the longest file name common file systems take (ext4, XFS, APFS, NTFS)
_TOKEN_HEX = 8

# What the colorizer reads when given a folder (its decoder checks the content, not the name).
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".tif",
        ".tiff",
        ".webp",
        ".bmp",
        ".dib",
        ".gif",
        ".heic",
        ".heif",
        ".avif",
    }
)

# Films a folder may hold besides its photos (the colorizer checks their content too).
VIDEO_SUFFIXES = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".mpg",
        ".mpeg",
        ".ts",
        ".m2ts",
        ".mts",
        ".ogv",
        ".flv",
        ".wmv",
        ".asf",
        ".mxf",
        ".dv",
        ".3gp",
    }
)


def is_image_name(path: Path) -> bool:
    """Whether ``path``'s suffix is one of IMAGE_SUFFIXES (case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_media_name(path: Path) -> bool:
    """Whether ``path``'s suffix is one of IMAGE_SUFFIXES or VIDEO_SUFFIXES (case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES


def part_prefix(path: Path) -> str:
    """The start of every temporary name for ``path``: ``.`` + its name, cut (at a character
    boundary) so that prefix + ``.<token>.part`` fits in NAME_MAX_BYTES."""
    room = NAME_MAX_BYTES - len(f"..{'0' * _TOKEN_HEX}{PART_SUFFIX}")
    name = path.name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return f".{name}"


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path``; on success it is flushed, fsynced and renamed onto
    ``path``; on any exception (or a kill) only the hidden ``*.part`` temporary can remain, and it is
    removed when Python gets the chance. The file gets the ordinary permissions (umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{part_prefix(path)}.{secrets.token_hex(_TOKEN_HEX // 2)}{PART_SUFFIX}")
    try:
        with open(temporary, "xb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` -> ``path`` through ``atomic_writer``."""
    with atomic_writer(path) as stream:
        stream.write(data)


def stale_parts(path: Path) -> list[Path]:
    """Temporaries left beside ``path`` by writers that were killed."""
    prefix = part_prefix(path)
    with contextlib.suppress(FileNotFoundError):
        return [
            path.parent / name
            for name in os.listdir(path.parent)
            if name.startswith(prefix + ".")
            and name.endswith(PART_SUFFIX)
            and len(name) == len(prefix) + 1 + _TOKEN_HEX + len(PART_SUFFIX)
        ]
    return []


def remove_stale_parts(path: Path) -> None:
    """Delete temporaries left beside ``path`` by killed writers. Call only while holding the lock
    that serializes writers of ``path``."""
    for stale in stale_parts(path):
        stale.unlink(missing_ok=True)


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
