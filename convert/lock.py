"""One process at a time makes a file: a lock file beside it, removed again when released, so that
neither a finished nor a failed download or conversion leaves ``*.lock`` files behind."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

if sys.platform != "win32":
    import fcntl


@contextlib.contextmanager
def lock_beside(path: Path) -> Iterator[None]:
    """Hold ``<path>.lock`` exclusively while the block runs, waiting for any other holder.

    POSIX: an flock on the lock file, which the holder deletes before unlocking. A waiter that then
    gets the deleted file's lock sees that the name no longer leads to it and starts again, so two
    holders never overlap. A holder that is killed leaves the file; the next holder takes it over
    and deletes it.
    """
    lock_path = Path(f"{path}.lock")
    if sys.platform == "win32":  # filelock's lock there removes its file on release itself
        with FileLock(str(lock_path)):
            yield
        return
    while True:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            held = os.fstat(descriptor)
            try:
                named = os.stat(lock_path)
            except FileNotFoundError:
                named = None
        except BaseException:
            os.close(descriptor)
            raise
        if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(descriptor)  # its last holder deleted the file we waited on: lock the one there now
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()  # while still locked: waiters on this file see it gone and start again
        os.close(descriptor)
