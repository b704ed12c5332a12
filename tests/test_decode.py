"""colorizer.decode: every fixture is encoded here, with Pillow, OpenCV or pillow-heif, from numpy."""
from __future__ import annotations

import io
import sys
import time
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps, features

from colorizer import decode
from colorizer.decode import DEFAULT_MAX_PIXELS, apply_orientation, decode_image, read_image
from colorizer.errors import ImageDecodeError, ImageTooLargeError
from testkit.hostile_corpus import encode, exif_bytes, jpeg_declaring, png_declaring

ORIENTATION = 0x0112

# EXIF orientation -> the displayed image, written with numpy independently of decode's table.
DISPLAYED = {
    1: lambda a: a,
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),  # clockwise
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),  # counter-clockwise
}


def noise(shape: tuple[int, ...], dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """Random pixels: every position is distinguishable, so any wrong flip or channel order shows."""
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def blocks(height: int = 48, width: int = 80) -> np.ndarray:
    """uint8 HxWx3 RGB: four flat quadrants in 8x8-aligned blocks and a white top-left 16x16 corner,
    which survives lossy codecs closely enough to compare."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (200, 40, 40)
    image[: height // 2, width // 2:] = (40, 200, 40)
    image[height // 2:, : width // 2] = (40, 40, 200)
    image[height // 2:, width // 2:] = (120, 120, 30)
    image[:16, :16] = 255
    return image


def assert_lossy_close(actual: np.ndarray, expected: np.ndarray, mean_tol: float = 3.0) -> None:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    error = np.abs(actual.astype(np.int32) - expected).mean()
    assert error < mean_tol, f"mean absolute error {error:.2f} >= {mean_tol}"


# --- EXIF orientation -------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_orientation(orientation):
    original = blocks()
    stored = encode(Image.fromarray(original), "JPEG", quality=95, exif=exif_bytes(1))
    rotated = encode(Image.fromarray(original), "JPEG", quality=95, exif=exif_bytes(orientation))
    as_stored = decode_image(stored)
    assert_lossy_close(as_stored, original)

    displayed = decode_image(rotated)

    # Same encoder, same pixels: the only difference is the orientation, applied exactly.
    np.testing.assert_array_equal(displayed, DISPLAYED[orientation](as_stored),
                                  err_msg=f"orientation {orientation}")
    # Against Pillow's own implementation.
    with Image.open(io.BytesIO(rotated)) as image:
        np.testing.assert_array_equal(displayed, np.asarray(ImageOps.exif_transpose(image)))
    assert displayed.flags.c_contiguous and displayed.flags.writeable


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_8_bit(orientation):
    original = noise((6, 10, 3))
    data = encode(Image.fromarray(original), "TIFF", exif=exif_bytes(orientation))
    np.testing.assert_array_equal(decode_image(data), DISPLAYED[orientation](original))


@pytest.mark.parametrize("big_tiff", [False, True])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_16_bit(orientation, big_tiff):
    """16-bit TIFF goes through OpenCV, whose TIFF reader applies the tag itself: applied once only."""
    original = noise((6, 10), np.uint16)
    data = encode(Image.fromarray(original), "TIFF", tiffinfo={274: orientation}, big_tiff=big_tiff)
    displayed = decode_image(data)
    assert displayed.dtype == np.uint16
    np.testing.assert_array_equal(displayed, DISPLAYED[orientation](original))


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_png_orientation_8_and_16_bit(orientation):
    for original in (noise((6, 10, 3)), noise((6, 10), np.uint16)):
        data = encode(Image.fromarray(original), "PNG", exif=exif_bytes(orientation))
        np.testing.assert_array_equal(decode_image(data), DISPLAYED[orientation](original))


@pytest.mark.parametrize("orientation", [2, 6, 8])
def test_webp_orientation(orientation):
    original = noise((6, 10, 3))
    data = encode(Image.fromarray(original), "WEBP", lossless=True, exif=exif_bytes(orientation))
    np.testing.assert_array_equal(decode_image(data), DISPLAYED[orientation](original))


def test_apply_orientation_leaves_input_alone():
    original = noise((3, 5, 3))
    copy = original.copy()
    for orientation in range(1, 9):
        apply_orientation(original, orientation)
    np.testing.assert_array_equal(original, copy)


def test_out_of_range_orientation_is_ignored():
    original = noise((4, 7, 3))
    data = encode(Image.fromarray(original), "PNG", exif=exif_bytes(9))
    np.testing.assert_array_equal(decode_image(data), original)


# --- formats ----------------------------------------------------------------------------------

def test_png_modes_exact():
    rgb, grey, alpha = noise((5, 7, 3), seed=1), noise((5, 7), seed=2), noise((5, 7), seed=3)
    rgba = np.dstack([rgb, alpha])
    for array in (rgb, grey, rgba):
        result = decode_image(encode(Image.fromarray(array), "PNG"))
        assert result.dtype == np.uint8
        np.testing.assert_array_equal(result, array)


def test_grey_alpha_png_becomes_rgba():
    grey, alpha = noise((5, 7), seed=2), noise((5, 7), seed=3)
    result = decode_image(encode(Image.fromarray(np.dstack([grey, alpha]), "LA"), "PNG"))
    np.testing.assert_array_equal(result, np.dstack([grey, grey, grey, alpha]))


def test_palette_png_expanded_with_and_without_transparency():
    palette = Image.new("P", (4, 3))
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    palette.putpixel((1, 1), 1)
    palette.putpixel((2, 2), 2)
    colours = np.zeros((3, 4, 3), np.uint8)
    colours[:] = (255, 0, 0)
    colours[1, 1] = (0, 255, 0)
    colours[2, 2] = (0, 0, 255)

    np.testing.assert_array_equal(decode_image(encode(palette, "PNG")), colours)

    # tRNS: index 0 fully transparent, index 1 half, index 2 opaque.
    result = decode_image(encode(palette, "PNG", transparency=bytes([0, 128, 255])))
    alpha = np.zeros((3, 4), np.uint8)
    alpha[1, 1], alpha[2, 2] = 128, 255
    np.testing.assert_array_equal(result, np.dstack([colours, alpha]))


def test_16_bit_grey_png_kept_exactly():
    original = noise((9, 13), np.uint16)
    original[0, 0], original[0, 1] = 0, 65535
    ok, encoded = cv2.imencode(".png", original)
    assert ok and encoded[24] == 16  # IHDR bit depth
    result = decode_image(encoded.tobytes())
    assert result.dtype == np.uint16 and result.flags.c_contiguous
    np.testing.assert_array_equal(result, original)


@pytest.mark.parametrize("extension", [".png", ".tiff"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_kept_exactly_in_rgb_order(tmp_path, extension, channels):
    bgr = noise((9, 13, channels), np.uint16)
    path = tmp_path / f"deep{extension}"
    assert cv2.imwrite(str(path), bgr)  # OpenCV writes BGR(A)
    result = read_image(path)
    assert result.dtype == np.uint16 and result.flags.c_contiguous
    rgb = bgr[..., [2, 1, 0, 3][:channels]]
    np.testing.assert_array_equal(result, rgb)


def test_floating_point_tiff_refused():
    data = encode(Image.fromarray(np.ones((4, 5), np.float32)), "TIFF")
    with pytest.raises(ImageDecodeError,
                       match=r"^x\.tif: 32-bit floating-point TIFF samples are not supported"):
        decode_image(data, name="x.tif")


def test_cmyk_jpeg_colours():
    # Pillow writes CMYK JPEGs as Adobe (inverted) CMYK, as Photoshop does.
    inks = {(0, 255, 255, 0): (255, 0, 0), (255, 0, 255, 0): (0, 255, 0), (255, 255, 0, 0): (0, 0, 255),
            (0, 0, 0, 0): (255, 255, 255), (0, 0, 0, 255): (0, 0, 0)}
    image = Image.new("CMYK", (16 * len(inks), 16))
    for index, ink in enumerate(inks):
        image.paste(ink, (16 * index, 0, 16 * index + 16, 16))
    data = encode(image, "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.mode == "CMYK" and reopened.info.get("adobe")

    result = decode_image(data)

    assert result.shape == (16, 16 * len(inks), 3) and result.dtype == np.uint8
    for index, expected in enumerate(inks.values()):
        centre = result[4:12, 16 * index + 4:16 * index + 12].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(centre, expected, atol=6, err_msg=f"patch {index}")


def test_progressive_jpeg_matches_opencv():
    yy, xx = np.mgrid[0:48, 0:80]
    smooth = np.dstack([xx * 3, yy * 5, xx + yy]).astype(np.uint8)
    data = encode(Image.fromarray(smooth), "JPEG", quality=90, progressive=True)
    assert b"\xff\xc2" in data  # SOF2: progressive

    result = decode_image(data)

    assert_lossy_close(result, smooth)
    reference = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    np.testing.assert_allclose(result, reference, atol=1)


def test_animated_gif_first_frame_as_colours():
    first, second = np.full((6, 9, 3), (200, 10, 10), np.uint8), np.full((6, 9, 3), (10, 200, 10), np.uint8)
    first[2, 3] = (10, 10, 200)
    data = encode(Image.fromarray(first), "GIF", save_all=True, append_images=[Image.fromarray(second)])
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.n_frames == 2 and reopened.mode == "P"
    np.testing.assert_array_equal(decode_image(data), first)


def test_gif_transparency_becomes_alpha():
    image = Image.new("P", (4, 3))
    image.putpalette([0, 0, 0, 250, 120, 0])
    image.putpixel((3, 2), 1)
    result = decode_image(encode(image, "GIF", transparency=0))
    assert result.shape == (3, 4, 4)
    np.testing.assert_array_equal(result[2, 3], (250, 120, 0, 255))
    assert (result[..., 3].sum() == 255) and result[0, 0, 3] == 0


def test_animated_webp_first_frame():
    first, second = noise((6, 9, 3), seed=1), noise((6, 9, 3), seed=2)
    data = encode(Image.fromarray(first), "WEBP", lossless=True, save_all=True,
                  append_images=[Image.fromarray(second)])
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.n_frames == 2
    np.testing.assert_array_equal(decode_image(data)[..., :3], first)


def test_multipage_tiff_first_page():
    first, second = noise((6, 9, 3), seed=1), noise((6, 9, 3), seed=2)
    data = encode(Image.fromarray(first), "TIFF", save_all=True, append_images=[Image.fromarray(second)])
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.n_frames == 2
    np.testing.assert_array_equal(decode_image(data), first)


def test_bmp():
    original = noise((7, 11, 3))
    np.testing.assert_array_equal(decode_image(encode(Image.fromarray(original), "BMP")), original)


def test_heic_round_trip_with_orientation():
    pillow_heif = pytest.importorskip("pillow_heif")
    original = blocks()
    buffer = io.BytesIO()
    # pillow-heif's own API, so that decode_image has to register the Pillow opener itself.
    pillow_heif.from_pillow(Image.fromarray(original)).save(buffer, quality=95, exif=exif_bytes(6))
    data = buffer.getvalue()
    assert data[4:12] == b"ftypheic"

    result = decode_image(data)

    assert_lossy_close(result, np.rot90(original, -1))


def test_heic_refused_by_name_without_pillow_heif(monkeypatch):
    data = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import pillow_heif -> ImportError
    decode._heif_support.cache_clear()
    try:
        with pytest.raises(ImageDecodeError,
                           match=r"^photo\.heic: HEIC images need the pillow-heif package$"):
            decode_image(data, name="photo.heic")
    finally:
        decode._heif_support.cache_clear()


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_avif_round_trip_with_orientation():
    original = blocks()
    data = encode(Image.fromarray(original), "AVIF", quality=95, exif=exif_bytes(6))
    assert_lossy_close(decode_image(data), np.rot90(original, -1), mean_tol=4)


def test_one_pixel():
    data = encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG")
    np.testing.assert_array_equal(decode_image(data), np.array([[[1, 2, 3]]], np.uint8))


def test_long_strip_20000_by_200():
    strip = np.zeros((200, 20000, 3), np.uint8)
    strip[..., 0] = np.arange(20000) % 251
    strip[..., 1] = np.arange(200)[:, None]
    result = decode_image(encode(Image.fromarray(strip), "PNG", compress_level=1))
    np.testing.assert_array_equal(result, strip)


# --- size limit -------------------------------------------------------------------------------

@pytest.mark.parametrize("bomb", [png_declaring, jpeg_declaring])
def test_bomb_refused_before_decoding(bomb):
    data = bomb(30000, 30000)
    assert len(data) < 1000
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match=r"^bomb: .*900,000,000 pixels.*limit of 50,000,000$"):
        decode_image(data, name="bomb")
    assert time.perf_counter() - start < 1.0


def test_pillows_bomb_warning_as_error_is_mapped():
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLargeError, match=r"^x: .*100,000,000 pixels.*limit of 50,000,000$"):
            decode_image(png_declaring(10000, 10000), name="x")


def test_size_limit_below_pillows_own_check():
    with pytest.raises(ImageTooLargeError, match=r"^big\.png: 10000x6000 is 60,000,000 pixels, more than "
                                                  r"the limit of 50,000,000$"):
        decode_image(png_declaring(10000, 6000), name="big.png")


def test_max_pixels_respected():
    data = encode(Image.fromarray(noise((100, 100, 3))), "PNG")
    assert DEFAULT_MAX_PIXELS == 50_000_000
    with pytest.raises(ImageTooLargeError, match=r"100x100 is 10,000 pixels, more than the limit of 9,999"):
        decode_image(data, max_pixels=9_999)
    assert decode_image(data, max_pixels=10_000).shape == (100, 100, 3)


# --- refusals ---------------------------------------------------------------------------------

def test_empty():
    with pytest.raises(ImageDecodeError, match=r"^empty\.jpg: empty file$"):
        decode_image(b"", name="empty.jpg")


def test_text_named_jpg():
    with pytest.raises(ImageDecodeError, match=r"^notes\.jpg: not a recognised image format"):
        decode_image(b"Dear diary,\nnot a photo.\n", name="notes.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_refused(fmt):
    data = encode(Image.fromarray(noise((64, 96, 3))), fmt)
    with pytest.raises(ImageDecodeError, match=r"^half: .*truncated") as refusal:
        decode_image(data[: len(data) // 2], name="half")
    assert not isinstance(refusal.value, ImageTooLargeError)


def test_truncated_16_bit_png_refused():
    ok, encoded = cv2.imencode(".png", noise((64, 96, 3), np.uint16))
    data = encoded.tobytes()
    with pytest.raises(ImageDecodeError, match=r"^half: .*truncated"):
        decode_image(data[: len(data) // 2], name="half")


def test_cut_inside_the_header():
    data = encode(Image.new("RGB", (8, 8)), "PNG")
    with pytest.raises(ImageDecodeError, match=r"^x: .*truncated"):
        decode_image(data[:20], name="x")


def test_damaged_header():
    data = bytearray(encode(Image.new("RGB", (8, 8)), "PNG"))
    data[16] ^= 1  # width changed, IHDR CRC no longer matches
    with pytest.raises(ImageDecodeError, match=r"^x: damaged PNG file: its header cannot be read"):
        decode_image(bytes(data), name="x")


def test_corrupt_png_data():
    data = bytearray(encode(Image.fromarray(noise((40, 60, 3))), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20:idat + 60] = bytes(40)
    with pytest.raises(ImageDecodeError, match=r"^x: corrupt image data: "):
        decode_image(bytes(data), name="x")


@pytest.mark.parametrize("text", [
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    b'\xef\xbb\xbf  <?xml version="1.0"?>\n<!-- drawn -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<SVG/>',
])
def test_svg_refused_by_name(text):
    with pytest.raises(ImageDecodeError, match=r"^logo\.svg: SVG vector images are not supported; "
                                               r"export it as PNG or JPEG$"):
        decode_image(text, name="logo.svg")


def test_read_image(tmp_path):
    original = noise((5, 8, 3))
    path = tmp_path / "photo.png"
    path.write_bytes(encode(Image.fromarray(original), "PNG"))
    np.testing.assert_array_equal(read_image(str(path)), original)

    (tmp_path / "half.jpg").write_bytes(encode(Image.fromarray(original), "JPEG")[:100])
    with pytest.raises(ImageDecodeError, match=r"^half\.jpg: "):
        read_image(tmp_path / "half.jpg")
    with pytest.raises(ImageDecodeError, match=r"^missing\.jpg: cannot read the file: No such file"):
        read_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageTooLargeError):
        read_image(path, max_pixels=39)
