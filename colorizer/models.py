"""The models one program serves: an fp32 model path and the Colorizer of each precision, each
loaded once, on first use; and ``prepare``, the one way a program readies its model (the app and
the command line alike)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

from colorizer.colorizer import Colorizer, default_model_path
from colorizer.errors import ColorizerError, ModelError
from colorizer.pixels import load_kernels
from colorizer.provenance import model_sha256
from colorkit.contract import ContractError, model_for_precision


class ModelSet:
    """Colorizers for one fp32 model file and its int8 sibling.

    model_path: the fp32 model (None: ``default_model_path()``, i.e. $COLORIZER_MODEL or models/).
    threads: intra-op threads per session (None: onnxruntime's default). device, providers: as for
    ``Colorizer``. A load that fails raises ColorizerError and is tried again on the next call.
    """

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        threads: int | None = None,
        device: str = "auto",
        providers: list[str] | None = None,
    ):
        self._fp32 = Path(model_path) if model_path is not None else None
        self.threads = threads
        self.device = device
        self.providers = providers
        self._lock = threading.Lock()
        self._colorizers: dict[str, Colorizer] = {}

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
                self._colorizers[precision] = Colorizer(
                    self.path(precision),
                    precision=precision,
                    threads=self.threads,
                    device=self.device,
                    providers=self.providers,
                )
            return self._colorizers[precision]

    def sha256(self, precision: str = "fp32") -> str:
        """Hex SHA-256 of the model file of a precision (hashed once, ``provenance.model_sha256``)."""
        return model_sha256(self.get(precision).model_path)

    def loaded(self) -> list[str]:
        """The precisions loaded so far."""
        with self._lock:
            return sorted(self._colorizers)


def prepare(
    models: ModelSet,
    precision: str = "fp32",
    *,
    build: bool = False,
    release_dir: Path | None = None,
    kernels: bool = True,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> Colorizer:
    """Ready ``models``' model of ``precision`` for work: build the fp32 model first if it is missing
    and ``build`` is set (from the release files found in ``release_dir``, else downloaded, as
    ``python -m convert`` would; each step and each file that differs from the release said through
    ``say``), load it, hash it, and (``kernels``) ready the per-pixel kernels, so the first photo
    pays for none of it. Raises ModelError for a model that cannot be built, ColorizerError for one
    that cannot be loaded."""
    path = models.path()
    if build and precision == "fp32" and not path.exists():
        _build(path, release_dir, say)
    colorizer = models.get(precision)
    models.sha256(precision)
    if kernels:
        load_kernels()  # compiled (or loaded from numba's cache) now, not on the first photo
    return colorizer


def _build(path: Path, release_dir: Path | None, say: Callable[[str], None]) -> None:
    from convert.build import ensure_model  # the converter is needed only to build a model
    from convert.errors import ConversionError, DownloadError
    from convert.pins import describe_release_dir

    release: dict[str, Path] = {}
    if release_dir is not None:
        release, lines = describe_release_dir(release_dir)
        for line in lines:
            say(line)
    say(f"{path} is missing: building it from the ECCV16 release, as python -m convert --output {path} would")
    try:
        ensure_model(path, **release)
    except DownloadError as error:
        raise ModelError(f"{error}; or put those files in a folder and name it with --release-dir FOLDER") from None
    except (ConversionError, OSError) as error:
        raise ModelError(str(error)) from None
