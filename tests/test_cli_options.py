"""Every option of ``python -m colorizer``, end to end: the CLI with the option writes the same pixels
as the library call with the same value (or refuses the same way), and, for an option that is meant
to change the picture, not the pixels of a run without it.

CASES is checked against the CLI's own ArgumentParser: an option without a case fails the suite, so
a new option cannot ship without proof that it reaches the pipeline. Adding one is one line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest

from colorizer import Colorizer, ColorizerError, cli, read_image
from colorizer.encode import check_format, encode_image
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.contract import MODEL_ENV
from convert.quantize import quantize_model
from testkit.fixtures import REPO_ROOT
from testkit.references import bilinear_resize

pytestmark = pytest.mark.slow  # the CLI once per option: not in the quick subset

HEIGHT, WIDTH = 96, 128
OTHER_UPSAMPLE = next(method for method in METHODS if method != DEFAULT_METHOD)


@dataclass(frozen=True)
class Case:
    """One option's end-to-end case.

    argv: the CLI arguments after the input (``{out}`` is a fresh output folder, ``{int8_model}``
        the int8 model file, see ``placeholders``). Every run also gets ``--model`` with the fp32 model unless argv names
        one, and $COLORIZER_MODEL points nowhere, so a dropped --model cannot fall back.
    colorizer / colorize / read: the library call with the same values: ``Colorizer(model, **colorizer)``
        (a ``model_path`` entry replaces the model), ``.colorize(image, **colorize)``,
        ``read_image(path, **read)``; an error it raises is the refusal the CLI must give.
    changes_pixels: the option must change the result (checked on the library side, so a library
        that ignored the value fails here too); False for options that only change how or where.
    encode: ``encode_image(pixels, **encode)``, the library's file for the same format and quality;
        the CLI's file must decode to exactly the pixels the library's decodes to.
    elsewhere: for options that need a Ray cluster or a film: the test (``file::name``) that proves
        the option end to end, bit for bit against the library or the local run; it must exist.
    """

    argv: tuple[str, ...]
    colorizer: dict = field(default_factory=dict)
    colorize: dict = field(default_factory=dict)
    read: dict = field(default_factory=dict)
    changes_pixels: bool = True
    encode: dict = field(default_factory=dict)
    elsewhere: str | None = None


CASES = {
    "--output-dir": Case(("--output-dir", "{out}"), changes_pixels=False),
    "--model": Case(("--model", "{int8_model}"), colorizer={"model_path": "{int8_model}"}),
    "--int8": Case(("--int8",), colorizer={"model_path": "{int8_model}"}),
    "--device": Case(("--device", "cpu"), colorizer={"device": "cpu"}, changes_pixels=False),
    "--threads": Case(("--threads", "1"), colorizer={"threads": 1}, changes_pixels=False),
    "--temperature": Case(("--temperature", "0.2"), colorize={"temperature": 0.2}),
    "--render-size": Case(("--render-size", "256"), colorize={"render_size": 256}),
    "--upsample": Case(("--upsample", OTHER_UPSAMPLE), colorize={"upsample": OTHER_UPSAMPLE}),
    "--max-pixels": Case(("--max-pixels", str(HEIGHT * WIDTH - 1)), read={"max_pixels": HEIGHT * WIDTH - 1}),
    "--verbose": Case(("--verbose",), changes_pixels=False),
    "--keep-color": Case(("--keep-color",), colorize={"keep_color": True}),
    "--format": Case(("--format", "webp"), encode={"format": "webp"}, changes_pixels=False),
    "--quality": Case(
        ("--format", "jpg", "--quality", "60"), encode={"format": "jpg", "quality": 60}, changes_pixels=False
    ),
    "--depth": Case(("--depth", "16"), colorize={"depth": 16}),
    "--strip-metadata": Case((), elsewhere="tests/test_metadata.py::test_strip_metadata_leaves_only_the_provenance"),
    "--recursive": Case(("--recursive",), changes_pixels=False),
    "--resume": Case(("--resume", "--output-dir", "{out}"), changes_pixels=False),
    "--manifest": Case(("--manifest", "{out}/runs.jsonl"), changes_pixels=False),
    "--force": Case(
        (), elsewhere="tests/test_archive_safety.py::test_a_users_file_at_an_outputs_name_is_never_overwritten"
    ),
    "--jobs": Case(("--jobs", "1"), changes_pixels=False),
    "--hints": Case(
        (), elsewhere="tests/test_hints_pipeline.py::test_cli_hints_file_reaches_the_photo_and_its_provenance"
    ),
    "--no-stabilize": Case((), elsewhere="tests/test_video_cli.py::test_no_stabilize_gives_the_per_frame_film"),
    "--network-every": Case((), elsewhere="tests/test_film_resume.py::test_resume_redoes_films_made_another_way"),
    "--ray": Case((), elsewhere="tests/test_ray.py::test_ray_outputs_identical_to_local"),
    "--ray-actors": Case((), elsewhere="tests/test_ray.py::test_ray_outputs_identical_to_local"),
    "--ray-threads": Case((), elsewhere="tests/test_ray.py::test_ray_outputs_identical_to_local"),
    "--ray-retries": Case((), elsewhere="tests/test_ray.py::test_ray_outputs_identical_to_local"),
}
LOCAL_CASES = [option for option, case in CASES.items() if case.elsewhere is None]


class _Caught(Exception):
    pass


def cli_parser() -> argparse.ArgumentParser:
    """The CLI's own ArgumentParser (``cli.build_parser()`` if it has one; else caught as
    ``cli.parse_args`` uses it)."""
    if hasattr(cli, "build_parser"):
        return cli.build_parser()
    caught = []

    def catch(parser, *args, **kwargs):
        caught.append(parser)
        raise _Caught

    with mock.patch.object(argparse.ArgumentParser, "parse_args", catch), contextlib.suppress(_Caught):
        cli.parse_args([])
    return caught[0]


def cli_options() -> set[str]:
    """Each optional argument by its first long spelling (``--output-dir`` for ``-o/--output-dir``,
    ``--keep-color`` for ``--keep-color/--keep-colour``)."""
    return {
        next((name for name in action.option_strings if name.startswith("--")), action.option_strings[0])
        for action in cli_parser()._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    }


def test_every_cli_option_has_a_case():
    options = cli_options()
    assert not options - set(CASES), f"CLI options without an end-to-end case in CASES: {sorted(options - set(CASES))}"
    assert not set(CASES) - options, f"CASES for options the CLI does not have: {sorted(set(CASES) - options)}"


# --- running both sides ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    image: Path  # the input photo
    model: Path  # the fp32 model, models/eccv16.onnx


@pytest.fixture(scope="module")
def setup(tmp_path_factory, synthetic_model) -> Setup:
    """A colourful 128x96 photo, and the fp32 model in a folder of its own."""
    work = tmp_path_factory.mktemp("cli_options")
    coarse = np.random.default_rng(0).integers(0, 256, (4, 5, 3))
    rgb = np.dstack([bilinear_resize(coarse[..., channel], HEIGHT, WIDTH) for channel in range(3)])
    image = work / "photo.png"
    cv2.imwrite(str(image), cv2.cvtColor(rgb.round().astype(np.uint8), cv2.COLOR_RGB2BGR))  # imwrite takes BGR
    (work / "models").mkdir()
    model = work / "models" / "eccv16.onnx"
    shutil.copy(synthetic_model, model)
    return Setup(image, model)


@pytest.fixture(scope="module")
def int8_model(setup, tmp_path_factory) -> Path:
    """The int8 model beside the fp32 one, named as the README says: eccv16-int8.onnx."""
    calibration = tmp_path_factory.mktemp("calibration")
    for index in range(3):
        coarse = np.random.default_rng(index + 1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
        cv2.imwrite(str(calibration / f"{index}.png"), cv2.resize(coarse, (160, 120), interpolation=cv2.INTER_CUBIC))
    path = setup.model.parent / "eccv16-int8.onnx"  # written literally, not from the code under test
    quantize_model(setup.model, path, calibration, max_mean_dab=float("inf"))
    return path


def placeholders(case: Case, request) -> dict[str, Path]:
    """The files a case's ``{...}`` names: built only for the cases that use them."""
    text = " ".join(map(str, [*case.argv, *case.colorizer.values()]))
    return {"int8_model": request.getfixturevalue("int8_model")} if "{int8_model}" in text else {}


@pytest.fixture(autouse=True)
def no_default_model(monkeypatch, tmp_path):
    """A CLI that dropped --model would find no model, not a default one that happens to exist."""
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "no-such-model.onnx"))


def _fill(value, paths: dict[str, Path]):
    return value.format(**{name: str(path) for name, path in paths.items()}) if isinstance(value, str) else value


def library_result(case: Case, setup: Setup, paths: dict[str, Path]) -> np.ndarray | ColorizerError:
    """What the library makes of the input with the case's values: pixels, or the error it raises."""
    options = {name: _fill(value, paths) for name, value in case.colorizer.items()}
    try:
        image = read_image(setup.image, **case.read)
        colorizer = Colorizer(options.pop("model_path", setup.model), **options)
        return colorizer.colorize(image, **case.colorize)
    except ColorizerError as error:
        return error


def run_cli(case: Case, setup: Setup, paths: dict[str, Path], work: Path, capsys) -> tuple[int, Path | None, str]:
    """``colorizer.cli.main`` in this process on a fresh copy of the input; returns the exit status,
    the one output image written (None if none) and stderr."""
    source = work / "in" / setup.image.name
    source.parent.mkdir(parents=True)
    shutil.copy(setup.image, source)
    out = work / "out"
    argv = [_fill(value, {**paths, "out": out}) for value in case.argv]
    if "--model" not in argv:
        argv += ["--model", str(setup.model)]
    capsys.readouterr()
    status = cli.main([str(source), *argv])
    stderr = capsys.readouterr().err
    written = [
        path
        for folder in (source.parent, out)
        if folder.is_dir()
        for path in folder.iterdir()
        if path != source and path.suffix != ".jsonl"
    ]  # manifests are checked in test_batch.py
    assert len(written) <= 1, f"more than one file written: {written}"
    if written and "--output-dir" in case.argv:
        assert written[0].parent == out, f"--output-dir: written to {written[0]}, not into {out}"
    return status, (written[0] if written else None), stderr


def read_rgb(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    order = (
        cv2.COLOR_BGRA2RGBA if pixels.ndim == 3 and pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB
    )  # OpenCV reads BGR(A)
    return cv2.cvtColor(pixels, order)


@pytest.fixture(scope="module")
def default_result(setup) -> np.ndarray:
    result = library_result(Case(()), setup, {})
    assert isinstance(result, np.ndarray), result
    return result


@pytest.mark.parametrize("option", sorted({case.elsewhere for case in CASES.values() if case.elsewhere}))
def test_options_proven_elsewhere_name_a_real_test(option):
    path, name = option.split("::")
    assert f"def {name}(" in (REPO_ROOT / path).read_text(), f"{option} does not exist"


@pytest.mark.parametrize("option", LOCAL_CASES)
def test_cli_option_gives_the_library_result(option, setup, default_result, tmp_path, capsys, request):
    case = CASES[option]
    paths = placeholders(case, request)
    expected = library_result(case, setup, paths)
    status, written, stderr = run_cli(case, setup, paths, tmp_path, capsys)
    if isinstance(expected, ColorizerError):
        assert status == 1 and written is None, f"{option}: the library refuses ({expected}); the CLI wrote {written}"
        assert str(expected) in stderr, f"{option}: the CLI's error should be the library's: {expected}\n{stderr}"
    else:
        assert status == 0, f"{option}: exit status {status}\n{stderr}"
        suffix = f".{check_format(case.encode.get('format', 'png'))}"
        assert written is not None and written.name == f"{setup.image.stem}_color{suffix}"
        if case.encode:  # the same encoder settings: the same decoded pixels as the library's file
            library_file = tmp_path / f"library{suffix}"
            library_file.write_bytes(encode_image(expected, **case.encode))
        np.testing.assert_array_equal(
            read_rgb(written),
            read_rgb(library_file) if case.encode else expected,
            err_msg=f"{' '.join(case.argv)}: CLI != library",
        )
    differs = isinstance(expected, ColorizerError) or not np.array_equal(expected, default_result)
    assert differs == case.changes_pixels, (
        f"{option}: with {' '.join(case.argv)} the library's result {'differs from' if differs else 'equals'} the "
        f"default's, but the case says changes_pixels={case.changes_pixels}"
    )


# --- the real command line ------------------------------------------------------------------------


def _cli_env(setup: Setup, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, MODEL_ENV: str(tmp_path / "no-such-model.onnx")}


def test_python_m_colorizer_subprocess(setup, tmp_path):
    """One real ``python -m colorizer`` run: an option reaches the pipeline and -v logs each step."""
    source = tmp_path / setup.image.name
    shutil.copy(setup.image, source)
    result = subprocess.run(
        [sys.executable, "-m", "colorizer", str(source), "--model", str(setup.model), "--temperature", "0.2", "-v"],
        cwd=REPO_ROOT,
        env=_cli_env(setup, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    expected = library_result(Case((), colorize={"temperature": 0.2}), setup, {})
    np.testing.assert_array_equal(read_rgb(tmp_path / "photo_color.png"), expected)
    assert "INFO colorizer" in result.stderr, f"-v should log the steps:\n{result.stderr}"


def test_failed_write_leaves_the_previous_output_whole(setup, default_result, tmp_path):
    """The disk fills up mid-write (a file-size limit, ``ulimit -f``): the image fails with one
    error line, and the previous result at the output path is still there, byte for byte, with no
    temporary left over."""
    source = tmp_path / setup.image.name
    shutil.copy(setup.image, source)
    previous = tmp_path / "photo_color.png"
    previous_bytes = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    previous.write_bytes(previous_bytes)
    limit_kib = len(cv2.imencode(".png", default_result)[1]) // 2048  # half the new PNG
    assert len(previous_bytes) < limit_kib * 1024, "the old file must fit under the limit"
    command = shlex.join([sys.executable, "-m", "colorizer", str(source), "--model", str(setup.model)])
    # trap '' XFSZ: a write past the limit fails with EFBIG instead of killing the process
    result = subprocess.run(
        ["bash", "-c", f"trap '' XFSZ; ulimit -f {limit_kib}; exec {command}"],
        cwd=REPO_ROOT,
        env=_cli_env(setup, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")], result.stderr
    assert "Traceback" not in result.stderr
    assert previous.read_bytes() == previous_bytes, "the previous output was overwritten by a partial file"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([source.name, previous.name])
