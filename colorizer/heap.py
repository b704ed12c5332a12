"""Giving freed heap memory back to the operating system.

Creating an onnxruntime session parses the whole model, optimizes the graph and copies the weights;
the parse buffers are freed afterwards, but glibc's allocator keeps most of that memory in the
process (about 230 MB for the 129 MB fp32 model: RSS 410 MB after the session, 181 MB after
``malloc_trim(0)``; docs/speed.md). A long-lived server or batch would carry it all its life.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)


def _load_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_trim()


def release_free_heap() -> bool:
    """Return the heap's free pages to the operating system (glibc ``malloc_trim(0)``): RSS falls,
    nothing in use moves. True where it could be done."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True
