"""Exceptions raised by the converter. Each message is one line a user can act on."""

from __future__ import annotations


class ConversionError(Exception):
    """Base class: anything that stops a Caffe net from becoming a faithful ONNX model."""


class CaffeParseError(ConversionError):
    """A prototxt or caffemodel that cannot be parsed (syntax error, truncated, not protobuf)."""


class UnsupportedLayerError(ConversionError):
    """The net uses layer types (or layer options) that the converter does not implement."""


class BlobError(ConversionError):
    """A layer's weights are missing from the caffemodel or have the wrong shape."""


class HullError(ConversionError):
    """The ab bin centres file (pts_in_hull.npy) is unreadable or not of shape (313, 2)."""


class DownloadError(ConversionError):
    """No source could deliver a file that matches its pinned size and SHA-256."""
