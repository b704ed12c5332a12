"""Colour hints for the user-guided model: what a hint is, how hints are parsed and checked, and the
network input they become.

A hint is a point of the input photo, in its pixel coordinates (x to the right, y down, floats
allowed; pixel (i, j) covers [i, i+1) x [j, j+1), so 0 <= x < width and 0 <= y < height), an sRGB
colour ``#rrggbb``, and optionally a size: the side of the hinted square in photo pixels.

The network input follows the release's own code (junyanz/interactive-deep-colorization,
``data/colorize_image.py``, ``ui/gui_draw.py``, ``ui/ui_control.py``, ``data/lab_gamut.py``):

- the network sees the photo resized to an h x w grid (256 x 256 as trained, aspect ratio not kept);
  a point (x, y) falls in the cell (column floor(x * w / W), row floor(y * h / H));
- a hint colours a square of cells around it, (2r + 1) cells a side, r = int(size / 2 * max(h, w) /
  max(W, H)) (the brush half-width in window pixels over the window's scale), clipped at the grid's
  edges; without a size r = 2 (a 5 x 5 square, the release's default brush); r is at most 4 (9 x 9,
  the largest square the network was trained with);
- the colour's lightness is replaced by the photo's own at the hint (the network-input L at the
  hint's cell), the result brought into the sRGB gamut (up to 20 Lab -> RGB -> Lab round trips,
  clipping RGB to 0..1, until they move less than 1 Lab unit) and rounded to 8 bits, as the
  release's colour picker does (``snap_ab``); its a and b fill the square;
- channels: L - 50, a, b (Lab units, 0 outside hints), mask x 110 (1 inside hints, 0 outside);
  a later hint overwrites an earlier one where their squares overlap.

The hint colour's Lab uses the exact CIE formulas (D65), as the release's scikit-image does: near
black one 8-bit step moves a and b by several units, so the approximate OpenCV float Lab used for
photos would round a snapped colour differently. The lightness it is snapped to is the network
input's, as the colorizer computes it.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorizer.errors import HintError
from colorkit.contract import GUIDED_INPUT_SIZE, GUIDED_MASK_VALUE, L_OFFSET

MAX_HINTS = 64
DEFAULT_RADIUS = 2  # cells on each side of the hinted cell when a hint names no size: 5 x 5
MAX_RADIUS = 4  # 9 x 9 cells, the largest hint the network was trained with
SNAP_ROUNDS, SNAP_TOLERANCE = 20, 1.0  # lab_gamut.snap_ab's T and its stopping distance (Lab units)
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_KEYS = ("x", "y", "color", "size")


@dataclass(frozen=True)
class Hint:
    """A colour at a point of the photo: x, y in its pixel coordinates (x right, y down), ``color``
    as ``#rrggbb`` (sRGB), ``size`` the side of the hinted square in photo pixels (None: the
    release's default, 5 x 5 cells of the 256 x 256 network input)."""

    x: float
    y: float
    color: str
    size: float | None = None

    def rgb(self) -> tuple[int, int, int]:
        """The colour as 8-bit (r, g, b)."""
        return int(self.color[1:3], 16), int(self.color[3:5], 16), int(self.color[5:7], 16)


MAX_HINTS_FILE_BYTES = 1 << 20  # a hints file (JSON) larger than this is refused unread


def read_hints_file(path: Path | str) -> object:
    """The JSON a hints file holds (checked later against its photo, ``parse_hints``); HintError
    naming the file when it cannot be read, is larger than MAX_HINTS_FILE_BYTES or is not JSON."""
    name = Path(path).name
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_HINTS_FILE_BYTES + 1)
    except OSError as error:
        raise HintError(f"{name}: cannot read the hints: {error.strerror or error}") from None
    if len(data) > MAX_HINTS_FILE_BYTES:
        raise HintError(f"{name}: a hints file of more than {MAX_HINTS_FILE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")  # the byte-order mark Windows editors write is not the JSON's
    except UnicodeDecodeError as error:
        raise HintError(f"{name}: the hints are not UTF-8 text ({error.reason} at byte {error.start})") from None
    return _json(text, f"{name}: the hints")


def hints_record(hints: Sequence[Hint]) -> list[dict]:
    """Hints as an output records them (provenance, ``--resume``): plain JSON, x and y as floats,
    the colour in lower case, ``size`` only where given."""
    return [
        {"x": hint.x, "y": hint.y, "color": hint.color, **({"size": hint.size} if hint.size else {})} for hint in hints
    ]


def max_hint_size(width: float, height: float) -> float:
    """The largest ``size`` (photo pixels) that is still a square the network was trained with
    (9 x 9 cells of the 256-cell input grid): 10 * max(width, height) / 256, exclusive."""
    return (2 * MAX_RADIUS + 2) * max(width, height) / GUIDED_INPUT_SIZE


def parse_hints(value: object, width: float, height: float) -> list[Hint]:
    """Hints from JSON text (``[{"x": 560, "y": 120, "color": "#2f6fd6"}, ...]``), a list of such
    dicts, or a list of ``Hint``, checked against a ``width`` x ``height`` photo (``math.inf`` for
    both: their form alone, before the photo is known).

    Raises HintError with one line naming the bad entry (``hints[2]``) and what is wrong: not JSON,
    not a list, more than MAX_HINTS, an unknown or missing key, x or y not a finite number inside
    the photo, a colour not ``#rrggbb``, a size not in (0, max_hint_size(width, height)).
    """
    if isinstance(value, str):
        value = _json(value, "hints")
    if not isinstance(value, list | tuple):
        raise HintError(f"hints must be a list of {{x, y, color}} objects, not {type(value).__name__}")
    if len(value) > MAX_HINTS:
        raise HintError(f"{len(value)} hints; at most {MAX_HINTS}")
    return [_parse_one(entry, index, width, height) for index, entry in enumerate(value)]


def _json(text: str, what: str) -> object:
    """The JSON value ``text`` holds; HintError starting with ``what`` where it is not JSON, nests
    deeper than Python's recursion limit, or holds an integer of more than 4,300 digits."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise HintError(f"{what} are not JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    except RecursionError:
        raise HintError(f"{what} nest too deep to be a list of hints") from None
    except ValueError:  # an integer past Python's digit limit (sys.get_int_max_str_digits)
        raise HintError(f"{what} hold a number of more than {sys.get_int_max_str_digits():,} digits") from None


def _parse_one(entry: object, index: int, width: float, height: float) -> Hint:
    where = f"hints[{index}]"
    if isinstance(entry, Hint):
        entry = {"x": entry.x, "y": entry.y, "color": entry.color, "size": entry.size}
    if not isinstance(entry, dict):
        raise HintError(f"{where}: expected an object {{x, y, color}}, got {type(entry).__name__}")
    unknown = [key for key in entry if key not in _KEYS]
    if unknown:
        raise HintError(f"{where}: unknown key {unknown[0]!r} (a hint has x, y, color and optionally size)")
    missing = [key for key in _KEYS[:3] if key not in entry]
    if missing:
        raise HintError(f"{where}: missing {', '.join(missing)}")
    x = _number(entry["x"], f"{where}: x")
    y = _number(entry["y"], f"{where}: y")
    if not (0 <= x < width and 0 <= y < height):
        if not math.isfinite(width):  # the photo is not known yet: only a negative place is wrong
            raise HintError(f"{where}: ({x:g}, {y:g}): x and y are pixels from the photo's top left, 0 or more")
        raise HintError(
            f"{where}: ({x:g}, {y:g}) is outside the {width}x{height} photo (0 <= x < {width}, 0 <= y < {height})"
        )
    color = entry["color"]
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise HintError(f"{where}: color {color!r} is not #rrggbb")
    size = entry.get("size")
    if size is not None:
        size = _number(size, f"{where}: size")
        largest = max_hint_size(width, height)
        if not 0 < size < largest:
            raise HintError(
                f"{where}: size {size:g} is outside 0..{largest:.4g} pixels for a {width}x{height} photo "
                f"(the network was trained with squares of up to {2 * MAX_RADIUS + 1}x{2 * MAX_RADIUS + 1} of its 256 cells)"
            )
    return Hint(x, y, color.lower(), size)


def _number(value: object, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer past float's range (its repr may be too long to write)
            raise HintError(f"{what} must be a finite number, got an integer past float's range") from None
        if math.isfinite(number):
            return number
    raise HintError(f"{what} must be a finite number, got {value!r}")


def hint_cell(hint: Hint, width: int, height: int, grid: tuple[int, int]) -> tuple[int, int]:
    """The (row, column) of the grid cell (``grid`` = (h, w) cells) that photo point (x, y) falls in."""
    rows, columns = grid
    return min(int(hint.y * rows / height), rows - 1), min(int(hint.x * columns / width), columns - 1)


def hint_radius(hint: Hint, width: int, height: int, grid: tuple[int, int]) -> int:
    """Cells on each side of the hinted cell: int(size / 2 cells), DEFAULT_RADIUS without a size,
    at most MAX_RADIUS."""
    if hint.size is None:
        return DEFAULT_RADIUS
    return min(MAX_RADIUS, int(hint.size / 2 * max(grid) / max(width, height)))


def snapped_ab(rgb: tuple[int, int, int], lightness: float) -> tuple[float, float]:
    """The (a, b) of an 8-bit sRGB colour moved to ``lightness`` (0..100) and into the sRGB gamut:
    the release's ``snap_ab``, then its 8-bit rounding, then Lab again."""
    _, a, b = _lab(np.array(rgb, np.float64) / 255)
    _, a, b = _lab(np.array(snapped_rgb(lightness, a, b), np.float64) / 255)
    return float(a), float(b)


def snapped_rgb(lightness: float, a: float, b: float) -> tuple[int, int, int]:
    """The 8-bit sRGB colour of CIE Lab (``lightness``, a, b) brought into the sRGB gamut at that
    lightness as the release's ``snap_ab`` does (up to SNAP_ROUNDS round trips Lab -> RGB clipped
    to 0..1 -> Lab, the lightness put back each time, until one moves less than SNAP_TOLERANCE),
    rounded to 8 bits."""
    lab = np.array([lightness, a, b], np.float64)
    for _ in range(SNAP_ROUNDS):
        lab[0] = lightness
        moved = _lab(np.clip(_rgb(lab), 0.0, 1.0))
        done = np.abs(moved - lab).sum() < SNAP_TOLERANCE
        lab = moved
        if done:
            break
    red, green, blue = (int(value) for value in np.round(np.clip(_rgb(lab), 0.0, 1.0) * 255))
    return red, green, blue


def hint_planes(hints: Sequence[Hint], width: int, height: int, lightness: np.ndarray) -> np.ndarray:
    """The hint channels for a ``width`` x ``height`` photo whose network-input lightness is
    ``lightness`` (float32 h x w, L in 0..100, typically 256 x 256): float32 3 x h x w, channel 0
    and 1 the hint a and b (Lab units, 0 outside hints), channel 2 the mask (1 inside hints, 0
    outside). Hints are drawn in order, a later one over an earlier one. ``lightness`` is not changed."""
    grid = lightness.shape[:2]
    planes = np.zeros((3, *grid), np.float32)
    for hint in hints:
        row, column = hint_cell(hint, width, height, grid)
        radius = hint_radius(hint, width, height, grid)
        a, b = snapped_ab(hint.rgb(), float(lightness[row, column]))
        rows = slice(max(row - radius, 0), row + radius + 1)
        columns = slice(max(column - radius, 0), column + radius + 1)
        planes[:, rows, columns] = np.array([a, b, 1.0], np.float32)[:, None, None]
    return planes


def guided_feed(
    lightness: np.ndarray,
    hints: Sequence[Hint],
    width: int,
    height: int,
    *,
    l_offset: float = L_OFFSET,
    mask_value: float = GUIDED_MASK_VALUE,
) -> np.ndarray:
    """The user-guided network's whole input for a ``width`` x ``height`` photo: float32 1 x 4 x h x w
    = (L - l_offset, hint a, hint b, hint mask x mask_value), from ``lightness`` (float32 h x w, L in
    0..100, the photo's L resized to the network's input size) and ``hints`` (none: automatic
    colorization by the same network). ``l_offset`` and ``mask_value`` come from the model's
    contract (``ModelContract.l_offset``, ``.hint_mask_value``)."""
    planes = hint_planes(hints, width, height, lightness)
    feed = np.empty((1, 4, *lightness.shape[:2]), np.float32)
    feed[0, 0] = lightness - np.float32(l_offset)
    feed[0, 1:3] = planes[:2]
    feed[0, 3] = planes[2] * np.float32(mask_value)
    return feed


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (3,) in 0..1 -> float64 CIE Lab (3,), D65: the exact formulas, as scikit-image's rgb2lab."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = _XYZ_FROM_RGB @ linear / _D65
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), _KAPPA * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab (3,) -> float64 sRGB (3,), D65, clipped to 0..1: scikit-image's lab2rgb."""
    fy = (lab[0] + 16) / 116
    f = np.array([fy + lab[1] / 500, fy, max(fy - lab[2] / 200, 0.0)])  # negative Z clipped to 0, as skimage
    xyz = np.where(f > 0.2068966, f**3, (f - 16 / 116) / _KAPPA) * _D65
    linear = _RGB_FROM_XYZ @ xyz
    rgb = np.where(linear > 0.0031308, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055, linear * 12.92)
    return np.clip(rgb, 0.0, 1.0)


# sRGB (IEC 61966-2-1) primaries and the CIE D65 2-degree white, as the release's scikit-image used them.
_XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)
_D65 = np.array([0.95047, 1.0, 1.08883])
_EPSILON, _KAPPA = 0.008856, 7.787
