"""Fixtures shared by the test suite: synthetic release files and the ONNX model built from them.

The official prototxt and pts_in_hull.npy come from ../shared/fixtures when present (a developer's
checkout and CI); elsewhere the project's own copy of the architecture (convert.synthetic) and a
synthetic hull stand in. Weights are always random: the real caffemodel is not available here.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from convert import caffe_io, synthetic  # noqa: E402
from convert.eccv16 import convert_release  # noqa: E402

SHARED_FIXTURES = Path(os.environ.get("COLORIZER_SHARED", REPO_ROOT.parent / "shared")) / "fixtures"
NO_SHARED = f"needs the shared fixtures at {SHARED_FIXTURES} (absent in a plain clone)"


@dataclass(frozen=True)
class ReleaseFiles:
    prototxt: Path
    caffemodel: Path
    hull: Path


def shared_photos() -> list[Path]:
    """The real colour photographs in ../shared/fixtures/photos (empty when absent)."""
    return sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))


def write_caffemodel(path: Path, prototxt: Path, seed: int = 0, **encoding) -> Path:
    """A random-weight caffemodel for ``prototxt``; ``encoding`` goes to caffemodel_bytes, and
    ``scale_value``/``bn_factor`` to random_weights."""
    net = caffe_io.read_prototxt(prototxt)
    weight_options = {key: encoding.pop(key) for key in ("scale_value", "bn_factor") if key in encoding}
    weights = synthetic.random_weights(net, seed=seed, **weight_options)
    path.write_bytes(synthetic.caffemodel_bytes(weights, {layer.name: layer.type for layer in net.layer}, **encoding))
    return path


@pytest.fixture(scope="session")
def deploy_prototxt(tmp_path_factory) -> Path:
    official = SHARED_FIXTURES / "colorization_deploy_v2.prototxt"
    if official.exists():
        return official
    path = tmp_path_factory.mktemp("release") / "colorization_deploy_v2.prototxt"
    path.write_text(synthetic.eccv16_deploy_prototxt())
    return path


@pytest.fixture(scope="session")
def hull_file(tmp_path_factory) -> Path:
    official = SHARED_FIXTURES / "pts_in_hull.npy"
    if official.exists():
        return official
    path = tmp_path_factory.mktemp("release") / "pts_in_hull.npy"
    np.save(path, synthetic.synthetic_hull())
    return path


@pytest.fixture(scope="session")
def synthetic_release(tmp_path_factory, deploy_prototxt, hull_file) -> ReleaseFiles:
    caffemodel = write_caffemodel(tmp_path_factory.mktemp("release") / "random.caffemodel", deploy_prototxt)
    return ReleaseFiles(deploy_prototxt, caffemodel, hull_file)


@pytest.fixture(scope="session")
def synthetic_model(tmp_path_factory, synthetic_release) -> Path:
    """The ONNX model converted from the synthetic release (random weights, real architecture)."""
    path = tmp_path_factory.mktemp("model") / "eccv16.onnx"
    model = convert_release(synthetic_release.prototxt, synthetic_release.caffemodel, synthetic_release.hull)
    path.write_bytes(model.SerializeToString())
    return path
