"""Fixtures shared by the test suite: synthetic release files and the ONNX model built from them
(see testkit.fixtures for where the official files come from), and the ``requires`` marker
(testkit.requirements: a test whose requirement is missing skips, or fails in CI)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from convert.eccv16 import convert_release  # noqa: E402
from testkit.fixtures import (  # noqa: E402,F401
    NO_SHARED,
    SHARED_FIXTURES,
    official_hull,
    official_prototxt,
    shared_photos,
    write_caffemodel,
)
from testkit.requirements import MARKER, SHARED, prefer, require  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*requirements): testkit.requirements.Requirement the test "
        "needs; skipped with the reason when missing, a failure in CI",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest's own skip marks, so an empty parametrization fails in CI too
def pytest_runtest_setup(item):
    for mark in item.iter_markers(MARKER):
        require(*mark.args)


@dataclass(frozen=True)
class ReleaseFiles:
    prototxt: Path
    caffemodel: Path
    hull: Path

    def convert_args(self) -> list[str]:
        """The converter's options that name these files (a conversion that downloads nothing)."""
        return ["--prototxt", str(self.prototxt), "--caffemodel", str(self.caffemodel), "--hull", str(self.hull)]


@pytest.fixture(scope="session")
def deploy_prototxt(tmp_path_factory) -> Path:
    """The official prototxt (its quirks are real); the project's copy of the architecture stands in
    where ../shared is absent, except in CI."""
    return official_prototxt(tmp_path_factory.mktemp("release"), use_shared=prefer(SHARED))


@pytest.fixture(scope="session")
def hull_file(tmp_path_factory) -> Path:
    return official_hull(tmp_path_factory.mktemp("release"), use_shared=prefer(SHARED))


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


@pytest.fixture(scope="session")
def guided_model(tmp_path_factory) -> Path:
    """The user-guided ONNX model converted from a random-weight caffemodel of the real architecture
    (the shared deploy_nodist.prototxt)."""
    from convert.guided import convert_guided
    from testkit.fixtures import GUIDED_PROTOTXT, write_guided_caffemodel
    from testkit.requirements import SHARED_GUIDED

    require(SHARED_GUIDED)
    folder = tmp_path_factory.mktemp("guided")
    caffemodel = write_guided_caffemodel(folder / "random.caffemodel", GUIDED_PROTOTXT, seed=3)
    path = folder / "guided.onnx"
    path.write_bytes(convert_guided(GUIDED_PROTOTXT, caffemodel).SerializeToString())
    return path
