"""Make the ONNX model exist: fetch what is missing, convert, write atomically, once per machine."""

from __future__ import annotations

import logging
from pathlib import Path

import onnx
from filelock import FileLock

from colorkit.contract import default_cache_dir, default_guided_model_path, default_model_path
from colorkit.files import atomic_writer, remove_stale_parts
from convert import download, sources
from convert.eccv16 import convert_release
from convert.guided import convert_guided, convert_guided_dist

log = logging.getLogger(__name__)

DEFAULT_CALIBRATION_DIR = Path(__file__).resolve().parent.parent / "examples"


def build_model_file(
    output: Path,
    *,
    prototxt: Path | None = None,
    caffemodel: Path | None = None,
    hull: Path | None = None,
    cache_dir: Path | None = None,
    mirrors: tuple[str, ...] = (),
    progress: bool = True,
) -> Path:
    """Convert the ECCV16 release to ``output``, fetching (into ``cache_dir``) each file not given
    locally.

    The model is written to a temporary file and renamed into place, so ``output`` is either absent
    or complete. Raises ConversionError subclasses.
    """
    local = {sources.PROTOTXT: prototxt, sources.CAFFEMODEL: caffemodel, sources.HULL: hull}
    paths = _fetch_missing(local, cache_dir, mirrors, progress, download.OFFLINE_HINT)
    model = convert_release(paths[sources.PROTOTXT], paths[sources.CAFFEMODEL], paths[sources.HULL])
    return _write(model, output)


def build_guided_model_file(
    output: Path,
    *,
    prototxt: Path | None = None,
    caffemodel: Path | None = None,
    cache_dir: Path | None = None,
    mirrors: tuple[str, ...] = (),
    progress: bool = True,
) -> Path:
    """Convert the user-guided release (deploy_nodist.prototxt, model.caffemodel) to ``output``, as
    ``build_model_file`` does ECCV16's. The caffemodel has no published checksum: a downloaded one is
    used unverified (its SHA-256 is logged and recorded in the model's metadata)."""
    local = {sources.GUIDED_PROTOTXT: prototxt, sources.GUIDED_CAFFEMODEL: caffemodel}
    paths = _fetch_missing(local, cache_dir, mirrors, progress, download.GUIDED_OFFLINE_HINT)
    model = convert_guided(paths[sources.GUIDED_PROTOTXT], paths[sources.GUIDED_CAFFEMODEL])
    return _write(model, output)


def build_guided_dist_model_file(
    output: Path,
    *,
    prototxt: Path | None = None,
    caffemodel: Path | None = None,
    hull: Path | None = None,
    cache_dir: Path | None = None,
    mirrors: tuple[str, ...] = (),
    progress: bool = True,
) -> Path:
    """Convert the user-guided network's distribution version (deploy_nopred.prototxt, the same
    model.caffemodel, ECCV16's pts_in_hull.npy) to ``output``, as ``build_guided_model_file`` does."""
    local = {sources.GUIDED_DIST_PROTOTXT: prototxt, sources.GUIDED_CAFFEMODEL: caffemodel, sources.HULL: hull}
    paths = _fetch_missing(local, cache_dir, mirrors, progress, download.GUIDED_OFFLINE_HINT)
    model = convert_guided_dist(
        paths[sources.GUIDED_DIST_PROTOTXT], paths[sources.GUIDED_CAFFEMODEL], paths[sources.HULL]
    )
    return _write(model, output)


def ensure_model(output: Path | None = None, **options) -> Path:
    """``output`` (default: the contract's default model path) if it exists, else build it;
    concurrent callers wait on a lock and build it once."""
    return _ensure(output or default_model_path(), build_model_file, options)


def ensure_guided_model(output: Path | None = None, **options) -> Path:
    """``ensure_model`` for the user-guided model (default ``colorkit.contract.default_guided_model_path``)."""
    return _ensure(output or default_guided_model_path(), build_guided_model_file, options)


def _ensure(output: Path, build, options: dict) -> Path:
    if output.exists():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{output}.lock"):
        remove_stale_parts(output)
        if output.exists():  # another process built it while we waited
            return output
        return build(output, **options)


def _fetch_missing(
    local: dict[sources.PinnedFile, Path | None],
    cache_dir: Path | None,
    mirrors: tuple[str, ...],
    progress: bool,
    offline_hint: str,
) -> dict[sources.PinnedFile, Path]:
    """Each file's local path, or its verified cached copy (downloaded if needed)."""
    cache_dir = cache_dir or default_cache_dir()
    return {
        file: path or download.fetch(file, cache_dir, mirrors=mirrors, progress=progress, offline_hint=offline_hint)
        for file, path in local.items()
    }


def _write(model: onnx.ModelProto, output: Path) -> Path:
    with atomic_writer(output) as stream:
        stream.write(model.SerializeToString())
    log.info("wrote %s (%.1f MB)", output, output.stat().st_size / 1e6)
    return output
