"""Reading the three release files: deploy prototxt, caffemodel weights, ab bin centres."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
from google.protobuf import message, text_format

from convert import caffe_schema
from convert.errors import BlobError, CaffeParseError, HullError

log = logging.getLogger(__name__)

# Every layer-parameter block BVLC Caffe's LayerParameter declares. Caffe accepts any of them on any
# layer (and ignores those that do not apply); one it does not declare is a syntax error.
CAFFE_LAYER_PARAMS = frozenset(
    [
        "transform_param",
        "loss_param",
        "accuracy_param",
        "argmax_param",
        "batch_norm_param",
        "bias_param",
        "clip_param",
        "concat_param",
        "contrastive_loss_param",
        "convolution_param",
        "crop_param",
        "data_param",
        "dropout_param",
        "dummy_data_param",
        "eltwise_param",
        "elu_param",
        "embed_param",
        "exp_param",
        "flatten_param",
        "hdf5_data_param",
        "hdf5_output_param",
        "hinge_loss_param",
        "image_data_param",
        "infogain_loss_param",
        "inner_product_param",
        "input_param",
        "log_param",
        "lrn_param",
        "memory_data_param",
        "mvn_param",
        "parameter_param",
        "pooling_param",
        "power_param",
        "prelu_param",
        "python_param",
        "recurrent_param",
        "reduction_param",
        "relu_param",
        "reshape_param",
        "scale_param",
        "sigmoid_param",
        "softmax_param",
        "spp_param",
        "slice_param",
        "swish_param",
        "tanh_param",
        "threshold_param",
        "tile_param",
        "window_data_param",
    ]
)
_DECLARED_PARAMS = frozenset(
    field.name for field in caffe_schema.LayerParameter.DESCRIPTOR.fields if field.name.endswith("_param")
)
_PARAM_BLOCK = re.compile(r"\b(\w+_param)\s*\{")
# Blocks may nest this deep; Caffe's own messages nest at most 4 levels (layer, param, filler...).
# The text parser recurses once per level (skipped blocks too), so depth is checked before parsing.
MAX_NESTING = 64
_STRINGS_AND_COMMENTS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*')
_BRACKETS = re.compile(r"[{}<>\n]")
HULL_SHAPE = (313, 2)


def read_prototxt(path: Path) -> caffe_schema.NetParameter:
    """Parse a text-format Caffe net definition (``#`` comments and single quotes allowed).

    Parameter blocks of layer types this converter does not implement (``pooling_param`` ...) are
    skipped, as the support check then names those layers; any other unknown field is an error.
    """
    text = _read_text(path)
    _check_nesting(text, path)
    undeclared = set()
    for number, line in enumerate(text.splitlines(), start=1):
        for name in _PARAM_BLOCK.findall(line.split("#", 1)[0]):
            if name not in CAFFE_LAYER_PARAMS:
                raise CaffeParseError(f"{path}: syntax error at line {number}: {name!r} is not a Caffe layer parameter")
            undeclared |= {name} - _DECLARED_PARAMS
    try:
        return text_format.Parse(text, caffe_schema.NetParameter(), allow_unknown_field=bool(undeclared))
    except text_format.ParseError as error:
        raise CaffeParseError(
            f"{path}: syntax error at line {error.GetLine()}, column {error.GetColumn()}: {_reason(error)}"
        ) from None


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
        raise CaffeParseError(
            f"{path}: not a Caffe model (truncated or not a protobuf NetParameter, {len(data)} bytes)"
        ) from None
    layers = list(net.layer) + list(net.layers)
    if not any(layer.blobs for layer in layers):
        raise CaffeParseError(f"{path}: not a Caffe model (no layer with weights in {len(data)} bytes)")
    weights = {}
    for layer in layers:
        try:
            weights[layer.name] = [blob_to_array(blob) for blob in layer.blobs]
        except ValueError as error:
            raise CaffeParseError(f"{path}: layer {layer.name!r}: {error}") from None
        for index, blob in enumerate(weights[layer.name]):
            bad = non_finite_count(blob)
            if bad:
                raise BlobError(
                    f"{path}: layer {layer.name!r}: blob {index} {blob.shape} holds {bad:,} NaN or "
                    "infinite values; the weights are damaged"
                )
    return weights


def blob_to_array(blob: caffe_schema.BlobProto) -> np.ndarray:
    """A BlobProto as a float32 array of its declared shape (float or double data, packed or not)."""
    if blob.HasField("shape"):
        shape = tuple(blob.shape.dim)
    else:  # legacy 4-D blob
        shape = (blob.num, blob.channels, blob.height, blob.width)
    values = blob.data if len(blob.data) else blob.double_data
    array = np.array(values, dtype=np.float32)
    if array.size != math.prod(shape):
        raise ValueError(f"blob declares shape {shape} but holds {array.size} values")
    return array.reshape(shape)


def read_hull(path: Path) -> np.ndarray:
    """The quantized ab bin centres: ``pts_in_hull.npy`` as float32 (313, 2), columns (a, b).

    The .npy header is read and checked (shape (313, 2), a numeric type) before any data, so a
    header that declares a huge array costs nothing; NaN or infinite centres are refused.
    """
    try:
        with open(path, "rb") as stream:
            version = np.lib.format.read_magic(stream)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise HullError(f"{path}: .npy format version {version} is not supported (1.0 or 2.0)")
            shape, _, dtype = read_header(stream)
            if shape != HULL_SHAPE or not np.issubdtype(dtype, np.number):
                raise HullError(
                    f"{path}: expected a numeric array of shape {HULL_SHAPE}, but its header declares "
                    f"{dtype} {shape} ({math.prod(shape):,} values)"
                )
        hull = np.load(path, allow_pickle=False)
    except OSError as error:
        raise HullError(f"{path}: cannot read the ab bin centres: {error.strerror or error}") from None
    except (ValueError, EOFError):
        raise HullError(f"{path}: not a .npy array; expected the (313, 2) ab bin centres, pts_in_hull.npy") from None
    bad = non_finite_count(hull)
    if bad:
        raise HullError(f"{path}: {bad:,} of its {hull.size} values are NaN or infinite; expected the ab bin centres")
    return hull.astype(np.float32)


def non_finite_count(array: np.ndarray) -> int:
    """How many values of a numeric array are NaN or +-inf (0 for integer arrays)."""
    if not np.issubdtype(array.dtype, np.inexact):
        return 0
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def _check_nesting(text: str, path: Path) -> None:
    """Refuse text whose blocks ({ } or < >) nest deeper than MAX_NESTING (strings and comments aside)."""
    depth = 0
    line = 1
    for bracket in _BRACKETS.finditer(_STRINGS_AND_COMMENTS.sub(lambda match: "\n" * match.group().count("\n"), text)):
        character = bracket.group()
        if character == "\n":
            line += 1
        elif character in "{<":
            depth += 1
            if depth > MAX_NESTING:
                raise CaffeParseError(
                    f"{path}: blocks nested more than {MAX_NESTING} levels deep at line {line} "
                    "(a Caffe net needs a handful)"
                )
        else:
            depth -= 1


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
