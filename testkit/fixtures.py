"""Where the shared fixtures are, and release files made from them for tests and benchmarks.

The official prototxt and pts_in_hull.npy come from ../shared/fixtures when present (a developer's
checkout and CI); elsewhere the project's own copy of the architecture (testkit.synthetic) and a
synthetic hull stand in. Weights are always random: the real caffemodel is not available here.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from convert import caffe_io
from testkit import synthetic

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(os.environ.get("COLORIZER_SHARED", REPO_ROOT.parent / "shared")) / "fixtures"
NO_SHARED = f"needs the shared fixtures at {SHARED_FIXTURES} (absent in a plain clone)"


def shared_photos() -> list[Path]:
    """The real colour photographs in ../shared/fixtures/photos (empty when absent)."""
    return sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))


def official_prototxt(work_dir: Path, use_shared: bool = True) -> Path:
    """The official deploy prototxt, or (absent, or not ``use_shared``) the project's own copy of the
    architecture written to work_dir."""
    return _shared_or_written(
        "colorization_deploy_v2.prototxt",
        work_dir,
        use_shared,
        lambda path: path.write_text(synthetic.eccv16_deploy_prototxt()),
    )


def official_hull(work_dir: Path, use_shared: bool = True) -> Path:
    """The official pts_in_hull.npy, or (absent, or not ``use_shared``) a synthetic hull of the same
    shape written to work_dir."""
    return _shared_or_written(
        "pts_in_hull.npy", work_dir, use_shared, lambda path: np.save(path, synthetic.synthetic_hull())
    )


def _shared_or_written(name: str, work_dir: Path, use_shared: bool, write) -> Path:
    """SHARED_FIXTURES/name when it exists and ``use_shared``; else work_dir/name, made by ``write(path)``."""
    official = SHARED_FIXTURES / name
    if use_shared and official.exists():
        return official
    path = work_dir / name
    write(path)
    return path


def write_caffemodel(path: Path, prototxt: Path, seed: int = 0, **encoding) -> Path:
    """A random-weight caffemodel for ``prototxt``; ``encoding`` goes to caffemodel_bytes, and
    ``scale_value``/``bn_factor`` to random_weights."""
    net = caffe_io.read_prototxt(prototxt)
    weight_options = {key: encoding.pop(key) for key in ("scale_value", "bn_factor") if key in encoding}
    weights = synthetic.random_weights(net, seed=seed, **weight_options)
    path.write_bytes(synthetic.caffemodel_bytes(weights, {layer.name: layer.type for layer in net.layer}, **encoding))
    return path


GUIDED_FIXTURES = SHARED_FIXTURES / "user_guided"
GUIDED_PROTOTXT = GUIDED_FIXTURES / "deploy_nodist.prototxt"  # junyanz/interactive-deep-colorization, byte-exact
GUIDED_DIST_PROTOTXT = GUIDED_FIXTURES / "deploy_nopred.prototxt"


def write_guided_caffemodel(path: Path, prototxt: Path, seed: int = 0, with_filled: bool = True, **encoding) -> Path:
    """A random-weight caffemodel for the user-guided ``prototxt`` (``synthetic.guided_weights``);
    ``encoding`` goes to caffemodel_bytes, ``bn_factor`` to guided_weights."""
    net = caffe_io.read_prototxt(prototxt)
    weight_options = {key: encoding.pop(key) for key in ("bn_factor",) if key in encoding}
    weights = synthetic.guided_weights(net, seed=seed, with_filled=with_filled, **weight_options)
    path.write_bytes(synthetic.caffemodel_bytes(weights, {layer.name: layer.type for layer in net.layer}, **encoding))
    return path


def write_guided_release_caffemodel(path: Path, seed: int = 0) -> Path:
    """A random-weight caffemodel that both user-guided prototxts read (``synthetic.guided_release_weights``)."""
    nodist, nopred = caffe_io.read_prototxt(GUIDED_PROTOTXT), caffe_io.read_prototxt(GUIDED_DIST_PROTOTXT)
    weights = synthetic.guided_release_weights(nodist, nopred, seed=seed)
    types = {layer.name: layer.type for net in (nodist, nopred) for layer in net.layer}
    path.write_bytes(synthetic.caffemodel_bytes(weights, types))
    return path


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's colorfulness M of a uint8 HxWx3 RGB image (0 for grey; ~50 is
    'quite colorful', above 100 'extremely')."""
    r, g, b = (rgb[..., channel].astype(np.float64) for channel in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def photo_like_lightness(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like L plane for a network input: smooth random structure plus fine noise, float32
    HxW in 0..100."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(
        rng.uniform(0, 100, (height // 16 + 1, width // 16 + 1)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )  # cv2 sizes are (width, height)
    return np.clip(coarse + rng.normal(0, 3, (height, width)), 0, 100).astype(np.float32)


def photo(width: int, height: int) -> np.ndarray:
    """A real photo (grey-converted, resized to width x height) as uint8 HxW; a photo-like random
    lightness (``photo_like_lightness``) if ../shared is absent."""
    photos = sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))
    if photos:
        grey = cv2.cvtColor(cv2.imread(str(photos[0])), cv2.COLOR_BGR2GRAY)
    else:
        grey = (photo_like_lightness(480, 640) * 2.55).round().astype(np.uint8)  # smooth shapes, every tone
    return cv2.resize(grey, (width, height), interpolation=cv2.INTER_CUBIC)  # cv2: (width, height)
