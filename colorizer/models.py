"""The models one program serves: an fp32 model path and the Colorizer of each precision, each
loaded once, on first use, and its SHA-256 (for provenance) hashed once."""

from __future__ import annotations

import threading
from pathlib import Path

from colorizer.colorizer import Colorizer, default_model_path
from colorizer.errors import ColorizerError
from colorkit.contract import ContractError, model_for_precision
from colorkit.files import sha256_file


class ModelSet:
    """Colorizers for one fp32 model file and its int8 sibling.

    model_path: the fp32 model (None: ``default_model_path()``, i.e. $COLORIZER_MODEL or models/).
    threads: intra-op threads per session (None: onnxruntime's default).
    A load that fails raises ColorizerError and is tried again on the next call.
    """

    def __init__(self, model_path: Path | str | None = None, *, threads: int | None = None):
        self._fp32 = Path(model_path) if model_path is not None else None
        self.threads = threads
        self._lock = threading.Lock()
        self._colorizers: dict[str, Colorizer] = {}
        self._hashes: dict[str, str] = {}

    def path(self, precision: str = "fp32") -> Path:
        """The model file of a precision: the fp32 file, or the ``-int8.onnx`` beside it."""
        try:
            return default_model_path(precision) if self._fp32 is None else model_for_precision(self._fp32, precision)
        except ContractError as error:
            raise ColorizerError(str(error)) from None

    def get(self, precision: str = "fp32") -> Colorizer:
        """The Colorizer of a precision, loaded on first use (one session shared by all threads)."""
        with self._lock:
            if precision not in self._colorizers:
                self._colorizers[precision] = Colorizer(self.path(precision), precision=precision, threads=self.threads)
            return self._colorizers[precision]

    def sha256(self, precision: str = "fp32") -> str:
        """Hex SHA-256 of the model file of a precision (hashed once)."""
        colorizer = self.get(precision)
        with self._lock:
            known = self._hashes.get(precision)
        if known is None:  # hashed outside the lock: ~0.3 s for the 129 MB model
            known = sha256_file(colorizer.model_path)
            with self._lock:
                self._hashes[precision] = known
        return known

    def loaded(self) -> list[str]:
        """The precisions loaded so far."""
        with self._lock:
            return sorted(self._colorizers)
