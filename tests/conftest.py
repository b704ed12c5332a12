"""Fixtures shared by the test suite: synthetic release files and the ONNX model built from them
(see testkit.fixtures for where the official files come from)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from convert.eccv16 import convert_release  # noqa: E402
from testkit.fixtures import (NO_SHARED, SHARED_FIXTURES, official_hull, official_prototxt,  # noqa: E402,F401
                              shared_photos, write_caffemodel)


@dataclass(frozen=True)
class ReleaseFiles:
    prototxt: Path
    caffemodel: Path
    hull: Path


@pytest.fixture(scope="session")
def deploy_prototxt(tmp_path_factory) -> Path:
    return official_prototxt(tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="session")
def hull_file(tmp_path_factory) -> Path:
    return official_hull(tmp_path_factory.mktemp("release"))


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
