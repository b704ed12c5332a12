"""Hostile colour profiles (testkit.hostile_profiles): a photo carrying one is read as if untagged,
with a warning naming it and saying sRGB is assumed, or, where the file itself is a bomb, refused
with a one-line message; the float reader of matrix/TRC profiles (colorizer.icc_matrix) answers
every damaged profile with a reason, never an exception. Their memory and time are bounded with
the second hostile corpus's in tests/test_hostile_files.py (they are part of it)."""

from __future__ import annotations

import io
import logging
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from colorizer import icc_matrix
from colorizer.decode import decode_image
from colorizer.errors import ImageTooComplexError
from testkit.hostile_files import Case, Decoded, measure
from testkit.hostile_profiles import PROFILE_FILES, PROFILES, ProfileFile, display_p3, large_tiff16, prophoto

FILES = {item.name: item for item in PROFILE_FILES}


def as_untagged(data: bytes, item: ProfileFile) -> np.ndarray:
    """The file's pixels with its profile ignored: OpenCV for 16 bits, Pillow for 8 (neither
    reads the profile)."""
    if item.sixteen_bits:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("name", list(FILES))
def test_hostile_profile_warns_and_assumes_srgb_or_the_file_is_refused(caplog, name):
    item = FILES[name]
    data = item.build()
    if item.refusal:
        with pytest.raises(ImageTooComplexError) as refused:
            decode_image(data, name=name)
        assert re.search(rf"^{re.escape(name)}: {item.refusal}", str(refused.value)), str(refused.value)
        return
    with caplog.at_level(logging.WARNING, logger="colorizer.color_management"):
        decoded = decode_image(data, name=name)
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith(f"{name}: ") and item.warning in message for message in messages), messages
    assert decoded.shape == item.shape and decoded.dtype == (np.uint16 if item.sixteen_bits else np.uint8)
    np.testing.assert_array_equal(decoded, as_untagged(data, item))


def test_every_container_and_kind_of_damage_is_in_the_corpus():
    containers = {name.rsplit(".", 1)[1] for name in FILES}
    assert {"png", "jpg", "tif", "webp"} <= containers
    used = {item.profile for item in PROFILE_FILES} - {""}
    assert used == set(PROFILES), set(PROFILES) - used


@pytest.mark.parametrize("name", list(PROFILES))
def test_float_reader_gives_a_reason_for_each_hostile_profile(name):
    assert isinstance(icc_matrix.matrix_shaper(PROFILES[name]()), str)


def test_float_reader_never_raises_on_damaged_profiles():
    """Every truncation of a valid matrix/TRC profile and 3,000 random corruptions of it (bytes of
    the header, tag table and tag data overwritten): a reason or a MatrixShaper whose tables are
    finite, 0..1, never an exception."""
    profile = display_p3()
    assert isinstance(icc_matrix.matrix_shaper(profile), icc_matrix.MatrixShaper)
    rng = np.random.default_rng(25)
    damaged = [profile[:length] for length in range(0, len(profile), 7)]
    for _ in range(3000):
        copy = bytearray(profile)
        for position in rng.integers(0, 400, rng.integers(1, 6)):  # header, tag table, first tags
            copy[position] = rng.integers(0, 256)
        damaged.append(bytes(copy))
    shapers = 0
    for data in damaged:
        result = icc_matrix.matrix_shaper(data)
        if isinstance(result, icc_matrix.MatrixShaper):
            shapers += 1
            assert all(np.isfinite(table).all() and table.min() >= 0 and table.max() <= 1 for table in result.tables)
            assert np.isfinite(result.matrix).all()
        else:
            assert isinstance(result, str) and result
    assert 0 < shapers < len(damaged)  # some damage is harmless (a description), most is not


@pytest.mark.slow  # writes a 50 MP TIFF and reads it twice in processes of their own (~30 s)
def test_fifty_megapixel_sixteen_bit_tiff_with_a_profile_within_bounds(tmp_path):
    """Decoding and managing a 50 MP 16-bit ProPhoto TIFF (the float path, strip by strip) stays
    within the hostile corpus's bound for its pixels (testkit.hostile_files.Case.bound: peak RSS
    96 MiB + 40 bytes a pixel, CPU 10 s + 0.2 s a megapixel); its untagged twin is measured beside
    it for the report."""
    width, height = 8000, 6248
    results = {}
    for name, profile in (("tagged.tif", prophoto()), ("untagged.tif", None)):
        path = large_tiff16(tmp_path / name, width, height, profile)
        case = Case(name, path, "image", Decoded((height, width, 3), "uint16"), "50 MP 16-bit TIFF")
        results[name] = result = measure(case, timeout=300)
        assert result.matches(case.expect), result
        assert result.within(case.bound), f"{name}: {result} over {case.bound}"
    tagged, untagged = results["tagged.tif"], results["untagged.tif"]
    print(
        f"50 MP 16-bit TIFF: with ProPhoto {tagged.rss_bytes / 2**20:.0f} MiB peak growth, "
        f"{tagged.cpu_seconds:.1f} CPU s, {tagged.seconds:.1f} s; untagged {untagged.rss_bytes / 2**20:.0f} MiB, "
        f"{untagged.cpu_seconds:.1f} CPU s, {untagged.seconds:.1f} s"
    )
