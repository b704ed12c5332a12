"""Write the app's example photos: grey JPEGs made from scikit-image's bundled public-domain and CC0
pictures (licences in LICENSES.md, taken from each ``skimage.data`` function's docstring).

    python -m bench.make_examples      # needs scikit-image; rewrites examples/*.jpg

(Kept out of examples/ itself: that folder ships in the package as the int8 calibration photos,
photos only.)

Grey is the Lab lightness the colorizer itself reads, so the example shows exactly what the model
sees. JPEG quality 92, longest side at most 800 px.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import skimage.data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MAX_SIDE = 800
JPEG_QUALITY = 92
# output name -> skimage.data function (the licence of each is in LICENSES.md)
SOURCES = {
    "astronaut.jpg": "astronaut",
    "coffee.jpg": "coffee",
    "chelsea.jpg": "chelsea",
    "rocket.jpg": "rocket",
}


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> uint8 HxW grey: the Lab L channel (0..100) scaled to 0..255."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)  # float input: L in 0..100
    return np.clip(lab[..., 0] * 2.55 + 0.5, 0, 255).astype(np.uint8)


def fit(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Shrink (never enlarge) so that the longest side is at most ``max_side``."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (round(width * scale), round(height * scale))  # cv2 sizes are (width, height)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def main() -> None:
    for name, source in SOURCES.items():
        grey = fit(to_grey(getattr(skimage.data, source)()))
        encoded, data = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not encoded:
            raise RuntimeError(f"JPEG encoding failed for {name}")
        (EXAMPLES / name).write_bytes(data.tobytes())
        print(f"wrote {name}: {grey.shape[1]}x{grey.shape[0]}, {len(data) // 1024} KB")


if __name__ == "__main__":
    main()
