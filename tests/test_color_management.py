"""Colour management on input (colorizer.color_management): for every kind of embedded profile, in
every container, the colorized output's lightness is LittleCMS's conversion of the input to sRGB,
and far from what the pixels would give with the profile ignored. Files are made here, with real
profiles (Debian's icc-profiles-free and libgs-common) or profiles written for the test."""

from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from colorizer import Colorizer, icc_matrix, icc_profiles
from colorizer.decode import decode_image
from colorizer.encode import png_chunk
from colorizer.pipeline import colorize_photo
from colorizer.settings import Settings
from testkit.fixtures import photo
from testkit.requirements import ICC_FOLDER, ICC_PROFILES, requires

pytestmark = requires(ICC_PROFILES)

SIZE = (96, 72)  # width, height
MEAN_L_TOLERANCE = 1.0  # output L* against LittleCMS's, mean over the photo
IGNORED_MARGIN = 1.2  # the profile ignored must be this far off (mean L*): it would fail the tolerance
P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))


def real(name: str) -> bytes:
    return (ICC_FOLDER / name).read_bytes()


def grey_pixels() -> np.ndarray:
    return photo(*SIZE)


def tinted_pixels() -> np.ndarray:
    """A sepia-toned RGB photo: colour in every channel, mostly neutral."""
    rgb = cv2.cvtColor(grey_pixels(), cv2.COLOR_GRAY2RGB).astype(np.float32)
    return np.clip(rgb * np.array([1.05, 0.95, 0.8], np.float32), 0, 255).astype(np.uint8)


def colourful_pixels() -> np.ndarray:
    """A saturated RGB photo: hue across the width, the photo's grey (raised to 128..255) as value."""
    grey = grey_pixels()
    hue = np.broadcast_to(np.linspace(0, 179, grey.shape[1], dtype=np.float32), grey.shape).astype(np.uint8)
    hsv = np.dstack([hue, np.full_like(grey, 255), 128 + grey // 2])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def cmyk_image() -> Image.Image:
    grey = 255 - grey_pixels()
    return Image.fromarray(np.dstack([grey // 3, grey // 4, grey // 3, grey // 2]).astype(np.uint8), "CMYK")


def saved(image: Image.Image, format: str, **options) -> bytes:
    stream = io.BytesIO()
    image.save(stream, format, **options)
    return stream.getvalue()


def png_with_gamma(image: Image.Image, gamma: float) -> bytes:
    """A PNG with a gAMA chunk (Pillow writes none) right after IHDR."""
    data = saved(image, "PNG")
    return data[:33] + png_chunk(b"gAMA", round(gamma * 100_000).to_bytes(4, "big")) + data[33:]


def expected_lightness(image: Image.Image, profile: bytes) -> np.ndarray:
    """LittleCMS's conversion of ``image`` with ``profile`` to sRGB (perceptual), as L* (OpenCV)."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    if source.profile.xcolor_space.strip() == "GRAY":  # WebP stores grey as RGB
        image = image.convert("L")
    rgb = ImageCms.profileToProfile(
        image, source, ImageCms.createProfile("sRGB"), outputMode="RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
    )
    return lab_lightness(np.asarray(rgb))


def lab_lightness(pixels: np.ndarray) -> np.ndarray:
    unit = pixels.astype(np.float32) / (65535 if pixels.dtype == np.uint16 else 255)
    if unit.ndim == 2:
        unit = cv2.cvtColor(unit, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(unit[..., :3], cv2.COLOR_RGB2Lab)[..., 0]


def cie_lightness(luminance: np.ndarray) -> np.ndarray:
    """CIE L* of relative luminance Y 0..1."""
    return np.where(luminance <= 216 / 24389, luminance * 24389 / 27, 116 * np.cbrt(luminance) - 16)


def decoded_ignoring_profile(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L" if image.mode in ("L", "I;16") else "RGB"))


GAMMA_18_GREY = icc_profiles.gray_profile(icc_profiles.gamma_curve(1.8), "Gamma 1.8 grey (test)")
DISPLAY_P3 = icc_profiles.rgb_profile(P3, icc_profiles.D65, icc_profiles.srgb_curve, "Display P3 (test)")

# (id, the image in its own colours, its profile (a file under ICC_FOLDER, or bytes), format, save options)
CASES = [
    ("linear-grey-png", lambda: Image.fromarray(grey_pixels()), "Gray.icc", "PNG", {}),
    ("lstar-grey-tiff", lambda: Image.fromarray(grey_pixels()), "Gray-CIE_L.icc", "TIFF", {}),
    ("gamma18-grey-jpeg", lambda: Image.fromarray(grey_pixels()), GAMMA_18_GREY, "JPEG", {"quality": 100}),
    ("v4-grey-jpeg", lambda: Image.fromarray(grey_pixels()), "ghostscript/ps_gray.icc", "JPEG", {"quality": 100}),
    ("linear-grey-webp", lambda: Image.fromarray(grey_pixels()).convert("RGB"), "Gray.icc", "WEBP", {"lossless": True}),
    ("prophoto-tiff", lambda: Image.fromarray(tinted_pixels()), "ghostscript/rommrgb.icc", "TIFF", {}),
    ("adobe-rgb-webp", lambda: Image.fromarray(colourful_pixels()), "ghostscript/a98.icc", "WEBP", {"lossless": True}),
    ("display-p3-png", lambda: Image.fromarray(colourful_pixels()), DISPLAY_P3, "PNG", {}),
    ("swop-cmyk-jpeg-split-app2", cmyk_image, "ghostscript/default_cmyk.icc", "JPEG", {"quality": 100}),
    ("v4-cmyk-tiff", cmyk_image, "ghostscript/ps_cmyk.icc", "TIFF", {}),
    ("adobe-rgb-avif", lambda: Image.fromarray(colourful_pixels()), "ghostscript/a98.icc", "AVIF", {"quality": 100}),
    ("prophoto-heif", lambda: Image.fromarray(tinted_pixels()), "ghostscript/rommrgb.icc", "HEIF", {"quality": -1}),
]


@pytest.fixture(scope="module", autouse=True)
def heif_plugin():
    """Pillow writes and reads HEIF through pillow-heif's plugin (colorizer.decode registers it too)."""
    pytest.importorskip("pillow_heif").register_heif_opener()


@pytest.fixture(scope="module")
def colorizer(synthetic_model):
    return Colorizer(synthetic_model)


def colorized_lightness(colorizer, data: bytes, tmp_path: Path, name: str) -> tuple[np.ndarray, Path]:
    output = tmp_path / f"{name}_color.png"
    colorize_photo(colorizer, tmp_path / name, output, Settings(), data=data, name=name)
    pixels = cv2.cvtColor(cv2.imread(str(output), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    return lab_lightness(pixels), output


@pytest.mark.parametrize(
    ("image", "profile", "format", "options"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_output_lightness_is_littlecms_conversion_of_the_input(colorizer, tmp_path, image, profile, format, options):
    image = image()
    icc = real(profile) if isinstance(profile, str) else profile
    data = saved(image, format, **({"icc_profile": icc} if icc else {}), **options)
    with Image.open(io.BytesIO(data)) as stored:  # the pixels as stored (lossy formats at their best)
        stored.load()
        expected = expected_lightness(stored, icc)
        ignored = lab_lightness(decoded_ignoring_profile(stored))
    if format == "JPEG" and icc and len(icc) > 65519:
        assert data.count(b"ICC_PROFILE\0") > 1, "the profile should span several APP2 segments"
    assert np.abs(ignored - expected).mean() > IGNORED_MARGIN, "the profile barely matters: a weak test"
    actual, output = colorized_lightness(colorizer, data, tmp_path, f"in.{format.lower()}")
    error = np.abs(actual - expected).mean()
    print(
        f"mean L* off LittleCMS's sRGB: {error:.2f}; with the profile ignored: {np.abs(ignored - expected).mean():.2f}"
    )
    assert error <= MEAN_L_TOLERANCE, f"mean L* {error:.2f} off LittleCMS's sRGB (see {output})"


@pytest.mark.parametrize("bits16", [False, True], ids=["8-bit", "16-bit"])
def test_png_gamma_chunk_is_managed(colorizer, tmp_path, bits16):
    grey = grey_pixels()
    image = Image.fromarray(grey.astype(np.uint16) * 257) if bits16 else Image.fromarray(grey)
    data = png_with_gamma(image, 1.0)  # linear light
    expected = cie_lightness(grey / 255)
    actual, _ = colorized_lightness(colorizer, data, tmp_path, "linear.png")
    assert np.abs(lab_lightness(grey) - expected).mean() > IGNORED_MARGIN
    assert np.abs(actual - expected).mean() <= MEAN_L_TOLERANCE


def test_sixteen_bit_grey_with_a_linear_profile_is_managed_in_sixteen_bits(tmp_path):
    levels = np.tile(np.arange(0, 65536, 16, dtype=np.uint16), (4, 1))
    data = saved(Image.fromarray(levels), "PNG", icc_profile=real("Gray.icc"))
    decoded = decode_image(data)
    assert decoded.dtype == np.uint16 and len(np.unique(decoded)) > 256 * 8
    expected = cie_lightness(levels / 65535)
    actual = cie_lightness(icc_profiles.srgb_curve(decoded / 65535))
    assert np.abs(actual - expected).max() <= 0.1


def test_srgb_tagged_and_untagged_inputs_decode_to_the_same_bytes():
    pixels = tinted_pixels()
    untagged = decode_image(saved(Image.fromarray(pixels), "PNG"))
    for name in ("sRGB.icc", "ghostscript/srgb.icc", "ghostscript/default_rgb.icc"):
        tagged = decode_image(saved(Image.fromarray(pixels), "PNG", icc_profile=real(name)))
        np.testing.assert_array_equal(tagged, untagged, err_msg=name)


@pytest.mark.parametrize(
    "profile",
    [b"garbage" * 10, real("Gray.icc")[:200], b"\0" * 128, real("ghostscript/rommrgb.icc")],
    ids=["garbage", "truncated", "zeros", "rgb-profile-on-grey"],
)
def test_unreadable_or_unfitting_profile_warns_and_assumes_srgb(caplog, profile):
    grey = grey_pixels()
    with caplog.at_level(logging.WARNING, logger="colorizer.color_management"):
        decoded = decode_image(saved(Image.fromarray(grey), "PNG", icc_profile=profile), name="odd.png")
    np.testing.assert_array_equal(decoded, grey)
    assert any("odd.png" in record.getMessage() and "sRGB assumed" in record.getMessage() for record in caplog.records)


# --- 16-bit colour: managed in float from the profile's own tags (colorizer.icc_matrix) ------------

RAMP_WIDTH = 4096  # 4,096 distinct levels per channel: 16 times what 8 bits can hold
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
SRGB_SPEC = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), (0.3127, 0.3290)


def srgb_decoding(unit: np.ndarray) -> np.ndarray:
    return np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)


def with_parametric_curves(primaries, description: str) -> bytes:
    """A matrix/TRC profile whose three TRCs are one 'para' tag of function type 3 with sRGB's
    parameters (as Apple's Display P3 profile has): written with a 10-entry sampled curve (32 bytes
    of tag data), which is then overwritten by the 32-byte parametric one."""
    icc = icc_profiles.rgb_profile(primaries, icc_profiles.D65, srgb_decoding, description, entries=10)
    at = icc.index(b"curv")
    parameters = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    para = b"para\0\0\0\0" + struct.pack(">HH5i", 3, 0, *(round(value * 65536) for value in parameters))
    return icc[:at] + para + icc[at + len(para) :]


P3_PARAMETRIC = with_parametric_curves(P3, "Display P3, parametric (test)")
# The profiles as their specifications define them: primaries, white, the encoding's decoding.
SPECS = {
    "ghostscript/a98.icc": (((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), (0.3127, 0.3290), lambda u: u ** (563 / 256)),
    "ghostscript/rommrgb.icc": (
        ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)),
        (0.3457, 0.3585),
        lambda u: u**1.8,
    ),
    "display-p3-parametric": (P3, (0.3127, 0.3290), srgb_decoding),
}


def profile_bytes(profile: str) -> bytes:
    return P3_PARAMETRIC if profile == "display-p3-parametric" else real(profile)


def ramp16() -> np.ndarray:
    """uint16 HxWx3: rows 0..7 a fine ramp per channel (R up, G down, B up from a third, each scaled
    by the row), rows 8..11 the 256 8-bit levels x 257 (R, G, B differently ordered), repeated."""
    level = np.arange(RAMP_WIDTH, dtype=np.float64) * 16
    rows = []
    for scale in np.linspace(1.0, 0.3, 8):
        rows.append(np.dstack([level * scale, (65535 - level) * scale, (level + 21845) % 65536 * scale])[0])
    eight = np.resize(np.arange(256), RAMP_WIDTH) * 257
    for shift in (0, 85, 170, 43):
        rows.append(np.stack([eight, np.roll(eight, shift), np.roll(eight, 2 * shift + 1)], axis=1))
    return np.rint(np.stack(rows)).astype(np.uint16)


def tiff16(pixels: np.ndarray, icc: bytes) -> bytes:
    import tifffile

    stream = io.BytesIO()
    tifffile.imwrite(stream, pixels, photometric="rgb", iccprofile=icc)
    return stream.getvalue()


def png16(pixels: np.ndarray, icc: bytes) -> bytes:
    """A 16-bit RGB PNG (OpenCV) with an iCCP chunk right after IHDR."""
    data = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))[1].tobytes()
    iccp = png_chunk(b"iCCP", b"profile\0\0" + zlib.compress(icc))
    return data[:33] + iccp + data[33:]


def xyz_of(x: float, y: float) -> np.ndarray:
    """A chromaticity's XYZ at Y = 1."""
    return np.array([x / y, 1.0, (1 - x - y) / y])


def xyz_matrix(primaries, white) -> np.ndarray:
    """Linear RGB -> XYZ whose white is ``white`` (the normalised primary matrix, SMPTE RP 177)."""
    columns = np.array([xyz_of(*primary) for primary in primaries]).T
    return columns * np.linalg.solve(columns, xyz_of(*white))


def float_reference(pixels: np.ndarray, spec) -> np.ndarray:
    """What the specifications say: decode, to XYZ, Bradford to D65, to linear sRGB, clip, the sRGB
    encoding; float64 0..1."""
    primaries, white, decoding = spec
    linear = decoding(pixels / 65535.0)
    cones = (BRADFORD @ xyz_of(*SRGB_SPEC[1])) / (BRADFORD @ xyz_of(*white))
    adapt = np.linalg.inv(BRADFORD) @ np.diag(cones) @ BRADFORD
    to_srgb = np.linalg.inv(xyz_matrix(*SRGB_SPEC)) @ adapt @ xyz_matrix(primaries, white)
    srgb = np.clip(linear @ to_srgb.T, 0, 1)
    return np.where(srgb <= 0.0031308, srgb * 12.92, 1.055 * srgb ** (1 / 2.4) - 0.055)


def littlecms_8bit(pixels8: np.ndarray, icc: bytes) -> np.ndarray:
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    converted = ImageCms.profileToProfile(
        Image.fromarray(pixels8), source, ImageCms.createProfile("sRGB"), renderingIntent=ImageCms.Intent.PERCEPTUAL
    )
    return np.asarray(converted)


@pytest.mark.parametrize("container", ["TIFF", "PNG"])
@pytest.mark.parametrize("profile", list(SPECS), ids=["adobe-rgb", "prophoto", "p3-parametric"])
def test_sixteen_bit_colour_is_managed_in_float(caplog, container, profile):
    icc, pixels = profile_bytes(profile), ramp16()
    data = (tiff16 if container == "TIFF" else png16)(pixels, icc)
    with caplog.at_level(logging.WARNING, logger="colorizer.color_management"):
        decoded = decode_image(data, name="ramp")
    assert decoded.dtype == np.uint16 and decoded.shape == pixels.shape
    assert not caplog.records, [record.getMessage() for record in caplog.records]  # no 8-bit fallback
    fine = decoded[:8]
    for channel in range(3):
        assert len(np.unique(fine[..., channel])) > 256 * 4, f"channel {channel} lost its 16 bits"
    reference = float_reference(pixels.astype(np.float64), SPECS[profile])
    error = np.abs(decoded / 65535.0 - reference)
    print(f"off the specifications' formulas: mean {error.mean() * 255:.3f}, max {error.max() * 255:.3f} 8-bit levels")
    assert error.mean() * 255 <= 0.1 and error.max() * 255 <= 1.0  # the profiles round their numbers
    assert np.abs(pixels / 65535.0 - reference).mean() * 255 > 5, "the profile barely matters: a weak test"
    eight_bit_rows = pixels[8:]  # exactly 8-bit levels: LittleCMS's own 8-bit conversion applies to them
    expected = littlecms_8bit((eight_bit_rows // 257).astype(np.uint8), icc)
    off = np.abs(decoded[8:] / 257.0 - expected)
    assert off.max() <= 1.0, f"{off.max():.2f} 8-bit levels off LittleCMS"


@pytest.mark.parametrize("profile", list(SPECS), ids=["adobe-rgb", "prophoto", "p3-parametric"])
def test_sixteen_bit_colour_output_lightness_is_littlecms_conversion(colorizer, tmp_path, profile):
    icc = profile_bytes(profile)
    pixels = colourful_pixels().astype(np.uint16) * 257 + 100  # between 8-bit levels
    expected = expected_lightness(Image.fromarray(np.rint(pixels / 257).astype(np.uint8)), icc)
    assert np.abs(lab_lightness(pixels) - expected).mean() > IGNORED_MARGIN, "the profile barely matters"
    actual, output = colorized_lightness(colorizer, tiff16(pixels, icc), tmp_path, "in16.tiff")
    error = np.abs(actual - expected).mean()
    assert error <= MEAN_L_TOLERANCE, f"mean L* {error:.2f} off LittleCMS's sRGB (see {output})"


def test_sixteen_bit_colour_the_float_path_does_not_read_goes_through_littlecms_at_eight_bits(caplog):
    """A profile LittleCMS reads but icc_matrix does not (here: curves longer than
    icc_matrix.MAX_CURVE_ENTRIES; a LUT-based profile likewise) keeps the 8-bit path and says so."""
    entries = icc_matrix.MAX_CURVE_ENTRIES * 2
    icc = icc_profiles.rgb_profile(P3, icc_profiles.D65, srgb_decoding, "Display P3, long curves (test)", entries)
    pixels = ramp16()
    with caplog.at_level(logging.WARNING, logger="colorizer.color_management"):
        decoded = decode_image(tiff16(pixels, icc), name="lut.tiff")
    assert any("8-bit LittleCMS" in record.getMessage() for record in caplog.records)
    expected = littlecms_8bit(np.rint(pixels / 257).astype(np.uint8), icc)
    np.testing.assert_array_equal(decoded, expected.astype(np.uint16) * 257)


# --- HEIF nclx: primaries and transfer as numbers (H.273) ---------------------------------------------

BT2020 = ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046))
NCLX = {  # id: (H.273 colour primaries, transfer characteristics, the spec the formulas follow)
    "display-p3": (12, 13, (P3, (0.3127, 0.3290), srgb_decoding)),
    "bt2020-linear": (9, 8, (BT2020, (0.3127, 0.3290), lambda unit: unit)),
}


def avif_with_nclx(image: Image.Image, primaries: int, transfer: int) -> bytes:
    """An AVIF whose nclx box says ``primaries`` and ``transfer``: Pillow's AVIF encoder writes BT.709
    and sRGB's transfer, patched here (they are metadata: the decoded pixels are the same)."""
    data = bytearray(saved(image, "AVIF", quality=100))
    at = data.index(b"colrnclx") + 8
    data[at : at + 4] = struct.pack(">HH", primaries, transfer)
    return bytes(data)


def heif_with_nclx(image: Image.Image, primaries: int, transfer: int) -> bytes:
    options = {"color_primaries": primaries, "transfer_characteristics": transfer, "matrix_coefficients": 1}
    return saved(image, "HEIF", quality=-1, full_range_flag=1, **options)


@pytest.mark.parametrize("container", ["HEIF", "AVIF"])
@pytest.mark.parametrize("case", list(NCLX))
def test_nclx_is_managed(colorizer, tmp_path, case, container):
    """A HEIF or AVIF whose nclx box says Display P3 (sRGB transfer) or BT.2020 primaries with linear
    light: the output's L* is the formulas' (decode, primaries to XYZ, Bradford, sRGB) within 1.0."""
    primaries, transfer, spec = NCLX[case]
    data = (heif_with_nclx if container == "HEIF" else avif_with_nclx)(
        Image.fromarray(colourful_pixels()), primaries, transfer
    )
    with Image.open(io.BytesIO(data)) as stored:
        pixels = np.asarray(stored.convert("RGB"))
    expected = lab_lightness(np.rint(float_reference(pixels * 257.0, spec) * 65535).astype(np.uint16))
    assert np.abs(lab_lightness(pixels) - expected).mean() > IGNORED_MARGIN, "the nclx box barely matters"
    actual, output = colorized_lightness(colorizer, data, tmp_path, f"in.{container.lower()}")
    error = np.abs(actual - expected).mean()
    assert error <= MEAN_L_TOLERANCE, f"mean L* {error:.2f} off the formulas (see {output})"


def test_avif_nclx_with_srgb_or_unspecified_primaries_decodes_as_untagged():
    image = Image.fromarray(colourful_pixels())
    untagged = decode_image(avif_with_nclx(image, 1, 13))
    np.testing.assert_array_equal(decode_image(avif_with_nclx(image, 2, 2)), untagged)
    with Image.open(io.BytesIO(avif_with_nclx(image, 1, 13))) as stored:
        np.testing.assert_array_equal(untagged, np.asarray(stored.convert("RGB")))
