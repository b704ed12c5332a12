"""Random-weight caffemodels with a real architecture, for tests and benchmarks.

The real ``colorization_release_v2.caffemodel`` cannot be fetched everywhere; a caffemodel with the
same layers and blob shapes, random weights and realistic BatchNorm statistics exercises every code
path of the converter and the colorizer, and an independent Caffe reader (OpenCV 4) can load it too.

The caffemodel is written straight in protobuf wire format so that each blob encoding a real file
may use can be produced: ``BlobShape`` or the legacy num/channels/height/width, floats packed or not.
"""

from __future__ import annotations

import numpy as np
from google.protobuf import text_format

from convert import caffe_schema
from convert.graph import deploy_layers, walk_channels
from convert.layer_shapes import expected_blob_shapes

# ECCV16 body: (block, convolutions, channels, last stride, padding = dilation); a BatchNorm ends each.
_ECCV16_BLOCKS = [
    (1, 2, 64, 2, 1),
    (2, 2, 128, 2, 1),
    (3, 3, 256, 2, 1),
    (4, 3, 512, 1, 1),
    (5, 3, 512, 1, 2),
    (6, 3, 512, 1, 2),
    (7, 3, 512, 1, 1),
]
# A realistic Caffe BatchNorm moving-average factor: 1 - 0.999^iterations summed, close to 1000.
BN_FACTOR = 999.98
QUIET_LAYERS = {"conv8_313": 0.03}


def eccv16_deploy_net() -> caffe_schema.NetParameter:
    """The ECCV16 deploy architecture (layer names, types and parameters of the official prototxt)."""
    net = caffe_schema.NetParameter(name="LtoAB")
    net.layer.add(name="data_l", type="Input", top=["data_l"]).input_param.shape.add(dim=[1, 1, 224, 224])

    def conv(name, bottom, top, channels, kernel, pad=0, stride=1, dilation=1, kind="Convolution"):
        layer = net.layer.add(name=name, type=kind, bottom=[bottom], top=[top])
        layer.convolution_param.num_output = channels
        layer.convolution_param.kernel_size.append(kernel)
        layer.convolution_param.pad.extend([pad] if pad else [])
        layer.convolution_param.stride.extend([stride] if stride != 1 else [])
        layer.convolution_param.dilation.extend([dilation] if dilation != 1 else [])

    bottom = "data_l"
    for block, count, channels, last_stride, dilation in _ECCV16_BLOCKS:
        for index in range(1, count + 1):
            top = f"conv{block}_{index}"
            name = "bw_conv1_1" if top == "conv1_1" else top
            conv(
                name,
                bottom,
                top,
                channels,
                3,
                pad=dilation,
                dilation=dilation,
                stride=last_stride if index == count else 1,
            )
            net.layer.add(name=f"relu{block}_{index}", type="ReLU", bottom=[top], top=[top])
            bottom = top
        norm = net.layer.add(name=f"{bottom}norm", type="BatchNorm", bottom=[bottom], top=[f"{bottom}norm"])
        norm.batch_norm_param.SetInParent()
        bottom = norm.top[0]
    conv("conv8_1", bottom, "conv8_1", 256, 4, pad=1, stride=2, kind="Deconvolution")
    net.layer.add(name="relu8_1", type="ReLU", bottom=["conv8_1"], top=["conv8_1"])
    for index, previous in ((2, "conv8_1"), (3, "conv8_2")):
        conv(f"conv8_{index}", previous, f"conv8_{index}", 256, 3, pad=1)
        net.layer.add(name=f"relu8_{index}", type="ReLU", bottom=[f"conv8_{index}"], top=[f"conv8_{index}"])
    conv("conv8_313", "conv8_3", "conv8_313", 313, 1)
    scale = net.layer.add(name="conv8_313_rh", type="Scale", bottom=["conv8_313"], top=["conv8_313_rh"])
    scale.scale_param.bias_term = False
    scale.scale_param.filler.type, scale.scale_param.filler.value = "constant", 2.606
    net.layer.add(name="class8_313_rh", type="Softmax", bottom=["conv8_313_rh"], top=["class8_313_rh"])
    conv("class8_ab", "class8_313_rh", "class8_ab", 2, 1)
    net.layer.add(name="Silence", type="Silence", bottom=["class8_ab"])
    return net


def eccv16_deploy_prototxt() -> str:
    """``eccv16_deploy_net`` as prototxt text."""
    return text_format.MessageToString(eccv16_deploy_net())


def synthetic_hull() -> np.ndarray:
    """313 distinct ab points on a 10-unit grid inside the disc |ab| <= 100, int64 (313, 2).

    A stand-in for ``pts_in_hull.npy`` (the in-gamut bins on the same 10-unit grid) with the same
    shape and range, for where the official file is not at hand.
    """
    a, b = np.meshgrid(np.arange(-110, 111, 10), np.arange(-110, 111, 10), indexing="ij")
    points = np.stack([a.ravel(), b.ravel()], axis=1)
    nearest = points[np.argsort(np.hypot(points[:, 0], points[:, 1] - 5), kind="stable")[:313]]
    return nearest.astype(np.int64)


def random_weights(
    net: caffe_schema.NetParameter,
    seed: int = 0,
    bn_factor: float = BN_FACTOR,
    scale_value: float | None = None,
    skip: tuple[str, ...] = ("class8_ab",),
    quiet: dict[str, float] | None = None,
) -> dict[str, list[np.ndarray]]:
    """Random float32 blobs for every layer with weights: He-initialised convolutions, BatchNorm
    statistics stored as Caffe stores them (sums times ``bn_factor``).

    ``scale_value``: give Scale layers a blob of this value; None leaves them without blobs (the
    release's conv8_313_rh then takes the prototxt filler). Layers in ``skip`` get no blobs.
    ``quiet``: layer name -> gain on its He weights; by default the class logits (conv8_313) are
    made small enough that the 313-way distribution is spread out, as in a trained net, rather
    than one-hot, so that temperature and colour are exercised.
    """
    quiet = QUIET_LAYERS if quiet is None else quiet
    rng = np.random.default_rng(seed)
    weights = {}
    walk, _ = walk_channels(net, deploy_layers(net))
    for layer, bottom_channels in walk:
        shapes = expected_blob_shapes(layer, bottom_channels)
        if not shapes or layer.name in skip or (layer.type == "Scale" and scale_value is None):
            continue
        if layer.type in ("Convolution", "Deconvolution"):
            fan_in = int(np.prod(shapes[0][1:])) if layer.type == "Convolution" else bottom_channels
            blobs = [rng.normal(0.0, quiet.get(layer.name, 1.0) * np.sqrt(2.0 / fan_in), shapes[0])]
            blobs += [rng.normal(0.0, 0.1, shape) for shape in shapes[1:]]
        elif layer.type == "BatchNorm":
            channels = shapes[0][0]
            mean, variance = rng.uniform(0.0, 1.0, channels), rng.uniform(0.5, 2.0, channels)
            blobs = [mean * bn_factor, variance * bn_factor, np.array([bn_factor])]
        else:
            blobs = [np.full(shape, scale_value) for shape in shapes]
        weights[layer.name] = [blob.astype(np.float32) for blob in blobs]
    return weights


# The user-guided net (deploy_nodist.prototxt): its last convolution feeds 100 x tanh, so its gain keeps
# the pre-tanh values near unit scale (ab spread over about +-40, little saturation) rather than at
# +-100 everywhere; its stride-2 subsampling convolutions hold 1, as their constant filler says.
GUIDED_QUIET = {"conv10_ab": 0.005}
GUIDED_FILLED = ("conv1_2norm_ss", "conv2_2norm_ss", "conv3_3norm_ss", "pred_ab")


def guided_weights(
    net: caffe_schema.NetParameter, seed: int = 0, bn_factor: float = BN_FACTOR, with_filled: bool = True
) -> dict[str, list[np.ndarray]]:
    """Random weights for the user-guided architecture (``random_weights`` with ``GUIDED_QUIET``).

    ``with_filled``: also store the layers the prototxt fills with constants (``GUIDED_FILLED``: the
    subsampling convolutions' 1s, the output Scale's 100), as a trained caffemodel does; False leaves
    them out, so a reader must take them from the prototxt's fillers.
    """
    weights = random_weights(net, seed=seed, bn_factor=bn_factor, skip=(), quiet=GUIDED_QUIET, scale_value=100.0)
    for name in GUIDED_FILLED:
        if with_filled:
            weights[name] = [np.full_like(blob, 100.0 if name == "pred_ab" else 1.0) for blob in weights[name]]
        else:
            del weights[name]
    return weights


# deploy_nopred's own layers; the rest it shares with deploy_nodist. The release code fills the others
# (upsampling kernels, scale_S, pred_ab's bin centres) after loading, and scale_T has its filler.
GUIDED_DIST_HEAD = ("conv3_pred", "conv4_pred", "conv5_pred", "conv6_pred", "conv7_pred", "conv8_pred", "pred_313")


def guided_release_weights(
    nodist: caffe_schema.NetParameter, nopred: caffe_schema.NetParameter, seed: int = 0
) -> dict[str, list[np.ndarray]]:
    """Random weights for the one caffemodel both user-guided prototxts read (ideepcolor.py's
    defaults): deploy_nodist's layers and deploy_nopred's distribution head, and no layer named
    ``pred_ab`` (a Scale in one prototxt, a convolution in the other: Caffe would refuse either
    prototxt's blobs for the other, so the release cannot hold one).

    The head's class logits get a small gain (as ECCV16's ``conv8_313``) so that the 313-bin
    distribution is spread out rather than one-hot.
    """
    weights = guided_weights(nodist, seed=seed)
    del weights["pred_ab"]
    head = random_weights(nopred, seed=seed + 1, skip=(), quiet={"pred_313": 0.03}, scale_value=None)
    weights.update((name, head[name]) for name in GUIDED_DIST_HEAD)
    return weights


def caffemodel_bytes(
    weights: dict[str, list[np.ndarray]],
    layer_types: dict[str, str],
    *,
    legacy_shapes: bool = False,
    packed: bool = True,
    training_layers: bool = True,
) -> bytes:
    """Serialize weights as a binary NetParameter (a .caffemodel).

    ``legacy_shapes``: num/channels/height/width instead of BlobShape. ``packed``: packed floats,
    else one tagged field per float. ``training_layers``: add layers a trained model carries but
    the deploy net does not name (a loss layer with a blob), which a converter must ignore.
    """
    layers = [_layer_bytes(name, layer_types[name], blobs, legacy_shapes, packed) for name, blobs in weights.items()]
    if training_layers:
        layers.append(
            _layer_bytes("loss8_313", "SoftmaxCrossEntropyLoss", [np.ones((1, 313), np.float32)], legacy_shapes, packed)
        )
    return _field_bytes(1, b"LtoAB") + b"".join(_field_bytes(100, layer) for layer in layers)


def _layer_bytes(name: str, kind: str, blobs: list[np.ndarray], legacy_shapes: bool, packed: bool) -> bytes:
    return (
        _field_bytes(1, name.encode())
        + _field_bytes(2, kind.encode())
        + b"".join(_field_bytes(7, _blob_bytes(blob, legacy_shapes, packed)) for blob in blobs)
    )


def _blob_bytes(blob: np.ndarray, legacy_shapes: bool, packed: bool) -> bytes:
    if legacy_shapes:  # num=1, channels=2, height=3, width=4, leading 1s for fewer than 4 axes
        dims = (1,) * (4 - blob.ndim) + blob.shape
        shape = b"".join(_varint(field << 3) + _varint(dim) for field, dim in zip((1, 2, 3, 4), dims))
    else:  # shape=7: BlobShape { packed int64 dim = 1 }
        shape = _field_bytes(7, _field_bytes(1, b"".join(_varint(dim) for dim in blob.shape)))
    values = np.ascontiguousarray(blob, dtype="<f4").ravel()
    if packed:  # data=5 as one length-delimited run of little-endian floats
        return shape + _field_bytes(5, values.tobytes())
    tagged = np.empty(values.size, dtype=[("tag", "u1"), ("value", "<f4")])  # 5 bytes per float
    tagged["tag"], tagged["value"] = (5 << 3) | 5, values  # field 5, wire type 5 (32-bit)
    return shape + tagged.tobytes()


def _field_bytes(field: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
