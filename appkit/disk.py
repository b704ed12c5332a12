"""The disk budget of the app's upload folder: uploads and results are kept at most ``max_age``
seconds and ``max_bytes`` bytes in all, the oldest going first, and a previous run's files do not
outlive it.

Gradio deletes the files it created itself on a schedule (``delete_cache``) and at a clean
shutdown; it never deletes those of a server that was killed, and it has no size cap. ``DiskBudget``
sweeps the whole folder, whoever wrote the files, after every request (``sweep_soon``) and every
``interval`` seconds.

Give each app its own folder (GRADIO_TEMP_DIR): the sweep counts every file in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

LOCK_NAME = ".colorizer-app.lock"  # held by the running app that owns the folder's run files


@dataclass(frozen=True)
class Swept:
    """One sweep: what was deleted and what remains."""

    deleted_files: int
    deleted_bytes: int
    kept_files: int
    kept_bytes: int


class DiskBudget:
    """Keep ``folder`` (recursively) within ``max_bytes`` and ``max_age`` seconds.

    keep: returns the paths never to delete (the page's example photos); called at each sweep.
    max_files: at most this many files (each costs an inode and at least a block, whatever its size).
    A file counts the disk it takes (its blocks), not its length: 20,000 one-byte uploads take
    78 MiB, not 20 KiB.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int,
        max_age: float,
        interval: float = 60.0,
        keep: Callable[[], Iterable[str | Path]] = tuple,
        max_files: int = 10_000,
    ):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.max_age = max_age
        self.interval = interval
        self.keep = keep
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> Swept:
        """Delete files older than max_age, then the oldest until the rest fit in max_bytes."""
        with self._lock:
            keep = {os.path.realpath(path) for path in self.keep()}
            files = []  # (mtime, size, path)
            for path in _regular_files(self.folder):
                with contextlib.suppress(FileNotFoundError):
                    info = path.lstat()
                    if os.path.realpath(path) not in keep and path.name != LOCK_NAME:
                        files.append((info.st_mtime, disk_bytes(info), path))
            files.sort()
            total = sum(size for _, size, _ in files)
            now = time.time()
            deleted = deleted_bytes = 0
            for mtime, size, path in files:
                if now - mtime <= self.max_age and total <= self.max_bytes and len(files) - deleted <= self.max_files:
                    break
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    deleted += 1
                    deleted_bytes += size
                total -= size
            _remove_empty_folders(self.folder)
            if deleted:
                log.info(
                    "disk budget: deleted %d files (%.1f MB), %.1f MB kept", deleted, deleted_bytes / 1e6, total / 1e6
                )
            return Swept(deleted, deleted_bytes, len(files) - deleted, total)

    def sweep_soon(self) -> None:
        """Ask the background thread for a sweep now (returns at once)."""
        self._wake.set()

    def start(self) -> None:
        """Sweep in a daemon thread: every ``interval`` seconds and after each ``sweep_soon``."""
        self._thread = threading.Thread(target=self._run, name="disk-budget", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.sweep()
            except OSError as error:  # a folder that vanished, a permission: next time
                log.warning("disk budget sweep failed: %s", error)


def disk_bytes(info: os.stat_result) -> int:
    """What a file takes on disk: its blocks (512 bytes each, as st_blocks counts them), at least its
    length where the file system does not report blocks."""
    blocks = getattr(info, "st_blocks", None)  # not on Windows
    return blocks * 512 if blocks is not None else info.st_size


def delete_run_files(demo) -> None:
    """Delete the uploads and results Gradio recorded for the Blocks ``demo`` (examples kept), as
    Gradio's own clean shutdown does. Gradio 6.31 waits only 5 s for its server to stop: a request
    still open then (a page's event stream, a long film) skips its cleanup, so ``app.main`` does it
    again once the server is gone (files already deleted are skipped)."""
    from gradio.route_utils import delete_files_created_by_app

    delete_files_created_by_app(demo, age=None)


def stop_now(demo) -> None:
    """SIGTERM (docker stop, systemd): stop serving as Ctrl-C does, first ending the page sessions'
    heartbeat streams as ``Blocks.close`` would (Gradio 6.31's Ctrl-C path does not: its server then
    waits for them until Gradio stops waiting, 5 s, and skips its cleanup). ``app.main`` deletes the
    run's files afterwards either way (``delete_run_files``)."""
    end_streams = getattr(demo, "_end_streaming_responses", None)
    if end_streams is not None and getattr(demo, "server_app", None) is not None:
        end_streams()
    raise KeyboardInterrupt


def claim_folder(folder: Path, run_files: Path) -> FileLock | None:
    """Take ``folder``'s app lock (None if another app holds it) and, holding it, delete
    ``run_files`` (a folder of results that only a running app uses): they are a previous, killed
    run's. The returned lock must be kept for the life of the app."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another app uses %s; its files are left alone", folder)
        return None
    if run_files.exists():
        log.info("deleting a previous run's results in %s", run_files)
        shutil.rmtree(run_files, ignore_errors=True)
    return lock


def _regular_files(folder: Path) -> Iterable[Path]:
    """Regular files under ``folder``, not following symbolic links."""
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(path.lstat().st_mode):
                    yield path


def _remove_empty_folders(folder: Path, min_age: float = 60.0) -> None:
    """Remove empty folders not changed for ``min_age`` seconds (a younger one may be about to
    receive its file: Gradio and the app create a folder, then write into it)."""
    now = time.time()
    for root, directories, _ in os.walk(folder, topdown=False):
        for name in directories:
            with contextlib.suppress(OSError):  # not empty, or gone
                path = Path(root) / name
                if now - path.lstat().st_mtime > min_age:
                    path.rmdir()
