"""State shared by the layer converters while one Caffe net becomes one ONNX graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper


@dataclass(frozen=True)
class TemperatureInput:
    """Expose a Scale layer's factor as an annealing temperature input of the graph.

    The Scale layer multiplies by ``s * (default / T)``, with T a float32 scalar graph input whose
    initializer is ``default``; feeding nothing reproduces the Caffe net exactly (the factor is 1.0).
    """

    layer: str
    input_name: str
    default: float


@dataclass
class ConversionContext:
    """Caffe blob names -> ONNX tensor names, plus the initializers and inputs built so far.

    Caffe lets a layer write its output over its input ("in-place" ReLU); ONNX tensors are written
    once, so a re-written blob gets a fresh tensor name and later readers follow ``current``.
    """

    temperature: TemperatureInput | None = None
    channels: dict[str, int] = field(default_factory=dict)  # Caffe blob -> its channel count
    current: dict[str, str] = field(default_factory=dict)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    inputs: list[onnx.ValueInfoProto] = field(default_factory=list)

    def read(self, blob: str) -> str:
        """The ONNX tensor that currently holds Caffe blob ``blob``."""
        return self.current[blob]

    def write(self, blob: str, layer_name: str) -> str:
        """A new ONNX tensor for ``blob`` as written by ``layer_name``."""
        name = blob if blob not in self.current else f"{blob}/{layer_name}"
        self.current[blob] = name
        return name

    def constant(self, name: str, array: np.ndarray, dtype: type = np.float32) -> str:
        """Add an initializer (float32 unless ``dtype`` says otherwise); returns its name."""
        self.initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype, order="C"), name))
        return name

    def add_input(self, blob: str, dims: list, default: np.ndarray | None = None) -> str:
        """Declare a float32 graph input; one with a ``default`` is optional for callers."""
        name = self.write(blob, "input")
        self.inputs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims))
        if default is not None:
            self.constant(name, default)
        return name
