"""The model contract: where the ONNX model lives, what its files are called, what its metadata says.

``python -m convert`` writes a model that follows this contract; ``colorizer`` reads one. Everything
both sides must agree on lives here, once:

- file naming: ``eccv16.onnx``, and its int8 sibling ``eccv16-int8.onnx`` beside it;
- the default location: ``$COLORIZER_MODEL``, else ``models/`` in a source checkout, else the user
  cache (``$COLORIZER_CACHE``, default ``~/.cache/colorizer``) for an installed package;
- the metadata keys (``metadata_props``) and how they are parsed back (``ModelContract``).

The network itself: input ``data_l`` float32 [N, 1, H, W] = L - 50 (L in 0..100, H and W multiples of
8, 224 trained); optional input ``temperature``, a float32 scalar (default 0.38, the release's
annealing); output ``class8_ab`` float32 [N, 2, H/4, W/4], the annealed-mean ab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MODEL_ENV = "COLORIZER_MODEL"  # a model file to use instead of the default
CACHE_ENV = "COLORIZER_CACHE"  # where downloads (and an installed package's model) are kept
MODEL_NAME = "eccv16.onnx"
PRECISIONS = ("fp32", "int8")
INT8_TAG = "-int8"

L_INPUT = "data_l"
AB_OUTPUT = "class8_ab"
TEMPERATURE_INPUT = "temperature"
# The paper's annealing temperature; the release's Scale factor 2.606 ~ 1 / 0.38 stands for it.
DEFAULT_TEMPERATURE = 0.38
INPUT_SIZE = 224  # the trained network input, pixels per side
INPUT_MULTIPLE = 8  # H and W must be multiples of this
L_OFFSET = 50.0  # data_l = L - L_OFFSET
OUTPUT_STRIDE = 4  # class8_ab is H/4 x W/4

# metadata_props keys. "source.*.sha256" and "int8.*" carry provenance and the int8 self-check.
KEY_CONVERTER = "converter"
KEY_L_INPUT = "io.l_input"
KEY_AB_OUTPUT = "io.ab_output"
KEY_TEMPERATURE_INPUT = "io.temperature_input"
KEY_DEFAULT_TEMPERATURE = "default_temperature"
KEY_INPUT_SIZE = "preprocess.input_size"
KEY_INPUT_MULTIPLE = "preprocess.input_multiple"
KEY_L_OFFSET = "preprocess.l_offset"
KEY_OUTPUT_STRIDE = "preprocess.output_stride"
KEY_PRECISION = "precision"
INT8_PREFIX = "int8."


class ContractError(ValueError):
    """A model's metadata does not follow the contract (written by something other than convert)."""


@dataclass(frozen=True)
class ModelContract:
    """What a model's metadata says about feeding it and reading its answer."""

    l_input: str = L_INPUT
    ab_output: str = AB_OUTPUT
    temperature_input: str | None = TEMPERATURE_INPUT
    default_temperature: float = DEFAULT_TEMPERATURE
    input_size: int = INPUT_SIZE
    input_multiple: int = INPUT_MULTIPLE
    l_offset: float = L_OFFSET
    output_stride: int = OUTPUT_STRIDE

    def metadata(self) -> dict[str, str]:
        """The metadata_props entries that describe this contract (the converter writes them)."""
        entries = {
            KEY_L_INPUT: self.l_input,
            KEY_AB_OUTPUT: self.ab_output,
            KEY_DEFAULT_TEMPERATURE: str(self.default_temperature),
            KEY_INPUT_SIZE: str(self.input_size),
            KEY_INPUT_MULTIPLE: str(self.input_multiple),
            KEY_L_OFFSET: _number(self.l_offset),
            KEY_OUTPUT_STRIDE: str(self.output_stride),
        }
        if self.temperature_input:
            entries[KEY_TEMPERATURE_INPUT] = self.temperature_input
        return entries

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> ModelContract:
        """Parse a model's metadata_props; raises ContractError naming the missing or bad key."""
        try:
            return cls(
                l_input=metadata[KEY_L_INPUT],
                ab_output=metadata[KEY_AB_OUTPUT],
                temperature_input=metadata.get(KEY_TEMPERATURE_INPUT) or None,
                default_temperature=float(metadata.get(KEY_DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE)),
                input_size=int(metadata[KEY_INPUT_SIZE]),
                input_multiple=int(metadata.get(KEY_INPUT_MULTIPLE, INPUT_MULTIPLE)),
                l_offset=float(metadata[KEY_L_OFFSET]),
                output_stride=int(metadata.get(KEY_OUTPUT_STRIDE, OUTPUT_STRIDE)),
            )
        except KeyError as error:
            raise ContractError(f"metadata lacks {error}; was it written by python -m convert?") from None
        except ValueError as error:
            raise ContractError(f"metadata has a bad value ({error})") from None


def _number(value: float) -> str:
    """50.0 -> "50", 0.5 -> "0.5": the form the first release wrote."""
    return str(int(value)) if float(value).is_integer() else str(value)


def int8_path(fp32_path: Path) -> Path:
    """Where the int8 model of an fp32 model lives: ``eccv16.onnx`` -> ``eccv16-int8.onnx``."""
    return fp32_path.with_name(f"{fp32_path.stem}{INT8_TAG}{fp32_path.suffix}")


def check_precision(precision: str) -> str:
    """``precision`` if it is one of PRECISIONS; else ContractError naming the choices."""
    if precision not in PRECISIONS:
        raise ContractError(f"unknown precision {precision!r}; choose {' or '.join(PRECISIONS)}")
    return precision


def model_for_precision(fp32_path: Path, precision: str = "fp32") -> Path:
    """The fp32 model itself, or its int8 sibling."""
    return fp32_path if check_precision(precision) == "fp32" else int8_path(fp32_path)


def default_cache_dir() -> Path:
    """``$COLORIZER_CACHE``, else ``~/.cache/colorizer``: downloads, and an installed package's model."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "colorizer")


def checkout_models_dir() -> Path | None:
    """``models/`` of the source checkout this code runs from, or None for an installed package."""
    root = Path(__file__).resolve().parent.parent
    return root / "models" if (root / "models").is_dir() and (root / "convert").is_dir() else None


def default_model_path(precision: str = "fp32") -> Path:
    """``$COLORIZER_MODEL``, else ``eccv16.onnx`` in the checkout's ``models/`` (or, installed, in
    the cache folder's ``models/``); for int8 the ``-int8.onnx`` file beside it."""
    configured = os.environ.get(MODEL_ENV)
    if configured:
        fp32 = Path(configured)
    else:
        fp32 = (checkout_models_dir() or default_cache_dir() / "models") / MODEL_NAME
    return model_for_precision(fp32, precision)
