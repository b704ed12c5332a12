"""A test that needs OpenCV 4's Caffe importer or ../shared skips on a user's machine and fails in CI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from testkit.fixtures import REPO_ROOT
from testkit.requirements import CI_ENV, WITHOUT_ENV, Requirement, in_ci, prefer, require

pytestmark = pytest.mark.slow  # pytest in subprocesses: not in the quick subset

ABSENT = Requirement("absent", lambda: False, "needs something this machine lacks")
PRESENT = Requirement("present", lambda: True, "never missing")


@pytest.mark.parametrize(
    "value, expected",
    [("true", True), ("1", True), ("yes", True), ("", False), ("false", False), ("0", False), ("no", False)],
)
def test_ci_is_read_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(CI_ENV, value)
    assert in_ci() is expected


def test_require_skips_on_a_users_machine_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv(CI_ENV, raising=False)
    require(PRESENT)
    with pytest.raises(pytest.skip.Exception, match="lacks"):
        require(PRESENT, ABSENT)
    assert prefer(ABSENT) is False
    monkeypatch.setenv(CI_ENV, "true")
    require(PRESENT)
    with pytest.raises(pytest.fail.Exception, match="CI=true.*lacks"):
        require(ABSENT)
    with pytest.raises(pytest.fail.Exception, match="stand-in.*lacks"):
        prefer(ABSENT)


def test_a_requirement_can_be_hidden(monkeypatch):
    monkeypatch.setenv(WITHOUT_ENV, "present, other")
    assert not PRESENT.met()


def run_pytest(node: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in (CI_ENV, WITHOUT_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rsE", node],
        cwd=REPO_ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


SEED_TEST = "tests/test_colorizer.py::test_agrees_with_seed_pipeline_on_real_photos"
FIDELITY_TEST = "tests/test_fidelity.py::test_matches_opencv_caffe_reader"


def test_missing_shared_fixtures_skip_here_and_fail_in_ci(tmp_path):
    """COLORIZER_SHARED at an empty folder: the real-photo test skips saying why; with CI=true it fails."""
    here = run_pytest(SEED_TEST, COLORIZER_SHARED=str(tmp_path))
    assert here.returncode == 0 and "skipped" in here.stdout and "needs the shared fixtures" in here.stdout, here.stdout
    ci = run_pytest(SEED_TEST, COLORIZER_SHARED=str(tmp_path), CI="true")
    assert ci.returncode == 1 and "needs the shared fixtures" in ci.stdout, ci.stdout
    assert "passed" not in ci.stdout.splitlines()[-1] and "skipped" not in ci.stdout.splitlines()[-1], ci.stdout


def test_missing_opencv4_importer_skips_here_and_fails_in_ci():
    """Without OpenCV 4's Caffe importer (hidden, as on a machine with OpenCV 5) the fidelity test
    skips saying why; with CI=true it fails."""
    here = run_pytest(FIDELITY_TEST, **{WITHOUT_ENV: "opencv4-caffe"})
    assert here.returncode == 0 and "skipped" in here.stdout and "Caffe importer" in here.stdout, here.stdout
    ci = run_pytest(FIDELITY_TEST, CI="true", **{WITHOUT_ENV: "opencv4-caffe"})
    assert ci.returncode == 1 and "Caffe importer" in ci.stdout, ci.stdout
    assert "passed" not in ci.stdout.splitlines()[-1], ci.stdout
