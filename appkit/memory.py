"""The server process's memory behaviour."""

from __future__ import annotations

import contextlib
import ctypes
import os

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(count: int = 2) -> None:
    """Cap glibc's malloc arenas (unless $MALLOC_ARENA_MAX sets them): glibc gives threads that
    allocate at once arenas of their own, and under load Gradio's worker threads grew the server's
    RSS by about 70 MB a minute; with two arenas it stayed flat (python -m bench.load_test, README).
    Does nothing where the C library is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, count)
