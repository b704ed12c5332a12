"""Colour management on input (colorizer.color_management): for every kind of embedded profile, in
every container, the colorized output's lightness is LittleCMS's conversion of the input to sRGB,
and far from what the pixels would give with the profile ignored. Files are made here, with real
profiles (Debian's icc-profiles-free and libgs-common) or profiles written for the test."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from colorizer import Colorizer, icc_profiles
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
    """A saturated RGB photo: hue across the width, the photo's grey as value."""
    grey = grey_pixels()
    hue = np.broadcast_to(np.linspace(0, 179, grey.shape[1], dtype=np.float32), grey.shape).astype(np.uint8)
    hsv = np.dstack([hue, np.full_like(grey, 255), np.maximum(grey, 40)])
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
]


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
