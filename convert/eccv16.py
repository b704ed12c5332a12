"""The ECCV16 release -> an ONNX model that follows ``colorkit.contract`` (inputs, output, metadata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from colorkit import contract
from colorkit.files import sha256_file
from convert import __version__
from convert.caffe_io import read_caffemodel, read_hull, read_prototxt
from convert.context import TemperatureInput
from convert.errors import BlobError
from convert.graph import build_model

_TEMPERATURE_LAYER = "conv8_313_rh"
_DECODE_LAYER = "class8_ab"  # 1x1 conv whose weights are the ab bin centres, absent from the caffemodel


def convert_release(prototxt: Path, caffemodel: Path, hull: Path) -> onnx.ModelProto:
    """The three release files -> the contract's ONNX model (checked, with provenance metadata)."""
    net = read_prototxt(prototxt)
    hull_points = read_hull(hull)
    weights = read_caffemodel(caffemodel)
    decode = [layer for layer in net.layer if layer.name == _DECODE_LAYER]
    if not decode:
        raise BlobError(f"{prototxt}: no layer named {_DECODE_LAYER!r} to hold the ab bin centres")
    decode_blobs: list[np.ndarray] = [hull_points.T.reshape(2, 313, 1, 1)]  # (313, 2) -> out=2 (a, b), in=313 classes
    if decode[0].convolution_param.bias_term:
        decode_blobs.append(np.zeros(2, np.float32))
    metadata = {
        contract.KEY_CONVERTER: f"colorizer-convert {__version__}",
        "source.prototxt.sha256": sha256_file(prototxt),
        "source.caffemodel.sha256": sha256_file(caffemodel),
        "source.hull.sha256": sha256_file(hull),
        **contract.ModelContract().metadata(),
    }
    return build_model(
        net,
        weights,
        fixed_blobs={_DECODE_LAYER: decode_blobs},
        temperature=TemperatureInput(_TEMPERATURE_LAYER, contract.TEMPERATURE_INPUT, contract.DEFAULT_TEMPERATURE),
        metadata=metadata,
    )
