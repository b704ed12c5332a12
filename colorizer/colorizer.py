"""``Colorizer``: one onnxruntime session and the pixels-in, colour-out pipeline around it."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from colorizer.color import depth_dtype, lightness, split_alpha
from colorizer.errors import ColorizerError, ModelError, ProviderError
from colorizer.guided import check_hints_supported, predict_guided
from colorizer.heap import release_free_heap
from colorizer.hints import Hint, parse_hints
from colorizer.limits import check_finite
from colorizer.pixels import finish
from colorizer.providers import choose_providers
from colorizer.upsample import DEFAULT_METHOD
from colorkit import contract
from colorkit.cli import ORT_LOG_SEVERITY, command_name
from colorkit.contract import KIND_GUIDED, ContractError, ModelContract

log = logging.getLogger(__name__)

MIN_RENDER_SIZE, MAX_RENDER_SIZE = 224, 512
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 1.0


def default_model_path(precision: str = "fp32") -> Path:
    """The model file used when none is named (``colorkit.contract.default_model_path``):
    ``$COLORIZER_MODEL``, else ``models/eccv16.onnx``; for int8 the ``-int8.onnx`` file beside it."""
    try:
        return contract.default_model_path(precision)
    except ContractError as error:
        raise ColorizerError(str(error)) from None


@dataclass(frozen=True)
class Prediction:
    """One picture's colour as the network predicts it (``Colorizer.predict``), before ``finish``.

    pixels: the input's HxW grey or HxWx3 RGB (its alpha split off), as given; alpha: its HxW alpha
    or None; plane: float32 HxW Lab L (0..100) of ``pixels``; ab: float32 2 x S/4 x S/4, the
    network's annealed-mean ab for render size S, in the image's orientation.
    """

    pixels: np.ndarray | None
    alpha: np.ndarray | None
    plane: np.ndarray
    ab: np.ndarray


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

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        providers: list[str] | None = None,
        device: str = "auto",
        threads: int | None = None,
        precision: str = "fp32",
    ):
        self.precision = check_precision(precision)
        self.model_path = Path(model_path) if model_path is not None else default_model_path(precision)
        if not self.model_path.is_file():
            convert = command_name("convert")
            hint = (
                f"create it with: {convert} --int8"
                if precision == "int8"
                else f"create it with: {convert} (downloads the release) or {convert} --help"
            )
            raise ModelError(f"no model at {self.model_path}; {hint}")
        self._session = open_session(self.model_path, providers=providers, device=device, threads=threads)
        self.providers = self._session.get_providers()
        self.metadata = self._session.get_modelmeta().custom_metadata_map
        try:
            self.contract = ModelContract.from_metadata(self.metadata)
        except ContractError as error:
            raise ModelError(f"{self.model_path}: {error}") from None
        self.default_temperature = self.contract.default_temperature
        self.input_size = self.contract.input_size
        release_free_heap()  # the model's parse buffers, freed but kept by malloc (~230 MB)
        log.info("model %s on %s", self.model_path.name, ", ".join(self.providers))

    @property
    def provider(self) -> str:
        """The execution provider that runs the network (the first active one)."""
        return self.providers[0]

    def colorize(
        self,
        image: np.ndarray,
        *,
        temperature: float | None = None,
        render_size: int | None = None,
        upsample: str = DEFAULT_METHOD,
        keep_color: bool = False,
        keep_colour: bool | None = None,
        hints: str | Sequence | None = None,
        depth: int = 8,
    ) -> np.ndarray:
        """Colorize a photo at full resolution: ``finish(predict(image))``.

        image: HxW grey, HxWx3 RGB or HxWx4 RGBA; uint8, uint16, or float in 0..1. Not modified.
        A colour image is treated as the black-and-white photo its lightness describes.
        temperature: annealed-mean temperature, 0.01 (vivid) .. 1.0 (the mean, muted);
            None (or the model's default) keeps the release's 0.38.
        render_size: the network's input side, a multiple of 8 from 224 (trained size) to 512.
        upsample: how the quarter-resolution colour is brought to full size (see colorizer.upsample).
        keep_color: for a photo that already has color, keep it where it is strong
            (``chroma.keep_strong_color``); ``chroma.analyze_input_color`` says whether it has.
            ``keep_colour`` is the same option under its first name.
        hints: colours where the user wants them, for the user-guided model (``colorizer.hints``): a
            list of ``{"x": 560, "y": 120, "color": "#2f6fd6"}`` (optionally "size") in the image's
            pixel coordinates (x right, y down), or its JSON text; HintError for a bad one, or for
            hints given to ECCV16. None or []: automatic colorization.
        depth: the result's bits per sample, 8 or 16 (16: the colour is converted from the float Lab
            and rounded once, so a 16-bit input keeps its levels; ``encode.output_depth`` says which
            an output file takes).
        Returns uint8 (depth 16: uint16) HxWx3 RGB, or HxWx4 RGBA with the input's alpha when it had one.
        """
        depth_dtype(depth)  # a bad depth is refused before the network runs
        prediction = self.predict(image, temperature=temperature, render_size=render_size, hints=hints)
        if keep_colour is not None:
            keep_color = keep_colour
        return self.finish(prediction, upsample=upsample, keep_color=keep_color, depth=depth)

    def predict(
        self,
        image: np.ndarray | None,
        *,
        temperature: float | None = None,
        render_size: int | None = None,
        quarter_turns: int = 0,
        plane: np.ndarray | None = None,
        hints: str | Sequence | None = None,
    ) -> Prediction:
        """The first half of ``colorize``: the network's low-resolution colour for ``image``.

        image, temperature, render_size: as for ``colorize``.
        quarter_turns: the network is shown the picture turned this many times 90 degrees counter-
            clockwise (a film frame stored sideways is seen upright); the colour comes back turned to
            the image's own orientation.
        plane: the image's float32 HxW lightness when the caller has it already (else computed); a
            film frame's is all the network needs (``image`` None: the prediction can be finished
            only without keep_color, the film's way).
        hints: as for ``colorize`` (in the orientation the network sees).
        """
        pixels, alpha = split_alpha(_check_image(image)) if image is not None else (None, None)
        if plane is None:
            if pixels is None:
                raise ColorizerError("predict needs an image or its lightness plane")
            plane = lightness(pixels)
        upright = np.ascontiguousarray(np.rot90(plane, quarter_turns)) if quarter_turns else plane
        checked = parse_hints(hints or [], upright.shape[1], upright.shape[0])
        ab = self.predict_ab(upright, temperature=temperature, render_size=render_size, hints=checked)
        if quarter_turns:  # 2 x s x s, turned back to the image's orientation
            ab = np.ascontiguousarray(np.rot90(ab, -quarter_turns, axes=(1, 2)))
        return Prediction(pixels, alpha, plane, ab)

    def finish(
        self,
        prediction: Prediction,
        *,
        upsample: str = DEFAULT_METHOD,
        keep_color: bool = False,
        adjust: Callable[[np.ndarray], np.ndarray] | None = None,
        depth: int = 8,
    ) -> np.ndarray:
        """The second half of ``colorize``: the prediction's colour at full resolution, joined to the
        image's own lightness -> uint8 (depth 16: uint16) HxWx3 RGB (HxWx4 RGBA with the input's alpha).

        upsample, keep_color, depth: as for ``colorize``.
        adjust: a step on the full-resolution float32 HxWx2 ab before it becomes RGB (a film's
            stabilizer); None for a photo.
        """
        if prediction.pixels is None and keep_color:
            raise ColorizerError("keep_color needs the image's own pixels, not its lightness alone")
        return finish(
            prediction.pixels if prediction.pixels is not None else prediction.plane,
            prediction.alpha,
            prediction.plane,
            prediction.ab,
            method=upsample,
            keep_color=keep_color,
            adjust=adjust,
            depth=depth,
        )

    def predict_ab(
        self,
        lightness_plane: np.ndarray,
        *,
        temperature: float | None = None,
        render_size: int | None = None,
        hints: Sequence[Hint] = (),
    ) -> np.ndarray:
        """float32 HxW L (0..100) -> float32 2 x h x w ab: S/4 x S/4 for ECCV16, S x S for the
        user-guided model, S the render size (default: the model's trained size, 224 or 256).

        A temperature equal to the model's default is not fed, so the default also works with a
        model that has no temperature input. hints: checked hints (``hints.parse_hints``) in the
        plane's pixel coordinates, for the user-guided model only (HintError otherwise)."""
        size = self.input_size if render_size is None else check_render_size(render_size, self.contract.input_multiple)
        # Bilinear, as the release's demo and the seed fed the network (cv2 sizes are (w, h)). An
        # anti-aliased INTER_AREA input moved the ab of random-weight nets by up to 0.18 in correlation.
        small = cv2.resize(lightness_plane, (size, size), interpolation=cv2.INTER_LINEAR)
        if self.contract.kind == KIND_GUIDED:
            if temperature is not None and not math.isclose(check_temperature(temperature), self.default_temperature):
                raise ColorizerError("the user-guided model has no temperature (vibrancy): leave it at its default")
            height, width = lightness_plane.shape
            return predict_guided(self._session, small, hints, width, height, self.contract)
        check_hints_supported(self.contract, hints)
        feeds = {self.contract.l_input: (small - np.float32(self.contract.l_offset))[None, None]}  # HxW -> 1x1xHxW
        if temperature is not None and not math.isclose(check_temperature(temperature), self.default_temperature):
            feeds[self._temperature_feed()] = np.array(temperature, np.float32)
        return self._session.run([self.contract.ab_output], feeds)[0][0]  # 1x2xhxw -> 2xhxw

    def _temperature_feed(self) -> str:
        if not self.contract.temperature_input:
            raise ModelError(f"{self.model_path} has no temperature input; re-create it with {command_name('convert')}")
        return self.contract.temperature_input


def open_session(
    model_path: Path, *, providers: list[str] | None = None, device: str = "auto", threads: int | None = None
) -> ort.InferenceSession:
    """An onnxruntime session for an existing model file: ``providers`` (most preferred first), else
    those ``device`` names (``providers.choose_providers``); ``threads`` intra-op threads for the
    CPU (None: one per core). ModelError for a file that is not a loadable ONNX model,
    ProviderError for providers that are unknown, or named and not started."""
    requested = providers or choose_providers(device)
    options = ort.SessionOptions()
    options.log_severity_level = ORT_LOG_SEVERITY
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(model_path), options, providers=requested)
    except (
        ort.capi.onnxruntime_pybind11_state.Fail,
        ort.capi.onnxruntime_pybind11_state.InvalidProtobuf,
        ort.capi.onnxruntime_pybind11_state.InvalidGraph,
    ) as error:
        raise ModelError(f"{model_path}: not a loadable ONNX model ({str(error).splitlines()[0]})") from None
    except ValueError as error:  # unknown provider names
        raise ProviderError(str(error).splitlines()[0]) from None
    active = session.get_providers()
    missing = [name for name in requested if name not in active]
    if missing and (providers or device != "auto"):
        raise ProviderError(
            f"{', '.join(missing)} could not be started (see onnxruntime's log); "
            f"running on {', '.join(active)} instead was not requested"
        )
    return session


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ColorizerError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ColorizerError(f"expected HxW, HxWx3 or HxWx4 pixels, got shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise ColorizerError(f"expected uint8, uint16 or float pixels, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ColorizerError(f"empty image of shape {image.shape}")
    check_finite(image)  # one NaN would spread through the upsampling to hundreds of pixels
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float if it is from MIN_TEMPERATURE to MAX_TEMPERATURE, else ColorizerError."""
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:  # NaN fails this too
        raise ColorizerError(f"temperature {temperature} must be between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}")
    return float(temperature)


def check_precision(precision: object) -> str:
    """``precision`` if it is one of PRECISIONS ("fp32", "int8") (``contract.check_precision``), else
    ColorizerError."""
    try:
        return contract.check_precision(precision)
    except ContractError as error:
        raise ColorizerError(str(error)) from None


def check_render_size(size: int, multiple: int = contract.INPUT_MULTIPLE) -> int:
    """``size`` if it is a multiple of ``multiple`` from MIN_RENDER_SIZE to MAX_RENDER_SIZE, else
    ColorizerError (so callers can refuse a bad option before loading a model)."""
    if not (MIN_RENDER_SIZE <= size <= MAX_RENDER_SIZE) or size % multiple:
        raise ColorizerError(
            f"render size {size} must be a multiple of {multiple} from {MIN_RENDER_SIZE} to {MAX_RENDER_SIZE}"
        )
    return int(size)
