"""Which onnxruntime execution providers (devices) a session gets."""

from __future__ import annotations

import logging

import onnxruntime as ort

from colorizer.errors import ProviderError

log = logging.getLogger(__name__)

# "auto" takes the first of these that the installed onnxruntime build offers, then the CPU.
# TensorRT is left to an explicit choice: it spends minutes building an engine per input shape.
AUTO_PREFERENCE = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")
DEVICES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
}


def choose_providers(device: str = "auto", available: list[str] | None = None) -> list[str]:
    """Providers for ``device`` ("auto" or a key of DEVICES), most preferred first, CPU last.

    Raises ProviderError if the device is unknown or its provider is not in ``available``
    (default: what this onnxruntime build offers).
    """
    available = ort.get_available_providers() if available is None else available
    if device == "auto":
        chosen = [name for name in AUTO_PREFERENCE if name in available]
    elif device in DEVICES:
        provider = DEVICES[device]
        if provider not in available:
            raise ProviderError(
                f"device {device!r} needs {provider}, which this onnxruntime build does not offer "
                f"(available: {', '.join(available)}); for CUDA install onnxruntime-gpu instead of onnxruntime"
            )
        chosen = [provider]
    else:
        raise ProviderError(f"unknown device {device!r}; choose auto or one of {', '.join(DEVICES)}")
    return [name for name in chosen if name != "CPUExecutionProvider"] + ["CPUExecutionProvider"]
