"""Reading the three release files: deploy prototxt, caffemodel weights, ab bin centres."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
from google.protobuf import message, text_format

from convert import caffe_schema
from convert.errors import CaffeParseError, HullError

log = logging.getLogger(__name__)

# A layer-level "<kind>_param" this schema does not declare belongs to a layer type the converter
# does not support; such a prototxt is parsed leniently so that the support check can name them all.
_UNDECLARED_LAYER_PARAM = re.compile(r'Message type "caffe\.LayerParameter" has no field named "\w+_param"')


def read_prototxt(path: Path) -> caffe_schema.NetParameter:
    """Parse a text-format Caffe net definition (``#`` comments and single quotes allowed)."""
    text = _read_text(path)
    try:
        return text_format.Parse(text, caffe_schema.NetParameter())
    except text_format.ParseError as strict_error:
        if not _UNDECLARED_LAYER_PARAM.search(str(strict_error)):
            raise CaffeParseError(f"{path}: syntax error at line {strict_error.GetLine()}, "
                                  f"column {strict_error.GetColumn()}: {_reason(strict_error)}") from None
    # Undeclared *_param blocks are skipped here; the converter's support check reports their layers.
    return text_format.Parse(text, caffe_schema.NetParameter(), allow_unknown_field=True)


def read_caffemodel(path: Path) -> dict[str, list[np.ndarray]]:
    """Weights of every layer in a binary caffemodel, by layer name.

    Returns layer name -> list of float32 arrays in the blob's own shape (``BlobShape`` or the legacy
    num/channels/height/width). Layers without blobs (and training-only layers) are included as
    they come; the converter looks up only the layers its deploy net names.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CaffeParseError(f"{path}: cannot read caffemodel: {error.strerror}") from None
    try:
        net = caffe_schema.NetParameter.FromString(data)
    except message.DecodeError:
        raise CaffeParseError(f"{path}: not a Caffe model (truncated or not a protobuf NetParameter, "
                              f"{len(data)} bytes)") from None
    layers = list(net.layer) + list(net.layers)
    if not any(layer.blobs for layer in layers):
        raise CaffeParseError(f"{path}: not a Caffe model (no layer with weights in {len(data)} bytes)")
    weights = {}
    for layer in layers:
        try:
            weights[layer.name] = [blob_to_array(blob) for blob in layer.blobs]
        except ValueError as error:
            raise CaffeParseError(f"{path}: layer {layer.name!r}: {error}") from None
    return weights


def blob_to_array(blob: caffe_schema.BlobProto) -> np.ndarray:
    """A BlobProto as a float32 array of its declared shape (float or double data, packed or not)."""
    if blob.HasField("shape"):
        shape = tuple(blob.shape.dim)
    else:  # legacy 4-D blob
        shape = (blob.num, blob.channels, blob.height, blob.width)
    values = blob.data if len(blob.data) else blob.double_data
    array = np.array(values, dtype=np.float32)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"blob declares shape {shape} but holds {array.size} values")
    return array.reshape(shape)


def read_hull(path: Path) -> np.ndarray:
    """The quantized ab bin centres: ``pts_in_hull.npy`` as float32 (313, 2), columns (a, b)."""
    try:
        hull = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise HullError(f"{path}: not a readable .npy array ({error})") from None
    if hull.shape != (313, 2) or not np.issubdtype(hull.dtype, np.number):
        raise HullError(f"{path}: expected a numeric array of shape (313, 2), got {hull.dtype} {hull.shape}")
    return hull.astype(np.float32)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CaffeParseError(f"{path}: cannot read prototxt: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CaffeParseError(f"{path}: not a text prototxt (not UTF-8; is it the binary caffemodel?)") from None


def _reason(error: text_format.ParseError) -> str:
    """The parser's message without its own 'line:column :' prefix."""
    return re.sub(r"^\d+:\d+ : ", "", str(error))
