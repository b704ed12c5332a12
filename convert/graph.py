"""Turn a parsed Caffe deploy net and its weights into a checked ONNX model."""

from __future__ import annotations

import logging
import math

import numpy as np
import onnx
from onnx import helper

from convert import caffe_schema
from convert.context import ConversionContext, TemperatureInput
from convert.errors import BlobError, UnsupportedLayerError
from convert.layer_shapes import expected_blob_shapes, same_shape, top_channels
from convert.layers import LAYER_CONVERTERS

log = logging.getLogger(__name__)

OPSET = 17
IR_VERSION = 8  # the IR that introduced opset 17: the oldest onnxruntime able to run it can load it
_TRAIN, _TEST = 0, 1


def build_model(
    net: caffe_schema.NetParameter,
    weights: dict[str, list[np.ndarray]],
    *,
    fixed_blobs: dict[str, list[np.ndarray]] | None = None,
    temperature: TemperatureInput | None = None,
    metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """Convert a deploy net to ONNX and check it with ``onnx.checker`` (full check).

    ``weights``: layer name -> float32 blobs, as ``caffe_io.read_caffemodel`` returns them.
    ``fixed_blobs``: blobs that come from elsewhere than the caffemodel (they take precedence).
    ``metadata``: written to ``metadata_props``.
    Raises UnsupportedLayerError (listing every unsupported layer) before converting anything,
    and BlobError for missing or misshapen weights.
    """
    layers = deploy_layers(net)
    check_supported(layers)
    walk, channels = walk_channels(net, layers)
    ctx = ConversionContext(temperature=temperature, channels=channels)
    nodes: list[onnx.NodeProto] = []
    for layer, bottom_channels in walk:
        blobs = resolve_blobs(layer, bottom_channels, weights, fixed_blobs or {})
        nodes += LAYER_CONVERTERS[layer.type](layer, blobs, ctx)
    _unique_node_names(nodes)
    if temperature is not None and not any(i.name == temperature.input_name for i in ctx.inputs):
        raise UnsupportedLayerError(f"no Scale layer named {temperature.layer!r} for the temperature input")

    outputs = [
        helper.make_tensor_value_info(ctx.read(blob), onnx.TensorProto.FLOAT, ["N", channels[blob], None, None])
        for blob in _network_outputs(layers)
    ]
    graph = helper.make_graph(nodes, net.name or "caffe_net", ctx.inputs, outputs, ctx.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="colorizer-convert", ir_version=IR_VERSION
    )
    helper.set_model_props(model, metadata or {})
    onnx.checker.check_model(model, full_check=True)
    log.info("converted %d Caffe layers into %d ONNX nodes", len(layers), len(nodes))
    return model


def deploy_layers(net: caffe_schema.NetParameter) -> list:
    """The layers active in Caffe's TEST phase (include/exclude rules by phase applied)."""

    def active(layer) -> bool:
        if any(rule.HasField("phase") and rule.phase == _TEST for rule in layer.exclude):
            return False
        return not layer.include or any(not rule.HasField("phase") or rule.phase == _TEST for rule in layer.include)

    if net.layers:
        raise UnsupportedLayerError(
            "the prototxt uses the pre-2015 'layers' format; upgrade it with Caffe's upgrade_net_proto_text tool"
        )
    return [layer for layer in net.layer if active(layer)]


def walk_channels(net: caffe_schema.NetParameter, layers: list) -> tuple[list[tuple], dict[str, int]]:
    """Each layer (legacy net inputs first) with its input's channel count, and every blob's channels."""
    channels: dict[str, int] = {}
    walk = []
    for layer in _legacy_inputs(net) + layers:
        bottom_channels = channels.get(layer.bottom[0], 0) if layer.bottom else 0
        walk.append((layer, bottom_channels))
        if layer.type == "Input":
            channels.update(
                (top, int(shape.dim[1]) if len(shape.dim) > 1 else 0)
                for top, shape in zip(layer.top, layer.input_param.shape)
            )
        else:
            channels.update(zip(layer.top, top_channels(layer, bottom_channels)))
    return walk, channels


def check_supported(layers: list) -> None:
    """Raise one UnsupportedLayerError naming every unsupported type and the layers that use it."""
    unsupported: dict[str, list[str]] = {}
    for layer in layers:
        if layer.type not in LAYER_CONVERTERS:
            unsupported.setdefault(layer.type, []).append(layer.name)
    if unsupported:
        listing = "; ".join(f"{kind} ({', '.join(names)})" for kind, names in unsupported.items())
        raise UnsupportedLayerError(
            f"unsupported Caffe layer types: {listing}. Supported: {', '.join(LAYER_CONVERTERS)}; "
            "add a converter to LAYER_CONVERTERS in convert/layers.py"
        )


def resolve_blobs(
    layer, bottom_channels: int, weights: dict[str, list[np.ndarray]], fixed_blobs: dict[str, list[np.ndarray]]
) -> list[np.ndarray]:
    """A layer's blobs, checked against the shapes its parameters imply and reshaped to them.

    A Scale or convolution layer absent from the caffemodel takes its blobs from the prototxt's
    constant fillers, as Caffe does (the ECCV16 release's conv8_313_rh: ``filler { type: 'constant'
    value: 2.606 }``).
    """
    expected = expected_blob_shapes(layer, bottom_channels)
    if not expected:
        return []
    blobs = fixed_blobs.get(layer.name) or weights.get(layer.name) or _constant_filler_blobs(layer, expected)
    if not blobs:
        raise BlobError(
            f"layer {layer.name!r} ({layer.type}): no weights in the caffemodel "
            f"(expected blobs of shapes {', '.join(map(str, expected))})"
        )
    if len(blobs) != len(expected):
        raise BlobError(
            f"layer {layer.name!r} ({layer.type}): expected {len(expected)} blobs, the caffemodel has {len(blobs)}"
        )
    for index, (blob, shape) in enumerate(zip(blobs, expected)):
        if not same_shape(blob.shape, shape):
            raise BlobError(
                f"layer {layer.name!r} ({layer.type}): blob {index} has shape {blob.shape}, expected {shape}"
            )
    return [blob.reshape(shape) for blob, shape in zip(blobs, expected)]


def _constant_filler_blobs(layer, expected: list[tuple[int, ...]]) -> list[np.ndarray]:
    """What Caffe leaves in a layer the caffemodel does not name: its fillers' values. Only constant
    fillers, and only where the prototxt sets the main one explicitly (a Scale's ``filler``, a
    convolution's ``weight_filler``): the user-guided net's fixed subsampling convolutions
    (``conv1_2norm_ss``: weight_filler constant 1, lr_mult 0) and its ``pred_ab`` Scale (100)."""
    if layer.type == "Scale" and layer.scale_param.HasField("filler"):
        fillers = [layer.scale_param.filler, layer.scale_param.bias_filler][: len(expected)]
    elif layer.type in ("Convolution", "Deconvolution") and layer.convolution_param.HasField("weight_filler"):
        fillers = [layer.convolution_param.weight_filler, layer.convolution_param.bias_filler][: len(expected)]
    else:
        return []
    if any(filler.type != "constant" for filler in fillers):
        return []
    if not all(math.isfinite(filler.value) for filler in fillers):  # the text format accepts nan and inf
        raise BlobError(f"layer {layer.name!r} ({layer.type}): its constant filler value is NaN or infinite")
    return [np.full(shape, filler.value, np.float32) for filler, shape in zip(fillers, expected)]


def _unique_node_names(nodes: list[onnx.NodeProto]) -> None:
    """ONNX runtimes refuse two nodes of one name; Caffe does not mind two layers of one name (the
    user-guided prototxt names an Eltwise and the ReLU after it both ``conv8_1_comb``): a repeat
    becomes ``name#2``, ``name#3``..."""
    seen: dict[str, int] = {}
    for node in nodes:
        count = seen[node.name] = seen.get(node.name, 0) + 1
        if count > 1:
            node.name = f"{node.name}#{count}"


def _legacy_inputs(net: caffe_schema.NetParameter) -> list:
    """NetParameter.input + input_shape/input_dim, the pre-Input-layer way, as Input layers."""
    layers = []
    for index, name in enumerate(net.input):
        layer = caffe_schema.LayerParameter(name=name, type="Input", top=[name])
        shape = layer.input_param.shape.add()
        if index < len(net.input_shape):
            shape.dim.extend(net.input_shape[index].dim)
        else:
            shape.dim.extend(net.input_dim[4 * index : 4 * index + 4])
        layers.append(layer)
    return layers


def _network_outputs(layers: list) -> list[str]:
    """Blobs written but never read afterwards (reads by Silence layers do not count)."""
    outputs: dict[str, None] = {}
    for layer in layers:
        if layer.type != "Silence":
            for bottom in layer.bottom:
                outputs.pop(bottom, None)
        for top in layer.top:
            outputs[top] = None
    return list(outputs)
