"""The batch on Ray Data (a local Ray, 2 CPUs) gives the local CLI's outputs, bit for bit, and the
same manifest; broken files are failed rows, not a failed job; --resume works the same."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from colorizer import cli as colorizer_cli
from testkit.batch_tree import write_mixed_tree
from testkit.fixtures import REPO_ROOT

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
