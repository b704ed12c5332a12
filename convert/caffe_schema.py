"""The subset of Caffe's protobuf schema (``caffe.proto``) that deploy nets like ECCV16 and the
user-guided net (SIGGRAPH 2017) use.

The schema is declared here as data and turned into protobuf message classes at import time, so
reading Caffe files needs neither Caffe, ``protoc`` nor generated ``_pb2`` code (whose runtime
version checks break across protobuf releases). Field numbers, types and defaults are those of
BVLC Caffe's ``src/caffe/proto/caffe.proto``; a binary caffemodel that carries fields not declared
here still parses (protobuf keeps them as unknown fields), and they are not needed for conversion.

Usage::

    net = caffe_schema.NetParameter()            # a protobuf message class
    caffe_schema.NetParameter.FromString(data)
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bool": _F.TYPE_BOOL,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
}

# enum name -> value names in order (value = index).
ENUMS: dict[str, list[str]] = {
    "Phase": ["TRAIN", "TEST"],
    "Engine": ["DEFAULT", "CAFFE", "CUDNN"],
    "VarianceNorm": ["FAN_IN", "FAN_OUT", "AVERAGE"],
    "DimCheckMode": ["STRICT", "PERMISSIVE"],
    "EltwiseOp": ["PROD", "SUM", "MAX"],
}

# message name -> fields as (label, type, name, number, default or None).
# label: "optional" | "repeated" | "packed" (a repeated scalar written packed, as Caffe declares).
MESSAGES: dict[str, list[tuple]] = {
    "BlobShape": [
        ("packed", "int64", "dim", 1, None),
    ],
    "BlobProto": [
        ("optional", "BlobShape", "shape", 7, None),
        ("packed", "float", "data", 5, None),
        ("packed", "float", "diff", 6, None),
        ("packed", "double", "double_data", 8, None),
        ("packed", "double", "double_diff", 9, None),
        ("optional", "int64", "num", 1, None),  # legacy 4-D shape
        ("optional", "int64", "channels", 2, None),
        ("optional", "int64", "height", 3, None),
        ("optional", "int64", "width", 4, None),
    ],
    "FillerParameter": [
        ("optional", "string", "type", 1, "constant"),
        ("optional", "float", "value", 2, None),
        ("optional", "float", "min", 3, None),
        ("optional", "float", "max", 4, "1"),
        ("optional", "float", "mean", 5, None),
        ("optional", "float", "std", 6, "1"),
        ("optional", "int64", "sparse", 7, "-1"),
        ("optional", "VarianceNorm", "variance_norm", 8, None),
    ],
    "NetState": [
        ("optional", "Phase", "phase", 1, "TEST"),
        ("optional", "int32", "level", 2, None),
        ("repeated", "string", "stage", 3, None),
    ],
    "NetStateRule": [
        ("optional", "Phase", "phase", 1, None),
        ("optional", "int32", "min_level", 2, None),
        ("optional", "int32", "max_level", 3, None),
        ("repeated", "string", "stage", 4, None),
        ("repeated", "string", "not_stage", 5, None),
    ],
    "ParamSpec": [
        ("optional", "string", "name", 1, None),
        ("optional", "DimCheckMode", "share_mode", 2, None),
        ("optional", "float", "lr_mult", 3, "1"),
        ("optional", "float", "decay_mult", 4, "1"),
    ],
    "InputParameter": [
        ("repeated", "BlobShape", "shape", 1, None),
    ],
    "ConvolutionParameter": [
        ("optional", "uint32", "num_output", 1, None),
        ("optional", "bool", "bias_term", 2, "true"),
        ("repeated", "uint32", "pad", 3, None),
        ("repeated", "uint32", "kernel_size", 4, None),
        ("optional", "uint32", "group", 5, "1"),
        ("repeated", "uint32", "stride", 6, None),
        ("optional", "FillerParameter", "weight_filler", 7, None),
        ("optional", "FillerParameter", "bias_filler", 8, None),
        ("optional", "uint32", "pad_h", 9, None),
        ("optional", "uint32", "pad_w", 10, None),
        ("optional", "uint32", "kernel_h", 11, None),
        ("optional", "uint32", "kernel_w", 12, None),
        ("optional", "uint32", "stride_h", 13, None),
        ("optional", "uint32", "stride_w", 14, None),
        ("optional", "Engine", "engine", 15, None),
        ("optional", "int32", "axis", 16, "1"),
        ("optional", "bool", "force_nd_im2col", 17, None),
        ("repeated", "uint32", "dilation", 18, None),
    ],
    "BatchNormParameter": [
        ("optional", "bool", "use_global_stats", 1, None),
        ("optional", "float", "moving_average_fraction", 2, "0.999"),
        ("optional", "float", "eps", 3, "1e-5"),
    ],
    "ScaleParameter": [
        ("optional", "int32", "axis", 1, "1"),
        ("optional", "int32", "num_axes", 2, "1"),
        ("optional", "FillerParameter", "filler", 3, None),
        ("optional", "bool", "bias_term", 4, None),
        ("optional", "FillerParameter", "bias_filler", 5, None),
    ],
    "ReLUParameter": [
        ("optional", "float", "negative_slope", 1, None),
        ("optional", "Engine", "engine", 2, None),
    ],
    "SoftmaxParameter": [
        ("optional", "Engine", "engine", 1, None),
        ("optional", "int32", "axis", 2, "1"),
    ],
    "SliceParameter": [
        ("optional", "int32", "axis", 3, "1"),
        ("repeated", "uint32", "slice_point", 2, None),
        ("optional", "uint32", "slice_dim", 1, "1"),  # deprecated alias of axis
    ],
    "EltwiseParameter": [
        ("optional", "EltwiseOp", "operation", 1, "SUM"),
        ("repeated", "float", "coeff", 2, None),
        ("optional", "bool", "stable_prod_grad", 3, "true"),
    ],
    "TanHParameter": [
        ("optional", "Engine", "engine", 1, None),
    ],
    "LayerParameter": [
        ("optional", "string", "name", 1, None),
        ("optional", "string", "type", 2, None),
        ("repeated", "string", "bottom", 3, None),
        ("repeated", "string", "top", 4, None),
        ("optional", "Phase", "phase", 10, None),
        ("repeated", "float", "loss_weight", 5, None),
        ("repeated", "ParamSpec", "param", 6, None),
        ("repeated", "BlobProto", "blobs", 7, None),
        ("repeated", "bool", "propagate_down", 11, None),
        ("repeated", "NetStateRule", "include", 8, None),
        ("repeated", "NetStateRule", "exclude", 9, None),
        ("optional", "BatchNormParameter", "batch_norm_param", 139, None),
        ("optional", "ConvolutionParameter", "convolution_param", 106, None),
        ("optional", "EltwiseParameter", "eltwise_param", 110, None),
        ("optional", "InputParameter", "input_param", 143, None),
        ("optional", "ReLUParameter", "relu_param", 123, None),
        ("optional", "ScaleParameter", "scale_param", 142, None),
        ("optional", "SliceParameter", "slice_param", 126, None),
        ("optional", "SoftmaxParameter", "softmax_param", 125, None),
        ("optional", "TanHParameter", "tanh_param", 127, None),
    ],
    # The pre-2015 layer format; only what is needed to find weights by layer name.
    "V1LayerParameter": [
        ("optional", "string", "name", 4, None),
        ("repeated", "BlobProto", "blobs", 6, None),
    ],
    "NetParameter": [
        ("optional", "string", "name", 1, None),
        ("repeated", "string", "input", 3, None),
        ("repeated", "BlobShape", "input_shape", 8, None),
        ("repeated", "int32", "input_dim", 4, None),
        ("optional", "bool", "force_backward", 5, None),
        ("optional", "NetState", "state", 6, None),
        ("optional", "bool", "debug_info", 7, None),
        ("repeated", "LayerParameter", "layer", 100, None),
        ("repeated", "V1LayerParameter", "layers", 2, None),
    ],
}


def _field(label: str, type_: str, name: str, number: int, default: str | None) -> descriptor_pb2.FieldDescriptorProto:
    """One FieldDescriptorProto from a row of MESSAGES."""
    field = _F(name=name, number=number)
    field.label = _F.LABEL_OPTIONAL if label == "optional" else _F.LABEL_REPEATED
    if type_ in _SCALARS:
        field.type = _SCALARS[type_]
    elif type_ in ENUMS:
        field.type, field.type_name = _F.TYPE_ENUM, f".caffe.{type_}"
    else:
        field.type, field.type_name = _F.TYPE_MESSAGE, f".caffe.{type_}"
    if default is not None:
        field.default_value = default
    if label == "packed":
        field.options.packed = True
    return field


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The whole schema as one proto2 file descriptor in package ``caffe``."""
    proto = descriptor_pb2.FileDescriptorProto(name="caffe_subset.proto", package="caffe", syntax="proto2")
    for enum_name, values in ENUMS.items():
        enum = proto.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    for message_name, fields in MESSAGES.items():
        proto.message_type.add(name=message_name).field.extend(_field(*row) for row in fields)
    return proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())


def _message_class(name: str):
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"caffe.{name}"))


NetParameter = _message_class("NetParameter")
LayerParameter = _message_class("LayerParameter")
BlobProto = _message_class("BlobProto")
BlobShape = _message_class("BlobShape")
