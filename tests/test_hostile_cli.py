"""The second hostile corpus (testkit.hostile_files) through the command line, with measured bounds.

One ``python -m colorizer`` run over the corpus folder (and /dev/zero named on the command line): every
file the decoder accepts is colorized at its size, every other one is a failed or skipped row whose
error is the decoder's one-line message, the batch finishes, and the run's peak RSS and each file's
seconds stay within bounds proportional to the pixels the files really hold. The measured values
are written to tests/out/hostile_cli.md.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from pathlib import Path

import pytest

from testkit.fixtures import REPO_ROOT
from testkit.hostile_bounds import file_seconds, rss_bytes
from testkit.hostile_files import Decoded, cases
from testkit.measured import run_measured

pytestmark = pytest.mark.slow  # a hostile corpus through the CLI: not in the quick subset

REPORT = REPO_ROOT / "tests" / "out" / "hostile_cli.md"
BASE_RSS_BYTES = 1000 << 20  # interpreter, onnxruntime session, numba kernels, thread pools
IN_FLIGHT = 2  # files colorized at once (--jobs 2): the run's peak holds the two largest


def png_size(path: Path) -> tuple[int, int]:
    """(height, width) from a PNG's IHDR, without decoding it."""
    with open(path, "rb") as stream:
        head = stream.read(24)
    width, height = struct.unpack(">II", head[16:24])
    return height, width


@pytest.fixture(scope="module")
def run(tmp_path_factory, synthetic_model):
    folder = tmp_path_factory.mktemp("hostile_cli")
    corpus = [case for case in cases(folder / "in", roles=("image",)) if not case.path.is_dir()]
    out = folder / "out"
    inputs = [str(folder / "in")] + [str(case.path) for case in corpus if not case.path.is_relative_to(folder)]
    command = [sys.executable, "-m", "colorizer", *inputs, "-o", str(out), "--model", str(synthetic_model)]
    measured = run_measured(command, cwd=REPO_ROOT)
    rows = {Path(row["input"]).name: row for row in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    return corpus, rows, measured


def test_every_file_has_its_outcome(run):
    corpus, rows, measured = run
    assert measured.status == 1, measured.stderr  # some inputs failed, the batch went on
    for case in corpus:
        row = rows.get(case.path.name)
        assert row is not None, f"{case.name}: no manifest row ({measured.stderr})"
        if isinstance(case.expect, Decoded):
            assert row["status"] == "ok", f"{case.name}: {row['error']}"
            assert png_size(Path(row["output"])) == case.expect.shape[:2], case.name
        else:
            assert row["status"] in ("failed", "skipped"), f"{case.name}: {row}"
            error = row["error"] or ""
            assert re.search(case.expect.anywhere, error), f"{case.name}: {error!r}"  # as the library says it


def test_time_and_memory_stay_proportional_to_real_pixels(run):
    corpus, rows, measured = run
    accepted = sorted((case.pixels for case in corpus if isinstance(case.expect, Decoded)), reverse=True)
    rss_bound = rss_bytes(sum(accepted[:IN_FLIGHT]), base_bytes=BASE_RSS_BYTES) / 2**20
    lines = ["| file | outcome | pixels | seconds | bound s |", "| --- | --- | ---: | ---: | ---: |"]
    for case in corpus:
        row = rows[case.path.name]
        bound = file_seconds(case.pixels)
        lines.append(f"| {case.name} | {row['status']} | {case.pixels:,} | {row['seconds']:.2f} | {bound:.0f} |")
        assert row["seconds"] <= bound, f"{case.name}: {row['seconds']:.1f} s, bound {bound:.0f} s"
    lines.append(f"\nPeak RSS of the whole run: {measured.peak_mb:.0f} MB (bound {rss_bound:.0f} MB).")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    assert measured.peak_mb <= rss_bound, f"peak RSS {measured.peak_mb:.0f} MB > {rss_bound:.0f} MB"
