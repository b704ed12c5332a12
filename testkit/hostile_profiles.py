"""Hostile and awkward ICC profiles, and photos that carry them, all made here (nothing downloaded):
crafted from the project's own Display P3 profile (colorizer.icc_profiles) or LittleCMS's built-in
Lab profile, then damaged.

    from testkit.hostile_profiles import PROFILES, carrying
    for name, build in PROFILES.items():
        data = carrying("PNG", build())        # the corpus scene as a PNG with that profile embedded

Each profile must give a warning and sRGB assumed when a photo carries it (the photo's pixels as if
untagged), at a cost bounded like any other file's (testkit.hostile_files lists the photos with
their bounds); a file that is itself broken (an iCCP chunk that inflates to gigabytes, a profile of
60 MB over JPEG APP2 segments) is refused with a clear message instead. ``PROFILE_FILES`` lists the
photos: name, container, the profile's builder, and what reading must say.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms

from colorizer import icc_profiles
from colorizer.encode import png_chunk
from testkit.hostile_corpus import encode, scene

P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
SIZE = (64, 48)  # width, height of the photos carrying the profiles
HUGE_PROFILE_BYTES = 60 << 20
_HEADER = 128


def display_p3() -> bytes:
    """A valid v2 matrix/TRC profile (1,024-entry curves): the base the damaged ones start from."""
    return icc_profiles.rgb_profile(P3, icc_profiles.D65, icc_profiles.srgb_curve, "Display P3 (hostile base)", 1024)


def tags(profile: bytes) -> dict[bytes, tuple[int, int, int]]:
    """signature -> (entry position in the tag table, data offset, data size) of a profile."""
    count = struct.unpack_from(">I", profile, _HEADER)[0]
    entries = (struct.unpack_from(">4sII", profile, _HEADER + 4 + 12 * index) for index in range(count))
    return {
        signature: (_HEADER + 4 + 12 * index, offset, size) for index, (signature, offset, size) in enumerate(entries)
    }


def retagged(profile: bytes, signature: bytes, offset: int, size: int) -> bytes:
    """``profile`` with the tag table's entry for ``signature`` pointing at ``offset``, ``size``."""
    entry = tags(profile)[signature][0]
    return profile[: entry + 4] + struct.pack(">II", offset, size) + profile[entry + 12 :]


def truncated() -> bytes:
    """A profile cut inside its tag data (its header still says its full size)."""
    profile = display_p3()
    return profile[: len(profile) // 3]


def tag_count_2_31() -> bytes:
    """A tag table that claims 2^31 entries."""
    profile = display_p3()
    return profile[:_HEADER] + struct.pack(">I", 1 << 31) + profile[_HEADER + 4 :]


def offsets_past_end() -> bytes:
    """The colorants and a curve at offsets far past the profile's end."""
    profile = display_p3()
    for signature in (b"rXYZ", b"gTRC"):
        profile = retagged(profile, signature, 0xFFFF_FF00, 20)
    return profile


def overlapping_tags() -> bytes:
    """Every tag's data is the same 1 KB inside the tag table and the curve (sizes overlapping, and
    the colorants read from the middle of a curve)."""
    profile = display_p3()
    for signature in tags(profile):
        profile = retagged(profile, signature, _HEADER + 4, len(profile) - _HEADER - 4)
    return profile


def curve_2_31_entries() -> bytes:
    """A 'curv' tag that declares 2^31 entries (4 GB) in its 2 KB."""
    profile = display_p3()
    _, offset, _ = tags(profile)[b"rTRC"]
    return profile[: offset + 8] + struct.pack(">I", 1 << 31) + profile[offset + 12 :]


def cmyk_header() -> bytes:
    """A press (CMYK to Lab) profile header, no tags: its colour space does not fit an RGB photo."""
    header = bytearray(display_p3()[:_HEADER])
    header[12:24] = b"prtrCMYKLab "
    header[0:4] = struct.pack(">I", _HEADER + 4)
    return bytes(header) + struct.pack(">I", 0)


def lab() -> bytes:
    """LittleCMS's own Lab identity profile (v4): a Lab profile on an RGB photo."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def v4_odd_tags() -> bytes:
    """The base profile marked v4.4, its curves parametric of an undefined function type (9), plus
    tags of unknown types."""
    profile = bytearray(display_p3())
    profile[8:12] = struct.pack(">I", 0x0440_0000)
    _, offset, size = tags(bytes(profile))[b"rTRC"]
    profile[offset : offset + 12] = b"para\0\0\0\0" + struct.pack(">HH", 9, 0)
    return bytes(profile)


PROFILES: dict[str, Callable[[], bytes]] = {
    "truncated": truncated,
    "tag_count_2_31": tag_count_2_31,
    "offsets_past_end": offsets_past_end,
    "overlapping_tags": overlapping_tags,
    "curve_2_31_entries": curve_2_31_entries,
    "cmyk_on_rgb": cmyk_header,
    "lab": lab,
    "v4_odd_tags": v4_odd_tags,
}


# --- photos carrying them -----------------------------------------------------------------------------


def photo(sixteen_bits: bool = False) -> np.ndarray:
    """The corpus scene at SIZE as RGB: uint8, or uint16 with every bit used."""
    grey = np.repeat(scene(*SIZE)[..., None], 3, axis=2)
    return grey.astype(np.uint16) * 257 + 3 if sixteen_bits else grey


def carrying(container: str, profile: bytes, *, sixteen_bits: bool = False) -> bytes:
    """The scene (RGB) as ``container`` ("PNG", "JPEG", "TIFF", "WEBP") with ``profile`` embedded;
    16-bit PNG and TIFF with ``sixteen_bits``."""
    if not sixteen_bits:
        options: dict[str, dict] = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}
        return encode(Image.fromarray(photo()), container, icc_profile=profile, **options.get(container, {}))
    pixels = photo(sixteen_bits=True)
    if container == "TIFF":
        import tifffile

        stream = io.BytesIO()
        tifffile.imwrite(stream, pixels, photometric="rgb", iccprofile=profile)
        return stream.getvalue()
    return with_iccp(cv2.imencode(".png", pixels[..., ::-1])[1].tobytes(), zlib.compress(profile))


def with_iccp(png: bytes, compressed: bytes) -> bytes:
    """A PNG with an iCCP chunk holding ``compressed`` (zlib) right after its IHDR."""
    return png[:33] + png_chunk(b"iCCP", b"icc\0\0" + compressed) + png[33:]


def iccp_bomb() -> bytes:
    """An 8-bit PNG whose iCCP chunk inflates to 1 GiB (1 MB of zlib; 2 s to make)."""
    compressor = zlib.compressobj(9)
    piece = bytes(64 << 20)
    compressed = b"".join(compressor.compress(piece) for _ in range(16)) + compressor.flush()
    return with_iccp(encode(Image.fromarray(photo()), "PNG"), compressed)


def jpeg_app2_segments(profile_bytes: int, *, sequence: Callable[[int], int], count: Callable[[int], int]) -> bytes:
    """A JPEG whose ICC profile of ``profile_bytes`` bytes is split over APP2 segments of 65,519
    bytes, the n-th numbered ``sequence(n)`` of ``count(segments)``."""
    jpeg = encode(Image.fromarray(photo()), "JPEG", quality=90)
    chunk = 65_519
    segments = -(-profile_bytes // chunk)
    body = b"".join(
        b"\xff\xe2"
        + struct.pack(">H", 2 + 14 + min(chunk, profile_bytes - index * chunk))
        + b"ICC_PROFILE\0"
        + bytes([sequence(index) & 0xFF, count(segments) & 0xFF])
        + bytes(min(chunk, profile_bytes - index * chunk))
        for index in range(segments)
    )
    return jpeg[:2] + body + jpeg[2:]


@dataclass(frozen=True)
class ProfileFile:
    """A photo carrying a hostile profile: ``build()`` its bytes. Read, it is either decoded as if
    untagged (SIZE, RGB, 8 or 16 bits) with a warning containing ``warning``, or, where ``refusal``
    is set, refused with an ImageTooComplexError whose message matches it after the file's name."""

    name: str
    build: Callable[[], bytes]
    what: str
    warning: str = "sRGB assumed"
    refusal: str | None = None
    sixteen_bits: bool = False
    uploadable: bool = True  # False: larger than the app takes (appkit.config.MAX_FILE_BYTES)
    profile: str = ""  # the key in PROFILES of the profile it carries ("": one made for it)

    @property
    def shape(self) -> tuple[int, int, int]:
        return SIZE[1], SIZE[0], 3

    def write(self, path: Path) -> Path:
        """Write the file, its runs of zeros as holes (the 60 MB profile is zeros: 4 MB on disk)."""
        write_sparse(path, self.build())
        return path


def write_sparse(path: Path, data: bytes, block: int = 4096) -> None:
    """``data`` to ``path``, each all-zero ``block`` left as a hole (read back as zeros)."""
    zeros = bytes(block)
    with open(path, "wb") as stream:
        for start in range(0, len(data), block):
            piece = data[start : start + block]
            if piece == zeros[: len(piece)]:
                stream.seek(len(piece), io.SEEK_CUR)
            else:
                stream.write(piece)
        stream.truncate(len(data))


def _embedded(name: str, container: str, profile: str, *, sixteen_bits: bool = False) -> ProfileFile:
    build = PROFILES[profile]
    depth = "16-bit " if sixteen_bits else ""
    summary = " ".join((build.__doc__ or profile).split()).split(". ")[0].rstrip(".")  # its first sentence
    return ProfileFile(
        name,
        lambda: carrying(container, build(), sixteen_bits=sixteen_bits),
        f"{depth}{container} carrying a profile: {summary}",
        sixteen_bits=sixteen_bits,
        profile=profile,
    )


PROFILE_FILES = [
    _embedded("icc_truncated.jpg", "JPEG", "truncated"),
    _embedded("icc_tag_count.png", "PNG", "tag_count_2_31"),
    _embedded("icc_offsets_past_end.tif", "TIFF", "offsets_past_end"),
    _embedded("icc_offsets_past_end_16bit.png", "PNG", "offsets_past_end", sixteen_bits=True),
    _embedded("icc_overlapping_tags.webp", "WEBP", "overlapping_tags"),
    _embedded("icc_overlapping_tags_16bit.tif", "TIFF", "overlapping_tags", sixteen_bits=True),
    _embedded("icc_curve_2_31.png", "PNG", "curve_2_31_entries"),
    _embedded("icc_curve_2_31_16bit.tif", "TIFF", "curve_2_31_entries", sixteen_bits=True),
    _embedded("icc_cmyk_on_rgb.png", "PNG", "cmyk_on_rgb"),
    _embedded("icc_lab.webp", "WEBP", "lab"),
    _embedded("icc_v4_odd_tags.jpg", "JPEG", "v4_odd_tags"),
    _embedded("icc_v4_odd_tags_16bit.png", "PNG", "v4_odd_tags", sixteen_bits=True),
    ProfileFile(
        "icc_app2_wrong_sequence.jpg",
        lambda: jpeg_app2_segments(HUGE_PROFILE_BYTES, sequence=lambda index: 7, count=lambda segments: segments),
        "JPEG with a 60 MB profile over 961 APP2 segments, all numbered 7",
        refusal=r"[\d,]+ bytes of ICC profile in JPEG APP2 segments, more than the limit of 4,194,304$",
        uploadable=False,
    ),
    ProfileFile(
        "icc_app2_wrong_count.jpg",
        lambda: jpeg_app2_segments(200_000, sequence=lambda index: index + 1, count=lambda segments: segments + 2),
        "JPEG whose 200 KB profile's 4 APP2 segments each say there are 6",
        warning="APP2 segments are misnumbered; sRGB assumed",
    ),
    ProfileFile(
        "icc_iccp_bomb.png",
        iccp_bomb,
        "PNG whose iCCP chunk inflates to 1 GiB (1 MB of zlib)",
        refusal=r"its ICC profile \(PNG iCCP chunk\) inflates to more than 1,048,576 bytes$",
    ),
]


# --- a large 16-bit scan with a profile -------------------------------------------------------------

PROPHOTO = ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001))
D50_WHITE = (0.3457, 0.3585)


def prophoto() -> bytes:
    """A ProPhoto (ROMM) matrix/TRC profile, gamma 1.8: the float path's case."""
    return icc_profiles.rgb_profile(PROPHOTO, D50_WHITE, icc_profiles.gamma_curve(1.8), "ProPhoto (colorizer test)")


def large_tiff16(path: Path, width: int, height: int, profile: bytes | None, tile: int = 256) -> Path:
    """A 16-bit RGB TIFF of width x height (tiled, deflate with a predictor: 50 MP take ~7 MB and
    ~2 s to write, one tile in memory at a time): red ramps across, green down, blue a fine pattern
    of both, every level a different colour; ``profile`` embedded when given."""
    import tifffile

    def tiles():
        x = np.arange(tile)
        for top in range(0, height, tile):
            y = (top + np.arange(tile))[:, None]
            for left in range(0, width, tile):
                pixels = np.empty((tile, tile, 3), np.uint16)
                pixels[..., 0] = (left + x) * 65535 // width
                pixels[..., 1] = np.minimum(y * 65535 // height, 65535)
                pixels[..., 2] = (left + x + 3 * y) * 7 % 65536
                yield pixels

    with open(path, "wb") as stream:
        tifffile.imwrite(
            stream,
            tiles(),
            shape=(height, width, 3),
            dtype=np.uint16,
            tile=(tile, tile),
            photometric="rgb",
            compression="zlib",
            compressionargs={"level": 1},
            predictor=2,
            iccprofile=profile,
        )
    return path
