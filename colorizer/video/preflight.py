"""Checks on a film's bytes before FFmpeg opens it, for what FFmpeg would allocate while opening.

MP4/MOV sample tables. FFmpeg builds an index entry (and time-stamp entries) for every sample a track
declares while it opens the file, before any of the colorizer's checks can run. A table can declare
samples of one constant size, or a movie fragment ('trun') samples of a default size, without a byte
per sample in the file: a 1.6 KB MP4 declaring 70 million 100-byte samples took 850 MB, a fragment
declaring 50 million 1.7 GB. Here the declared samples must fit in the file: a constant-size table's
``count x size``, a fragment's ``count x MIN_FRAGMENT_SAMPLE_BYTES`` at most the file's size, and a
table of per-sample values must hold them all. FFmpeg's index then stays within ~12 bytes (a table) or
~9 bytes (a fragment) per byte of the file.

The walk reads box headers only (``colorizer.mp4_boxes.boxes``; no payloads but the few counts),
down the boxes that hold sample tables, at most MAX_BOXES of them in all, MAX_DEPTH deep.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from colorizer.errors import VideoError
from colorizer.mp4_boxes import BoxError, TooManyBoxesError, boxes

MAX_BOXES = 1_000_000  # a fragmented film of two hours at one fragment a second has ~50,000
MAX_DEPTH = 16  # moov > trak > mdia > minf > stbl is 5
MIN_FRAGMENT_SAMPLE_BYTES = 4  # the smallest coded sample (an H.264 length prefix alone is 4 bytes)
# Boxes that hold other boxes on the way to sample tables (ISO/IEC 14496-12).
_PARENTS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf"}
# 'trun' flags of the per-sample fields (4 bytes each): duration, size, flags, composition offset.
_TRUN_SAMPLE_FIELDS = (0x100, 0x200, 0x400, 0x800)
_TRUN_DATA_OFFSET, _TRUN_FIRST_SAMPLE_FLAGS = 0x1, 0x4


def check_mp4_sample_tables(stream: BinaryIO, size: int, name: str) -> None:
    """VideoError when the ISO base media (MP4, MOV, 3GP) boxes of ``stream`` (``size`` bytes, read
    from its start) declare more samples than the file can hold. Files that are not MP4 end the walk
    at their first bytes; damage that is not about sample counts is left to FFmpeg to report."""
    walked = 0
    pending = [(0, size, 0)]  # (start, end, depth) of box sequences still to walk
    while pending:
        start, end, depth = pending.pop()
        try:
            for box in boxes(stream, start, end):  # colorizer.mp4_boxes: headers only
                walked += 1
                if walked > MAX_BOXES:
                    raise TooManyBoxesError(f"more than {MAX_BOXES:,} MP4 boxes")
                box_end = min(box.end, end)
                if box.type in _PARENTS and depth < MAX_DEPTH:
                    pending.append((box.body, box_end, depth + 1))
                elif box.type == b"stsz":
                    _check_stsz(stream, box.body, box_end, size, name)
                elif box.type == b"trun":
                    _check_trun(stream, box.body, box_end, size, name)
        except TooManyBoxesError as error:
            raise VideoError(f"{name}: {error}; not a film this colorizer reads") from None
        except BoxError:  # not a box: this sequence ends here
            continue


def _check_stsz(stream: BinaryIO, payload: int, end: int, size: int, name: str) -> None:
    """'stsz': version and flags, the samples' constant size (0: a table of sizes follows), count."""
    fields = _read(stream, payload, 12)
    if fields is None:
        return
    _, sample_size, count = struct.unpack(">III", fields)
    if sample_size and count * sample_size > size:
        _refuse(name, count, count * sample_size, size)
    if not sample_size and count * 4 > end - payload - 12:
        _refuse(name, count, count * 4, end - payload - 12, "its sample size table")


def _check_trun(stream: BinaryIO, payload: int, end: int, size: int, name: str) -> None:
    """'trun': version and flags, sample count, optional data offset and first sample's flags, then
    the per-sample fields the flags name."""
    fields = _read(stream, payload, 8)
    if fields is None:
        return
    flags, count = struct.unpack(">II", fields)
    flags &= 0xFFFFFF
    per_sample = 4 * sum(1 for field in _TRUN_SAMPLE_FIELDS if flags & field)
    header = 8 + 4 * sum(1 for field in (_TRUN_DATA_OFFSET, _TRUN_FIRST_SAMPLE_FLAGS) if flags & field)
    if per_sample and count * per_sample > end - payload - header:
        _refuse(name, count, count * per_sample, end - payload - header, "its fragment's sample table")
    if count * MIN_FRAGMENT_SAMPLE_BYTES > size:
        _refuse(name, count, count * MIN_FRAGMENT_SAMPLE_BYTES, size)


def _read(stream: BinaryIO, position: int, count: int) -> bytes | None:
    stream.seek(position)
    data = stream.read(count)
    return data if len(data) == count else None


def _refuse(name: str, count: int, needed: int, available: int, where: str = "the file") -> None:
    raise VideoError(
        f"{name}: an MP4 track declares {count:,} samples needing {needed:,} bytes, but {where} has "
        f"{available:,}; corrupt or crafted"
    )
