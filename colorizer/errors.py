"""Exceptions raised by the colorizer library. Each message is one line a user can act on."""

from __future__ import annotations

import struct

# What Pillow raises for bad data (its documented errors), and what its pure-Python parsers raise on
# fields no check anticipates (a TIFF field of an unexpected type -> TypeError, ...). Caught only
# around calls into Pillow (colorizer.decode, colorizer.metadata), never around our own code.
PILLOW_DATA_ERRORS: tuple[type[Exception], ...] = (OSError, SyntaxError, ValueError, EOFError, struct.error)
PILLOW_PARSER_FAULTS: tuple[type[Exception], ...] = (TypeError, OverflowError, IndexError, KeyError, ZeroDivisionError)


class ColorizerError(Exception):
    """Base class for everything the colorizer refuses or cannot do."""


class ImageDecodeError(ColorizerError):
    """The bytes are not an image we can read: empty, truncated, corrupt or an unsupported format."""


class ImageTooLargeError(ImageDecodeError):
    """The image declares more pixels, or a longer side, than the configured limits (decompression-bomb
    guard), or the file is larger than the file-size limit."""


class ImageTooComplexError(ImageDecodeError):
    """The file is built to cost far more to decode than its pixels warrant: more progressive-JPEG
    scans, PNG chunks, TIFF tags or EXIF copies than the limits in colorizer.limits allow."""


class ModelError(ColorizerError):
    """The ONNX model is missing, unreadable or does not follow the colorizer's contract."""


class HintError(ColorizerError):
    """Colour hints that cannot be used: not JSON, a bad entry (position outside the photo, colour not
    ``#rrggbb``, size out of range), too many, or hints for a model that takes none."""


class ProviderError(ColorizerError):
    """An execution provider (device) was asked for that this onnxruntime build does not offer."""


class VideoError(ColorizerError):
    """The file is not a video we can colorize (no video stream, a still image, corrupt or truncated),
    or the colorized film could not be written."""


class VideoTooLargeError(VideoError):
    """The video is longer, or its frames larger, than the configured limit."""


class ImageEncodeError(ColorizerError):
    """The result cannot be written in the chosen format: too large for it, or its encoder failed."""


class OutputFolderError(ColorizerError):
    """The output folder cannot take files (read-only, full, no permission): every later file would
    fail the same way, so a batch stops on it (``batch.Context.stops``: a subfolder it may not write
    to fails only its own files). folder: the folder refused; errno: why (``errno`` codes)."""

    def __init__(self, message: str, folder: str | None = None, errno: int | None = None):
        super().__init__(message)
        self.folder, self.errno = folder, errno


class Interrupted(Exception):
    """The work was asked to stop (Ctrl-C, SIGTERM, SIGHUP) before this file's output was written."""
