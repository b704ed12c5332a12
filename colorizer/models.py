"""The models one program serves: the classic ECCV16 model (fp32, and its int8 sibling), the
user-guided one and its colour distribution (suggested colours), each loaded once, on first use;
and ``prepare`` / ``prepare_suggester``, the one way a program readies a model (the app and the
command line alike)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

from colorizer.colorizer import Colorizer, default_model_path
from colorizer.errors import ColorizerError, ModelError
from colorizer.pixels import load_kernels
from colorizer.provenance import model_sha256
from colorizer.suggest import ColourSuggester
from colorkit.contract import (
    GUIDED_DIST_MODEL_NAME,
    KIND_ECCV16,
    KIND_GUIDED,
    KIND_GUIDED_DIST,
    ContractError,
    default_guided_model_path,
    model_for_precision,
)

MODELS = (KIND_ECCV16, KIND_GUIDED)  # what a program may serve: classic (automatic), user-guided (hints)


class ModelSet:
    """Colorizers for one fp32 ECCV16 model file, its int8 sibling, and a user-guided model; the
    suggested colours of that model's distribution version (``guided-dist.onnx`` beside it).

    model_path: the fp32 model (None: ``default_model_path()``, i.e. $COLORIZER_MODEL or models/).
    guided_path: the user-guided model (None: ``default_guided_model_path()``).
    threads: intra-op threads per session (None: onnxruntime's default). device, providers: as for
    ``Colorizer``. A load that fails raises ColorizerError and is tried again on the next call.
    """

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        guided_path: Path | str | None = None,
        threads: int | None = None,
        device: str = "auto",
        providers: list[str] | None = None,
    ):
        self._fp32 = Path(model_path) if model_path is not None else None
        self._guided = Path(guided_path) if guided_path is not None else None
        self.threads = threads
        self.device = device
        self.providers = providers
        self._lock = threading.Lock()
        self._colorizers: dict[tuple[str, str], Colorizer] = {}
        self._suggester: ColourSuggester | None = None

    def path(self, precision: str = "fp32", model: str = KIND_ECCV16) -> Path:
        """The file of a model (MODELS) and precision: the fp32 file, or the ``-int8.onnx`` beside it;
        the user-guided model has no int8 version (ColorizerError)."""
        if model not in MODELS:
            raise ColorizerError(f"unknown model {model!r}; choose {' or '.join(MODELS)}")
        if model == KIND_GUIDED:
            if precision != "fp32":
                raise ColorizerError("the user-guided model has no int8 version; choose fp32")
            return self._guided or default_guided_model_path()
        try:
            return default_model_path(precision) if self._fp32 is None else model_for_precision(self._fp32, precision)
        except ContractError as error:
            raise ColorizerError(str(error)) from None

    def get(self, precision: str = "fp32", model: str = KIND_ECCV16) -> Colorizer:
        """The Colorizer of a model and precision, loaded on first use (one session shared by all threads)."""
        path = self.path(precision, model)
        with self._lock:
            if (model, precision) not in self._colorizers:
                self._colorizers[model, precision] = Colorizer(
                    path, precision=precision, threads=self.threads, device=self.device, providers=self.providers
                )
            return self._colorizers[model, precision]

    def suggester_path(self) -> Path:
        """The user-guided model's distribution version: ``guided-dist.onnx`` beside it."""
        return self.path(model=KIND_GUIDED).with_name(GUIDED_DIST_MODEL_NAME)

    def suggester(self) -> ColourSuggester:
        """The suggested colours (``colorizer.suggest``), loaded on first use; ModelError while
        ``suggester_path()`` is missing."""
        with self._lock:
            if self._suggester is None:
                self._suggester = ColourSuggester(
                    self.suggester_path(), threads=self.threads, device=self.device, providers=self.providers
                )
            return self._suggester

    def sha256(self, precision: str = "fp32", model: str = KIND_ECCV16) -> str:
        """Hex SHA-256 of a model's file (hashed once, ``provenance.model_sha256``)."""
        return model_sha256(self.get(precision, model).model_path)


def prepare(
    models: ModelSet,
    precision: str = "fp32",
    *,
    model: str = KIND_ECCV16,
    build: bool = False,
    release_dir: Path | None = None,
    kernels: bool = True,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> Colorizer:
    """Ready ``models``' ``model`` (MODELS) of ``precision`` for work: build the fp32 file first if it
    is missing and ``build`` is set (from the release files found in ``release_dir``, else
    downloaded, as ``python -m convert`` would; each step and each file that differs from the
    release said through ``say``), load it, hash it, and (``kernels``) ready the per-pixel kernels,
    so the first photo pays for none of it. Raises ModelError for a model that cannot be built,
    ColorizerError for one that cannot be loaded."""
    path = models.path(precision, model)
    if build and precision == "fp32" and not path.exists():
        _build(path, model, release_dir, say)
    colorizer = models.get(precision, model)
    models.sha256(precision, model)
    if kernels:
        load_kernels()  # compiled (or loaded from numba's cache) now, not on the first photo
    return colorizer


def prepare_suggester(
    models: ModelSet,
    *,
    build: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> ColourSuggester:
    """Ready ``models``' suggested colours as ``prepare`` readies a model: build ``guided-dist.onnx``
    first if it is missing and ``build`` is set, then load it. ModelError when it cannot be."""
    path = models.suggester_path()
    if build and not path.exists():
        _build(path, KIND_GUIDED_DIST, None, say)
    return models.suggester()


def _build(path: Path, model: str, release_dir: Path | None, say: Callable[[str], None]) -> None:
    from convert.build import RELEASES, ensure_model  # the converter is needed only to build a model
    from convert.errors import ConversionError, DownloadError
    from convert.pins import describe_release_dir

    found: dict[str, Path] = {}
    if release_dir is not None:
        found, lines = describe_release_dir(release_dir, RELEASES[model].files)
        for line in lines:
            say(line)
    flag = {KIND_ECCV16: "", KIND_GUIDED: " --guided", KIND_GUIDED_DIST: " --guided-dist"}[model]
    say(f"{path} is missing: building it from the {model} release, as python -m convert{flag} --output {path} would")
    try:
        ensure_model(path, kind=model, **found)
    except DownloadError as error:
        raise ModelError(f"{error}; or put those files in a folder and name it with --release-dir FOLDER") from None
    except (ConversionError, OSError) as error:
        raise ModelError(str(error)) from None
