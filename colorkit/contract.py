"""The model contract: where the ONNX model lives, what its files are called, what its metadata says.

``python -m convert`` writes a model that follows this contract; ``colorizer`` reads one. Everything
both sides must agree on lives here, once:

- file naming: ``eccv16.onnx``, and its int8 sibling ``eccv16-int8.onnx`` beside it; the user-guided
  model ``guided.onnx`` (``$COLORIZER_GUIDED_MODEL`` names another);
- the default location: ``$COLORIZER_MODEL``, else ``models/`` in a source checkout, else the user
  cache (``$COLORIZER_CACHE``, default ``~/.cache/colorizer``) for an installed package;
- the metadata keys (``metadata_props``) and how they are parsed back (``ModelContract``).

The network itself: input ``data_l`` float32 [N, 1, H, W] = L - 50 (L in 0..100, H and W multiples of
8, 224 trained); optional input ``temperature``, a float32 scalar (default 0.38, the release's
annealing); output ``class8_ab`` float32 [N, 2, H/4, W/4], the annealed-mean ab.

Two kinds of model follow it, told apart by the metadata key ``model.kind`` (a file without it is
ECCV16, as every file written before the key existed):

- ``eccv16``: the network above (``eccv16.onnx``);
- ``guided``: the user-guided network of Zhang, Zhu et al. (SIGGRAPH 2017, ``guided.onnx``): input
  ``data_l_ab_mask`` float32 [N, 4, H, W] = (L - 50, hint a, hint b, hint mask x 110), ab in Lab
  units and 0 where there is no hint, mask 1 where there is one; H and W multiples of 8, 256
  trained; output ``pred_ab`` float32 [N, 2, H, W], the ab at the input's own resolution
  (100 x tanh: within -100..100). No temperature.
- ``guided-dist``: the same network ending in a distribution over the 313 ab bins of
  ``pts_in_hull.npy`` (deploy_nopred.prototxt, ``guided-dist.onnx``): the same input; outputs
  ``dist_ab_S`` float32 [N, 313, H, W] (softened, S = 0.2: the release's suggested colours) and
  ``pred_ab`` [N, 2, H, W] (the annealed mean of the sharpened distribution, T = 2.6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

MODEL_ENV = "COLORIZER_MODEL"  # a model file to use instead of the default
GUIDED_MODEL_ENV = "COLORIZER_GUIDED_MODEL"  # a user-guided model file to use instead of the default
CACHE_ENV = "COLORIZER_CACHE"  # where downloads (and an installed package's model) are kept
MODEL_NAME = "eccv16.onnx"
GUIDED_MODEL_NAME = "guided.onnx"
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

# Model kinds (metadata "model.kind"); a model without the key is ECCV16.
KIND_ECCV16 = "eccv16"
KIND_GUIDED = "guided"
KIND_GUIDED_DIST = "guided-dist"  # the same network ending in a colour distribution (suggested colours)
MODEL_KINDS = (KIND_ECCV16, KIND_GUIDED, KIND_GUIDED_DIST)
# The user-guided network (colorize_image.py of junyanz/interactive-deep-colorization, Caffe):
# l_mean 50, ab_mean 0, ab_norm 1, mask_mult 110, 256x256 input.
GUIDED_INPUT = "data_l_ab_mask"
GUIDED_OUTPUT = "pred_ab"
GUIDED_INPUT_SIZE = 256
GUIDED_MASK_VALUE = 110.0  # a hinted cell's mask channel; 0 elsewhere
GUIDED_DIST_MODEL_NAME = "guided-dist.onnx"
GUIDED_DIST_OUTPUT = "dist_ab_S"  # [N, 313, H, W], softmax over the 313 ab bins of pts_in_hull.npy

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
KEY_MODEL_KIND = "model.kind"
KEY_HINT_MASK_VALUE = "preprocess.hint_mask_value"
KEY_DIST_OUTPUT = "io.dist_output"


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
    kind: str = KIND_ECCV16
    hint_mask_value: float | None = None  # guided models: the mask channel's value where hinted
    dist_output: str | None = None  # guided-dist models: the 313-bin colour distribution

    @classmethod
    def guided(cls) -> ModelContract:
        """The user-guided network's contract (what ``python -m convert`` writes for it)."""
        return cls(
            l_input=GUIDED_INPUT,
            ab_output=GUIDED_OUTPUT,
            temperature_input=None,
            input_size=GUIDED_INPUT_SIZE,
            output_stride=1,
            kind=KIND_GUIDED,
            hint_mask_value=GUIDED_MASK_VALUE,
        )

    @classmethod
    def guided_dist(cls) -> ModelContract:
        """The contract of the guided network's distribution version (deploy_nopred.prototxt):
        the guided input, ``pred_ab`` (the annealed mean) and ``dist_ab_S`` (the distribution)."""
        return replace(cls.guided(), kind=KIND_GUIDED_DIST, dist_output=GUIDED_DIST_OUTPUT)

    def metadata(self) -> dict[str, str]:
        """The metadata_props entries that describe this contract (the converter writes them)."""
        entries = {
            KEY_MODEL_KIND: self.kind,
            KEY_L_INPUT: self.l_input,
            KEY_AB_OUTPUT: self.ab_output,
            KEY_INPUT_SIZE: str(self.input_size),
            KEY_INPUT_MULTIPLE: str(self.input_multiple),
            KEY_L_OFFSET: _number(self.l_offset),
            KEY_OUTPUT_STRIDE: str(self.output_stride),
        }
        if self.temperature_input:
            entries[KEY_TEMPERATURE_INPUT] = self.temperature_input
            entries[KEY_DEFAULT_TEMPERATURE] = str(self.default_temperature)
        if self.hint_mask_value is not None:
            entries[KEY_HINT_MASK_VALUE] = _number(self.hint_mask_value)
        if self.dist_output:
            entries[KEY_DIST_OUTPUT] = self.dist_output
        return entries

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> ModelContract:
        """Parse a model's metadata_props; raises ContractError naming the missing or bad key."""
        kind = metadata.get(KEY_MODEL_KIND, KIND_ECCV16)
        if kind not in MODEL_KINDS:
            raise ContractError(f"unknown model kind {kind!r} (known: {', '.join(MODEL_KINDS)}); a newer converter's?")
        try:
            hint_mask_value = float(metadata[KEY_HINT_MASK_VALUE]) if kind != KIND_ECCV16 else None
            dist_output = metadata[KEY_DIST_OUTPUT] if kind == KIND_GUIDED_DIST else None
            return cls(
                l_input=metadata[KEY_L_INPUT],
                ab_output=metadata[KEY_AB_OUTPUT],
                temperature_input=metadata.get(KEY_TEMPERATURE_INPUT) or None,
                default_temperature=float(metadata.get(KEY_DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE)),
                input_size=int(metadata[KEY_INPUT_SIZE]),
                input_multiple=int(metadata.get(KEY_INPUT_MULTIPLE, INPUT_MULTIPLE)),
                l_offset=float(metadata[KEY_L_OFFSET]),
                output_stride=int(metadata.get(KEY_OUTPUT_STRIDE, OUTPUT_STRIDE)),
                kind=kind,
                hint_mask_value=hint_mask_value,
                dist_output=dist_output,
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


def check_precision(precision: object) -> str:
    """``precision`` if it is one of PRECISIONS; else ContractError naming the choices."""
    if precision not in PRECISIONS:
        raise ContractError(f"unknown precision {precision!r}; choose {' or '.join(PRECISIONS)}")
    return str(precision)


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


def default_guided_model_path() -> Path:
    """``$COLORIZER_GUIDED_MODEL``, else ``guided.onnx`` beside the default ECCV16 model's folder
    (the checkout's ``models/``, or, installed, the cache folder's ``models/``)."""
    configured = os.environ.get(GUIDED_MODEL_ENV)
    if configured:
        return Path(configured)
    return (checkout_models_dir() or default_cache_dir() / "models") / GUIDED_MODEL_NAME


def default_guided_dist_model_path() -> Path:
    """``guided-dist.onnx`` beside the default user-guided model."""
    return default_guided_model_path().with_name(GUIDED_DIST_MODEL_NAME)
