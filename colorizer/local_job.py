"""The batch engine on this machine: ``batch.row_for`` on a few threads at once, as a stream.

Files overlap: while one is being colorized (onnxruntime's and OpenCV's own threads), another is
read and decoded (Pillow) or encoded and written (zlib): those steps release the GIL and are single-
threaded, so a second file in flight keeps the cores busy. At most ``workers`` + 1 files are in
flight (one waiting for a thread), so memory is set by a few images, never by the batch's length.
``python -m bench.batch_bench`` measures workers 1 (sequential) against 2 and 3.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext

from colorizer.batch import Context, row_for
from colorizer.errors import Interrupted, OutputFolderError
from colorizer.manifest import Row
from colorizer.plan import Decision, Job

DEFAULT_WORKERS = 2
MAX_PENDING = 256  # rows waiting behind a file still in work (decisions pile up there while planning)


def run_local(
    colorizer,
    plan: Iterable[Job | Decision],
    context: Context,
    on_row: Callable[[Row], None],
    workers: int = DEFAULT_WORKERS,
    deferred: Callable[[], AbstractContextManager] = nullcontext,
) -> None:
    """Process every job of ``plan`` (decisions become rows as they come) and hand each row, in plan
    order, to ``on_row`` as soon as it and those before it are done.

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
    pending: deque[Future | Row] = deque()  # in plan order
    in_flight = 0

    def settle() -> None:
        nonlocal in_flight
        item = pending[0]
        if isinstance(item, Future):
            wait([item])  # interruptible; nothing has changed yet
        with deferred():
            if isinstance(item, Future):
                row = item.result()
                in_flight -= 1
            else:
                row = item
            on_row(row)
            pending.popleft()

    with ThreadPoolExecutor(workers, thread_name_prefix="colorize") as pool:
        try:
            for item in plan:
                if isinstance(item, Decision):
                    pending.append(context.decision_row(item))
                else:
                    pending.append(pool.submit(row_for, colorizer, item, context, None, stop))
                    in_flight += 1
                while pending and (
                    not isinstance(pending[0], Future) or in_flight > workers or len(pending) > MAX_PENDING
                ):
                    settle()
            while pending:
                settle()
        except BaseException:
            stop.set()
            _finish(pending, on_row)
            raise


def _finish(pending: deque, on_row: Callable[[Row], None]) -> None:
    """After an interruption: cancel what has not started, wait for the rest, hand on the rows of
    files that were finished and of decisions (in order), drop those abandoned."""
    for item in pending:
        if isinstance(item, Future):
            item.cancel()
    for item in pending:
        if isinstance(item, Future):
            if item.cancelled():
                continue
            try:
                row = item.result()
            except (Interrupted, OutputFolderError):  # abandoned, or the error already being raised
                continue
        else:
            row = item
        try:
            on_row(row)
        except OutputFolderError:  # rows cannot be recorded any more (the manifest's disk is full)
            return
