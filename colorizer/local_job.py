"""The batch engine on this machine: ``batch.row_for`` on a few threads at once, as a stream.

Files overlap: while one is being colorized (onnxruntime's and OpenCV's own threads), another is
read and decoded (Pillow) or encoded and written (zlib): those steps release the GIL and are single-
threaded, so a second file in flight keeps the cores busy. At most ``workers`` + 1 files are in
flight (one waiting for a thread), so memory is set by a few images, never by the batch's length.
``python -m bench.batch_bench`` measures workers 1 (sequential) against 2 and 3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext

from colorizer.batch import Context, row_for
from colorizer.errors import Interrupted, OutputFolderError
from colorizer.manifest import Row
from colorizer.plan import Decision, Job

DEFAULT_WORKERS = 2


def run_local(
    colorizer,
    plan: Iterable[Job | Decision],
    context: Context,
    on_row: Callable[[Row], None],
    workers: int = DEFAULT_WORKERS,
    deferred: Callable[[], AbstractContextManager] = nullcontext,
) -> None:
    """Process every job of ``plan`` and hand each row to ``on_row`` as soon as it is there: a
    decision's at once, a file's when that file is finished (completion order, so a long film
    holds back no photo behind it: the other workers go on, and their rows are recorded as they
    finish).

    deferred: a context in which an interruption is held back (``signals.StopSignals.deferred``):
        handing a row on and forgetting it happen inside it, so an interruption never loses a
        finished file's row nor hands it on twice.

    Raises what row_for raises (OutputFolderError) and whatever interrupts the calling thread
    (KeyboardInterrupt, a signal handler's exception): then no new file is started, files being
    colorized are abandoned before writing (no output, no temporary), files being written are
    finished and their rows handed to ``on_row``, and the exception goes on.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    stop = threading.Event()
    running: set[Future] = set()

    def settle() -> None:
        """Wait for one file or more to finish; hand their rows on."""
        done, _ = wait(running, return_when=FIRST_COMPLETED)  # interruptible; nothing has changed yet
        for future in done:
            with deferred():
                on_row(future.result())
                running.discard(future)

    with ThreadPoolExecutor(workers, thread_name_prefix="colorize") as pool:
        try:
            for item in plan:
                if isinstance(item, Decision):
                    with deferred():
                        on_row(context.decision_row(item))
                    continue
                running.add(pool.submit(row_for, colorizer, item, context, None, stop))
                while len(running) > workers:  # one waits for a thread; the next job is pulled later
                    settle()
            while running:
                settle()
        except BaseException:
            stop.set()
            _finish(running, on_row)
            raise


def _finish(running: set[Future], on_row: Callable[[Row], None]) -> None:
    """After an interruption: cancel what has not started, wait for the rest, hand on the rows of
    files that were finished, drop those abandoned."""
    for future in running:
        future.cancel()
    for future in running:
        if future.cancelled():
            continue
        try:
            row = future.result()
        except (Interrupted, OutputFolderError):  # abandoned, or the error already being raised
            continue
        try:
            on_row(row)
        except OutputFolderError:  # rows cannot be recorded any more (the manifest's disk is full)
            return
