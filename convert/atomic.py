"""Write files so that a reader sees either nothing or the complete file, never a partial one."""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path``; on success it is flushed, fsynced and renamed onto
    ``path``; on any exception (or a kill) only the ``*.part`` temporary can remain, and it is
    removed when Python gets the chance."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
    try:
        with open(temporary, "xb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def remove_stale_parts(path: Path) -> None:
    """Delete temporaries left beside ``path`` by killed writers. Call only while holding the lock
    that serializes writers of ``path``."""
    for stale in path.parent.glob(f"{path.name}.*{PART_SUFFIX}"):
        stale.unlink(missing_ok=True)
