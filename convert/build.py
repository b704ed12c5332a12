"""Make the ONNX model exist: fetch what is missing, convert, write atomically, once per machine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx

from colorkit.contract import (
    KIND_ECCV16,
    KIND_GUIDED,
    KIND_GUIDED_DIST,
    default_cache_dir,
    default_guided_dist_model_path,
    default_guided_model_path,
    default_model_path,
)
from colorkit.files import atomic_writer, remove_stale_parts
from convert import download, sources
from convert.eccv16 import convert_release
from convert.errors import ConversionError
from convert.guided import convert_guided, convert_guided_dist
from convert.lock import lock_beside

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parent
# The photos --int8 calibrates on: the example photos, which an installed package carries as
# convert/calibration/ (pyproject.toml) and a source checkout keeps in examples/.
DEFAULT_CALIBRATION_DIR = (
    _PACKAGE / "calibration" if (_PACKAGE / "calibration").is_dir() else _PACKAGE.parent / "examples"
)


@dataclass(frozen=True)
class Release:
    """What one model kind is made from: its files by role (the keywords ``convert`` takes them
    by), the converter, where it is written by default, and the offline command to suggest."""

    files: dict[str, sources.PinnedFile]
    convert: Callable[..., onnx.ModelProto]
    default_output: Callable[[], Path]
    offline_hint: str


RELEASES = {
    KIND_ECCV16: Release(sources.RELEASE, convert_release, default_model_path, download.OFFLINE_HINT),
    KIND_GUIDED: Release(
        sources.GUIDED_RELEASE, convert_guided, default_guided_model_path, download.GUIDED_OFFLINE_HINT
    ),
    KIND_GUIDED_DIST: Release(
        sources.GUIDED_DIST_RELEASE, convert_guided_dist, default_guided_dist_model_path, download.GUIDED_OFFLINE_HINT
    ),
}


def build_model_file(
    output: Path,
    *,
    kind: str = KIND_ECCV16,
    cache_dir: Path | None = None,
    mirrors: tuple[str, ...] = (),
    progress: bool = True,
    **local: Path | None,
) -> Path:
    """Convert the release of model ``kind`` (``RELEASES``) to ``output``, fetching (into
    ``cache_dir``) each file not given locally by its role: ``prototxt=``, ``caffemodel=``, and for
    ECCV16 and the guided distribution ``hull=``. A guided caffemodel has no published checksum: a
    downloaded one is used unverified (its SHA-256 is logged and recorded in the model's metadata).

    The model is written to a temporary file and renamed into place, so ``output`` is either absent
    or complete. Raises ConversionError subclasses (one for a file the release does not take).
    """
    release = RELEASES[kind]
    extra = [role for role, path in local.items() if path is not None and role not in release.files]
    if extra:
        raise ConversionError(f"the {kind} model is not made from a {', '.join(extra)} file")
    cache_dir = cache_dir or default_cache_dir()
    paths = {
        role: local.get(role)
        or download.fetch(file, cache_dir, mirrors=mirrors, progress=progress, offline_hint=release.offline_hint)
        for role, file in release.files.items()
    }
    model = release.convert(**paths)
    with atomic_writer(output) as stream:
        stream.write(model.SerializeToString())
    log.info("wrote %s (%.1f MB)", output, output.stat().st_size / 1e6)
    return output


def ensure_model(output: Path | None = None, **options) -> Path:
    """``output`` (default: the contract's default path for ``options``' ``kind``, ECCV16's without
    one) if it exists, else ``build_model_file(output, **options)``; concurrent callers wait on a
    lock and build it once."""
    output = output or RELEASES[options.get("kind", KIND_ECCV16)].default_output()
    if output.exists():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    with lock_beside(output):
        remove_stale_parts(output)
        if output.exists():  # another process built it while we waited
            return output
        return build_model_file(output, **options)
