"""Colorize black-and-white photos with the ECCV16 model (Zhang, Isola, Efros) on onnxruntime.

from colorizer import Colorizer, read_image
rgb = Colorizer().colorize(read_image("old.jpg"))   # uint8 HxWx3, same size as the input
"""

from colorizer.colorizer import Colorizer, default_model_path
from colorizer.decode import decode_image, read_image
from colorizer.errors import (
    ColorizerError,
    ImageDecodeError,
    ImageTooComplexError,
    ImageTooLargeError,
    ModelError,
    ProviderError,
    VideoError,
    VideoTooLargeError,
)

__all__ = [
    "Colorizer",
    "ColorizerError",
    "ImageDecodeError",
    "ImageTooComplexError",
    "ImageTooLargeError",
    "ModelError",
    "ProviderError",
    "VideoError",
    "VideoTooLargeError",
    "decode_image",
    "default_model_path",
    "read_image",
]
