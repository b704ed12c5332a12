"""How the batch CLI stops on Ctrl-C, SIGTERM and SIGHUP: in the main thread, between two steps.

A signal raises in the main thread (``KeyboardInterrupt`` for SIGINT, ``Stopped`` for the others),
so every engine stops the same way: no new file, files in work abandoned before writing. Some steps
must not be cut in two: handing a finished file's row to the manifest and forgetting it (cut
between the two, the row is lost or written twice). Inside ``StopSignals.deferred()`` a signal is
only noted, and raised when the step is over.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # those a platform lacks are left out


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: stop like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_exception(signum: int) -> BaseException:
    """What a stop signal raises: KeyboardInterrupt for SIGINT (as Python does), else Stopped."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Stopped(signum)


def stopped_by(error: BaseException) -> int:
    """The signal number behind a KeyboardInterrupt or Stopped."""
    return error.signum if isinstance(error, Stopped) else signal.SIGINT


class StopSignals:
    """Installed with ``installed()``: the first stop signal raises in the main thread (or, inside
    ``deferred()``, when that step ends); later ones are ignored while the batch cleans up. SIGINT is
    taken over only when Python's own handler has it (a shell that ignores it for a background job
    is obeyed)."""

    def __init__(self) -> None:
        self._depth = 0  # nesting of deferred()
        self._noted: int | None = None  # a signal that arrived inside deferred()
        self._fired = False

    def _handler(self, signum, frame) -> None:
        if self._fired:
            return
        if self._depth:
            self._noted = signum
            return
        self._fired = True
        raise stop_exception(signum)

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        previous = {}
        for name in STOP_SIGNALS:
            number = getattr(signal, name, None)
            if number is None:
                continue
            if number == signal.SIGINT and signal.getsignal(number) is not signal.default_int_handler:
                continue
            previous[number] = signal.signal(number, self._handler)
        try:
            yield self
        finally:
            for number, old in previous.items():
                signal.signal(number, old)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A step a stop signal must not cut: one arriving inside it is raised when it ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._noted is not None and not self._fired:
                signum, self._noted = self._noted, None
                self._fired = True
                raise stop_exception(signum)
