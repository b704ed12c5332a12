"""Mutation fuzzing of decode_image (testkit/fuzz.py): a few thousand mutated files of every supported
format, fixed seeds, decoded in a child process whose address space is capped. Only the library's own
errors may escape; a decoder blow-up fails the test (MemoryError or a killed child), not the machine.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import features

from testkit.fuzz import fix_png_crcs, mutate, run_fuzz, seed_files

pytestmark = pytest.mark.slow  # fuzzing: not in the quick subset

PER_SEED = 160  # x ~22 seed files = ~3,500 mutated files, ~20 s on a loaded 2-core machine
ADDRESS_SPACE_MB = 3072  # the interpreter with OpenCV and Pillow maps ~0.5 GB before decoding anything
FAMILIES = ("jpeg", "png", "tiff", "bigtiff", "webp", "bmp", "gif")


def test_seed_files_cover_every_supported_format():
    kinds = set(seed_files())
    for family in FAMILIES:
        assert any(kind.startswith(family) for kind in kinds), family
    assert {"png16_grey", "png16_rgb", "tiff16"} <= kinds  # the 16-bit paths (OpenCV)
    if features.check("avif"):
        assert "avif" in kinds
    if _has_pillow_heif():
        assert "heic" in kinds


def test_only_the_librarys_own_errors_escape():
    report = run_fuzz(PER_SEED, seed=0, max_address_space_mb=ADDRESS_SPACE_MB)

    assert report.crashed_in == "", f"the fuzzing process died: {report.crashed_in}"
    assert report.escapes == [], "\n".join(
        f"{escape['case']}: {escape['type']}: {escape['message']}" for escape in report.escapes
    )
    kinds = seed_files()
    assert report.cases == PER_SEED * len(kinds)
    for kind, outcome in report.outcomes.items():
        assert sum(outcome.values()) == PER_SEED, kind
        assert outcome.get("refused", 0) > 0, f"{kind}: no mutation was refused: {outcome}"
    for family in FAMILIES:  # the mutations are not all refused up front: decoders get to see them
        decoded = sum(outcome.get("decoded", 0) for kind, outcome in report.outcomes.items() if kind.startswith(family))
        assert decoded > 0, f"{family}: every mutated file was refused"


def test_a_child_out_of_address_space_fails_the_run():
    """The cap is real: with too little address space the child dies (or raises MemoryError), and the
    run reports it instead of passing."""
    report = run_fuzz(2, seed=0, max_address_space_mb=200)

    assert report.crashed_in or any(escape["type"] == "MemoryError" for escape in report.escapes), report


def test_mutations_are_deterministic_and_change_the_file():
    seeds = seed_files()
    data, donor = seeds["png_grey"], seeds["png_palette"]
    assert mutate(data, donor, np.random.default_rng(7)) == mutate(data, donor, np.random.default_rng(7))
    rng = np.random.default_rng(1)
    mutated = [mutate(data, donor, rng)[0] for _ in range(50)]
    assert sum(candidate != data for candidate in mutated) >= 45


def test_fix_png_crcs_repairs_every_chunk():
    data = bytearray(seed_files()["png_grey"])
    data[20] ^= 0x01  # inside IHDR: its CRC no longer matches
    fixed = fix_png_crcs(bytes(data))
    position = 8
    while position + 12 <= len(fixed):
        length = struct.unpack_from(">I", fixed, position)[0]
        body = fixed[position + 4 : position + 8 + length]
        assert struct.unpack_from(">I", fixed, position + 8 + length)[0] == zlib.crc32(body)
        position += 12 + length
    assert position == len(fixed)


def _has_pillow_heif() -> bool:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True
