"""Fixtures shared by the test suite: synthetic release files and the ONNX model built from them
(see testkit.fixtures for where the official files come from), and the ``requires`` marker
(testkit.requirements: a test whose requirement is missing skips, or fails in CI)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from convert.eccv16 import convert_release  # noqa: E402
from testkit.app_server import running_app  # noqa: E402
from testkit.fixtures import (  # noqa: E402,F401
    NO_SHARED,
    SHARED_FIXTURES,
    official_hull,
    official_prototxt,
    shared_photos,
    write_caffemodel,
)
from testkit.requirements import MARKER, SHARED, prefer, require  # noqa: E402
from testkit.screenshots import refreshing_docs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*requirements): testkit.requirements.Requirement the test "
        "needs; skipped with the reason when missing, a failure in CI",
    )


_CHECKOUT_BEFORE = pytest.StashKey[set[str] | None]()  # git status when the session started


def checkout_changes() -> set[str] | None:
    """``git status`` of the checkout, one entry per changed or new file (ignored files left out);
    None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO_ROOT, capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(done.stdout.decode(errors="replace").splitlines()) if done.returncode == 0 else None


def pytest_sessionstart(session):
    session.config.stash[_CHECKOUT_BEFORE] = checkout_changes()


def pytest_sessionfinish(session, exitstatus):
    """Tests write under tests/out/ (ignored) or temporary folders, never into the checkout: a run
    that changed what ``git status`` shows fails, naming the files."""
    before = session.config.stash.get(_CHECKOUT_BEFORE, None)
    after = checkout_changes() if before is not None else None
    if after is None:
        return
    changed = after - before
    if refreshing_docs():  # COLORIZER_REFRESH_DOCS=1: the docs' screenshots are rewritten on purpose
        changed = {line for line in changed if not (line[3:].startswith("docs/") and line.endswith(".png"))}
    if not changed:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(
            "the tests changed the checkout (tests write under tests/out/ or a temporary folder; "
            "docs/testing.md): " + ", ".join(sorted(changed)),
            red=True,
        )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@dataclass(frozen=True)
class AppServer:
    url: str
    work: Path  # app.log, and the server's Gradio cache in gradio/


@pytest.fixture(scope="session")
def app_server(synthetic_model, tmp_path_factory) -> Iterator[AppServer]:
    """``python app.py`` on the synthetic model with its default settings, started once for every
    module that uses it as its users do (the page, the API, MCP, films); a start takes ~10 s on two
    cores. Modules that load it, time it, or start it differently start their own."""
    work = tmp_path_factory.mktemp("app_server")
    with running_app(synthetic_model, work) as url:
        yield AppServer(url, work)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright (tests/test_browser.py's launch options), one a
    module (closed at its end: Playwright's sync API must not be running while other modules use
    asyncio)."""
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
