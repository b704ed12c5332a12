"""The batch on Ray Data (a local Ray, 2 CPUs) gives the local CLI's outputs, bit for bit, and the
same manifest; broken files are failed rows, not a failed job; --resume works the same; a node
without the driver's model gets it through the object store; a killed worker is restarted and its
file retried."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
from PIL import Image

from colorizer import Colorizer, ray_job, read_image
from colorizer import cli as colorizer_cli
from colorizer.provenance import looks_complete
from colorkit.files import sha256_file
from testkit.batch_tree import texture, write_bgr, write_flat_folder, write_mixed_tree
from testkit.fixtures import REPO_ROOT
from testkit.video_clips import read_film, write_clip

pytestmark = pytest.mark.slow  # Ray: not in the quick subset

ray = pytest.importorskip(
    "ray", reason="needs the optional extra ray[data] (pip install 'ray[data]'; .ci/run installs it)"
)
pytest.importorskip("ray.data", reason="needs ray[data], not only ray")

# What may differ between two runs of the same inputs: when, how long, which engine.
VARYING = {"run", "engine", "seconds"}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, synthetic_model):
    """The mixed tree colorized by the local CLI (in its own process)."""
    root = tmp_path_factory.mktemp("ray")
    tree = write_mixed_tree(root / "in")
    out = root / "local"
    result = subprocess.run(
        [sys.executable, "-m", "colorizer", str(tree.root), "-o", str(out), "-r", "--model", str(synthetic_model)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr  # the tree's broken files
    return tree, out


def files_of(folder):
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "manifest.jsonl"
    }


def rows_of(folder, inputs_from=None):
    """Manifest rows by input (relative to the tree), without what may vary; output paths relative."""
    rows = {}
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        source = row.pop("input").split("://", 1)[-1]
        row["output"] = row["output"] and row["output"].replace(str(folder), "OUT")
        row["error"] = row["error"]
        rows[source.replace(str(inputs_from), "IN")] = {key: value for key, value in row.items() if key not in VARYING}
    return rows


def test_ray_outputs_identical_to_local(local_ray, local_run, synthetic_model, tmp_path, capsys):
    tree, local = local_run
    out = tmp_path / "ray"
    status = colorizer_cli.main([str(tree.root), "-o", str(out), "-r", "--model", str(synthetic_model), "--ray"])
    assert status == 1, capsys.readouterr().err  # failed rows, not a failed job
    ray_files, local_files = files_of(out), files_of(local)
    assert sorted(ray_files) == sorted(local_files) and len(ray_files) == len(tree.good)
    for name, data in local_files.items():
        assert ray_files[name] == data, f"{name} differs between Ray and the local CLI"
    ray_rows = rows_of(out, tree.root)
    assert ray_rows == rows_of(local, tree.root)
    assert sum(row["status"] == "failed" for row in ray_rows.values()) == len(tree.broken)
    assert {json.loads(line)["engine"] for line in (out / "manifest.jsonl").read_text().splitlines()} == {"ray"}

    before = {path: path.stat().st_mtime_ns for path in out.rglob("*_color.png")}
    status = colorizer_cli.main(
        [str(tree.root), "-o", str(out), "-r", "--model", str(synthetic_model), "--ray", "--resume"]
    )
    assert status == 1
    assert before == {path: path.stat().st_mtime_ns for path in out.rglob("*_color.png")}
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    second = [row for row in rows if row["run"] == rows[-1]["run"]]
    assert sorted(row["status"] for row in second) == sorted(["skipped"] * len(tree.good) + ["failed"] * 3)


def test_ray_reads_uris(local_ray, local_run, synthetic_model, tmp_path, capsys):
    """A pyarrow filesystem URI (file:// here, s3:// on a cluster): the subfolder sub/ of the tree."""
    tree, local = local_run
    out = tmp_path / "uri"
    status = colorizer_cli.main(
        [
            f"file://{tree.root / 'sub'}",
            "-o",
            str(out),
            "-r",
            "--model",
            str(synthetic_model),
            "--ray",
            "--ray-actors",
            "1",
        ]
    )
    assert status == 1, capsys.readouterr().err  # sub/text.png
    assert files_of(out) == files_of(local / "sub") and len(files_of(out)) == 3
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(row["input"] for row in rows) == sorted(
        f"file://{tree.root / name}"
        for name in ["sub/photo.jpg", "sub/x_color.png", "sub/ä ö/写真.webp", "sub/text.png"]
    )


def test_a_node_without_the_drivers_model_gets_it_through_the_object_store(
    local_ray, local_run, synthetic_model, tmp_path, monkeypatch, capsys
):
    """The actors find another file at the driver's model path (as on a node without the shared
    folder, or with an older model there): they take the object store's copy, and the outputs are the
    local CLI's, bit for bit."""
    tree, local = local_run
    model = tmp_path / "models" / "eccv16.onnx"
    model.parent.mkdir()
    shutil.copyfile(synthetic_model, model)
    cached = ray_job.MODEL_CACHE / f"{sha256_file(model)}.onnx"
    cached.unlink(missing_ok=True)
    ship_model = ray_job.ship_model

    def ship_then_replace(ray, path, sha256):
        shipment = ship_model(ray, path, sha256)
        path.write_bytes(b"not the model the driver loaded")  # what the actors find at that path
        return shipment

    monkeypatch.setattr(ray_job, "ship_model", ship_then_replace)
    out = tmp_path / "out"
    try:
        status = colorizer_cli.main([str(tree.root), "-o", str(out), "-r", "--model", str(model), "--ray"])
        assert status == 1, capsys.readouterr().err  # the tree's broken files only
        assert files_of(out) == files_of(local)
        assert cached.read_bytes() == synthetic_model.read_bytes()
    finally:
        cached.unlink(missing_ok=True)


def test_a_killed_worker_is_restarted_and_its_file_retried(synthetic_model, tmp_path):
    """SIGKILL to a colorizing actor in the middle of a run (as the kernel's OOM killer would):
    Ray restarts it and retries its files; every file ends with one ok row and a whole output with
    the library's pixels, and no temporary is left."""
    sources = write_flat_folder(tmp_path / "in", 12, 240, 320)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "colorizer", str(tmp_path / "in"), "-o", str(out), "--model", str(synthetic_model)]
        + ["--ray", "--ray-actors", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed, finished_then = None, None
    deadline = time.monotonic() + 300
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        done = len(rows_in(out)) if (out / "manifest.jsonl").exists() else 0
        if done:  # the actors are at work: kill one
            for candidate in psutil.process_iter(["cmdline"]):
                if "ColorizeActor" in " ".join(candidate.info["cmdline"] or []):
                    candidate.kill()
                    killed, finished_then = candidate.pid, done
                    break
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=300)
    assert killed is not None and finished_then < len(sources), "an actor must be killed while files remain"
    assert process.returncode == 0, stderr
    rows = rows_in(out)
    assert sorted(row["input"] for row in rows) == sorted(str(source) for source in sources)  # one row each
    assert {row["status"] for row in rows} == {"ok"}
    colorizer = Colorizer(synthetic_model, device="cpu")
    for source in sources:
        output = out / f"{source.stem}_color.png"
        assert looks_complete(output)
        np.testing.assert_array_equal(np.asarray(Image.open(output)), colorizer.colorize(read_image(source)))
    assert not [path for path in out.iterdir() if path.name.endswith(".part")]


def rows_in(folder):
    lines = (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def test_films_on_ray_are_the_local_clis_films(local_ray, synthetic_model, tmp_path, capsys):
    """A film among photos, by path and by URI: Ray's actors get its bytes, recognise it by its
    content and write the same MP4 as the local CLI (frames, sound, provenance), bit for bit."""
    folder = tmp_path / "in"
    folder.mkdir()
    frames = [np.repeat(texture(48, 64, seed=20 + index)[..., None], 3, axis=2) for index in range(4)]
    write_clip(folder / "reel one.mp4", frames, fps=8, audio="aac")
    write_bgr(folder / "photo.jpg", texture(48, 64, seed=30))
    local = tmp_path / "local"
    assert colorizer_cli.main([str(folder), "-o", str(local), "--model", str(synthetic_model)]) == 0
    for source, out in ((str(folder), tmp_path / "ray"), (f"file://{folder}", tmp_path / "uri")):
        status = colorizer_cli.main([source, "-o", str(out), "--model", str(synthetic_model), "--ray"])
        assert status == 0, capsys.readouterr().err
        assert sorted(files_of(out)) == ["photo_color.png", "reel one_color.mp4"]
        assert files_of(out) == files_of(local), f"{source}: Ray's results differ from the local CLI's"
        assert read_film(out / "reel one_color.mp4").frames == 4


def test_every_restart_used_up_gives_failed_rows_not_a_traceback(synthetic_model, tmp_path):
    """Round three, item 6: the only actor killed with no restart left: the job cannot go on, and
    every file it did not finish gets a failed row (exit 1, one line each), none a traceback;
    --resume does them."""
    sources = write_flat_folder(tmp_path / "in", 8, 240, 320)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "colorizer", str(tmp_path / "in"), "-o", str(out), "--model", str(synthetic_model)]
    process = subprocess.Popen(
        [*command, "--ray", "--ray-actors", "1", "--ray-retries", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = 0
    deadline = time.monotonic() + 300
    while not killed and process.poll() is None and time.monotonic() < deadline:
        if (out / "manifest.jsonl").exists() and rows_in(out):  # the actor is at work: kill it, once
            for candidate in psutil.Process(process.pid).children(recursive=True):
                try:
                    if "ColorizeActor" in " ".join(candidate.cmdline()):
                        candidate.kill()
                        killed += 1
                except psutil.Error:  # gone meanwhile
                    pass
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=300)
    assert killed, "the actor must be killed while files remain"
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 1, stderr
    rows = rows_in(out)
    assert sorted(row["input"] for row in rows) == sorted(str(source) for source in sources)  # one row each
    failed = [row for row in rows if row["status"] == "failed"]
    assert failed and all("not written" in row["error"] for row in failed), failed
    assert len([line for line in stderr.splitlines() if line.startswith("error: ")]) == len(failed), stderr
    resumed = subprocess.run([*command, "--resume"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert all((out / f"{source.stem}_color.png").exists() for source in sources)


def test_an_address_where_nothing_listens_fails_in_seconds(synthetic_model, tmp_path):
    """Round three, item 11: --ray=127.0.0.1:1 (nothing listening) is one line and exit 2 within
    seconds (Ray itself retried for minutes without a word)."""
    write_flat_folder(tmp_path / "in", 1, 32, 32)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "colorizer", str(tmp_path / "in"), "-o", str(tmp_path / "out")]
        + ["--model", str(synthetic_model), "--ray=127.0.0.1:1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "error: cannot reach Ray at 127.0.0.1:1: Connection refused"
    assert seconds < 60, f"{seconds:.0f} s"  # the model's loading included
