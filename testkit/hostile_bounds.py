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

Films: every frame costs a pass of the network at the render size however few pixels it has, so a
film's bound grows with its frames as well as with the pixels decoded (``film_seconds``), and its
memory with the frames in flight at once (decoder threads, the encoder's look-ahead) times their
pixels (``film_rss_bytes``).
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


FILM_BASE_SECONDS = 20.0  # CPU seconds for a film: opening, probing, the encoder's set-up ...
SECONDS_PER_FRAME = 2.0  # ... plus a network pass per frame (0.3-0.9 s on two loaded cores) ...
FILM_BASE_RSS_BYTES = 256 << 20  # an encoder, a decoder and the stabilizer's buffers
FRAMES_IN_FLIGHT = 64  # decoder threads' frames and libx264's look-ahead (40 at preset medium)


def film_seconds(frames: int, frame_pixels: int) -> float:
    """CPU (or wall) seconds for a film of ``frames`` frames of ``frame_pixels`` pixels each (0 frames
    for a refused one): the base, a network pass a frame, and SECONDS_PER_MEGAPIXEL of what it decodes."""
    return FILM_BASE_SECONDS + SECONDS_PER_FRAME * frames + SECONDS_PER_MEGAPIXEL * frames * frame_pixels / 1e6


def film_rss_bytes(frames: int, frame_pixels: int) -> int:
    """Peak memory for a film above a process's base: FILM_BASE_RSS_BYTES and RSS_BYTES_PER_PIXEL for
    each pixel of the frames that can be in flight at once."""
    return rss_bytes(min(frames, FRAMES_IN_FLIGHT) * frame_pixels, base_bytes=FILM_BASE_RSS_BYTES)
