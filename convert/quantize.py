"""int8 fast path: static QDQ quantization calibrated on photos, and a self-check against fp32.

The int8 model keeps the fp32 model's contract (inputs ``data_l``/``temperature``, output
``class8_ab``, metadata) and adds ``int8.*`` metadata with the self-check's figures. Layers whose
quantization hurts colour stay in float (``FLOAT_LAYERS``; measured in the README).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from colorkit.cli import ORT_LOG_SEVERITY
from colorkit.contract import KEY_PRECISION, KIND_ECCV16, ContractError, ModelContract
from colorkit.files import atomic_writer, is_image_name
from convert.errors import ConversionError

log = logging.getLogger(__name__)

# The class logits, their temperature scaling, the softmax and the ab decoding form the colour
# itself and stay float32: quantizing them raised mean |dab| from 1.54 to 2.01. Keeping the first
# convolution float too gained 0.02 for 9 ms (python -m bench.quantize_bench, README).
FLOAT_LAYERS = ("conv8_313", "conv8_313_rh", "class8_313_rh", "class8_ab")
DEFAULT_MAX_MEAN_DAB = 3.0
# The self-check feeds photos without hints; an int8 user-guided model has not been shown to pass it
# with hints (docs/model.md), so none is written.
GUIDED_INT8_REFUSAL = (
    "int8 is not available for the user-guided model: its self-check against fp32 has not been "
    "validated with hints (docs/model.md); use the fp32 model"
)


class QuantizationRefused(ConversionError):
    """The int8 model differs too much from the fp32 one on held-out photos; it was not written."""


@dataclass(frozen=True)
class Int8Check:
    """How far int8 ab is from fp32 ab on held-out photos (ab units), and the RGB PSNR (dB)."""

    mean_abs_dab: float
    p99_abs_dab: float
    psnr_db: float
    images: int

    def summary(self) -> str:
        return (
            f"int8 vs fp32 on {self.images} held-out photos: mean |dab| {self.mean_abs_dab:.2f}, "
            f"p99 |dab| {self.p99_abs_dab:.2f}, RGB PSNR {self.psnr_db:.1f} dB"
        )


def network_input(path: Path, contract: ModelContract) -> np.ndarray:
    """An image file -> float32 1x1xSxS L - offset, as the colorizer feeds the network."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConversionError(f"{path}: not an image OpenCV can read (calibration photos must be images)")
    lab = cv2.cvtColor(bgr.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)
    size = contract.input_size
    small = cv2.resize(lab[:, :, 0], (size, size), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    return (small - np.float32(contract.l_offset))[None, None]


def split_photos(directory: Path) -> tuple[list[Path], list[Path]]:
    """(calibration, held out): every third photo (sorted by name) is held out for the check."""
    if not directory.is_dir():
        raise ConversionError(f"{directory}: no such folder of calibration photos (name one with --calibration)")
    photos = sorted(path for path in directory.iterdir() if is_image_name(path))
    if len(photos) < 2:
        raise ConversionError(f"{directory}: need at least 2 photos for calibration and checking, found {len(photos)}")
    held_out = photos[2::3] or photos[-1:]
    return [path for path in photos if path not in held_out], held_out


class _PhotoReader(CalibrationDataReader):
    def __init__(self, photos: list[Path], contract: ModelContract):
        self._feeds = iter([{contract.l_input: network_input(path, contract)} for path in photos])

    def get_next(self):
        return next(self._feeds, None)


def quantize_model(
    fp32_path: Path,
    int8_path: Path,
    calibration_dir: Path,
    *,
    max_mean_dab: float = DEFAULT_MAX_MEAN_DAB,
    float_layers: tuple[str, ...] = FLOAT_LAYERS,
) -> Int8Check:
    """Write an int8 QDQ version of ``fp32_path`` to ``int8_path`` if it passes the self-check.

    Static quantization: uint8 activations (MinMax ranges over the calibration photos), int8
    per-channel weights, ``float_layers`` left in float. Raises QuantizationRefused, writing
    nothing, when the mean |dab| on held-out photos exceeds ``max_mean_dab``.
    """
    calibration, held_out = split_photos(calibration_dir)
    metadata = {prop.key: prop.value for prop in onnx.load(str(fp32_path), load_external_data=False).metadata_props}
    try:
        contract = ModelContract.from_metadata(metadata)
    except ContractError as error:
        raise ConversionError(f"{fp32_path}: {error}") from None
    if contract.kind != KIND_ECCV16:
        raise QuantizationRefused(GUIDED_INT8_REFUSAL)
    with tempfile.TemporaryDirectory() as scratch:
        prepared, quantized = Path(scratch) / "prepared.onnx", Path(scratch) / "int8.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(quantized),
            _PhotoReader(calibration, contract),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=list(float_layers),
        )
        check = compare(fp32_path, quantized, held_out, contract)
        log.info("%s", check.summary())
        if check.mean_abs_dab > max_mean_dab:
            raise QuantizationRefused(
                f"{check.summary()}: mean |dab| above the limit {max_mean_dab}; "
                f"int8 model not written (keep using fp32)"
            )
        model = onnx.load(str(quantized))
    onnx.helper.set_model_props(
        model,
        {
            **metadata,
            KEY_PRECISION: "int8",
            "int8.calibration_photos": str(len(calibration)),
            "int8.held_out_photos": str(check.images),
            "int8.mean_abs_dab": f"{check.mean_abs_dab:.3f}",
            "int8.p99_abs_dab": f"{check.p99_abs_dab:.3f}",
            "int8.rgb_psnr_db": f"{check.psnr_db:.2f}",
        },
    )
    with atomic_writer(int8_path) as stream:
        stream.write(model.SerializeToString())
    return check


def compare(fp32_path: Path, int8_path: Path, photos: list[Path], contract: ModelContract) -> Int8Check:
    """ab and RGB differences between two models over photos, at the network's input resolution."""
    options = ort.SessionOptions()
    options.log_severity_level = ORT_LOG_SEVERITY
    sessions = [
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]) for path in (fp32_path, int8_path)
    ]
    differences, squared_rgb = [], []
    for path in photos:
        data_l = network_input(path, contract)
        ab_fp32, ab_int8 = (session.run([contract.ab_output], {contract.l_input: data_l})[0][0] for session in sessions)
        differences.append(np.abs(ab_fp32 - ab_int8).ravel())
        rgb_fp32, rgb_int8 = (_rgb(data_l[0, 0] + np.float32(contract.l_offset), ab) for ab in (ab_fp32, ab_int8))
        squared_rgb.append(np.mean((rgb_fp32 - rgb_int8) ** 2))
    every = np.concatenate(differences)
    mse = float(np.mean(squared_rgb))
    return Int8Check(
        mean_abs_dab=float(every.mean()),
        p99_abs_dab=float(np.percentile(every, 99)),
        psnr_db=float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse),
        images=len(photos),
    )


def _rgb(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """float32 SxS L + 2 x S/4 x S/4 ab -> float64 SxSx3 RGB in 0..255."""
    size = lightness.shape[0]
    ab_full = cv2.resize(np.ascontiguousarray(ab.transpose(1, 2, 0)), (size, size))  # CHW -> HWC; cv2: (w, h)
    lab = np.concatenate([lightness[:, :, None], ab_full], axis=2)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1).astype(np.float64) * 255
