"""Output formats and PNG provenance: ``encode_image`` makes valid PNG, JPEG and WebP files."""

from __future__ import annotations

import io
import os
import stat
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from colorizer.encode import (
    MAX_SIDE,
    check_quality,
    check_size,
    encode_image,
    flatten_on_white,
    jpeg_with_icc,
    png_with_text,
    read_png_text,
    read_text,
    read_text_stream,
)
from colorizer.errors import ColorizerError, ImageEncodeError
from colorizer.icc_profiles import srgb_profile
from colorizer.provenance import (
    KEY_COMMENT,
    KEY_MODEL,
    KEY_SETTINGS,
    is_our_output,
    looks_complete,
    provenance_text,
)


def write_image(path, image, format="png", quality=None, text=None) -> int:
    """``encode_image``'s bytes written to ``path``; their count."""
    data = encode_image(image, format, quality, text)
    path.write_bytes(data)
    return len(data)


@pytest.fixture(scope="module")
def rgb():
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    return cv2.resize(small, (45, 31), interpolation=cv2.INTER_CUBIC)  # cv2 size: (width, height)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_png_is_lossless_and_default(rgb, tmp_path):
    size = write_image(tmp_path / "a.png", rgb)
    data = (tmp_path / "a.png").read_bytes()
    assert size == len(data) and Image.open(io.BytesIO(data)).format == "PNG"
    np.testing.assert_array_equal(decoded(data), rgb)


def test_png_keeps_alpha(rgb):
    rgba = np.dstack([rgb, np.arange(rgb[..., 0].size, dtype=np.uint8).reshape(rgb.shape[:2])])
    np.testing.assert_array_equal(decoded(encode_image(rgba)), rgba)


@pytest.mark.parametrize("quality", [None, 92, 40])
def test_jpeg_quality(rgb, quality):
    data = encode_image(rgb, "jpg", quality)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (45, 31)
    # Lower quality -> larger error, and the quality asked for is the one encoded.
    reference = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality or 95])[
        1
    ].tobytes()
    assert data == jpeg_with_icc(reference, srgb_profile())  # OpenCV's JPEG, tagged sRGB


@pytest.mark.parametrize("format", ["png", "jpg", "webp"])
def test_every_output_is_tagged_srgb(rgb, format):
    with Image.open(io.BytesIO(encode_image(rgb, format, text={"provenance": "kept"}))) as image:
        if format == "png":
            assert image.info.get("srgb") == 0  # the sRGB chunk, perceptual
        else:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"])).profile
            assert profile.xcolor_space.strip() == "RGB" and "sRGB" in profile.profile_description
    decoded_text = read_text_stream(io.BytesIO(encode_image(rgb, format, text={"provenance": "kept"})))
    assert decoded_text == {"provenance": "kept"}


def test_our_srgb_profile_is_srgb_to_littlecms():
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    ours = ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile()))
    converted = ImageCms.profileToProfile(Image.fromarray(pixels), ours, ImageCms.createProfile("sRGB"))
    assert np.abs(np.asarray(converted).astype(int) - pixels).max() <= 1


def test_jpeg_flattens_alpha_on_white(rgb):
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])  # fully transparent -> white
    assert decoded(encode_image(rgba, "jpeg", 100)).min() >= 250
    half = flatten_on_white(np.array([[[0, 100, 255, 128]]], np.uint8))
    np.testing.assert_array_equal(half, [[[127, 177, 255]]])  # 255 - 128*(255-c)/255, rounded


def test_webp_lossy_by_default_or_lossless(rgb):
    lossless = encode_image(rgb, "webp", "lossless")
    assert Image.open(io.BytesIO(lossless)).format == "WEBP"
    np.testing.assert_array_equal(decoded(lossless), rgb)
    rgba = np.dstack([rgb, np.arange(rgb[..., 0].size, dtype=np.uint8).reshape(rgb.shape[:2])])
    np.testing.assert_array_equal(decoded(encode_image(rgba, "webp", "lossless")), rgba)
    lossy, low = encode_image(rgb, "webp"), encode_image(rgb, "webp", 20)
    assert not np.array_equal(decoded(lossy), rgb)
    error = np.abs(decoded(lossy).astype(int) - rgb).mean()
    assert error < np.abs(decoded(low).astype(int) - rgb).mean() and error < 40  # quality 90 beats 20


def test_bad_format_and_quality_refused():
    with pytest.raises(ColorizerError, match="unknown output format 'gif'"):
        encode_image(np.zeros((2, 2, 3), np.uint8), "gif")
    with pytest.raises(ColorizerError, match="PNG is lossless"):
        check_quality("png", 90)
    with pytest.raises(ColorizerError, match="JPG has no lossless mode"):
        check_quality("jpg", "lossless")
    assert check_quality("webp", None) == 90 and check_quality("jpg", None) == 95
    for bad in (0, 101, 9.5, True):
        with pytest.raises(ColorizerError, match="from 1 to 100"):
            check_quality("jpg", bad)


@pytest.mark.parametrize("format", ["jpg", "webp"])
def test_size_limit_names_it(format):
    limit = MAX_SIDE[format]
    check_size(format, 10, limit)
    with pytest.raises(ImageEncodeError, match=f"limited to {limit:,} pixels"):
        check_size(format, 10, limit + 1, "wide.tif")
    # encode_image refuses before encoding (a 1-row image over the limit is cheap to make)
    with pytest.raises(ImageEncodeError, match=format.upper()):
        encode_image(np.zeros((1, limit + 1, 3), np.uint8), format)


def test_png_text_read_back_by_pillow(rgb):
    text = provenance_text("ab" * 32, {"temperature": 0.38, "render_size": 224, "name": "café"})
    data = encode_image(rgb, "png", text=text)
    image = Image.open(io.BytesIO(data))
    image.load()  # Pillow checks every chunk's CRC while loading
    assert image.text == text
    assert image.text[KEY_COMMENT] == "colorized: colours are predicted, not original"
    assert '"name": "café"' in image.text[KEY_SETTINGS]  # Latin-1 fits tEXt
    np.testing.assert_array_equal(np.asarray(image), rgb)
    assert read_png_text(data) == text


def test_png_text_utf8_goes_to_itxt(rgb):
    data = png_with_text(encode_image(rgb), {"Title": "写真 – ½"})
    assert b"iTXt" in data and b"tEXt" not in data
    assert Image.open(io.BytesIO(data)).text == {"Title": "写真 – ½"}


def test_png_text_chunks_follow_ihdr_with_valid_crc(rgb):
    data = png_with_text(encode_image(rgb), {"Software": "x"})
    assert data[12:16] == b"IHDR" and data[37:41] == b"tEXt"
    length = int.from_bytes(data[33:37], "big")
    body = data[37 : 41 + length]
    assert int.from_bytes(data[41 + length : 45 + length], "big") == zlib.crc32(body)


def test_png_text_refuses_bad_keyword(rgb):
    with pytest.raises(ValueError):
        png_with_text(encode_image(rgb), {"": "x"})
    with pytest.raises(ValueError):
        png_with_text(b"GIF89a", {"a": "b"})


def test_read_png_text_never_raises_on_junk():
    for junk in (b"", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\xff\xff\xff\xfftEXt", os.urandom(100)):
        assert read_png_text(junk) == {}


@pytest.mark.parametrize("format", ["jpg", "webp"])
def test_jpeg_comment_and_webp_xmp_carry_text(rgb, format):
    text = provenance_text("cd" * 32, {"upsample": "bilateral", "name": "写真 <&>"})
    data = encode_image(rgb, format, 90, text=text)
    image = Image.open(io.BytesIO(data))
    if format == "jpg":  # Pillow shows the comment segment as written
        assert image.info["comment"].decode("utf-8").splitlines()[1] == f"{KEY_MODEL}: {'cd' * 32}"
    else:  # XMP: a description of our own (colorizer:Provenance), beside any the input had
        assert b"<colorizer:Provenance>" in image.info["xmp"]
    assert read_text(data) == text
    np.testing.assert_array_equal(decoded(data), decoded(encode_image(rgb, format, 90)))  # same pixels


@pytest.mark.parametrize("format", ["png", "jpg", "webp", "tiff"])
def test_is_our_output(rgb, tmp_path, format):
    big = cv2.resize(rgb, (900, 700))  # WebP's XMP chunk follows the image data, beyond the first bytes
    write_image(tmp_path / f"ours.{format}", big, format, text=provenance_text("0" * 64, {}))
    write_image(tmp_path / f"plain.{format}", big, format, text={"Software": "someone else", KEY_MODEL: "0" * 64})
    assert is_our_output(tmp_path / f"ours.{format}")
    assert not is_our_output(tmp_path / f"plain.{format}")
    assert not is_our_output(tmp_path / "absent.png")
    os.mkfifo(tmp_path / "pipe.png")
    assert not is_our_output(tmp_path / "pipe.png")  # refused by type, does not block


def test_written_files_get_umask_permissions(rgb, tmp_path):
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "a.jpg", rgb, "jpg")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.jpg").stat().st_mode) == 0o644
    assert [path.name for path in tmp_path.iterdir()] == ["a.jpg"]  # no temporary left


@pytest.mark.parametrize("format", ["png", "jpg", "webp"])
def test_looks_complete(rgb, tmp_path, format):
    path = tmp_path / f"a.{format}"
    write_image(path, rgb, format)
    assert looks_complete(path)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    assert not looks_complete(path)
    assert not looks_complete(tmp_path / "absent.png")
