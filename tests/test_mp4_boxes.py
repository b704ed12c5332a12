"""MP4 files read by their boxes: whether one is whole (``looks_complete``: the top-level boxes, ftyp
first, moov and mdat among them, cover the file exactly), and the text entries it carries
(``read_provenance``), on real films written by FFmpeg and on layouts built byte by byte."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from colorizer.mp4_boxes import MAX_BOXES, read_mp4_text
from colorizer.provenance import is_our_output, looks_complete, provenance_text, read_provenance
from testkit.mp4_layouts import (
    JPEG,
    UTF8,
    box,
    ftyp,
    large_box,
    metadata,
    mp4,
    sparse_large_mp4,
    to_end_box,
)
from testkit.video_clips import write_clip

MOOV = box(b"moov", box(b"mvhd", b"\0" * 100))
MDAT = box(b"mdat", bytes(range(256)) * 4)
PLAIN = mp4(ftyp(), MOOV, MDAT)
ENTRIES = provenance_text("ab" * 32, {"temperature": 0.38, "note": "é 漢"})

LAYOUTS = {
    # name: (bytes, whole?)
    "ftyp moov mdat": (PLAIN, True),
    "free box between": (mp4(ftyp(), MOOV, box(b"free", b"\0" * 8), MDAT), True),
    "mdat before moov": (mp4(ftyp(), MDAT, MOOV), True),
    "64-bit mdat size": (mp4(ftyp(), MOOV, large_box(b"mdat", b"\1" * 300)), True),
    "mdat to the end (size 0)": (mp4(ftyp(), MOOV, to_end_box(b"mdat", b"\1" * 300)), True),
    "missing moov": (mp4(ftyp(), MDAT), False),
    "missing mdat": (mp4(ftyp(), MOOV), False),
    "ftyp not first": (mp4(MOOV, ftyp(), MDAT), False),
    "moov twice, no mdat": (mp4(ftyp(), MOOV, MOOV), False),
    "cut in mdat": (PLAIN[:-10], False),
    "cut in moov (last)": (mp4(ftyp(), MDAT, MOOV)[:-3], False),
    "cut after moov": (PLAIN[: len(ftyp()) + len(MOOV)], False),
    "cut in a 64-bit header": (mp4(ftyp(), MOOV, large_box(b"mdat", b"\1" * 300)[:12]), False),
    "64-bit size past the end": (mp4(ftyp(), MOOV, large_box(b"mdat", b"\1" * 300)[:-1]), False),
    "trailing junk, shorter than a header": (PLAIN + b"junk", False),
    "trailing junk": (PLAIN + b"garbage after the last box", False),
    "size smaller than its header": (mp4(ftyp(), MOOV, struct.pack(">I4s", 4, b"mdat") + b"\0" * 4), False),
    "64-bit size smaller than its header": (mp4(ftyp(), MOOV, struct.pack(">I4sQ", 1, b"mdat", 8)), False),
    "ftyp alone": (ftyp(), False),
    "empty file": (b"", False),
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_looks_complete_on_box_layouts(tmp_path, name):
    data, whole = LAYOUTS[name]
    path = tmp_path / "film.mp4"
    path.write_bytes(data)
    assert looks_complete(path) is whole, name


def test_64_bit_sizes_past_4_gib(tmp_path):
    """A sparse file: an mdat of 4 GiB + 1 KiB needs the 64-bit size; only its headers are read."""
    path = sparse_large_mp4(tmp_path / "large.mp4", (4 << 30) + 1024)
    assert path.stat().st_size > 1 << 32
    assert looks_complete(path)
    with open(path, "r+b") as stream:
        stream.truncate(path.stat().st_size - 1)
    assert not looks_complete(path)


def test_too_many_boxes_is_not_whole(tmp_path):
    """The walk stops after MAX_BOXES per level: a file of tiny boxes costs a bounded number of reads."""
    path = tmp_path / "tiny boxes.mp4"
    path.write_bytes(mp4(ftyp(), MOOV, MDAT, box(b"free") * MAX_BOXES))
    assert not looks_complete(path)


FILMS = {
    "mp4": {"faststart": True},
    "mp4, index at the end": {"faststart": False},
    "mp4 with sound": {"faststart": True, "audio": "aac"},
    "mov": {"container": "mov", "faststart": False},
}


@pytest.fixture(scope="module", params=FILMS)
def film(request, tmp_path_factory):
    """A real film written by FFmpeg (PyAV), 8 frames of 32x24."""
    frames = [np.full((24, 32, 3), 30 * index, np.uint8) for index in range(8)]
    path = tmp_path_factory.mktemp("films") / "film.mp4"
    return write_clip(path, frames, fps=8, **FILMS[request.param]).read_bytes()


@pytest.mark.parametrize(
    "cut", ["whole", "half", "last byte missing", "one byte more", "a box of junk after", "header only"]
)
def test_looks_complete_on_real_films(film, tmp_path, cut):
    data = {
        "whole": film,
        "half": film[: len(film) // 2],
        "last byte missing": film[:-1],
        "one byte more": film + b"\0",
        "a box of junk after": film + b"\0\0\1\0junk",  # a header announcing 256 bytes, 8 present
        "header only": film[:64],
    }[cut]
    path = tmp_path / "film.mp4"
    path.write_bytes(data)
    assert looks_complete(path) is (cut == "whole")


def test_a_film_without_provenance_is_not_ours(film, tmp_path):
    path = tmp_path / "film.mp4"
    path.write_bytes(film)
    assert read_provenance(path) == {} and not is_our_output(path)


@pytest.mark.parametrize("full_meta", [True, False], ids=["MP4 meta (full box)", "QuickTime meta"])
@pytest.mark.parametrize("where", ["moov before mdat", "moov after mdat"])
def test_provenance_read_from_built_metadata(tmp_path, full_meta, where):
    moov = box(b"moov", box(b"mvhd", b"\0" * 100) + metadata(ENTRIES, full_meta=full_meta))
    data = mp4(ftyp(), moov, MDAT) if where == "moov before mdat" else mp4(ftyp(), MDAT, moov)
    path = tmp_path / "ours.mp4"
    path.write_bytes(data)
    assert read_provenance(path) == ENTRIES
    assert is_our_output(path)
    cut = tmp_path / "cut.mp4"  # the metadata cut off: nothing to read, nothing raised
    cut.write_bytes(data[: data.index(b"ilst") + 10] if where == "moov after mdat" else data[:60])
    assert read_provenance(cut) == {}


def test_only_utf8_values_of_known_keys_are_read(tmp_path):
    typed = metadata({"Comment": "text", "Cover": "JFIF"})
    typed = typed.replace(struct.pack(">II", UTF8, 0) + b"JFIF", struct.pack(">II", JPEG, 0) + b"JFIF")
    stray = box(struct.pack(">I", 7), box(b"data", struct.pack(">II", UTF8, 0) + b"stray"))  # no key 7
    path = tmp_path / "mixed.mp4"
    path.write_bytes(mp4(ftyp(), box(b"moov", _append_to_ilst(typed, stray)), MDAT))
    with open(path, "rb") as stream:
        assert read_mp4_text(stream) == {"Comment": "text"}


DAMAGES = ["key count too large", "key size past the box", "ilst item size 3", "meta size past moov", "data box empty"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_metadata_reads_as_none_and_never_raises(tmp_path, damage):
    udta = metadata(ENTRIES)
    keys_at, ilst_at, meta_at = udta.index(b"keys"), udta.index(b"ilst"), udta.index(b"meta")
    broken = bytearray(udta)
    if damage == "key count too large":
        broken[keys_at + 8 : keys_at + 12] = struct.pack(">I", 1000)
    elif damage == "key size past the box":
        broken[keys_at + 12 : keys_at + 16] = struct.pack(">I", 10_000)
    elif damage == "ilst item size 3":
        broken[ilst_at + 4 : ilst_at + 8] = struct.pack(">I", 3)
    elif damage == "meta size past moov":
        broken[meta_at - 4 : meta_at] = struct.pack(">I", 1 << 30)
    else:  # the first value's data box shrunk to its bare header: that entry (Software) is lost
        data_at = udta.index(b"data")
        broken[data_at - 4 : data_at] = struct.pack(">I", 8)
    path = tmp_path / "damaged.mp4"
    path.write_bytes(mp4(ftyp(), box(b"moov", bytes(broken)), MDAT))
    with open(path, "rb") as stream:
        text = read_mp4_text(stream)
    expected = {key: value for key, value in ENTRIES.items() if key != "Software"} if damage == DAMAGES[-1] else {}
    assert text == expected
    assert read_provenance(path) == {}  # without its Software entry a file is not ours either


def _append_to_ilst(udta: bytes, item: bytes) -> bytes:
    """``udta`` (from ``metadata``, whose last boxes are meta then ilst) with ``item`` appended to its
    ilst, the sizes of ilst, meta and udta grown to match."""
    grown = bytearray(udta + item)
    for kind in (b"udta", b"meta", b"ilst"):
        at = grown.index(kind) - 4
        grown[at : at + 4] = struct.pack(">I", struct.unpack(">I", grown[at : at + 4])[0] + len(item))
    return bytes(grown)
