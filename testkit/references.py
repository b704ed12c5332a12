"""References written from the definitions, sharing no code with the colorizer or the converter.

The colorizer computes Lab with OpenCV and the converter builds the ab decoding from the hull with
its own expression; a test that takes its expected values from those computes the bug into the
expectation. These are written out from the standards and the paper instead, in float64 NumPy:

- ``cie_lightness`` / ``cie_lab``: IEC 61966-2-1 sRGB decoding, the sRGB D65 matrix, CIE 1976 L*a*b*.
- ``bilinear_resize``: bilinear interpolation on pixel centres (no anti-aliasing), the network input.
- ``annealed_mean_ab``: Zhang et al., ECCV 2016, eq. 5: the annealed mean of the 313-bin
  distribution, and the release's temperature (its Scale layer's 2.606 stands for T = 0.38).

OpenCV's float Lab is an approximation: its L differs from CIE L* by up to 0.19 for uint8 input
(a saw-tooth, mean -0.09) and 0.25 for 16-bit or float input; tests allow ``OPENCV_L_ERROR``.
"""

from __future__ import annotations

import numpy as np

# sRGB (linear) -> CIE XYZ, D65 white (IEC 61966-2-1); row 1 is Y, the luminance.
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
D65_WHITE = SRGB_TO_XYZ.sum(axis=1)  # XYZ of RGB = (1, 1, 1): Xn 0.95047, Yn 1, Zn 1.08883
OPENCV_L_ERROR = 0.25  # the most OpenCV's float L differs from CIE L* (measured over uint8, uint16, float)

# The release: conv8_313_rh multiplies the class logits by 2.606 before the softmax, which the
# paper's annealing at T = 0.38 stands for; the model's temperature input t scales that by 0.38 / t.
RELEASE_SCALE = 2.606
RELEASE_TEMPERATURE = 0.38


def unit_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 (/255), uint16 (/65535) or float (clipped to 0..1) -> float64 in 0..1."""
    if pixels.dtype == np.uint8:
        return pixels / 255.0
    if pixels.dtype == np.uint16:
        return pixels / 65535.0
    return np.clip(pixels.astype(np.float64), 0.0, 1.0)


def srgb_to_linear(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in 0..1 -> linear light (IEC 61966-2-1)."""
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)


def _cie_f(t: np.ndarray) -> np.ndarray:
    """CIE 1976's f: cube root above (6/29)^3, the linear segment below."""
    delta = 6 / 29
    return np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4 / 29)


def cie_lightness(pixels: np.ndarray) -> np.ndarray:
    """HxW grey or HxWx3 RGB (uint8, uint16 or float 0..1, sRGB) -> float64 HxW CIE L* in 0..100.

    Grey is R = G = B. L* = 116 f(Y) - 16 with Y the second row of SRGB_TO_XYZ (Yn = 1)."""
    linear = srgb_to_linear(unit_float(pixels))
    luminance = linear if linear.ndim == 2 else linear @ SRGB_TO_XYZ[1]
    return 116 * _cie_f(luminance) - 16


def cie_lab(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 sRGB (uint8, uint16 or float 0..1) -> float64 HxWx3 CIE L*a*b* (D65)."""
    xyz = srgb_to_linear(unit_float(rgb)) @ SRGB_TO_XYZ.T / D65_WHITE
    fx, fy, fz = (_cie_f(xyz[..., axis]) for axis in range(3))
    return np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=-1)


def chroma(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 sRGB -> float64 HxW CIE chroma sqrt(a*^2 + b*^2) (0 for greys)."""
    lab = cie_lab(rgb)
    return np.hypot(lab[..., 1], lab[..., 2])


def _taps(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output index: the two input indices and the weight of the second, sampling at pixel
    centres ((i + 0.5) * in/out - 0.5), clamped to the edge pixels."""
    position = np.clip((np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5, 0, in_size - 1)
    first = np.floor(position).astype(np.intp)
    return first, np.minimum(first + 1, in_size - 1), position - first


def bilinear_resize(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """HxW -> float64 height x width, bilinear on pixel centres, no anti-aliasing."""
    top, bottom, row_weight = _taps(height, plane.shape[0])
    left, right, column_weight = _taps(width, plane.shape[1])
    plane = plane.astype(np.float64)
    rows = plane[top] * (1 - row_weight)[:, None] + plane[bottom] * row_weight[:, None]
    return rows[:, left] * (1 - column_weight) + rows[:, right] * column_weight


def release_annealing(temperature: float | None = None) -> float:
    """The paper's T that the release model applies for its temperature input (None: its default)."""
    temperature = RELEASE_TEMPERATURE if temperature is None else temperature
    return (temperature / RELEASE_TEMPERATURE) / RELEASE_SCALE


def annealed_mean_ab(logits: np.ndarray, hull: np.ndarray, annealing: float) -> np.ndarray:
    """The paper's annealed mean, eq. 5: H(Z) = E[f_T(Z)], f_T(z) = exp(log z / T) / sum exp(log z / T).

    logits: 313 x h x w class scores (conv8_313, before any scaling); Z = their softmax over the
    313 bins. hull: (313, 2), row q the bin's (a, b). annealing: T. Returns float64 2 x h x w:
    [0] the expected a (hull[:, 0]), [1] the expected b (hull[:, 1]).
    """
    scores = logits.astype(np.float64)
    log_z = scores - scores.max(axis=0)
    log_z -= np.log(np.exp(log_z).sum(axis=0))  # log of the network's distribution Z
    annealed = np.exp((log_z - log_z.max(axis=0)) / annealing)
    annealed /= annealed.sum(axis=0)
    hull = np.asarray(hull, np.float64)
    expected_a = (annealed * hull[:, 0, None, None]).sum(axis=0)
    expected_b = (annealed * hull[:, 1, None, None]).sum(axis=0)
    return np.stack([expected_a, expected_b])
