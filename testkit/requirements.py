"""What some tests need from the machine, and what happens when it is missing.

On a user's machine a test that needs something absent (OpenCV 4's Caffe importer, the shared
fixtures in ../shared) skips and says why. In CI (``CI`` set to anything but ``""``, ``0``,
``false`` or ``no``) the same test fails instead: a CI run that quietly skipped the independent
references would pass while proving nothing.

    pytestmark = requires(OPENCV4_CAFFE)          # a marker; tests/conftest.py turns it into require()
    require(SHARED)                               # inside a test or fixture: skip here, fail in CI
    if prefer(SHARED): ... else: stand-in ...     # a fixture with a stand-in: fail in CI only

``COLORIZER_TESTS_WITHOUT=opencv4-caffe,shared`` makes the named requirements count as missing, so
the suite can be run as it runs on a machine without them (``python -m bench.mutation_check`` does).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.fixtures import GUIDED_DIST_PROTOTXT, GUIDED_PROTOTXT, NO_SHARED, SHARED_FIXTURES, shared_photos
from testkit.seed_pipeline import has_caffe_importer

CI_ENV = "CI"
WITHOUT_ENV = "COLORIZER_TESTS_WITHOUT"
MARKER = "requires"


def in_ci() -> bool:
    """Whether this run is CI's (the ``CI`` variable, as GitHub Actions, GitLab and others set it)."""
    return os.environ.get(CI_ENV, "").strip().lower() not in ("", "0", "false", "no")


def hidden() -> frozenset[str]:
    """Names of requirements ``COLORIZER_TESTS_WITHOUT`` says to treat as missing."""
    return frozenset(name.strip() for name in os.environ.get(WITHOUT_ENV, "").split(",") if name.strip())


@dataclass(frozen=True)
class Requirement:
    """Something a test needs from the machine: ``name`` (for COLORIZER_TESTS_WITHOUT), a check,
    and the reason a skip or failure gives (what is missing and how to get it)."""

    name: str
    check: Callable[[], bool]
    reason: str

    def met(self) -> bool:
        return self.name not in hidden() and self.check()


def _shared_fixtures_present() -> bool:
    return all(
        (SHARED_FIXTURES / name).is_file() for name in ("colorization_deploy_v2.prototxt", "pts_in_hull.npy")
    ) and bool(shared_photos())


def _guided_fixtures_present() -> bool:
    return GUIDED_PROTOTXT.is_file() and GUIDED_DIST_PROTOTXT.is_file()


OPENCV4_CAFFE = Requirement(
    "opencv4-caffe",
    has_caffe_importer,
    "needs OpenCV 4's Caffe importer, the independent reference "
    "(pip install 'opencv-python-headless>=4.10,<5', as requirements-dev.txt pins)",
)
SHARED = Requirement("shared", _shared_fixtures_present, NO_SHARED)
# The user-guided prototxts in ../shared/fixtures/user_guided; hidden with SHARED (the same name).
SHARED_GUIDED = Requirement("shared", _guided_fixtures_present, f"{NO_SHARED}; needs {GUIDED_PROTOTXT.parent}")


ICC_FOLDER = Path("/usr/share/color/icc")
# Real profiles of every kind the colour-management tests read (Debian icc-profiles-free and libgs-common).
ICC_FILES: tuple[str, ...] = ("Gray.icc", "Gray-CIE_L.icc", "ghostscript/rommrgb.icc", "ghostscript/a98.icc")
ICC_FILES += ("ghostscript/default_cmyk.icc", "ghostscript/ps_cmyk.icc", "ghostscript/ps_gray.icc")
ICC_PROFILES = Requirement(
    "icc-profiles",
    lambda: all((ICC_FOLDER / name).is_file() for name in ICC_FILES),
    f"needs real ICC profiles in {ICC_FOLDER} (apt-get install icc-profiles-free libgs-common)",
)


def missing(*requirements: Requirement) -> list[Requirement]:
    return [requirement for requirement in requirements if not requirement.met()]


def _fail_in_ci(absent: list[Requirement], what: str) -> None:
    if absent and in_ci():
        pytest.fail(f"{CI_ENV}={os.environ[CI_ENV]}: {what} ({'; '.join(r.reason for r in absent)})", pytrace=False)


def require(*requirements: Requirement) -> None:
    """Inside a test or fixture: return if every requirement is met; else fail in CI, skip elsewhere."""
    absent = missing(*requirements)
    _fail_in_ci(absent, "a required test cannot run")
    if absent:
        pytest.skip("; ".join(requirement.reason for requirement in absent))


def prefer(*requirements: Requirement) -> bool:
    """For a fixture that has a stand-in (a synthetic prototxt, synthetic photos): True if every
    requirement is met; False (use the stand-in) on a user's machine; a failure in CI."""
    absent = missing(*requirements)
    _fail_in_ci(absent, "CI must run with the real thing, not a stand-in")
    return not absent


def requires(*requirements: Requirement) -> pytest.MarkDecorator:
    """A marker for a test, class or module (``pytestmark``): ``require(*requirements)`` before its
    fixtures are set up (even when an empty parametrization would otherwise skip it)."""
    return getattr(pytest.mark, MARKER)(*requirements)
