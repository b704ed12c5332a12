"""Per-layer numeric parity: a one-layer Caffe net each, converted, run by onnxruntime, compared
with a NumPy reference of Caffe's semantics, and (the user-guided net's layers) with OpenCV 4."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from google.protobuf import text_format

from convert import caffe_schema
from convert.context import TemperatureInput
from convert.errors import BlobError, UnsupportedLayerError
from convert.graph import build_model
from testkit.requirements import OPENCV4_CAFFE, requires
from testkit.synthetic import caffemodel_bytes

RNG = np.random.default_rng(7)
X = RNG.normal(0.0, 2.0, (2, 3, 9, 11)).astype(np.float32)  # N=2, C=3, H=9, W=11


def run_one_layer(
    layer_text: str, weights: dict, x: np.ndarray = X, feeds: dict | None = None, **options
) -> np.ndarray:
    """Convert `Input(x) -> layer` (the layer reads blob "x" and writes "y") and run it."""
    n, c, h, w = x.shape
    net = text_format.Parse(
        f'layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 1 dim: {c} dim: {h} dim: {w} }} }} }}\n'
        f"layer {{ {layer_text} }}",
        caffe_schema.NetParameter(),
    )
    model = build_model(net, weights, **options)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x, **(feeds or {})})[0]


def conv_reference(x, weight, bias, stride, pad, dilation):
    """Caffe Convolution: cross-correlation, symmetric zero padding, floor output size."""
    n, c, h, w = x.shape
    out_c, _, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, out_c, out_h, out_w), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = padded[
                :,
                :,
                i * dilation : i * dilation + stride * (out_h - 1) + 1 : stride,
                j * dilation : j * dilation + stride * (out_w - 1) + 1 : stride,
            ]
            out += np.einsum("nchw,oc->nohw", patch, weight[:, :, i, j])
    return out + bias.reshape(1, -1, 1, 1)


def deconv_reference(x, weight, bias, stride, pad):
    """Caffe Deconvolution (col2im): each input pixel scatters weight[c, o] * x into a stride grid,
    then `pad` is cropped from every side. weight is (in, out, kh, kw)."""
    n, c, h, w = x.shape
    _, out_c, kh, kw = weight.shape
    full = np.zeros((n, out_c, stride * (h - 1) + kh, stride * (w - 1) + kw), np.float64)
    for i in range(kh):
        for j in range(kw):
            full[:, :, i : i + stride * (h - 1) + 1 : stride, j : j + stride * (w - 1) + 1 : stride] += np.einsum(
                "nchw,co->nohw", x, weight[:, :, i, j]
            )
    return full[:, :, pad : full.shape[2] - pad, pad : full.shape[3] - pad] + bias.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("stride, pad, dilation", [(1, 1, 1), (2, 1, 1), (1, 2, 2), (1, 4, 4), (2, 0, 1)])
def test_convolution_geometry_and_dilation(stride, pad, dilation):
    weight = RNG.normal(size=(5, 3, 3, 3)).astype(np.float32)
    bias = RNG.normal(size=5).astype(np.float32)
    y = run_one_layer(
        f'name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param {{ num_output: 5 '
        f"kernel_size: 3 pad: {pad} stride: {stride} dilation: {dilation} }}",
        {"c": [weight, bias]},
    )
    expected = conv_reference(X, weight, bias, stride, pad, dilation)
    np.testing.assert_allclose(
        y, expected, rtol=1e-4, atol=1e-4, err_msg=f"Convolution stride {stride} pad {pad} dilation {dilation}"
    )


def test_convolution_without_bias_and_rectangular_kernel():
    weight = RNG.normal(size=(4, 3, 1, 3)).astype(np.float32)
    y = run_one_layer(
        'name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 4 '
        "kernel_h: 1 kernel_w: 3 pad_h: 0 pad_w: 1 bias_term: false }",
        {"c": [weight]},
    )
    n, c, h, w = X.shape
    padded = np.pad(X, ((0, 0), (0, 0), (0, 0), (1, 1)))
    expected = sum(np.einsum("nchw,oc->nohw", padded[:, :, :, j : j + w], weight[:, :, 0, j]) for j in range(3))
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4, err_msg="kernel_h/kernel_w/pad_w")


def test_deconvolution_geometry_of_conv8_1():
    """conv8_1: k4, s2, p1 doubles H and W; weights are (in, out, kh, kw) and must not be transposed."""
    weight = RNG.normal(size=(3, 4, 4, 4)).astype(np.float32)  # in=3 != out=4, so a transpose would fail
    bias = RNG.normal(size=4).astype(np.float32)
    y = run_one_layer(
        'name: "d" type: "Deconvolution" bottom: "x" top: "y" convolution_param { '
        "num_output: 4 kernel_size: 4 pad: 1 stride: 2 }",
        {"d": [weight, bias]},
    )
    assert y.shape == (2, 4, 18, 22)
    np.testing.assert_allclose(
        y, deconv_reference(X, weight, bias, 2, 1), rtol=1e-4, atol=1e-4, err_msg="Deconvolution k4 s2 p1"
    )


@pytest.mark.parametrize("factor", [999.98, 1.0, 0.0])
def test_batch_norm_uses_the_moving_average_factor(factor):
    mean, variance = RNG.normal(size=3).astype(np.float32), RNG.uniform(0.5, 2, 3).astype(np.float32)
    blobs = [mean * factor, variance * factor, np.array([factor], np.float32)]
    y = run_one_layer(
        'name: "bn" type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { eps: 0.001 }', {"bn": blobs}
    )
    scale = 0.0 if factor == 0 else 1.0 / factor  # Caffe: f = 0 -> statistics taken as 0
    expected = (X - (blobs[0] * scale).reshape(1, 3, 1, 1)) / np.sqrt((blobs[1] * scale).reshape(1, 3, 1, 1) + 0.001)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5, err_msg=f"BatchNorm factor {factor}")


def test_batch_norm_default_eps_is_caffes():
    blobs = [np.zeros(3, np.float32), np.full(3, 1e-5, np.float32), np.ones(1, np.float32)]
    y = run_one_layer('name: "bn" type: "BatchNorm" bottom: "x" top: "y"', {"bn": blobs})
    np.testing.assert_allclose(y, X / np.sqrt(2e-5), rtol=1e-4, err_msg="eps default 1e-5")


def test_batch_norm_with_batch_statistics_is_refused():
    blobs = [np.zeros(3, np.float32), np.ones(3, np.float32), np.ones(1, np.float32)]
    with pytest.raises(UnsupportedLayerError, match="use_global_stats"):
        run_one_layer(
            'name: "bn" type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { use_global_stats: false }',
            {"bn": blobs},
        )


def test_softmax_normalizes_over_channels_only():
    y = run_one_layer('name: "s" type: "Softmax" bottom: "x" top: "y"', {})
    exp = np.exp(X - X.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        y, exp / exp.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6, err_msg="Softmax over axis 1"
    )
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5, err_msg="each pixel's distribution sums to 1")


SCALE_LAYER = 'name: "rh" type: "Scale" bottom: "x" top: "y" scale_param { bias_term: false filler { type: "constant" value: 2.606 } }'


def test_scale_from_prototxt_filler_when_caffemodel_has_no_blob():
    y = run_one_layer(SCALE_LAYER, {})
    np.testing.assert_allclose(y, X * np.float32(2.606), rtol=1e-6, err_msg="Scale from filler")


def test_scale_blob_takes_precedence_over_filler():
    blob = np.array([0.5, 2.0, 3.0], np.float32)
    y = run_one_layer(SCALE_LAYER, {"rh": [blob]})
    np.testing.assert_allclose(y, X * blob.reshape(1, 3, 1, 1), rtol=1e-6, err_msg="Scale from blob")


def test_scale_with_bias():
    scale, bias = np.array([1.5, -1, 2], np.float32), np.array([0.1, 0.2, 0.3], np.float32)
    y = run_one_layer(
        'name: "s" type: "Scale" bottom: "x" top: "y" scale_param { bias_term: true }', {"s": [scale, bias]}
    )
    np.testing.assert_allclose(y, X * scale.reshape(1, 3, 1, 1) + bias.reshape(1, 3, 1, 1), rtol=1e-6)


def test_temperature_input_defaults_to_identity_and_rescales():
    temperature = TemperatureInput("rh", "temperature", 0.38)
    default = run_one_layer(SCALE_LAYER, {}, temperature=temperature)
    np.testing.assert_array_equal(default, X * np.float32(2.606), err_msg="default T must be exact")
    hotter = run_one_layer(SCALE_LAYER, {}, temperature=temperature, feeds={"temperature": np.array(0.76, np.float32)})
    np.testing.assert_allclose(hotter, X * np.float32(2.606) / 2, rtol=1e-5, err_msg="T doubled halves the factor")


@pytest.mark.parametrize("slope", [0.0, 0.1])
def test_relu_and_leaky_relu(slope):
    y = run_one_layer(f'name: "r" type: "ReLU" bottom: "x" top: "y" relu_param {{ negative_slope: {slope} }}', {})
    np.testing.assert_allclose(y, np.where(X > 0, X, X * np.float32(slope)), rtol=1e-6)


def test_in_place_layers_chain_correctly():
    """Caffe's in-place ReLU (top == bottom) must read the conv's output, then be what later layers read."""
    weight = RNG.normal(size=(3, 3, 1, 1)).astype(np.float32)
    n, c, h, w = X.shape
    net = text_format.Parse(
        f'layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 1 dim: 3 dim: {h} dim: {w} }} }} }}'
        'layer { name: "c" type: "Convolution" bottom: "x" top: "h" convolution_param { num_output: 3 kernel_size: 1 bias_term: false } }'
        'layer { name: "r" type: "ReLU" bottom: "h" top: "h" }'
        'layer { name: "s" type: "Softmax" bottom: "h" top: "y" }',
        caffe_schema.NetParameter(),
    )
    model = build_model(net, {"c": [weight]})
    y = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(["y"], {"x": X})[0]
    hidden = np.maximum(np.einsum("nchw,oc->nohw", X, weight[:, :, 0, 0]), 0)
    exp = np.exp(hidden - hidden.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, exp / exp.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_legacy_blob_shapes_are_accepted():
    """A bias stored as legacy (1, 1, 1, C) matches the expected (C,)."""
    weight = RNG.normal(size=(2, 3, 1, 1)).astype(np.float32)
    bias = np.array([[[[1.0, -1.0]]]], np.float32)
    y = run_one_layer(
        'name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 2 kernel_size: 1 }',
        {"c": [weight, bias]},
    )
    np.testing.assert_allclose(y, conv_reference(X, weight, bias.ravel(), 1, 0, 1), rtol=1e-4, atol=1e-5)


def test_wrong_blob_shape_names_layer_and_shapes():
    with pytest.raises(BlobError, match=r"'c'.*\(2, 3, 3, 3\).*expected \(2, 3, 1, 1\)"):
        run_one_layer(
            'name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 2 kernel_size: 1 }',
            {"c": [np.zeros((2, 3, 3, 3), np.float32), np.zeros(2, np.float32)]},
        )


# The user-guided net's layers (Slice, Eltwise, TanH, grouped and dilated convolution, leaky ReLU,
# BatchNorm without Scale, Deconvolution): each against a NumPy reference, then against OpenCV 4.

FOUR = RNG.normal(0.0, 2.0, (2, 4, 9, 11)).astype(np.float32)  # L, a, b, mask-like: 4 channels


def run_net(net_text: str, weights: dict, x: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
    """Convert a small net whose Input is blob "x" and run it, returning the named blobs."""
    n, c, h, w = x.shape
    net = text_format.Parse(
        f'layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 1 dim: {c} dim: {h} dim: {w} }} }} }}\n'
        + net_text,
        caffe_schema.NetParameter(),
    )
    model = build_model(net, weights)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(outputs, {"x": x})


SLICE = 'layer { name: "s" type: "Slice" bottom: "x" top: "l" top: "abm" slice_param { axis: 1 slice_point: 1 } }'


def test_slice_cuts_channels_at_the_slice_points():
    l_part, abm = run_net(SLICE, {}, FOUR, ["l", "abm"])
    np.testing.assert_array_equal(l_part, FOUR[:, :1], err_msg="Slice top 0: channel 0")
    np.testing.assert_array_equal(abm, FOUR[:, 1:], err_msg="Slice top 1: channels 1..3")


def test_slice_without_points_splits_equally_and_slice_dim_is_axis():
    text = 'layer { name: "s" type: "Slice" bottom: "x" top: "p" top: "q" slice_param { slice_dim: 1 } }'
    p, q = run_net(text, {}, FOUR, ["p", "q"])
    np.testing.assert_array_equal(p, FOUR[:, :2])
    np.testing.assert_array_equal(q, FOUR[:, 2:])


@pytest.mark.parametrize(
    "text",
    [
        'layer { name: "s" type: "Slice" bottom: "x" top: "p" top: "q" slice_param { axis: 2 slice_point: 3 } }',
        'layer { name: "s" type: "Slice" bottom: "x" top: "p" top: "q" slice_param { axis: 1 slice_point: 4 } }',
        'layer { name: "s" type: "Slice" bottom: "x" top: "p" top: "q" top: "r" }',
    ],
    ids=["height-axis", "point-at-the-end", "unequal-split"],
)
def test_slice_that_cannot_be_converted_is_refused(text):
    with pytest.raises(UnsupportedLayerError, match="'s'"):
        run_net(text, {}, FOUR, ["p"])


ELTWISE_CASES = {
    "sum": ("", lambda a, b: a + b),
    "sum-coeff": ("eltwise_param { operation: SUM coeff: 0.5 coeff: -2 }", lambda a, b: 0.5 * a - 2 * b),
    "prod": ("eltwise_param { operation: PROD }", lambda a, b: a * b),
    "max": ("eltwise_param { operation: MAX }", np.maximum),
}


@pytest.mark.parametrize("case", ELTWISE_CASES)
def test_eltwise(case):
    param, reference = ELTWISE_CASES[case]
    text = (
        'layer { name: "s" type: "Slice" bottom: "x" top: "a" top: "b" slice_param { slice_point: 2 } }'
        f'layer {{ name: "e" type: "Eltwise" bottom: "a" bottom: "b" top: "y" {param} }}'
    )
    (y,) = run_net(text, {}, FOUR, ["y"])
    np.testing.assert_allclose(y, reference(FOUR[:, :2], FOUR[:, 2:]), rtol=1e-6, atol=1e-6, err_msg=case)


def test_eltwise_of_three_bottoms_and_bad_coefficients():
    text = (
        'layer { name: "s" type: "Slice" bottom: "x" top: "a" top: "b" top: "c" top: "d" }'
        'layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { operation: PROD } }'
    )
    (y,) = run_net(text, {}, FOUR, ["y"])
    np.testing.assert_allclose(y, FOUR[:, :1] * FOUR[:, 1:2] * FOUR[:, 2:3], rtol=1e-6)
    bad = text.replace("operation: PROD", "coeff: 1 coeff: 2")  # two coefficients for three bottoms
    with pytest.raises(UnsupportedLayerError, match="one per bottom"):
        run_net(bad, {}, FOUR, ["y"])


def test_tanh():
    y = run_one_layer('name: "t" type: "TanH" bottom: "x" top: "y"', {})
    np.testing.assert_allclose(y, np.tanh(X), rtol=1e-6, atol=1e-6)


def test_grouped_subsampling_convolution_of_the_guided_net():
    """conv1_2norm_ss: 1x1, stride 2, group = channels, weights 1 from its constant filler, no bias:
    every other pixel of every channel."""
    text = (
        'name: "ss" type: "Convolution" bottom: "x" top: "y" convolution_param { bias_term: false '
        "num_output: 3 kernel_size: 1 stride: 2 group: 3 weight_filler { type: 'constant' value: 1 } }"
    )
    y = run_one_layer(text, {})
    np.testing.assert_array_equal(y, X[:, :, ::2, ::2], err_msg="identity subsampling from the filler")
    weight = RNG.normal(size=(3, 1, 1, 1)).astype(np.float32)  # a blob takes precedence over the filler
    y = run_one_layer(text, {"ss": [weight]})
    np.testing.assert_allclose(y, X[:, :, ::2, ::2] * weight.reshape(1, 3, 1, 1), rtol=1e-6)


def test_grouped_convolution_keeps_groups_apart():
    weight = RNG.normal(size=(4, 2, 3, 3)).astype(np.float32)  # 4 outputs in 2 groups over 4 inputs
    bias = RNG.normal(size=4).astype(np.float32)
    (y,) = run_net(
        'layer { name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 4 '
        "kernel_size: 3 pad: 1 group: 2 } }",
        {"c": [weight, bias]},
        FOUR,
        ["y"],
    )
    expected = np.concatenate(
        [
            conv_reference(FOUR[:, :2], weight[:2], bias[:2], 1, 1, 1),
            conv_reference(FOUR[:, 2:], weight[2:], bias[2:], 1, 1, 1),
        ],
        axis=1,
    )
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4, err_msg="group 2")


def test_convolution_with_a_gaussian_filler_still_needs_its_blobs():
    text = (
        'name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 2 kernel_size: 1 '
        'weight_filler { type: "gaussian" std: 0.01 } }'
    )
    with pytest.raises(BlobError, match="no weights"):
        run_one_layer(text, {})


# OpenCV 4's Caffe importer on the same one-layer (or two-layer) nets: an implementation of Caffe's
# semantics that shares nothing with ours.

OPENCV_CASES = {
    "slice": (  # OpenCV gives a layer's first top only: a 1x1 convolution (checked above) reads the second
        SLICE
        + 'layer { name: "c" type: "Convolution" bottom: "abm" top: "y" convolution_param { num_output: 2 kernel_size: 1 } }',
        {"c": [RNG.normal(size=(2, 3, 1, 1)).astype(np.float32), RNG.normal(size=2).astype(np.float32)]},
        "y",
    ),
    "eltwise-sum": (
        SLICE.replace('top: "l" top: "abm"', 'top: "l3" top: "abm3"').replace("slice_point: 1", "slice_point: 2")
        + 'layer { name: "e" type: "Eltwise" bottom: "l3" bottom: "abm3" top: "y" eltwise_param { coeff: 0.5 coeff: 3 } }',
        {},
        "y",
    ),
    "eltwise-max": (
        SLICE.replace("slice_point: 1", "slice_point: 2")
        + 'layer { name: "e" type: "Eltwise" bottom: "l" bottom: "abm" top: "y" eltwise_param { operation: MAX } }',
        {},
        "y",
    ),
    "tanh": ('layer { name: "t" type: "TanH" bottom: "x" top: "y" }', {}, "y"),
    "leaky-relu": ('layer { name: "r" type: "ReLU" bottom: "x" top: "y" relu_param { negative_slope: 0.2 } }', {}, "y"),
    "grouped-subsampling": (
        'layer { name: "ss" type: "Convolution" bottom: "x" top: "y" convolution_param { bias_term: false '
        "num_output: 4 kernel_size: 1 stride: 2 group: 4 } }",
        {"ss": [RNG.normal(size=(4, 1, 1, 1)).astype(np.float32)]},
        "y",
    ),
    "dilated": (
        'layer { name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 5 '
        "kernel_size: 3 pad: 2 dilation: 2 } }",
        {"c": [RNG.normal(size=(5, 4, 3, 3)).astype(np.float32), RNG.normal(size=5).astype(np.float32)]},
        "y",
    ),
    "deconvolution": (
        'layer { name: "d" type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 3 '
        "kernel_size: 4 pad: 1 stride: 2 } }",
        {"d": [RNG.normal(size=(4, 3, 4, 4)).astype(np.float32), RNG.normal(size=3).astype(np.float32)]},
        "y",
    ),
    "batch-norm-without-scale": (
        'layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { } }',
        {
            "bn": [
                RNG.uniform(0, 1, 4).astype(np.float32) * 999.98,
                RNG.uniform(0.5, 2, 4).astype(np.float32) * 999.98,
                np.array([999.98], np.float32),
            ]
        },
        "y",
    ),
}


@requires(OPENCV4_CAFFE)
@pytest.mark.parametrize("case", OPENCV_CASES)
def test_layer_matches_opencv(tmp_path, case):
    body, weights, output = OPENCV_CASES[case]
    n, c, h, w = FOUR.shape
    text = (
        f'layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 1 dim: {c} dim: {h} dim: {w} }} }} }}\n'
        + body
    )
    prototxt, caffemodel = tmp_path / "net.prototxt", tmp_path / "net.caffemodel"
    prototxt.write_text(text)
    net = text_format.Parse(text, caffe_schema.NetParameter())
    types = {layer.name: layer.type for layer in net.layer}
    caffemodel.write_bytes(caffemodel_bytes(weights, types, training_layers=False) if weights else b"")
    reference_net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel) if weights else "")
    (ours,) = run_net(body, weights, FOUR, [output])
    for index in range(n):  # OpenCV runs the prototxt's batch of 1
        reference_net.setInput(FOUR[index : index + 1])
        (reference,) = reference_net.forward(reference_net.getUnconnectedOutLayersNames())  # `output`, the net's end
        np.testing.assert_allclose(ours[index : index + 1], reference, rtol=1e-4, atol=1e-4, err_msg=case)
