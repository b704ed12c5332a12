"""colorizer.decode: every fixture is encoded here, with Pillow, OpenCV or pillow-heif, from numpy."""

from __future__ import annotations

import io
import os
import struct
import sys
import threading
import time
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin, features

from colorizer import decode, preflight
from colorizer.decode import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    apply_orientation,
    decode_image,
    read_image,
)
from colorizer.errors import ColorizerError, ImageDecodeError, ImageTooComplexError, ImageTooLargeError
from colorizer.limits import MAX_JPEG_FILL_BYTES, MAX_JPEG_SCANS, check_finite, max_file_bytes
from testkit.hostile_corpus import encode, exif_bytes, jpeg_declaring, png_declaring
from testkit.hostile_files import (
    amplified_exif,
    amplified_tiff,
    avif_declaring,
    bigtiff_far_offset,
    flat_png,
    garbage_avif,
    garbage_heic,
    grey_tiff_entries,
    jpeg_with_fill,
    lying_chunk_png,
    lying_chunk_webp,
    many_blocks_gif,
    many_chunks_png,
    progressive_jpeg,
    rle8_bmp,
    tiff_file,
    tiff_huge_tile,
    tiff_many_strips,
    tiff_one_row_strips,
    tiff_text_strip_offsets,
    webp_canvas,
)

ORIENTATION = 0x0112
EXIF_ORIENTATION_TAG = ORIENTATION

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
    image[: height // 2, width // 2 :] = (40, 200, 40)
    image[height // 2 :, : width // 2] = (40, 40, 200)
    image[height // 2 :, width // 2 :] = (120, 120, 30)
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
    np.testing.assert_array_equal(displayed, DISPLAYED[orientation](as_stored), err_msg=f"orientation {orientation}")
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
    with pytest.raises(ImageDecodeError, match=r"^x\.tif: 32-bit floating-point TIFF samples are not supported"):
        decode_image(data, name="x.tif")


def test_cmyk_jpeg_colours():
    # Pillow writes CMYK JPEGs as Adobe (inverted) CMYK, as Photoshop does.
    inks = {
        (0, 255, 255, 0): (255, 0, 0),
        (255, 0, 255, 0): (0, 255, 0),
        (255, 255, 0, 0): (0, 0, 255),
        (0, 0, 0, 0): (255, 255, 255),
        (0, 0, 0, 255): (0, 0, 0),
    }
    image = Image.new("CMYK", (16 * len(inks), 16))
    for index, ink in enumerate(inks):
        image.paste(ink, (16 * index, 0, 16 * index + 16, 16))
    data = encode(image, "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.mode == "CMYK" and reopened.info.get("adobe")

    result = decode_image(data)

    assert result.shape == (16, 16 * len(inks), 3) and result.dtype == np.uint8
    for index, expected in enumerate(inks.values()):
        centre = result[4:12, 16 * index + 4 : 16 * index + 12].reshape(-1, 3).mean(axis=0)
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
    data = encode(Image.fromarray(first), "WEBP", lossless=True, save_all=True, append_images=[Image.fromarray(second)])
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
        with pytest.raises(ImageDecodeError, match=r"^photo\.heic: HEIC images need the pillow-heif package$"):
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
    with pytest.raises(
        ImageTooLargeError,
        match=r"^big\.png: 10000x6000 is 60,000,000 pixels, more than "
        r"the limit of 50,000,000$",
    ):
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
    data[idat + 20 : idat + 60] = bytes(40)
    with pytest.raises(ImageDecodeError, match=r"^x: corrupt image data: "):
        decode_image(bytes(data), name="x")


@pytest.mark.parametrize(
    "text",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b'\xef\xbb\xbf  <?xml version="1.0"?>\n<!-- drawn -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<SVG/>',
    ],
)
def test_svg_refused_by_name(text):
    with pytest.raises(
        ImageDecodeError,
        match=r"^logo\.svg: SVG vector images are not supported; "
        r"export it as PNG or JPEG$",
    ):
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


# --- side limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "side"), [(70_000, 10, "70,000 pixels wide"), (10, 70_000, "70,000 pixels tall")]
)
def test_side_limit_refused_before_decoding_naming_the_limit(width, height, side):
    with pytest.raises(
        ImageTooLargeError,
        match=rf"^strip\.png: {width}x{height} is {side}, more than the limit "
        rf"of 65,500 pixels a side$",
    ):
        decode_image(png_declaring(width, height), name="strip.png")


def test_max_side_respected():
    data = encode(Image.fromarray(noise((5, 101))), "PNG")
    with pytest.raises(ImageTooLargeError, match=r"101 pixels wide, more than the limit of 100 pixels a side"):
        decode_image(data, max_side=100)
    assert decode_image(data, max_side=101).shape == (5, 101)


def test_default_side_limit_fits_the_output_formats():
    """The reason for DEFAULT_MAX_SIDE: an image that long still encodes as PNG and JPEG (OpenCV and
    Pillow alike); JPEG cannot go one pixel further."""
    line = np.zeros((1, DEFAULT_MAX_SIDE), np.uint8)
    assert cv2.imencode(".png", line)[0] and cv2.imencode(".jpg", line)[0]
    assert encode(Image.fromarray(line), "JPEG").startswith(b"\xff\xd8")
    with pytest.raises(OSError):
        encode(Image.new("L", (DEFAULT_MAX_SIDE + 1, 1)), "JPEG")


def test_at_the_side_limit_decoded():
    data = flat_png(DEFAULT_MAX_SIDE, 3)
    result = decode_image(data)
    assert result.shape == (3, DEFAULT_MAX_SIDE) and (result == 0x80).all()


# --- files ------------------------------------------------------------------------------------


def run_with_timeout(function, seconds: float = 10.0):
    """function() in a daemon thread; fails the test (instead of hanging it) if it blocks."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_fifo_refused_without_hanging(tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageDecodeError, match=r"^photo\.png: not an image file but a named pipe \(FIFO\)$"):
        run_with_timeout(lambda: read_image(fifo))


def test_symlink_to_a_fifo_refused_and_to_a_file_followed(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link.png").symlink_to(tmp_path / "pipe")
    with pytest.raises(ImageDecodeError, match=r"^link\.png: not an image file but a named pipe"):
        run_with_timeout(lambda: read_image(tmp_path / "link.png"))
    original = noise((4, 6, 3))
    (tmp_path / "real.png").write_bytes(encode(Image.fromarray(original), "PNG"))
    (tmp_path / "alias.png").symlink_to(tmp_path / "real.png")
    np.testing.assert_array_equal(read_image(tmp_path / "alias.png"), original)


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_devices_refused(path, kind):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(ImageDecodeError, match=rf"^{os.path.basename(path)}: not an image file but {kind}$"):
        run_with_timeout(lambda: read_image(path))


def test_folder_refused(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    with pytest.raises(ImageDecodeError, match=r"^album\.jpg: not an image file but a folder$"):
        read_image(tmp_path / "album.jpg")


def test_huge_sparse_file_refused_by_size_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    with open(path, "wb") as stream:
        stream.write(png_declaring(8, 8))
        stream.truncate(30 << 30)  # 30 GiB, sparse
    monkeypatch.setattr(os, "read", lambda *args: pytest.fail("read a file refused by its size"))
    with pytest.raises(ImageTooLargeError, match=r"^huge\.png: the file is 30 GiB, more than the limit of 445\.5 MiB$"):
        read_image(path)
    # the one rule: 8 bytes a pixel (16-bit RGBA, uncompressed) at the pixel limit, and 64 MiB of metadata
    assert DEFAULT_MAX_FILE_BYTES == max_file_bytes(DEFAULT_MAX_PIXELS) == 8 * 50_000_000 + 64 * 2**20
    with pytest.raises(ImageTooLargeError, match=r"the limit of 826\.9 MiB$"):  # 8 x 100 MP + 64 MiB
        read_image(path, max_pixels=100_000_000)


def test_max_bytes_respected(tmp_path):
    path = tmp_path / "small.png"
    path.write_bytes(encode(Image.fromarray(noise((6, 6, 3))), "PNG"))
    size = path.stat().st_size
    with pytest.raises(ImageTooLargeError, match=rf"the file is {size} bytes, more than the limit of {size - 1} bytes"):
        read_image(path, max_bytes=size - 1)
    assert read_image(path, max_bytes=size).shape == (6, 6, 3)


def test_a_file_growing_while_read_is_cut_at_the_limit(tmp_path, monkeypatch):
    from colorizer import input_file

    path = tmp_path / "growing.png"
    path.write_bytes(bytes(5000))
    monkeypatch.setattr(input_file, "check_file_status", lambda *args: None)  # as if stat saw it small
    with pytest.raises(ImageTooLargeError, match=r"^growing\.png: .*grew while being read"):
        input_file.read_input_file(path, max_bytes=4096)


def test_unreadable_file_named_not_its_folder(tmp_path, monkeypatch):
    path = tmp_path / "secret" / "photo.jpg"
    path.parent.mkdir()
    path.write_bytes(encode(Image.new("L", (4, 4)), "JPEG"))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ImageDecodeError, match=r"^photo\.jpg: cannot read the file: Permission denied$") as refused:
        read_image(path)
    assert str(tmp_path) not in str(refused.value)


def test_messages_name_the_file_never_its_folder(tmp_path):
    path = tmp_path / "uploads" / "big.png"
    path.parent.mkdir()
    path.write_bytes(png_declaring(70_000, 10))
    with pytest.raises(ImageTooLargeError) as refused:
        read_image(path)
    assert str(refused.value).startswith("big.png: ") and str(path.parent) not in str(refused.value)


# --- structure checks before decoding -----------------------------------------------------------


def test_png_chunk_claiming_more_than_the_file_refused_before_opencv(monkeypatch):
    data = lying_chunk_png()
    assert len(data) == 57
    monkeypatch.setattr(cv2, "imdecode", lambda *args: pytest.fail("OpenCV saw a chunk longer than the file"))
    with pytest.raises(
        ImageDecodeError,
        match=r"^x\.png: the file is truncated .*PNG chunk 'IDAT' at byte 33 "
        r"declares 4,294,967,280 bytes, the file has 12 left$",
    ):
        decode_image(data, name="x.png")


def test_png_chunk_count_limit(monkeypatch):
    monkeypatch.setattr(preflight, "MAX_CHUNKS", 10)
    at_limit = many_chunks_png(7)  # IHDR + 7 + IDAT + IEND = 10 chunks
    np.testing.assert_array_equal(decode_image(at_limit), np.tile(np.arange(8, dtype=np.uint8), (8, 1)))
    with pytest.raises(ImageTooComplexError, match=r"^x: 11 PNG chunks, more than the limit of 10$"):
        decode_image(many_chunks_png(8), name="x")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG", "TIFF"])
def test_exif_tags_sharing_one_block_refused(fmt):
    """Pillow copies each tag's data: tags all pointing at one block would copy it once per tag."""
    if fmt == "TIFF":
        data = amplified_tiff(300, 20_000)
    else:
        exif = amplified_exif(300, 20_000)
        data = encode(Image.fromarray(noise((8, 8, 3))), fmt, exif=b"Exif\x00\x00" + exif if fmt == "JPEG" else exif)
    what = "TIFF" if fmt == "TIFF" else "EXIF"
    with pytest.raises(ImageTooComplexError, match=rf"^x: {what} tags claim 6,000,000 bytes of data in a "):
        decode_image(data, name="x")


def test_exif_whose_tags_do_not_overlap_is_read():
    """The same structure with one tag per block passes, and its orientation is applied."""
    exif = bytearray(amplified_exif(1, 20_000))
    # Add the orientation: IFD0 gets a second entry (tag 274, SHORT, 1 value: 6), tags sorted.
    entries = struct.pack("<HHIHH", EXIF_ORIENTATION_TAG, 3, 1, 6, 0) + bytes(exif[10:22])
    data_at = 8 + 2 + 24 + 4
    entries = entries[:12] + struct.pack("<HHII", 0xC000, 7, 20_000, data_at)
    exif = b"II*\x00" + struct.pack("<IH", 8, 2) + entries + bytes(4) + bytes(20_000)
    original = noise((6, 10, 3))
    data = encode(Image.fromarray(original), "PNG", exif=exif)
    np.testing.assert_array_equal(decode_image(data), np.rot90(original, -1))


def test_raw_profile_exif_in_png_text_checked_too():
    exif = amplified_exif(300, 20_000)
    text = "\nexif\n" + f"{len(exif)}\n" + exif.hex()
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", text)
    data = encode(Image.fromarray(noise((8, 8, 3))), "PNG", pnginfo=info)
    with pytest.raises(ImageTooComplexError, match=r"EXIF tags claim 6,000,000 bytes"):
        decode_image(data, name="x")


def test_mpf_block_checked_before_pillow_parses_it():
    mpf = b"MPF\x00" + amplified_exif(300, 20_000)[:40_000]  # an APP2 segment holds < 64 KB
    mpf = b"MPF\x00" + amplified_exif(200, 30_000)
    jpeg = encode(Image.fromarray(noise((8, 8, 3))), "JPEG")
    segment = b"\xff\xe2" + struct.pack(">H", len(mpf) + 2) + mpf
    with pytest.raises(ImageTooComplexError, match=r"EXIF tags claim 6,000,000 bytes"):
        decode_image(jpeg[:2] + segment + jpeg[2:], name="x")


def test_progressive_jpeg_scan_limit():
    at_limit = progressive_jpeg(64, 48, MAX_JPEG_SCANS - 1)  # + the DC scan = MAX_JPEG_SCANS
    result = decode_image(at_limit)
    assert result.shape == (48, 64) and abs(int(result.mean()) - 128) <= 1
    with pytest.raises(
        ImageTooComplexError,
        match=rf"^x: {MAX_JPEG_SCANS + 1} scans in a progressive JPEG, "
        rf"more than the limit of {MAX_JPEG_SCANS}$",
    ):
        decode_image(progressive_jpeg(64, 48, MAX_JPEG_SCANS), name="x")


def test_scans_counted_through_junk_and_marker_lookalikes():
    """A fake EOI inside a comment, or junk between segments, cannot hide the scans after it."""
    data = progressive_jpeg(64, 48, MAX_JPEG_SCANS)
    fake_end = b"\xff\xfe" + struct.pack(">H", 6) + b"\xff\xd9\xff\xd9"  # a COM segment holding EOI bytes
    for hidden in (data[:2] + fake_end + data[2:], data[:2] + b"junk" + data[2:]):
        with pytest.raises(ImageTooComplexError, match=r"scans in a progressive JPEG"):
            decode_image(hidden, name="x")


def test_ordinary_jpegs_pass_the_scan_count():
    for progressive in (False, True):
        data = encode(Image.fromarray(noise((40, 56, 3))), "JPEG", quality=90, progressive=progressive)
        assert decode_image(data).shape == (40, 56, 3)


def test_jpeg_segment_limit(monkeypatch):
    monkeypatch.setattr(preflight, "MAX_JPEG_SEGMENTS", 20)
    jpeg = encode(Image.fromarray(noise((8, 8, 3))), "JPEG")
    comments = (b"\xff\xfe" + struct.pack(">H", 3) + b"c") * 20
    with pytest.raises(ImageTooComplexError, match=r"^x: 21 JPEG marker segments, more than the limit of 20$"):
        decode_image(jpeg[:2] + comments + jpeg[2:], name="x")


def test_jpeg_fill_byte_limit():
    assert (decode_image(jpeg_with_fill(MAX_JPEG_FILL_BYTES)) == 128).all()
    with pytest.raises(
        ImageTooComplexError,
        match=rf"^x: {MAX_JPEG_FILL_BYTES + 1:,} bytes of padding or junk "
        rf"between JPEG markers, more than the limit of ",
    ):
        decode_image(jpeg_with_fill(MAX_JPEG_FILL_BYTES + 1), name="x")


def test_gif_block_limit(monkeypatch):
    monkeypatch.setattr(preflight, "MAX_GIF_BLOCKS", 10)
    assert (decode_image(many_blocks_gif(8)) == 128).all()  # 8 blocks + the terminator
    with pytest.raises(ImageTooComplexError, match=r"^x: 11 GIF extension blocks before the first image"):
        decode_image(many_blocks_gif(10), name="x")


def test_webp_canvas_checked_before_opening(monkeypatch):
    data = webp_canvas(16_384, 16_384)
    monkeypatch.setattr(decode.Image, "open", lambda *args, **kwargs: pytest.fail("opened before the size check"))
    with pytest.raises(ImageTooLargeError, match=r"^x: 16384x16384 is 268,435,456 pixels, more than the limit"):
        decode_image(data, name="x")


def test_webp_frame_limit_and_lying_chunk(monkeypatch):
    monkeypatch.setattr(preflight, "MAX_WEBP_FRAMES", 1)
    with pytest.raises(ImageTooComplexError, match=r"^x: 2 frames in an animated WebP, more than the limit of 1$"):
        decode_image(webp_canvas(16, 16), name="x")
    with pytest.raises(ImageDecodeError, match=r"^y: the file is truncated .*WebP chunk 'VP8L' at byte 12 declares"):
        decode_image(lying_chunk_webp(), name="y")


@pytest.mark.parametrize(("size", "max_pixels", "max_side"), [((120, 80), 9_599, 1000), ((120, 80), 10**6, 119)])
def test_simple_webp_size_checked_before_opening(monkeypatch, size, max_pixels, max_side):
    for params in ({"lossless": True}, {"quality": 80}):
        data = encode(Image.new("RGB", size, (10, 200, 30)), "WEBP", **params)
        monkeypatch.setattr(decode.Image, "open", lambda *args, **kwargs: pytest.fail("opened before the check"))
        with pytest.raises(ImageTooLargeError, match=r"^x: 120x80 is "):
            decode_image(data, name="x", max_pixels=max_pixels, max_side=max_side)
        monkeypatch.undo()


def test_tiff_offset_past_2_63_refused():
    with pytest.raises(
        ImageDecodeError, match=r"^x: corrupt TIFF data: tag 270 points at byte 9,223,372,036,854,775,813$"
    ):
        decode_image(bigtiff_far_offset(), name="x")


@pytest.mark.parametrize("kind", [2, 5, 7, 11])
def test_tiff_geometry_as_text_or_fractions_refused(kind):
    data = bytearray(tiff_text_strip_offsets())
    entry = data.index(struct.pack("<HH", 273, 2))
    struct.pack_into("<H", data, entry + 2, kind)
    with pytest.raises(ImageDecodeError, match=rf"^x: corrupt TIFF: tag 273 holds values of type {kind}, not whole"):
        decode_image(bytes(data), name="x")


@pytest.mark.parametrize(("kind", "value"), [(2, b"8\x00"), (5, struct.pack("<II", 8, 1)), (11, struct.pack("<f", 8))])
def test_tiff_bits_per_sample_of_another_type_decoded_or_refused(kind, value):
    """Text is refused; a fraction or float equal to 8 Pillow takes as 8. Nothing else escapes."""
    entries = [entry for entry in grey_tiff_entries(16, 16, 8) if entry[0] != 258]
    entries.append((258, kind, 2 if kind == 2 else 1, value))
    try:
        result = decode_image(tiff_file(entries, bytes(range(256))), name="x")
    except ImageDecodeError as refusal:
        assert kind == 2 and str(refusal).startswith("x: ")
    else:
        np.testing.assert_array_equal(result, np.arange(256, dtype=np.uint8).reshape(16, 16))


def test_tiff_strip_table_longer_than_the_image_refused():
    with pytest.raises(
        ImageTooComplexError, match=r"^x: the TIFF lists 1,000 pieces \(tag 273\) for an image made of 10$"
    ):
        decode_image(tiff_many_strips(1000), name="x")


def test_tiff_tile_larger_than_the_image_refused():
    with pytest.raises(ImageTooComplexError, match=r"^x: TIFF tiles of 65536x65536 pixels for a 16x16 image$"):
        decode_image(tiff_huge_tile(), name="x")


def test_tiff_value_limit(monkeypatch):
    monkeypatch.setattr(preflight, "MAX_TIFF_VALUES", 100)
    assert decode_image(tiff_one_row_strips(4, 60)).shape == (60, 4)  # strip tables (120 values) aside
    entries = [entry for entry in grey_tiff_entries(16, 16, 8) if entry[0] != 282]
    fractions = [(282, 5, 95, bytes(8 * 95))]  # XResolution: 95 fractions + 7 one-value tags = 102
    with pytest.raises(ImageTooComplexError, match=r"^x: 102 numeric values in TIFF tags, more than the limit of 100$"):
        decode_image(tiff_file(entries + fractions, bytes(256)), name="x")


def test_tiff_with_one_row_per_strip_decoded_exactly():
    result = decode_image(tiff_one_row_strips(40, 300))
    np.testing.assert_array_equal(result, np.tile(np.arange(40, dtype=np.uint8), (300, 1)))


# --- errors from the decoders -------------------------------------------------------------------


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_garbage_avif_is_a_decode_error():
    with pytest.raises(ImageDecodeError, match=r"^x\.avif: corrupt image data: "):
        decode_image(garbage_avif(64, 48), name="x.avif")


def test_garbage_heic_is_a_decode_error():
    pytest.importorskip("pillow_heif")
    with pytest.raises(ImageDecodeError, match=r"^x\.heic: corrupt image data: "):
        decode_image(garbage_heic(64, 48), name="x.heic")


@pytest.mark.parametrize("fault", [TypeError, OverflowError, IndexError, KeyError, ZeroDivisionError, RuntimeError])
def test_decoder_faults_translated_at_the_call_site(monkeypatch, caplog, fault):
    def broken_open(*args, **kwargs):
        raise fault("deep inside a parser")

    monkeypatch.setattr(decode.Image, "open", broken_open)
    with pytest.raises(ImageDecodeError, match=r"^x: corrupt image data"):
        decode_image(encode(Image.new("L", (4, 4)), "PNG"), name="x")
    if fault is not RuntimeError:
        assert fault.__name__ in caplog.text  # logged with its type, for whoever reads the server's log


def test_our_own_bugs_are_not_translated(monkeypatch):
    def buggy(pixels, orientation):
        raise TypeError("a bug in the colorizer")

    monkeypatch.setattr(decode, "apply_orientation", buggy)
    with pytest.raises(TypeError, match="a bug in the colorizer"):
        decode_image(encode(Image.new("L", (4, 4)), "PNG"))


def test_memory_errors_are_not_translated(monkeypatch):
    """Running out of memory is the machine's state, not the file's: it is not reported as a bad file."""

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(decode.Image, "open", exhausted)
    with pytest.raises(MemoryError):
        decode_image(encode(Image.new("L", (4, 4)), "PNG"))


# --- check_finite -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_finite_refuses_nan_and_inf(dtype, bad):
    image = np.full((7, 9, 3), 0.5, dtype)
    image[3, 4, 1] = bad
    image[6, 8, 2] = bad
    with pytest.raises(ColorizerError, match=r"^photo: 2 of 189 values are NaN or infinite; "):
        check_finite(image, "photo")


def test_check_finite_large_and_non_contiguous():
    image = np.zeros((2000, 1500, 3), np.float32)
    image[-1, -1, -1] = np.nan  # the last value of the last block
    with pytest.raises(ColorizerError, match=r"1 of 9,000,000 values"):
        check_finite(image)
    view = image[::-1, 1::2]  # a strided view: the NaN is now in its first row
    with pytest.raises(ColorizerError, match=r"1 of 4,500,000 values"):
        check_finite(view)
    assert image[-1, -1, -1] != image[-1, -1, -1]  # the input is not modified


def test_check_finite_accepts_finite_and_integer_images():
    check_finite(np.linspace(0, 1, 60, dtype=np.float32).reshape(4, 5, 3))
    check_finite(np.full((4, 5), 255, np.uint8))
    check_finite(np.full((4, 5), 65535, np.uint16))
    check_finite(np.float32(0.5))
    with pytest.raises(ColorizerError):
        check_finite(np.float32(np.nan))


# --- AVIF frame size ------------------------------------------------------------------------------


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_avif_frame_size_checked_not_its_size_box(monkeypatch):
    """libavif decodes the AV1 frame at the size its sequence header declares, whatever 'ispe' says."""
    data = avif_declaring(128, 96, (32, 24))
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (32, 24)  # what the container claims
    monkeypatch.setattr(decode.Image, "open", lambda *args, **kwargs: pytest.fail("opened before the check"))
    with pytest.raises(ImageTooLargeError, match=r"^x\.avif: 128x96 is 12,288 pixels, more than the limit of 5,000$"):
        decode_image(data, name="x.avif", max_pixels=5_000)


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
@pytest.mark.parametrize("animated", [False, True])
def test_avif_within_the_limits_decoded(animated):
    first, second = Image.new("RGB", (40, 30), (200, 30, 30)), Image.new("RGB", (40, 30), (30, 30, 200))
    options = {"save_all": True, "append_images": [second]} if animated else {}
    data = encode(first, "AVIF", quality=90, **options)
    assert preflight._first_samples(data) if animated else not preflight._first_samples(data)
    with pytest.raises(ImageTooLargeError, match=r"40x30 is 1,200 pixels"):
        decode_image(data, max_pixels=1_199)
    result = decode_image(data, max_pixels=1_200)
    assert result.shape == (30, 40, 3) and abs(int(result[..., 0].mean()) - 200) < 10


def test_run_length_encoded_bmp_pixel_limit(monkeypatch):
    monkeypatch.setattr(preflight, "MAX_RLE_BMP_PIXELS", 6 * 4)
    result = decode_image(rle8_bmp(6, 4, 4))  # rows of one-pixel runs: levels 0x20, 0xe0, ...
    np.testing.assert_array_equal(result, np.tile(np.array([0x20, 0xE0] * 3, np.uint8), (4, 1)))
    with pytest.raises(
        ImageTooComplexError,
        match=r"^x: 28 pixels in a run-length-encoded BMP, more than the "
        r"limit of 24$",
    ):
        decode_image(rle8_bmp(7, 4, 4), name="x")
    assert decode_image(encode(Image.fromarray(noise((5, 7))), "BMP")).shape == (5, 7)  # not RLE: no limit
