"""Make the ONNX model exist: fetch what is missing, convert, write atomically, once per machine."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from filelock import FileLock

from convert import download, sources
from convert.atomic import atomic_writer, remove_stale_parts
from convert.eccv16 import convert_release

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "models" / "eccv16.onnx"
DEFAULT_CALIBRATION_DIR = REPO_ROOT / "examples"


def int8_path(fp32_path: Path) -> Path:
    """Where the int8 model of an fp32 model lives: ``eccv16.onnx`` -> ``eccv16-int8.onnx``."""
    return fp32_path.with_name(f"{fp32_path.stem}-int8{fp32_path.suffix}")


def default_cache_dir() -> Path:
    """``$COLORIZER_CACHE``, else ``~/.cache/colorizer``."""
    return Path(os.environ.get("COLORIZER_CACHE") or Path.home() / ".cache" / "colorizer")


def build_model_file(output: Path, *, prototxt: Path | None = None, caffemodel: Path | None = None,
                     hull: Path | None = None, cache_dir: Path | None = None, mirrors: tuple[str, ...] = (),
                     progress: bool = True) -> Path:
    """Convert the release to ``output``, fetching (into ``cache_dir``) each file not given locally.

    The model is written to a temporary file and renamed into place, so ``output`` is either absent
    or complete. Raises ConversionError subclasses.
    """
    cache_dir = cache_dir or default_cache_dir()
    local = {sources.PROTOTXT: prototxt, sources.CAFFEMODEL: caffemodel, sources.HULL: hull}
    paths = {file: path or download.fetch(file, cache_dir, mirrors=mirrors, progress=progress)
             for file, path in local.items()}
    model = convert_release(paths[sources.PROTOTXT], paths[sources.CAFFEMODEL], paths[sources.HULL])
    with atomic_writer(output) as stream:
        stream.write(model.SerializeToString())
    log.info("wrote %s (%.1f MB)", output, output.stat().st_size / 1e6)
    return output


def ensure_model(output: Path = DEFAULT_MODEL, **options) -> Path:
    """``output`` if it exists, else build it; concurrent callers wait on a lock and build it once."""
    if output.exists():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{output}.lock"):
        remove_stale_parts(output)
        if output.exists():  # another process built it while we waited
            return output
        return build_model_file(output, **options)


