"""The TIFF container (``colorizer.tiff``, ``encode_image(..., "tiff")``): what it writes is read back
exactly by three independent readers (tifffile, OpenCV's libtiff, Pillow), deflate-compressed with
the horizontal predictor, tagged sRGB, with the provenance where ``read_text`` and ``--resume`` find
it, and judged whole only when whole."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from colorizer.encode import encode_image, read_text, read_text_stream
from colorizer.icc_profiles import srgb_profile
from colorizer.metadata import Metadata
from colorizer.provenance import KEY_MODEL, looks_complete, provenance_text, read_provenance
from colorizer.tiff import STRIP_BYTES, tiff_bytes


def smooth(height: int, width: int, channels: int, dtype) -> np.ndarray:
    """A smooth random picture of the dtype's full range (so the predictor has work to do)."""
    top = np.iinfo(dtype).max
    coarse = np.random.default_rng(channels).uniform(0, top, (height // 8 + 2, width // 8 + 2, channels))
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, top).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [3, 4])
def test_three_readers_read_the_pixels_back_exactly(dtype, channels):
    pixels = smooth(301, 457, channels, dtype)  # odd sides; several strips at 16 bits
    data = encode_image(pixels, "tiff")
    with tifffile.TiffFile(io.BytesIO(data)) as file:
        page = file.pages[0]
        assert page.compression == 8 and page.predictor == 2, "deflate with the horizontal predictor"
        assert page.photometric == 2 and page.bitspersample == np.dtype(dtype).itemsize * 8
        assert page.tags["InterColorProfile"].value == srgb_profile()
        if channels == 4:
            assert page.extrasamples == (2,), "unassociated alpha, as PNG's"
        np.testing.assert_array_equal(page.asarray(), pixels)
    by_opencv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    order = cv2.COLOR_BGRA2RGBA if channels == 4 else cv2.COLOR_BGR2RGB  # OpenCV reads BGR(A)
    opaque = pixels[..., 3] == np.iinfo(dtype).max if channels == 4 else np.ones(pixels.shape[:2], bool)
    # (OpenCV reads 8-bit RGBA through libtiff's RGBA interface, which premultiplies by the alpha)
    np.testing.assert_array_equal(cv2.cvtColor(by_opencv, order)[opaque], pixels[opaque])
    if dtype == np.uint8:  # Pillow reads no 16-bit RGB
        np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(data))), pixels)
    assert len(data) < pixels.nbytes, "compressed"


def test_strips_hold_at_most_strip_bytes_of_pixels():
    pixels = smooth(400, 300, 3, np.uint16)
    with tifffile.TiffFile(io.BytesIO(encode_image(pixels, "tiff"))) as file:
        rows = file.pages[0].rowsperstrip
        assert rows >= 1 and rows * 300 * 6 <= STRIP_BYTES and len(file.pages[0].dataoffsets) > 1


def test_grey_is_written_as_rgb():
    grey = smooth(20, 30, 1, np.uint16).reshape(20, 30)  # cv2.resize drops a single channel
    back = tifffile.imread(io.BytesIO(encode_image(grey, "tiff")))
    np.testing.assert_array_equal(back, np.dstack([grey] * 3))


def test_provenance_is_read_back_from_the_first_bytes_and_by_seeking(tmp_path):
    text = provenance_text("ab" * 32, {"format": "tiff", "name": "写真 <&>"})
    data = encode_image(smooth(700, 900, 3, np.uint16), "tiff", text=text)
    assert read_text(data[: 64 * 1024]) == text
    assert read_text_stream(io.BytesIO(data)) == text
    path = tmp_path / "out.tiff"
    path.write_bytes(data)
    assert read_provenance(path)[KEY_MODEL] == "ab" * 32


def test_a_cut_tiff_does_not_look_complete(tmp_path):
    data = encode_image(smooth(200, 300, 3, np.uint8), "tiff", text=provenance_text("0" * 64, {}))
    whole, cut, longer = tmp_path / "whole.tiff", tmp_path / "cut.tiff", tmp_path / "longer.tiff"
    whole.write_bytes(data)
    cut.write_bytes(data[:-1])
    longer.write_bytes(data + b"\0")
    assert looks_complete(whole)
    assert not looks_complete(cut) and not looks_complete(longer)
    (tmp_path / "header.tiff").write_bytes(data[:8])
    assert not looks_complete(tmp_path / "header.tiff")


def test_exif_sub_directories_are_written_as_such():
    exif = Image.Exif()
    exif[0x010E] = "A harbour"
    exif.get_ifd(0x8769)[0x9003] = "1931:05:06 07:08:09"
    exif.get_ifd(0x8825)[0x0001] = "N"
    block = exif.tobytes()[6:]  # less "Exif\0\0"
    data = encode_image(smooth(30, 40, 3, np.uint8), "tiff", metadata=Metadata(exif=block))
    read = Image.open(io.BytesIO(data)).getexif()
    assert read[0x010E] == "A harbour" and read[0x0112] == 1
    assert read.get_ifd(0x8769)[0x9003] == "1931:05:06 07:08:09"
    assert read.get_ifd(0x8825)[0x0001] == "N"


def test_tiff_bytes_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="uint8/uint16"):
        tiff_bytes(np.zeros((4, 4, 3), np.float32), {})
    with pytest.raises(ValueError, match="HxWx3 or HxWx4"):
        tiff_bytes(np.zeros((4, 4, 2), np.uint8), {})
