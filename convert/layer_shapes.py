"""What a Caffe layer's parameters imply: its kernel geometry, blob shapes and output channels.

Used by the converter to validate weights before converting, and by ``testkit.synthetic`` to make
random weights of the right shapes. Shapes are tuples of ints in Caffe's NCHW conventions.
"""

from __future__ import annotations

from dataclasses import dataclass

from convert.errors import UnsupportedLayerError


@dataclass(frozen=True)
class ConvGeometry:
    """Spatial parameters of a Convolution/Deconvolution, each as (height, width)."""

    kernel: tuple[int, int]
    pad: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    group: int


def conv_geometry(layer) -> ConvGeometry:
    """Read Caffe's ConvolutionParameter, whose repeated fields hold 1 value (both axes) or 2 (h, w)."""
    p = layer.convolution_param
    if p.axis != 1 or p.force_nd_im2col:
        raise UnsupportedLayerError(f"layer {layer.name!r}: only 2-D convolution over axis 1 is supported")

    def pair(values, h_field: str | None, w_field: str | None, default: int) -> tuple[int, int]:
        if h_field and w_field and (p.HasField(h_field) or p.HasField(w_field)):
            return getattr(p, h_field), getattr(p, w_field)
        if len(values) > 2:
            raise UnsupportedLayerError(f"layer {layer.name!r}: only 2-D convolution is supported")
        return (values[0], values[-1]) if values else (default, default)

    return ConvGeometry(
        kernel=pair(p.kernel_size, "kernel_h", "kernel_w", 0),
        pad=pair(p.pad, "pad_h", "pad_w", 0),
        stride=pair(p.stride, "stride_h", "stride_w", 1),
        dilation=pair(p.dilation, None, None, 1),
        group=p.group,
    )


def expected_blob_shapes(layer, bottom_channels: int) -> list[tuple[int, ...]]:
    """The blobs a layer of this type and these parameters must have, in Caffe's order."""
    kind = layer.type
    if kind in ("Convolution", "Deconvolution"):
        geometry = conv_geometry(layer)
        out = layer.convolution_param.num_output
        if kind == "Convolution":  # weights (out, in/group, kh, kw)
            weights = (out, bottom_channels // geometry.group, *geometry.kernel)
        else:  # Deconvolution weights (in, out/group, kh, kw)
            weights = (bottom_channels, out // geometry.group, *geometry.kernel)
        return [weights, (out,)] if layer.convolution_param.bias_term else [weights]
    if kind == "BatchNorm":  # mean, variance, moving-average factor
        return [(bottom_channels,), (bottom_channels,), (1,)]
    if kind == "Scale":
        p = layer.scale_param
        if p.axis != 1 or p.num_axes not in (0, 1):
            raise UnsupportedLayerError(
                f"layer {layer.name!r}: Scale is supported over the channel axis "
                f"(axis 1, num_axes 0 or 1), got axis {p.axis}, num_axes {p.num_axes}"
            )
        shape = (bottom_channels,) if p.num_axes == 1 else ()
        return [shape, shape] if p.bias_term else [shape]
    return []


def top_channels(layer, bottom_channels: int) -> list[int]:
    """Channels of each of a layer's outputs (one per top) for a given input channel count."""
    if layer.type in ("Convolution", "Deconvolution"):
        return [layer.convolution_param.num_output] * len(layer.top)
    if layer.type == "Slice":
        return slice_sizes(layer, bottom_channels)
    return [bottom_channels] * len(layer.top)


def slice_axis(layer) -> int:
    """The axis a Slice layer cuts: ``axis``, or the deprecated ``slice_dim`` when only it is set."""
    p = layer.slice_param
    return p.slice_dim if p.HasField("slice_dim") and not p.HasField("axis") else p.axis


def slice_sizes(layer, bottom_channels: int) -> list[int]:
    """Channels of each top of a Slice over the channel axis: cut at ``slice_point``s (ascending,
    inside the blob), or, without them, into equal parts, one per top (as Caffe's SliceLayer)."""
    if slice_axis(layer) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r}: only Slice over the channel axis (axis 1) is supported")
    points = list(layer.slice_param.slice_point)
    tops = len(layer.top)
    if points:
        bounds = [0, *points, bottom_channels]
        if len(points) != tops - 1 or any(low >= high for low, high in zip(bounds, bounds[1:])):
            raise UnsupportedLayerError(
                f"layer {layer.name!r}: Slice points {points} do not cut {bottom_channels} channels into {tops} parts"
            )
        return [high - low for low, high in zip(bounds, bounds[1:])]
    if tops == 0 or bottom_channels % tops:
        raise UnsupportedLayerError(
            f"layer {layer.name!r}: {bottom_channels} channels do not split equally into {tops} tops"
        )
    return [bottom_channels // tops] * tops


def same_shape(actual: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """Equal up to leading 1s, as legacy 4-D blobs store a vector of C as (1, 1, 1, C)."""

    def strip(shape):
        shape = tuple(shape)
        while shape and shape[0] == 1:
            shape = shape[1:]
        return shape

    return strip(actual) == strip(expected)
