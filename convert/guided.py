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

import numpy as np
import onnx

from colorkit import contract
from colorkit.files import sha256_file
from convert import __version__, caffe_schema
from convert.caffe_io import read_caffemodel, read_hull, read_prototxt
from convert.errors import UnsupportedLayerError
from convert.graph import build_model, deploy_layers

_CHANNELS = 4  # L, a, b, mask
_DIST_LAYER = "pred_313"  # deploy_nopred's colour distribution head
# deploy_nopred's layers that the release's code (data/colorize_image.py, ColorizeImageCaffe.prep_net
# and ColorizeImageCaffeDist.prep_net) fills after loading the caffemodel:
_UPSAMPLE_LAYERS = ("pred_313_us", "pred_313_rs")  # "_us" set by name; "_rs" shares its kernel (param kern_us)
_UPSAMPLE_KERNEL = np.array([[0.25, 0.5, 0.25, 0], [0.5, 1, 0.5, 0], [0.25, 0.5, 0.25, 0], [0, 0, 0, 0]], np.float32)
_SOFTEN_LAYER, _SOFTEN = "scale_S", 0.2  # prep_net's S: the distribution behind the suggested colours
_DECODE_LAYER = "pred_ab"  # 1x1 convolution whose weights are the 313 bin centres


def is_guided_net(net: caffe_schema.NetParameter) -> bool:
    """Whether a parsed prototxt is the user-guided network: an Input blob named ``data_l_ab_mask``."""
    return (
        any(layer.type == "Input" and contract.GUIDED_INPUT in layer.top for layer in deploy_layers(net))
        or contract.GUIDED_INPUT in net.input
    )


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


def convert_guided_dist(prototxt: Path, caffemodel: Path, hull: Path) -> onnx.ModelProto:
    """``deploy_nopred.prototxt``, the same caffemodel and ``pts_in_hull.npy`` -> the contract's
    guided-dist model: outputs ``dist_ab_S`` (N x 313 x H x W, softened with S = 0.2) and ``pred_ab``.

    As the release's code does after loading: the two upsampling deconvolutions get its fixed
    kernel, ``scale_S`` its S = 0.2, ``pred_ab`` the bin centres as weights. ``pred_ab``'s bias is
    0: the caffemodel cannot hold a layer of that name for this net, since deploy_nodist's
    ``pred_ab`` (a Scale) reads the same file and Caffe refuses blobs of the wrong shape, so Caffe
    leaves the default filler's 0.
    """
    net = read_prototxt(prototxt)
    _check_guided(net, prototxt, dist=True)
    hull_points = read_hull(hull)
    weights = read_caffemodel(caffemodel)
    kernel = np.broadcast_to(_UPSAMPLE_KERNEL, (313, 1, 4, 4)).copy()
    fixed: dict[str, list[np.ndarray]] = {name: [kernel] for name in _UPSAMPLE_LAYERS}
    fixed[_SOFTEN_LAYER] = [np.full(313, _SOFTEN, np.float32)]
    fixed[_DECODE_LAYER] = [hull_points.T.reshape(2, 313, 1, 1), np.zeros(2, np.float32)]
    metadata = {
        contract.KEY_CONVERTER: f"colorizer-convert {__version__}",
        "source.prototxt.sha256": sha256_file(prototxt),
        "source.caffemodel.sha256": sha256_file(caffemodel),
        "source.hull.sha256": sha256_file(hull),
        **contract.ModelContract.guided_dist().metadata(),
    }
    return build_model(net, weights, fixed_blobs=fixed, metadata=metadata)


def is_guided_dist_net(net: caffe_schema.NetParameter) -> bool:
    """Whether a user-guided prototxt is the distribution version (deploy_nopred.prototxt)."""
    return any(layer.name == _DIST_LAYER for layer in deploy_layers(net))


def _check_guided(net: caffe_schema.NetParameter, prototxt: Path, dist: bool = False) -> None:
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
    if is_guided_dist_net(net) != dist:
        expected = "deploy_nopred.prototxt (the colour distribution)" if dist else "deploy_nodist.prototxt"
        raise UnsupportedLayerError(f"{prototxt}: not the user-guided network's {expected}")
    if not any(contract.GUIDED_OUTPUT in layer.top for layer in layers):
        raise UnsupportedLayerError(f"{prototxt}: no layer writes {contract.GUIDED_OUTPUT!r}, the user-guided output")
