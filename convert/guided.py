"""The user-guided release (Zhang, Zhu et al., SIGGRAPH 2017) -> an ONNX model of
``colorkit.contract``'s guided kind: input ``data_l_ab_mask`` [N, 4, H, W], output ``pred_ab``
[N, 2, H, W].

The release is junyanz/interactive-deep-colorization's ``deploy_nodist.prototxt`` and
``model.caffemodel``. Its input is one blob holding L - 50, the hint ab and the hint mask x 110
(``data/colorize_image.py``: l_mean 50, ab_norm 1, mask_mult 110); Caffe's own blob names are kept,
so the ONNX model reads like the prototxt. The fixed layers the prototxt fills itself (the
stride-2 subsampling convolutions ``conv*_ss``: constant 1; the output Scale ``pred_ab``: 100) are
taken from the caffemodel when it holds them, else from the prototxt's constant fillers, as Caffe
does.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from colorkit import contract
from colorkit.files import sha256_file
from convert import __version__, caffe_schema
from convert.caffe_io import read_caffemodel, read_prototxt
from convert.errors import UnsupportedLayerError
from convert.graph import build_model, deploy_layers

_CHANNELS = 4  # L, a, b, mask
_DIST_LAYER = "pred_313"  # deploy_nopred's colour distribution head


def is_guided_net(net: caffe_schema.NetParameter) -> bool:
    """Whether a parsed prototxt is the user-guided network: an Input blob named ``data_l_ab_mask``."""
    return (
        any(layer.type == "Input" and contract.GUIDED_INPUT in layer.top for layer in deploy_layers(net))
        or contract.GUIDED_INPUT in net.input
    )


def is_guided_prototxt(prototxt: Path) -> bool:
    """``is_guided_net`` of a prototxt file (raises CaffeParseError if it cannot be read)."""
    return is_guided_net(read_prototxt(prototxt))


def convert_guided(prototxt: Path, caffemodel: Path) -> onnx.ModelProto:
    """``deploy_nodist.prototxt`` and its caffemodel -> the contract's guided ONNX model (checked,
    with provenance metadata). Raises ConversionError subclasses; UnsupportedLayerError for a
    prototxt that is not the user-guided network's point-estimate version."""
    net = read_prototxt(prototxt)
    _check_guided(net, prototxt)
    weights = read_caffemodel(caffemodel)
    metadata = {
        contract.KEY_CONVERTER: f"colorizer-convert {__version__}",
        "source.prototxt.sha256": sha256_file(prototxt),
        "source.caffemodel.sha256": sha256_file(caffemodel),
        **contract.ModelContract.guided().metadata(),
    }
    return build_model(net, weights, metadata=metadata)


def _check_guided(net: caffe_schema.NetParameter, prototxt: Path) -> None:
    layers = deploy_layers(net)
    inputs = {
        top: list(shape.dim)
        for layer in layers
        if layer.type == "Input"
        for top, shape in zip(layer.top, layer.input_param.shape)
    }
    dims = inputs.get(contract.GUIDED_INPUT)
    if dims is None or len(dims) != 4 or dims[1] != _CHANNELS:
        raise UnsupportedLayerError(
            f"{prototxt}: not the user-guided network: expected an Input {contract.GUIDED_INPUT!r} of "
            f"shape (N, {_CHANNELS}, H, W), found {inputs or 'none'}"
        )
    if any(layer.name == _DIST_LAYER for layer in layers):
        raise UnsupportedLayerError(
            f"{prototxt}: this is deploy_nopred.prototxt (the colour distribution head); "
            "convert deploy_nodist.prototxt for the user-guided colorizer"
        )
    if not any(contract.GUIDED_OUTPUT in layer.top for layer in layers):
        raise UnsupportedLayerError(f"{prototxt}: no layer writes {contract.GUIDED_OUTPUT!r}, the user-guided output")
