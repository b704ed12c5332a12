"""Colorize black-and-white photos with the ECCV16 model (Zhang, Isola, Efros) on onnxruntime.

from colorizer import Colorizer, colorize_video, read_image
rgb = Colorizer().colorize(read_image("old.jpg"))   # uint8 HxWx3, same size as the input
colorize_video(Colorizer(), "clip.mp4", "clip_color.mp4")   # H.264, sound kept, colour steadied
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
from colorizer.pipeline import colorize_video

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
    "colorize_video",
    "decode_image",
    "default_model_path",
    "read_image",
]
