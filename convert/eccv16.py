"""The ECCV16 release: its files, its ONNX contract and how the two meet.

Contract of the model this module writes (the colorizer and users rely on it):
- input ``data_l``: float32 [N, 1, H, W] = L - 50, L in 0..100; H, W multiples of 8 (224 trained).
- optional input ``temperature``: float32 scalar, default 0.38 (the release's annealing).
- output ``class8_ab``: float32 [N, 2, H/4, W/4], the annealed-mean ab.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx

from convert import __version__
from convert.caffe_io import read_caffemodel, read_hull, read_prototxt
from convert.context import TemperatureInput
from convert.errors import BlobError
from convert.graph import build_model

L_INPUT = "data_l"
AB_OUTPUT = "class8_ab"
TEMPERATURE_INPUT = "temperature"
# The paper's annealing temperature; the release's Scale factor 2.606 ~ 1 / 0.38 stands for it.
DEFAULT_TEMPERATURE = 0.38
_TEMPERATURE_LAYER = "conv8_313_rh"
_DECODE_LAYER = "class8_ab"  # 1x1 conv whose weights are the ab bin centres, absent from the caffemodel

# Preprocessing constants, recorded in the model's metadata for the colorizer to read back.
PREPROCESSING = {
    "input_size": "224",      # the trained network input, pixels per side
    "input_multiple": "8",    # H and W must be multiples of this
    "l_offset": "50",         # data_l = L - l_offset
    "output_stride": "4",     # class8_ab is H/4 x W/4
}


def convert_release(prototxt: Path, caffemodel: Path, hull: Path) -> onnx.ModelProto:
    """The three release files -> the contract's ONNX model (checked, with provenance metadata)."""
    net = read_prototxt(prototxt)
    hull_points = read_hull(hull)
    weights = read_caffemodel(caffemodel)
    decode = [layer for layer in net.layer if layer.name == _DECODE_LAYER]
    if not decode:
        raise BlobError(f"{prototxt}: no layer named {_DECODE_LAYER!r} to hold the ab bin centres")
    decode_blobs = [hull_points.T.reshape(2, 313, 1, 1)]  # (313, 2) -> out=2 (a, b), in=313 classes
    if decode[0].convolution_param.bias_term:
        decode_blobs.append(np.zeros(2, np.float32))
    metadata = {
        "converter": f"colorizer-convert {__version__}",
        "source.prototxt.sha256": sha256_file(prototxt),
        "source.caffemodel.sha256": sha256_file(caffemodel),
        "source.hull.sha256": sha256_file(hull),
        "io.l_input": L_INPUT,
        "io.ab_output": AB_OUTPUT,
        "io.temperature_input": TEMPERATURE_INPUT,
        "default_temperature": str(DEFAULT_TEMPERATURE),
        **{f"preprocess.{key}": value for key, value in PREPROCESSING.items()},
    }
    return build_model(
        net, weights,
        fixed_blobs={_DECODE_LAYER: decode_blobs},
        temperature=TemperatureInput(_TEMPERATURE_LAYER, TEMPERATURE_INPUT, DEFAULT_TEMPERATURE),
        metadata=metadata,
    )


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
