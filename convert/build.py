"""Make the ONNX model exist: fetch what is missing, convert, write atomically, once per machine."""

from __future__ import annotations

import logging
from pathlib import Path

from colorkit.contract import default_cache_dir, default_model_path
from colorkit.files import atomic_writer, remove_stale_parts
from convert import download, sources
from convert.eccv16 import convert_release
from convert.lock import lock_beside

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parent
# The photos --int8 calibrates on: the example photos, which an installed package carries as
# convert/calibration/ (pyproject.toml) and a source checkout keeps in examples/.
DEFAULT_CALIBRATION_DIR = (
    _PACKAGE / "calibration" if (_PACKAGE / "calibration").is_dir() else _PACKAGE.parent / "examples"
)


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
    """Convert the release to ``output``, fetching (into ``cache_dir``) each file not given locally.

    The model is written to a temporary file and renamed into place, so ``output`` is either absent
    or complete. Raises ConversionError subclasses.
    """
    cache_dir = cache_dir or default_cache_dir()
    local = {sources.PROTOTXT: prototxt, sources.CAFFEMODEL: caffemodel, sources.HULL: hull}
    paths = {
        file: path or download.fetch(file, cache_dir, mirrors=mirrors, progress=progress)
        for file, path in local.items()
    }
    model = convert_release(paths[sources.PROTOTXT], paths[sources.CAFFEMODEL], paths[sources.HULL])
    with atomic_writer(output) as stream:
        stream.write(model.SerializeToString())
    log.info("wrote %s (%.1f MB)", output, output.stat().st_size / 1e6)
    return output


def ensure_model(output: Path | None = None, **options) -> Path:
    """``output`` (default: the contract's default model path) if it exists, else build it;
    concurrent callers wait on a lock and build it once."""
    output = output or default_model_path()
    if output.exists():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    with lock_beside(output):
        remove_stale_parts(output)
        if output.exists():  # another process built it while we waited
            return output
        return build_model_file(output, **options)
