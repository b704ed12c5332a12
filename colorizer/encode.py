"""Colorized pixels -> an image file, written atomically (a reader never sees half a file)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from colorizer.errors import ColorizerError
from colorkit.files import write_atomically


def encode_png(image: np.ndarray) -> bytes:
    """uint8 HxWx3 RGB or HxWx4 RGBA -> PNG bytes."""
    order = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR  # OpenCV writes BGR(A)
    encoded, data = cv2.imencode(".png", cv2.cvtColor(image, order))
    if not encoded:
        raise ColorizerError("PNG encoding failed")
    return data.tobytes()


def write_png(path: Path, image: np.ndarray) -> None:
    """uint8 HxWx3 RGB or HxWx4 RGBA -> PNG at ``path``, via a temporary file renamed into place."""
    write_atomically(path, encode_png(image))
