"""One converter per Caffe layer type, all with one signature, and the table that names them.

``convert_x(layer, blobs, ctx) -> list[NodeProto]``: ``layer`` is the prototxt's LayerParameter,
``blobs`` its weights as float32 arrays already checked against ``layer_shapes.expected_blob_shapes``
(and reshaped to those shapes), ``ctx`` the ``ConversionContext``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from convert import caffe_schema
from convert.context import ConversionContext
from convert.errors import UnsupportedLayerError
from convert.layer_shapes import conv_geometry, slice_sizes

Nodes = list[onnx.NodeProto]


# Caffe Input: one graph input per top, (N, C, H, W) with N, H and W left dynamic.
def convert_input(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    for top, shape in zip(layer.top, layer.input_param.shape):
        if len(shape.dim) != 4:
            raise UnsupportedLayerError(f"layer {layer.name!r}: only 4-D (N, C, H, W) inputs are supported")
        ctx.add_input(top, ["N", int(shape.dim[1]), "H", "W"])
    return []


# Caffe Convolution: y = conv(x, W) + b, W (out, in/group, kh, kw), symmetric pads, floor output
# size (H + 2p - d(k-1) - 1) / s + 1: exactly ONNX Conv with pads [ph, pw, ph, pw].
def convert_convolution(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    return [_conv_node("Conv", layer, blobs, ctx)]


# Caffe Deconvolution: the gradient of Convolution, out = s(H - 1) + d(k - 1) + 1 - 2p; its weights
# (in, out/group, kh, kw) are already ONNX ConvTranspose's (C, M/group, kH, kW): no transpose, no flip.
def convert_deconvolution(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    return [_conv_node("ConvTranspose", layer, blobs, ctx)]


# Caffe BatchNorm (deploy, global statistics): y = (x - mean/f) / sqrt(var/f + eps), f = blobs[2]
# (f = 0 -> 0), no affine part (Caffe puts that in a following Scale layer).
def convert_batch_norm(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    param = layer.batch_norm_param
    if param.HasField("use_global_stats") and not param.use_global_stats:
        raise UnsupportedLayerError(
            f"layer {layer.name!r}: BatchNorm with use_global_stats: false "
            "normalizes by batch statistics, which a deploy graph cannot do"
        )
    mean, variance, factor = blobs
    scale = np.float32(0.0) if factor[0] == 0 else np.float32(1.0) / factor[0]
    channels = mean.shape[0]
    name = layer.name
    inputs = [
        ctx.read(layer.bottom[0]),
        ctx.constant(f"{name}.gamma", np.ones(channels, np.float32)),
        ctx.constant(f"{name}.beta", np.zeros(channels, np.float32)),
        ctx.constant(f"{name}.mean", mean * scale),
        ctx.constant(f"{name}.var", variance * scale),
    ]
    return [
        helper.make_node(
            "BatchNormalization", inputs, [ctx.write(layer.top[0], name)], name=name, epsilon=float(param.eps)
        )
    ]


# Caffe ReLU: y = max(x, 0), or y = x * negative_slope where x < 0 (ONNX LeakyRelu).
def convert_relu(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    slope = layer.relu_param.negative_slope
    x, y = ctx.read(layer.bottom[0]), ctx.write(layer.top[0], layer.name)
    if slope:
        return [helper.make_node("LeakyRelu", [x], [y], name=layer.name, alpha=float(slope))]
    return [helper.make_node("Relu", [x], [y], name=layer.name)]


# Caffe Scale (one bottom, learned): y = x * s[c] (+ b[c]) over channels, s of shape (C,) or ().
# When it is ctx.temperature's layer: y = x * s[c] * (T0 / T), T a graph input defaulting to T0.
def convert_scale(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    if len(layer.bottom) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r}: Scale with a second bottom is not supported")
    name = layer.name
    nodes: Nodes = []
    scale = ctx.constant(f"{name}.scale", _per_channel(blobs[0]))
    if ctx.temperature is not None and ctx.temperature.layer == name:
        t = ctx.temperature
        temperature = ctx.add_input(t.input_name, [], default=np.array(t.default, np.float32))
        t0 = ctx.constant(f"{name}.t0", np.array(t.default, np.float32))
        nodes.append(helper.make_node("Div", [t0, temperature], [f"{name}.anneal"], name=f"{name}.anneal"))
        nodes.append(helper.make_node("Mul", [scale, f"{name}.anneal"], [f"{name}.annealed"], name=f"{name}.annealed"))
        scale = f"{name}.annealed"
    x = ctx.read(layer.bottom[0])
    if len(blobs) == 1:
        nodes.append(helper.make_node("Mul", [x, scale], [ctx.write(layer.top[0], name)], name=name))
        return nodes
    bias = ctx.constant(f"{name}.bias", _per_channel(blobs[1]))
    nodes.append(helper.make_node("Mul", [x, scale], [f"{name}.scaled"], name=f"{name}.mul"))
    nodes.append(helper.make_node("Add", [f"{name}.scaled", bias], [ctx.write(layer.top[0], name)], name=name))
    return nodes


# Caffe Softmax: exp(x) / sum(exp(x)) over one axis (default 1, the channels). ONNX Softmax from
# opset 13 also normalizes over exactly one axis (before 13 it flattened all axes from `axis` on).
def convert_softmax(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    x, y = ctx.read(layer.bottom[0]), ctx.write(layer.top[0], layer.name)
    return [helper.make_node("Softmax", [x], [y], name=layer.name, axis=int(layer.softmax_param.axis))]


# Caffe TanH: y = tanh(x), elementwise (ONNX Tanh).
def convert_tanh(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    return [
        helper.make_node("Tanh", [ctx.read(layer.bottom[0])], [ctx.write(layer.top[0], layer.name)], name=layer.name)
    ]


# Caffe Slice over the channels: top i = x[:, p(i-1):p(i)] with p the slice points (0 and C at the
# ends), or C / tops channels each without them: ONNX Split along axis 1 with those sizes.
def convert_slice(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    sizes = ctx.constant(f"{layer.name}.split", np.array(slice_sizes(layer, ctx.channels[layer.bottom[0]])), np.int64)
    tops = [ctx.write(top, layer.name) for top in layer.top]
    return [helper.make_node("Split", [ctx.read(layer.bottom[0]), sizes], tops, name=layer.name, axis=1)]


# Caffe Eltwise over equally shaped bottoms: SUM y = sum(c_i x_i) (coefficients c default 1), PROD
# y = prod(x_i), MAX y = max(x_i), elementwise: ONNX Sum (after Mul by c_i), Mul, Max.
def convert_eltwise(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    param = layer.eltwise_param
    name = layer.name
    operation = caffe_schema.ENUMS["EltwiseOp"][param.operation]
    coefficients = list(param.coeff)
    if len(layer.bottom) < 2:
        raise UnsupportedLayerError(f"layer {name!r}: Eltwise needs at least two bottoms, it has {len(layer.bottom)}")
    if coefficients and (operation != "SUM" or len(coefficients) != len(layer.bottom)):
        raise UnsupportedLayerError(
            f"layer {name!r}: Eltwise coefficients need operation SUM and one per bottom "
            f"({len(coefficients)} for {len(layer.bottom)} bottoms, operation {operation})"
        )
    inputs = [ctx.read(bottom) for bottom in layer.bottom]
    nodes: Nodes = []
    if any(c != 1 for c in coefficients):
        for index, (coefficient, x) in enumerate(zip(coefficients, list(inputs))):
            factor = ctx.constant(f"{name}.coeff{index}", np.array(coefficient, np.float32))
            inputs[index] = f"{name}.scaled{index}"
            nodes.append(helper.make_node("Mul", [x, factor], [inputs[index]], name=f"{name}.mul{index}"))
    top = ctx.write(layer.top[0], name)
    if operation == "PROD":  # ONNX Mul takes two inputs: a chain
        product = inputs[0]
        for index, x in enumerate(inputs[1:], start=1):
            out = top if index == len(inputs) - 1 else f"{name}.prod{index}"
            nodes.append(helper.make_node("Mul", [product, x], [out], name=out))
            product = out
        return nodes
    nodes.append(helper.make_node("Sum" if operation == "SUM" else "Max", inputs, [top], name=name))
    return nodes


# Caffe Silence: swallows its bottoms so Caffe does not print them; nothing to compute.
def convert_silence(layer, blobs: list[np.ndarray], ctx: ConversionContext) -> Nodes:
    return []


def _conv_node(op: str, layer, blobs: list[np.ndarray], ctx: ConversionContext) -> onnx.NodeProto:
    geometry = conv_geometry(layer)
    name = layer.name
    inputs = [ctx.read(layer.bottom[0]), ctx.constant(f"{name}.weight", blobs[0])]
    if len(blobs) > 1:
        inputs.append(ctx.constant(f"{name}.bias", blobs[1]))
    pad_h, pad_w = geometry.pad
    return helper.make_node(
        op,
        inputs,
        [ctx.write(layer.top[0], name)],
        name=name,
        kernel_shape=list(geometry.kernel),
        pads=[pad_h, pad_w, pad_h, pad_w],
        strides=list(geometry.stride),
        dilations=list(geometry.dilation),
        group=geometry.group,
    )


def _per_channel(values: np.ndarray) -> np.ndarray:
    """(C,) -> (1, C, 1, 1) so it broadcasts over NCHW; a scalar () stays a scalar."""
    return values.reshape(1, -1, 1, 1) if values.ndim == 1 else values


LAYER_CONVERTERS = {
    "Input": convert_input,
    "Convolution": convert_convolution,
    "Deconvolution": convert_deconvolution,
    "BatchNorm": convert_batch_norm,
    "ReLU": convert_relu,
    "Scale": convert_scale,
    "Softmax": convert_softmax,
    "TanH": convert_tanh,
    "Slice": convert_slice,
    "Eltwise": convert_eltwise,
    "Silence": convert_silence,
}
