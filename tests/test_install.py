"""``pip install .`` from a clean copy of the checkout gives the packages and console commands.

The virtual environment sees the installed packages of the interpreter running the tests
(testkit.environments: the system Python in CI, a user's venv at home) so the large runtime
dependencies are not downloaded again; what is checked is our packaging: the packages land in the
venv, the commands start from any folder and name themselves in their help, ``--int8`` finds its
calibration photos, and an installed model lives in the user cache, not in a ``models/`` folder
that an installed package does not have.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorkit.cli import COMMANDS
from convert import sources
from testkit.environments import make_venv
from testkit.fixtures import REPO_ROOT

pytestmark = pytest.mark.slow  # a venv and pip install: not in the quick subset

PACKAGES = ("colorizer", "colorkit", "convert")


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A venv with the package installed from a copy of the checkout's tracked files; its bin folder
    and an environment without the checkout on the path."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    bin_dir = make_venv(root / "venv")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "COLORIZER_MODEL")}
    env["COLORIZER_CACHE"] = str(root / "cache")
    # pip install . as two steps: the wheel built by this interpreter's pip (its build isolation must
    # not see the packages the venv borrows, an old setuptools among them), then installed in the venv.
    done = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(source)], root, env
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = (root / "dist").glob("*.whl")
    done = run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], root, env
    )
    assert done.returncode == 0, done.stderr
    return bin_dir, env


def test_packages_are_installed_into_the_venv(installed, tmp_path):
    bin_dir, env = installed
    done = run(
        [
            str(bin_dir / "python"),
            "-c",
            "import colorizer, colorkit, convert; print(colorizer.__file__, colorkit.__file__, convert.__file__)",
        ],
        tmp_path,
        env,
    )
    assert done.returncode == 0, done.stderr
    for path in done.stdout.split():
        assert str(bin_dir.parent) in path, f"{path} was not imported from the venv"
    assert not any((bin_dir.parent / "lib").rglob("testkit")), "test support must not ship"


def test_console_commands_are_the_ones_help_texts_name(installed, tmp_path):
    """colorkit.cli.COMMANDS (the names help texts and hints use) are the console scripts installed."""
    bin_dir, env = installed
    listing = (
        "import json; from importlib.metadata import distribution; "
        "print(json.dumps({e.name: e.value for e in distribution('bw-colorizer').entry_points "
        "if e.group == 'console_scripts'}))"
    )
    done = run([str(bin_dir / "python"), "-c", listing], tmp_path, env)
    assert done.returncode == 0, done.stderr
    scripts = json.loads(done.stdout)
    assert {target.split(".")[0]: name for name, target in scripts.items()} == COMMANDS, scripts


def test_console_commands_run_from_another_folder(installed, tmp_path, synthetic_release):
    """Installed, colorizer-convert writes the model, and with --int8 its int8 sibling calibrated on
    the photos the package carries, into the user cache; colorize finds both there; all started
    outside the checkout. (One conversion for both: it is the slow part.)"""
    bin_dir, env = installed
    for command in ("colorize", "colorizer-convert"):
        done = run([str(bin_dir / command), "--help"], tmp_path, env)
        assert done.returncode == 0 and "usage:" in done.stdout, done.stderr
    done = run(
        [str(bin_dir / "colorizer-convert"), *synthetic_release.convert_args(), "--int8", "--int8-max-dab", "inf"],
        tmp_path,
        env,
    )
    assert done.returncode == 0, done.stderr
    # The random-weight caffemodel is not the release's, and the converter says so.
    assert f"the official {sources.CAFFEMODEL.name} is" in done.stderr and "converting it anyway" in done.stderr, (
        done.stderr
    )
    models = Path(env["COLORIZER_CACHE"]) / "models"
    assert (models / "eccv16.onnx").is_file(), done.stdout
    assert f"wrote {models / 'eccv16-int8.onnx'}" in done.stdout and (models / "eccv16-int8.onnx").is_file()
    held_out = len(sorted(REPO_ROOT.glob("examples/*.jpg"))[2::3])  # every third example photo is held out
    assert f"int8 vs fp32 on {held_out} held-out photos" in done.stdout, done.stdout
    photo = tmp_path / "old photo.png"
    cv2.imwrite(str(photo), np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1)))
    for options, written in (([], "old photo_color.png"), (["--int8", "-o", "int8"], "int8/old photo_color.png")):
        done = run([str(bin_dir / "colorize"), photo.name, *options], tmp_path, env)
        assert done.returncode == 0, done.stderr
        result = cv2.imread(str(tmp_path / written), cv2.IMREAD_UNCHANGED)
        assert result is not None and result.shape == (48, 64, 3), written


def test_converter_help_names_the_installed_command_and_its_model(installed, tmp_path):
    bin_dir, env = installed
    done = run([str(bin_dir / "colorizer-convert"), "--help"], tmp_path, {**env, "COLUMNS": "1000"})  # unwrapped
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert text.startswith("usage: colorizer-convert "), done.stdout
    assert "python -m" not in text and not re.search(r"(?<![\w/])models/", text), done.stdout  # no checkout paths
    assert f"(default: {Path(env['COLORIZER_CACHE']) / 'models' / 'eccv16.onnx'})" in text, done.stdout


def test_checkout_keeps_using_models_folder():
    """From the checkout (this process), the default model is models/eccv16.onnx."""
    env = {key: value for key, value in os.environ.items() if key != "COLORIZER_MODEL"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from colorkit.contract import default_model_path; print(default_model_path(), default_model_path('int8'))",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    fp32, int8 = done.stdout.split()
    assert Path(fp32) == REPO_ROOT / "models" / "eccv16.onnx"
    assert Path(int8) == REPO_ROOT / "models" / "eccv16-int8.onnx"
