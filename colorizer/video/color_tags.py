"""A film's colour tags (primaries, transfer, matrix and range), read from the input and written to
the output, so that players show the colorized film's greys as they showed the input's.

Reading. FFmpeg's decoder gives every frame the tags its stream carries (the H.264 or HEVC VUI, an
MP4 'colr' box, Matroska's Colour element; the JPEG-style formats, yuvj420p ..., are full range), and
swscale turns each frame into RGB with its own matrix and range (``container.frame_pixels``). What a
stream leaves unsaid, FFmpeg assumes: the BT.601 matrix, and limited range (full for yuvj formats).

Writing. The output says what the input says: its primaries and transfer as tags (the pixels are
not converted between primaries or curves: the network sees the input's own RGB, and its colour is
given back in it), its matrix and range as tags and in the encoding (RGB -> YUV with that matrix,
black at 16 or at 0). What the input leaves unsaid (an RGB or grey input says no matrix or range),
or says in a form H.264 cannot hold (EBU 3213 primaries ...), is written as BT.709 limited range,
what every film was written as before, and tagged so: the output always says what it holds. A
matrix swscale cannot turn into RGB (YCgCo, ICtCp ...) is refused before any work
(``check_readable``). docs/color.md, "Films".
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import av
from av.video.reformatter import ColorRange, Colorspace

from colorizer.errors import VideoError

BT709 = 1  # AVCOL_PRI_BT709 = AVCOL_TRC_BT709 = AVCOL_SPC_BT709
UNSPECIFIED = 2  # AVCOL_*_UNSPECIFIED
LIMITED, FULL = ColorRange.MPEG.value, ColorRange.JPEG.value
_RANGE_NAMES = {LIMITED: "limited", FULL: "full"}
# The values libx264 writes into the VUI (H.264 Table E-3 .. E-5, as FFmpeg numbers them): BT.709,
# BT.470M, BT.470BG, SMPTE 170M, SMPTE 240M, film, BT.2020, SMPTE 428, 431, 432 ...
WRITABLE_PRIMARIES = frozenset({1, *range(4, 13)})
WRITABLE_TRANSFERS = frozenset({1, *range(4, 19)})  # ... BT.709 .. ARIB STD-B67 (HLG)
# The matrices swscale encodes RGB with (AVColorSpace -> SWS_CS_*): BT.709, FCC, BT.470BG and SMPTE
# 170M (both BT.601), SMPTE 240M, BT.2020 non-constant luminance.
_SWS_MATRICES = {
    1: Colorspace.ITU709,
    4: Colorspace.FCC,
    5: Colorspace.ITU601,
    6: Colorspace.SMPTE170M,
    7: Colorspace.SMPTE240M,
    9: Colorspace.BT2020,
}

# AVColorSpace values swscale cannot read, by name, for messages.
_OTHER_MATRICES = {
    3: "reserved",
    8: "YCgCo",
    10: "BT.2020 constant luminance",
    11: "SMPTE 2085",
    12: "chromaticity-derived",
    13: "chromaticity-derived constant luminance",
    14: "ICtCp",
}


@dataclass(frozen=True)
class ColorTags:
    """FFmpeg's colour tags of a film: primaries (AVColorPrimaries), transfer (AVColorTransferCharacteristic),
    matrix (AVColorSpace) and range (AVColorRange: 0 unspecified, 1 limited, 2 full)."""

    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    matrix: int = UNSPECIFIED
    range: int = 0

    def __str__(self) -> str:
        return (
            f"primaries {self.primaries}, transfer {self.transfer}, matrix {self.matrix}, "
            f"{_RANGE_NAMES.get(self.range, 'unspecified')} range"
        )

    @property
    def sws_matrix(self) -> Colorspace:
        """The matrix as swscale names it (for tags ``written`` returned: always one it has)."""
        return _SWS_MATRICES[self.matrix]


def read_tags(frame: av.VideoFrame) -> ColorTags:
    """The tags of a decoded frame, as its decoder gave them; a matrix and a range only for YUV
    frames (an RGB or grey frame, a PNG's, has neither: its film is written as before, BT.709
    limited range)."""
    if not any(component.is_chroma for component in frame.format.components):
        return ColorTags(frame.color_primaries, frame.color_trc)
    return ColorTags(frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range)


def check_readable(tags: ColorTags, name: str) -> None:
    """VideoError for a matrix swscale cannot turn into RGB (YCgCo, BT.2020 constant luminance, ICtCp ...),
    before any work: it would fail the first frame with FFmpeg's bare "Operation not supported"."""
    if tags.matrix not in _SWS_MATRICES and tags.matrix not in _UNSAID["matrix"]:
        raise VideoError(
            f"{name}: its colour matrix ({_OTHER_MATRICES.get(tags.matrix, tags.matrix)}) is not one this colorizer "
            "reads (BT.601, BT.709, BT.2020, SMPTE 240M, FCC)"
        )


def written(tags: ColorTags) -> tuple[ColorTags, str | None]:
    """The tags the output is written with: the input's ``tags`` where they say something H.264 and
    swscale can write, BT.709 limited range for the rest; and a note naming the tags the input says
    that are not kept (None when all are)."""
    kept = ColorTags(
        tags.primaries if tags.primaries in WRITABLE_PRIMARIES else BT709,
        tags.transfer if tags.transfer in WRITABLE_TRANSFERS else BT709,
        tags.matrix if tags.matrix in _SWS_MATRICES else BT709,
        tags.range if tags.range in (LIMITED, FULL) else LIMITED,
    )
    lost = [
        field
        for field, said, kept_value in zip(_FIELDS, astuple(tags), astuple(kept))
        if said != kept_value and said not in _UNSAID[field]
    ]
    if not lost:
        return kept, None
    return kept, f"its colour {' and '.join(lost)} ({tags}) cannot be written in H.264; BT.709's written instead"


_FIELDS = ("primaries", "transfer", "matrix", "range")
# Values that say nothing: unspecified, and the reserved 0 (for the matrix 0 is RGB, a statement).
_UNSAID = {"primaries": (0, UNSPECIFIED), "transfer": (0, UNSPECIFIED), "matrix": (UNSPECIFIED,), "range": (0,)}
