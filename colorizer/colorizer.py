"""``Colorizer``: one onnxruntime session and the pixels-in, colour-out pipeline around it."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from colorizer.color import lightness, split_alpha
from colorizer.errors import ColorizerError, ModelError, ProviderError
from colorizer.pixels import finish
from colorizer.providers import choose_providers
from colorizer.upsample import DEFAULT_METHOD

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "eccv16.onnx"
MIN_RENDER_SIZE, MAX_RENDER_SIZE = 224, 512
_OFFLINE_HINT = "create it with: python -m convert (downloads the release) or python -m convert --help"


PRECISIONS = ("fp32", "int8")


def default_model_path(precision: str = "fp32") -> Path:
    """``$COLORIZER_MODEL``, else ``models/eccv16.onnx`` in this checkout; for int8 the file beside
    it named ``<stem>-int8.onnx`` (what ``python -m convert --int8`` writes)."""
    if precision not in PRECISIONS:
        raise ColorizerError(f"unknown precision {precision!r}; choose {' or '.join(PRECISIONS)}")
    path = Path(os.environ.get("COLORIZER_MODEL") or DEFAULT_MODEL)
    return path if precision == "fp32" else path.with_name(f"{path.stem}-int8{path.suffix}")


class Colorizer:
    """Colorizes images with the ECCV16 ONNX model. Thread-safe: ``colorize`` may be called from
    several threads at once; they share the one InferenceSession.

    model_path: the ONNX model (default ``default_model_path(precision)``).
    precision: "fp32" (default) or "int8", the faster quantized model the converter writes with
        ``--int8`` after checking it against fp32 (its figures are in ``metadata["int8.*"]``).
    providers: onnxruntime providers, most preferred first; overrides ``device``.
    device: "auto" (GPU providers when this onnxruntime build has them, else CPU), "cpu", "cuda", ...
    threads: intra-op threads for the CPU provider (None: onnxruntime's default, one per core).
    """

    def __init__(self, model_path: Path | str | None = None, *, providers: list[str] | None = None,
                 device: str = "auto", threads: int | None = None, precision: str = "fp32"):
        self.model_path = Path(model_path) if model_path is not None else default_model_path(precision)
        if not self.model_path.is_file():
            hint = "create it with: python -m convert --int8" if precision == "int8" else _OFFLINE_HINT
            raise ModelError(f"no model at {self.model_path}; {hint}")
        requested = providers or choose_providers(device)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the optional temperature input triggers a harmless warning
        if threads:
            options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(self.model_path), options, providers=requested)
        except (ort.capi.onnxruntime_pybind11_state.Fail, ort.capi.onnxruntime_pybind11_state.InvalidProtobuf,
                ort.capi.onnxruntime_pybind11_state.InvalidGraph) as error:
            raise ModelError(f"{self.model_path}: not a loadable ONNX model ({str(error).splitlines()[0]})") from None
        except ValueError as error:  # unknown provider names
            raise ProviderError(str(error).splitlines()[0]) from None
        self.providers = self._session.get_providers()
        missing = [name for name in requested if name not in self.providers]
        if missing and (providers or device != "auto"):
            raise ProviderError(f"{', '.join(missing)} could not be started (see onnxruntime's log); "
                                f"running on {', '.join(self.providers)} instead was not requested")
        self.metadata = self._session.get_modelmeta().custom_metadata_map
        try:
            self._l_input = self.metadata["io.l_input"]
            self._ab_output = self.metadata["io.ab_output"]
            self._temperature_input = self.metadata.get("io.temperature_input")
            self.default_temperature = float(self.metadata.get("default_temperature", "nan"))
            self.input_size = int(self.metadata["preprocess.input_size"])
            self._l_offset = float(self.metadata["preprocess.l_offset"])
            self._input_multiple = int(self.metadata["preprocess.input_multiple"])
        except (KeyError, ValueError) as error:
            raise ModelError(f"{self.model_path}: metadata lacks {error}; was it written by python -m convert?") from None
        log.info("model %s on %s", self.model_path.name, ", ".join(self.providers))

    @property
    def provider(self) -> str:
        """The execution provider that runs the network (the first active one)."""
        return self.providers[0]

    def colorize(self, image: np.ndarray, *, temperature: float | None = None, render_size: int | None = None,
                 upsample: str = DEFAULT_METHOD, keep_colour: bool = False) -> np.ndarray:
        """Colorize a photo at full resolution.

        image: HxW grey, HxWx3 RGB or HxWx4 RGBA; uint8, uint16, or float in 0..1. Not modified.
        A colour image is treated as the black-and-white photo its lightness describes.
        temperature: annealed-mean temperature, ~0.05 (vivid) .. 1.0 (the mean, muted);
            None keeps the release's 0.38.
        render_size: the network's input side, a multiple of 8 from 224 (trained size) to 512.
        upsample: how the quarter-resolution colour is brought to full size (see colorizer.upsample).
        keep_colour: for a photo that already has colour, keep it where it is strong
            (``chroma.keep_strong_colour``); ``chroma.analyse_input_colour`` says whether it has.
        Returns uint8 HxWx3 RGB, or HxWx4 RGBA with the input's alpha when it had one.
        """
        pixels, alpha = split_alpha(_check_image(image))
        plane = lightness(pixels)
        ab = self.predict_ab(plane, temperature=temperature, render_size=render_size)
        return finish(pixels, alpha, plane, ab, method=upsample, keep_color=keep_colour)

    def predict_ab(self, lightness_plane: np.ndarray, *, temperature: float | None = None,
                   render_size: int | None = None) -> np.ndarray:
        """float32 HxW L (0..100) -> float32 2 x S/4 x S/4 ab, S the render size (default trained 224)."""
        size = self.input_size if render_size is None else self._check_render_size(render_size)
        # Bilinear, as the release's demo and the seed fed the network (cv2 sizes are (w, h)). An
        # anti-aliased INTER_AREA input moved the ab of random-weight nets by up to 0.18 in correlation.
        small = cv2.resize(lightness_plane, (size, size), interpolation=cv2.INTER_LINEAR)
        feeds = {self._l_input: (small - np.float32(self._l_offset))[None, None]}  # HxW -> 1x1xHxW
        if temperature is not None:
            feeds[self._temperature_feed()] = np.array(_check_temperature(temperature), np.float32)
        return self._session.run([self._ab_output], feeds)[0][0]  # 1x2xhxw -> 2xhxw

    def _check_render_size(self, size: int) -> int:
        if not (MIN_RENDER_SIZE <= size <= MAX_RENDER_SIZE) or size % self._input_multiple:
            raise ColorizerError(f"render size {size} must be a multiple of {self._input_multiple} "
                                 f"from {MIN_RENDER_SIZE} to {MAX_RENDER_SIZE}")
        return size

    def _temperature_feed(self) -> str:
        if not self._temperature_input:
            raise ModelError(f"{self.model_path} has no temperature input; re-create it with python -m convert")
        return self._temperature_input


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ColorizerError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ColorizerError(f"expected HxW, HxWx3 or HxWx4 pixels, got shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise ColorizerError(f"expected uint8, uint16 or float pixels, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ColorizerError(f"empty image of shape {image.shape}")
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _check_temperature(temperature: float) -> float:
    if not 0.01 <= temperature <= 1.0:
        raise ColorizerError(f"temperature {temperature} must be between 0.01 and 1.0")
    return float(temperature)
