"""Whole-folder batches: the mirrored tree, unique names, the manifest, --resume after SIGKILL, clean
stops on SIGTERM/SIGHUP, and the per-file work that turns every bad input into a failed row."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colorizer import Colorizer, read_image
from colorizer.batch import Context, row_for
from colorizer.encode import output_depth
from colorizer.errors import OutputFolderError
from colorizer.local_job import run_local
from colorizer.manifest import Manifest, ManifestLockedError, Row, read_rows
from colorizer.plan import Job, Planner, output_names
from colorizer.provenance import KEY_COMMENT, KEY_MODEL, KEY_SETTINGS, looks_complete
from colorizer.settings import Settings
from colorizer.signals import Stopped, StopSignals
from testkit.batch_tree import make_fifo, write_flat_folder, write_mixed_tree
from testkit.fixtures import REPO_ROOT

pytestmark = pytest.mark.slow  # CLI subprocesses and signals: not in the quick subset

# What each good input of write_mixed_tree must become under -o OUT -r (the naming rules of the docs).
EXPECTED = {
    "photo one.jpg": "photo one_color.png",
    "scan.jpg": "scan_jpg_color.png",  # scan.jpg and scan.png would both be scan_color.png
    "scan.png": "scan_png_color.png",
    "tiny.bmp": "tiny_color.png",
    "deep.tif": "deep_color.png",
    "alpha.png": "alpha_color.png",
    "sub/ä ö/写真.webp": "sub/ä ö/写真_color.png",
    "sub/photo.jpg": "sub/photo_color.png",  # two folders with photo.jpg: the tree keeps them apart
    "other/photo.jpg": "other/photo_color.png",
    "sub/x_color.png": "sub/x_color_color.png",  # a user's photo named *_color is an input too
    "old.JFIF": "old_color.png",
}
DEFAULT_SETTINGS = {
    "temperature": 0.38,
    "render_size": 224,
    "upsample": "bilateral",
    "keep_color": False,
    "format": "png",
    "quality": None,
    "max_pixels": 50_000_000,
    "stabilize": True,  # films only; recorded with every run
    "network_every": "auto",  # films only too
    "precision": "fp32",
}


def cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "colorizer", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "colorizer", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def parts_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".part")]


@pytest.fixture(scope="module")
def reference(synthetic_model):
    """The library's result for a file, as the CLI's outputs must match it."""
    colorizer = Colorizer(synthetic_model, device="cpu")
    return lambda path, **options: colorizer.colorize(read_image(path), **options)


@pytest.fixture(scope="module")
def model_hash(synthetic_model):
    return hashlib.sha256(synthetic_model.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tree_run(tmp_path_factory, synthetic_model):
    """The mixed tree (plus a FIFO) colorized once into OUT with -r."""
    root = tmp_path_factory.mktemp("batch")
    tree = write_mixed_tree(root / "in")
    fifo = make_fifo(tree.root / "pipe.png")
    out = root / "out"
    result = run_cli(str(tree.root), "-o", str(out), "-r", "--model", str(synthetic_model), "--device", "cpu")
    return tree, out, result, fifo


def test_tree_outputs_mirror_the_inputs(tree_run, reference):
    tree, out, result, _ = tree_run
    assert result.returncode == 1, result.stderr  # the broken files failed, the rest were written
    written = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert written == sorted([*EXPECTED.values(), "manifest.jsonl"])
    for source, output in EXPECTED.items():
        with Image.open(out / output) as image:
            assert image.text[KEY_COMMENT] == "colorized: colours are predicted, not original"
        pixels = cv2.imread(str(out / output), cv2.IMREAD_UNCHANGED)  # as stored: 16 bits for a 16-bit input
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        depth = output_depth("png", None, read_image(tree.root / source).dtype)
        np.testing.assert_array_equal(pixels, reference(tree.root / source, depth=depth), err_msg=source)
    assert "Traceback" not in result.stderr


def test_tree_manifest_complete_and_correct(tree_run, model_hash):
    tree, out, result, fifo = tree_run
    rows = rows_of(out / "manifest.jsonl")
    by_input = {row["input"]: row for row in rows}
    assert len(rows) == len(by_input) == len(tree.good) + len(tree.broken) + fifo
    assert len({row["run"] for row in rows}) == 1
    for row in rows:
        assert row["settings"] == DEFAULT_SETTINGS and row["model_sha256"] == model_hash
    for source, output in EXPECTED.items():
        row = by_input[str(tree.root / source)]
        assert row["status"] == "ok" and row["error"] is None, row
        assert row["output"] == str(out / output)
        assert row["output_bytes"] == (out / output).stat().st_size
        assert (row["height"], row["width"]) == tree.sizes[source]
        assert row["seconds"] > 0
    for source in tree.broken:
        row = by_input[str(tree.root / source)]
        assert row["status"] == "failed" and row["error"].startswith(source), row
        assert not Path(row["output"]).exists()
    if fifo:
        row = by_input[str(tree.root / "pipe.png")]
        assert row["status"] == "skipped" and "FIFO" in row["error"]
    assert not any(str(tree.root / name) in by_input for name in tree.ignored)
    assert "2 files without an image suffix ignored" in result.stdout


def test_docs_manifest_example_has_the_fields_of_a_row(tree_run):
    """docs/cli.md's manifest row names every field a real row has, and its settings every setting."""
    _, out, _, _ = tree_run
    row = rows_of(out / "manifest.jsonl")[0]
    section = (REPO_ROOT / "docs" / "cli.md").read_text().split("## The manifest")[1]
    example = json.loads(section.split("```json")[1].split("```")[0])
    assert sorted(example) == sorted(row), "docs/cli.md: the manifest row's fields"
    assert sorted(example["settings"]) == sorted(row["settings"]), "docs/cli.md: the manifest row's settings"


def test_tree_console_lists_outputs_and_errors(tree_run):
    tree, out, result, fifo = tree_run
    listed = result.stdout.splitlines()[:-1]
    assert sorted(listed) == sorted(str(out / output) for output in EXPECTED.values())
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert sorted(line.split(":")[1].strip() for line in errors) == sorted(tree.broken)
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith(f"{len(EXPECTED)} of {len(EXPECTED) + 3} files colorized")
    assert "files/s" in summary and "3 failed" in summary
    if fifo:
        assert "skipped: pipe.png: not an image file but a named pipe (FIFO)" in result.stderr


def test_tree_resume_redoes_nothing(tree_run, synthetic_model):
    tree, out, _, _ = tree_run
    before = {output: (out / output).stat().st_mtime_ns for output in EXPECTED.values()}
    result = run_cli(str(tree.root), "-o", str(out), "-r", "--resume", "--model", str(synthetic_model))
    assert result.returncode == 1  # the broken files are tried again, and fail again
    rows = rows_of(out / "manifest.jsonl")
    second = [row for row in rows if row["run"] != rows[0]["run"]]
    done = {row["output"] for row in second if row["status"] == "skipped" and row["output_bytes"]}
    assert done == {str(out / output) for output in EXPECTED.values()}
    assert not [row for row in second if row["status"] == "ok"]
    assert before == {output: (out / output).stat().st_mtime_ns for output in EXPECTED.values()}


def test_outputs_read_as_inputs_are_skipped(tree_run, synthetic_model):
    _, out, _, _ = tree_run
    result = run_cli(str(out), "-r", "-o", str(out.parent / "again"), "--model", str(synthetic_model))
    assert result.returncode == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == len(EXPECTED) and all("an output of the colorizer" in line for line in skipped)
    assert [path.name for path in (out.parent / "again").iterdir()] == ["manifest.jsonl"]


def test_sigkill_then_resume_does_only_what_is_missing(tmp_path, synthetic_model, reference):
    sources = write_flat_folder(tmp_path / "in", 8, 240, 320)
    out = tmp_path / "out"
    outputs = [out / f"{source.stem}_color.png" for source in sources]
    process = cli(str(tmp_path / "in"), "-o", str(out), "--jobs", "1", "--model", str(synthetic_model))
    deadline = time.monotonic() + 240
    while sum(path.exists() for path in outputs) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()  # SIGKILL: no handler runs
    process.communicate()
    survivors = {path: path.stat().st_mtime_ns for path in outputs if path.exists()}
    assert 2 <= len(survivors) < len(outputs), "the run must be killed part-way"
    for path in survivors:
        assert looks_complete(path) and Image.open(path).size == (320, 240)
    with open(out / "manifest.jsonl", "a", encoding="utf-8") as manifest:
        manifest.write('{"input": "/torn", "status": "o')  # as if killed in the middle of a row

    result = run_cli(str(tmp_path / "in"), "-o", str(out), "--resume", "--model", str(synthetic_model))
    assert result.returncode == 0, result.stderr
    rows = rows_of(out / "manifest.jsonl")  # every line whole again: the torn one was cut
    resumed = [row for row in rows if row["run"] == rows[-1]["run"]]
    assert len(resumed) == len(outputs)
    assert {row["output"] for row in resumed if row["status"] == "skipped"} == {str(path) for path in survivors}
    assert {row["output"] for row in resumed if row["status"] == "ok"} == {
        str(path) for path in outputs if path not in survivors
    }
    assert survivors == {path: path.stat().st_mtime_ns for path in survivors}  # not rewritten
    for output in outputs:
        assert looks_complete(output) and Image.open(output).size == (320, 240)
    redone = next(index for index, path in enumerate(outputs) if path not in survivors)
    for index in (0, redone):  # one output from each run: the library's pixels
        np.testing.assert_array_equal(np.asarray(Image.open(outputs[index])), reference(sources[index]))
    assert not parts_under(out)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_stop_cleanly_and_resume_does_the_rest(tmp_path, synthetic_model, signum):
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP: the batch stops, every finished file has its row and is
    whole, nothing half-written is left, and --resume then does exactly the files that are missing."""
    sources = write_flat_folder(tmp_path / "in", 8, 240, 320)
    out = tmp_path / "out"
    # as in a terminal: a shell runs background jobs (CI's, perhaps) with SIGINT ignored, which Python keeps
    process = cli(
        str(tmp_path / "in"),
        "-o",
        str(out),
        "--jobs",
        "2",
        "--model",
        str(synthetic_model),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not list(out.glob("*_color.png")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr and "--resume" in stderr
    assert not parts_under(out)
    written = set(out.glob("*_color.png"))
    assert 1 <= len(written) < len(sources)
    recorded = {Path(row["output"]) for row in rows_of(out / "manifest.jsonl") if row["status"] == "ok"}
    assert recorded == written  # every finished file has its row; no row without its file
    assert all(looks_complete(path) for path in written)

    before = {path: path.stat().st_mtime_ns for path in written}
    result = run_cli(str(tmp_path / "in"), "-o", str(out), "--resume", "--model", str(synthetic_model))
    assert result.returncode == 0, result.stderr
    rows = rows_of(out / "manifest.jsonl")
    resumed = [row for row in rows if row["run"] == rows[-1]["run"]]
    assert {Path(row["output"]) for row in resumed if row["status"] == "skipped"} == written
    assert {Path(row["output"]) for row in resumed if row["status"] == "ok"} == {
        out / f"{source.stem}_color.png" for source in sources
    } - written
    assert before == {path: path.stat().st_mtime_ns for path in written}  # not rewritten
    assert all(looks_complete(out / f"{source.stem}_color.png") for source in sources)
    assert not parts_under(out)


# --- naming -----------------------------------------------------------------------------------------


def test_output_names_unique():
    assert output_names(["a.jpg", "b.png"], ".png") == ["a_color.png", "b_color.png"]
    assert output_names(["scan.jpg", "scan.png"], ".png") == ["scan_jpg_color.png", "scan_png_color.png"]
    assert output_names(["Scan.JPG", "scan.png"], ".jpg") == ["Scan_JPG_color.jpg", "scan_png_color.jpg"]
    # an input that stays in the output folder is never overwritten
    assert output_names(["a.jpg"], ".png", reserved=["a_color.png"]) == ["a_jpg_color.png"]
    assert output_names(["a.jpg"], ".png", reserved=["A_COLOR.PNG", "a_jpg_color.png"]) == ["a_jpg_color-2.png"]
    assert output_names(["scan.jpg", "scan.png", "scan_jpg.png"], ".png") == [
        "scan_jpg_color.png",
        "scan_png_color.png",
        "scan_jpg_png_color.png",
    ]


def test_output_names_claim_the_film_name_too():
    """A result may turn out to be a film's <stem>_color.mp4: that name must be free as well."""
    assert output_names(["clip.mp4"], ".png", reserved=["clip_color.mp4"]) == ["clip_mp4_color.png"]
    assert output_names(["clip.mp4"], ".webp", reserved=["CLIP_COLOR.MP4", "clip_mp4_color.mp4"]) == [
        "clip_mp4_color-2.webp"
    ]
    assert output_names(["a.mov", "a_mov.jpg"], ".png") == ["a_color.png", "a_mov_color.png"]
    assert output_names(["x.jpg"], ".png", reserved=["x_color.png.mp4"]) == ["x_color.png"]  # not a claim


def test_output_names_fit_255_bytes():
    long = "é" * 126 + ".jpg"  # 256 bytes: the input's name already at the limit
    [name] = output_names([long], ".png")
    assert len(name.encode()) <= 255 and name.endswith("_color.png") and name.startswith("é" * 100)


def test_planner_names_without_output_folder(tmp_path):
    write_flat_folder(tmp_path, 1)
    (tmp_path / "img00.png").write_bytes((tmp_path / "img00.jpg").read_bytes())
    (tmp_path / "img00_color.png").write_bytes(b"a user's own file")
    jobs = [item for item in Planner([tmp_path]) if isinstance(item, Job)]
    outputs = sorted(job.output.name for job in jobs)
    assert outputs == ["img00_color_color.png", "img00_jpg_color.png", "img00_png_color.png"]


def test_planner_refuses_oversized_files_by_size(tmp_path):
    (tmp_path / "huge.png").write_bytes(b"")
    os.truncate(tmp_path / "huge.png", 10**9)  # sparse: costs no disk
    [decision] = list(Planner([tmp_path], max_bytes=10**8))
    assert decision.status == "failed"
    assert (
        decision.reason == "huge.png: the file is 953.7 MiB, more than the limit of 95.4 MiB"
    )  # 10**9 and 10**8 bytes


# --- the per-file work --------------------------------------------------------------------------------


class EchoColorizer:
    """Stands in for a Colorizer: grey -> RGB copies, so rows can be checked without a model."""

    default_temperature, input_size, precision = 0.38, 224, "fp32"

    def colorize(self, image, **options):
        return np.dstack([image] * 3) if image.ndim == 2 else image[..., :3]


def context() -> Context:
    return Context.of(Settings(format="png").checked(), EchoColorizer(), "0" * 64, run="test")


@pytest.mark.parametrize(
    "surprise", [TypeError("bad tag"), OverflowError("bigtiff"), RuntimeError("avif"), MemoryError()]
)
def test_decoder_surprises_are_failed_rows(tmp_path, monkeypatch, surprise):
    def decode(*args, **kwargs):
        raise surprise

    monkeypatch.setattr("colorizer.pipeline.decode_photo", decode)
    job = Job(str(tmp_path / "a.png"), tmp_path / "a_color.png", "a.png")
    row = row_for(EchoColorizer(), job, context(), data=b"whatever")
    assert row.status == "failed" and row.error.startswith("a.png: the decoder failed")
    assert type(surprise).__name__ in row.error and not (tmp_path / "a_color.png").exists()


def test_colorizer_surprises_are_failed_rows(tmp_path):
    import cv2

    class Failing(EchoColorizer):
        def colorize(self, image, **options):
            raise cv2.error("OpenCV(4.14) resize.cpp: (-215:Assertion failed) !dsize.empty()")

    write_flat_folder(tmp_path, 1, 8, 8)
    job = Job(str(tmp_path / "img00.jpg"), tmp_path / "img00_color.png", "img00.jpg")
    row = row_for(Failing(), job, context())
    assert row.status == "failed" and row.error.startswith("img00.jpg: colorizing failed (error: OpenCV")
    assert (row.width, row.height) == (8, 8) and not job.output.exists()


def test_special_file_refused_without_blocking(tmp_path):
    if not make_fifo(tmp_path / "pipe.png"):
        pytest.skip("no FIFOs on this platform")
    job = Job(str(tmp_path / "pipe.png"), tmp_path / "pipe_color.png", "pipe.png")
    row = row_for(EchoColorizer(), job, context())  # opening a FIFO for reading would block
    assert row.status == "failed" and row.error == "pipe.png: not an image file but a named pipe (FIFO)"


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_output_folder_errors_stop_the_batch(tmp_path, monkeypatch, code):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("colorizer.pipeline.atomic_writer", refuse)
    write_flat_folder(tmp_path, 1, 8, 8)
    job = Job(str(tmp_path / "img00.jpg"), tmp_path / "img00_color.png", "img00.jpg")
    run = Context.of(Settings(format="png").checked(), EchoColorizer(), "0" * 64, run="test", output_root=tmp_path)
    with pytest.raises(OutputFolderError, match=os.strerror(code)):
        row_for(EchoColorizer(), job, run)


def test_a_name_too_long_fails_only_that_file(tmp_path):
    write_flat_folder(tmp_path, 1, 8, 8)
    job = Job(str(tmp_path / "img00.jpg"), tmp_path / ("x" * 300 + ".png"), "img00.jpg")
    row = row_for(EchoColorizer(), job, context())
    assert row.status == "failed" and "File name too long" in row.error


def test_ok_row_and_provenance(tmp_path):
    write_flat_folder(tmp_path, 1, 10, 12)
    job = Job(str(tmp_path / "img00.jpg"), tmp_path / "out" / "img00_color.png", "img00.jpg")
    row = row_for(EchoColorizer(), job, context())
    assert (row.status, row.width, row.height, row.output_bytes) == ("ok", 12, 10, job.output.stat().st_size)
    text = Image.open(job.output).text
    photo_settings = {
        name: value for name, value in DEFAULT_SETTINGS.items() if name not in ("stabilize", "network_every")
    }
    assert text[KEY_MODEL] == "0" * 64 and json.loads(text[KEY_SETTINGS]) == photo_settings  # films' own left out


# --- the manifest -------------------------------------------------------------------------------------


def test_manifest_cuts_a_torn_line_and_appends(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text(Row("a", "b", "ok").to_json() + "\n" + '{"input": "c", "sta')
    with Manifest(path) as manifest:
        manifest.append(Row("d", None, "failed", error="d: broken"))
    assert [row.input for row in read_rows(path)] == ["a", "d"]
    assert path.read_text().count("\n") == 2


def test_manifest_refuses_a_second_writer(tmp_path):
    with Manifest(tmp_path / "manifest.jsonl"), pytest.raises(ManifestLockedError, match="in use by another run"):
        Manifest(tmp_path / "manifest.jsonl")


def test_read_rows_skips_junk(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text(Row("a", "b", "ok").to_json() + "\nnot json\n")
    assert [row.input for row in read_rows(path)] == ["a"]


# --- the local engine ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_local_engine_keeps_few_files_in_flight(tmp_path, monkeypatch, workers):
    """The plan is a stream: the engine pulls a job only when fewer than workers + 1 are unfinished,
    and hands each row on once, as its file finishes."""
    import threading

    from colorizer import local_job

    pulled, finished, most = [], [], [0]
    lock = threading.Lock()

    def fake_row_for(colorizer, job, context, data, stop):
        time.sleep(0.01 * (len(job.name) % 3))  # unequal times: rows finish out of order
        with lock:
            finished.append(job.name)
        return Row(job.source, str(job.output), "ok")

    def plan():
        for index in range(30):
            with lock:
                most[0] = max(most[0], len(pulled) - len(finished))
            pulled.append(f"{'x' * index}")
            yield Job(str(tmp_path / f"{index}.jpg"), tmp_path / f"{index}_color.png", pulled[-1])

    monkeypatch.setattr(local_job, "row_for", fake_row_for)
    rows = []
    local_job.run_local(None, plan(), context(), rows.append, workers=workers)
    assert sorted(row.input for row in rows) == sorted(str(tmp_path / f"{index}.jpg") for index in range(30))
    assert most[0] <= workers + 1


# --- stopping between two steps -----------------------------------------------------------------------


def test_a_signal_inside_a_deferred_step_is_raised_when_it_ends():
    signals = StopSignals()
    steps = []
    with signals.installed(), pytest.raises(Stopped) as stopped, signals.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # many bytecodes: the handler has had every chance to run
            steps.append(1)
        steps.append("end of step")
    assert stopped.value.signum == signal.SIGTERM and steps[-1] == "end of step"
    with StopSignals().installed(), pytest.raises(Stopped):  # outside a deferred step: at once
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(1000):
            steps.append(2)
    assert 2 not in steps


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_signal_while_a_row_is_recorded_loses_no_row_and_repeats_none(tmp_path, when):
    """The stop arrives just before or just after the manifest takes a finished file's row: that row
    is recorded once, and every file finished before the stop has its row."""
    sources = write_flat_folder(tmp_path / "in", 6, 8, 8)
    jobs = [Job(str(source), tmp_path / f"{source.stem}_color.png", source.name) for source in sources]
    recorded: list[str] = []

    def on_row(row: Row) -> None:
        if when == "before" and len(recorded) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next line, unless deferred
        recorded.append(row.input)
        if when == "after" and len(recorded) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    signals = StopSignals()
    with signals.installed(), pytest.raises(Stopped):
        run_local(EchoColorizer(), jobs, context(), on_row, workers=1, deferred=signals.deferred)
    assert len(recorded) == len(set(recorded)) >= 2
    written = {str(path) for path in tmp_path.glob("*_color.png")}
    assert {job.output for job in jobs if job.source in recorded} == {Path(path) for path in written}


def test_sigint_is_left_ignored_when_the_shell_ignores_it():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with StopSignals().installed():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
