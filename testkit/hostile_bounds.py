"""How much time and memory colorizing one hostile file may cost end to end (read, network,
upsampling, encode, write), in proportion to the pixels it really holds, never to what its header
claims. The command-line and app hostile tests share this rule (tests/test_hostile_cli.py,
tests/test_hostile.py, tests/test_hostile_films.py); reading alone has a tighter one of its own
(``testkit.hostile_files.Case.bound``).

    from testkit.hostile_bounds import file_seconds, rss_bytes
    assert seconds <= file_seconds(pixels)
    assert peak - before <= rss_bytes(pixels, base_bytes=SERVER_BASE_BYTES)

These are resource bounds on two shared cores, not speed targets: generous, so that only a cost out
of proportion (a decompression bomb, a per-row or per-frame cost that explodes) breaks them.
"""

from __future__ import annotations

SECONDS = 60.0  # wall seconds per file, on two shared cores ...
SECONDS_PER_MEGAPIXEL = 2.0  # ... plus this much per megapixel it really holds
RSS_BYTES_PER_PIXEL = 20  # peak memory per pixel of an image in flight, above a process's base


def file_seconds(pixels: int) -> float:
    """Wall seconds one file holding ``pixels`` pixels may take (0 for a refused file)."""
    return SECONDS + SECONDS_PER_MEGAPIXEL * pixels / 1e6


def rss_bytes(pixels: int, *, base_bytes: int) -> int:
    """Peak resident memory for images of ``pixels`` pixels in all in flight at once, above (or
    including, as the caller's ``base_bytes`` says) a process's fixed part."""
    return base_bytes + RSS_BYTES_PER_PIXEL * pixels
