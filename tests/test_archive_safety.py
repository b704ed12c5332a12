"""Reliability, round three, through the command line: no run — interrupted, resumed, pointed at odd
names or odd files — loses, corrupts or silently keeps a stale file, and every problem is one line
with the documented exit status (docs/reliability.md, "Round three").

Each test names the issue's item it covers; the corpus is ``testkit.hostile_archive``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colorizer.provenance import KEY_INPUT, read_provenance
from testkit.batch_tree import texture, write_bgr
from testkit.fixtures import REPO_ROOT
from testkit.hostile_archive import NOT_UTF8_FILM, NOT_UTF8_PHOTO, hand_edited_rows, write_odd_names, write_user_file
from testkit.video_clips import write_clip

pytestmark = pytest.mark.slow  # the command line over a corpus, in subprocesses: not in the quick subset


def colorize(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "colorizer", *map(str, args)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


def rows(out: Path) -> list[dict]:
    """The manifest's rows; the file must be UTF-8 throughout (strict)."""
    text = (out / "manifest.jsonl").read_bytes().decode("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def last_rows(out: Path) -> dict[str, dict]:
    return {Path(row["input"]).name: row for row in rows(out)}


def one_line_errors(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert all(line.startswith(("error: ", "skipped: ", "warning", "WARNING")) for line in stderr.splitlines()), stderr


@pytest.fixture(scope="module")
def model(synthetic_model) -> list[str]:
    return ["--model", str(synthetic_model), "--device", "cpu"]


# --- 1: names that are not UTF-8; a newline in a name ------------------------------------------------


def test_names_that_are_not_utf8_get_rows_and_resume_finishes(tmp_path, model):
    """Item 1: a photo and a film named with bytes that are not UTF-8 are colorized, their rows
    written in valid UTF-8 that give back the same bytes, and --resume finds them done. A newline in a
    name does not split the printed path."""
    sources = write_odd_names(tmp_path / "in")
    out = tmp_path / "out"
    first = colorize(tmp_path / "in", "-o", out, *model)
    assert first.returncode == 0, first.stderr
    one_line_errors(first.stderr)
    found = {os.fsencode(row["input"]): row for row in rows(out)}
    assert set(found) == {os.fsencode(source) for source in sources}
    assert {row["status"] for row in found.values()} == {"ok"}
    assert found[os.fsencode(tmp_path / "in") + b"/" + NOT_UTF8_FILM]["output"].endswith(".mp4")
    printed = first.stdout.splitlines()[:-1]  # the output paths, then the summary
    assert len(printed) == 3 and all(line.startswith(str(out)) for line in printed), first.stdout
    assert any("two\\nlines_color.png" in line for line in printed)

    again = colorize(tmp_path / "in", "-o", out, "--resume", *model)
    assert again.returncode == 0, again.stderr
    one_line_errors(again.stderr)
    resumed = rows(out)[len(found) :]
    assert sorted(row["status"] for row in resumed) == ["skipped"] * 3
    assert os.fsencode(tmp_path / "in") + b"/" + NOT_UTF8_PHOTO in {os.fsencode(row["input"]) for row in resumed}


# --- 2: --manifest naming a file that is not a manifest -----------------------------------------------


@pytest.mark.parametrize("kind", ["photo", "text"])
def test_manifest_option_never_writes_into_a_file_that_is_not_one(tmp_path, model, kind):
    """Item 2: --manifest naming a photo or a text file is refused (exit 2, one line), the file
    untouched."""
    write_bgr(tmp_path / "in" / "a.png", texture(32, 32))
    target = tmp_path / ("old.jpg" if kind == "photo" else "notes.txt")
    if kind == "photo":
        write_bgr(target, texture(40, 40, seed=3))
    else:
        target.write_text("my notes\nsecond line without its newline")
    before = target.read_bytes()
    result = colorize(tmp_path / "in", "-o", tmp_path / "out", "--manifest", target, *model)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: manifest {target}: {result.stderr.split(': ', 2)[2].strip()}"
    ]
    assert "not a manifest" in result.stderr
    assert target.read_bytes() == before
    assert not (tmp_path / "out" / "a_color.png").exists()


# --- 3: --resume and the input's identity -------------------------------------------------------------


def test_resume_redoes_a_changed_input_and_an_output_with_copied_provenance(tmp_path, model):
    """Item 3: an input rescanned at another size is redone; an output whose provenance was copied
    from another output (a foreign picture) is redone; an unchanged input is skipped. The input's
    identity is in each output's provenance."""
    folder = tmp_path / "in"
    for index, name in enumerate(("a.png", "b.png", "c.png")):
        write_bgr(folder / name, texture(48, 64, seed=index))
    out = tmp_path / "out"
    assert colorize(folder, "-o", out, *model).returncode == 0
    write_bgr(folder / "a.png", texture(96, 128, seed=9))  # rescanned
    shutil.copy(out / "b_color.png", out / "c_color.png")  # c's output is now b's picture, provenance and all
    result = colorize(folder, "-o", out, "--resume", *model)
    assert result.returncode == 0, result.stderr
    latest = last_rows(out)
    assert latest["a.png"]["status"] == "ok" and (latest["a.png"]["width"], latest["a.png"]["height"]) == (128, 96)
    assert latest["c.png"]["status"] == "ok"
    assert latest["b.png"]["status"] == "skipped"
    assert read_provenance(out / "c_color.png")[KEY_INPUT] != read_provenance(out / "b_color.png")[KEY_INPUT]
    assert json.loads(read_provenance(out / "a_color.png")[KEY_INPUT])["bytes"] == (folder / "a.png").stat().st_size


# --- 4: a user's own file at an output's name ---------------------------------------------------------


def test_a_users_file_at_an_outputs_name_is_never_overwritten(tmp_path, model):
    """Item 4: a retouched photo and a film of the user's own standing at output names fail their
    inputs (exit 1, one line each) on a first run and on --resume, and stay byte for byte; --force
    writes over them."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_bgr(folder / "a.png", texture(48, 64, seed=1))
    frames = [np.repeat(texture(48, 64, seed=10 + index)[..., None], 3, axis=2) for index in range(3)]
    write_clip(folder / "reel.mp4", frames, fps=8)
    out = tmp_path / "out"
    mine = write_user_file(out / "a_color.png")
    shutil.copy(folder / "reel.mp4", out / "reel_color.mp4")  # the user's own film under that name
    film = (out / "reel_color.mp4").read_bytes()
    for extra in ([], ["--resume"]):
        result = colorize(folder, "-o", out, *extra, *model)
        assert result.returncode == 1, result.stderr
        one_line_errors(result.stderr)
        assert "a.png: a_color.png is in the way" in result.stderr
        assert "reel.mp4: reel_color.mp4 is in the way" in result.stderr
        assert (out / "a_color.png").read_bytes() == mine and (out / "reel_color.mp4").read_bytes() == film
        assert {row["status"] for row in last_rows(out).values()} == {"failed"}
    forced = colorize(folder, "-o", out, "--force", *model)
    assert forced.returncode == 0, forced.stderr
    assert read_provenance(out / "a_color.png") and read_provenance(out / "reel_color.mp4")


# --- 7: hand-edited manifest rows ---------------------------------------------------------------------


def test_hand_edited_manifest_rows_are_ignored_with_a_warning(tmp_path, model):
    """Item 7: rows with a number, a list or a NUL where a string belongs are skipped with a
    warning; the run goes on and records its rows."""
    write_bgr(tmp_path / "in" / "a.png", texture(32, 32))
    out = tmp_path / "out"
    out.mkdir()
    junk = hand_edited_rows(tmp_path / "in")
    (out / "manifest.jsonl").write_text("\n".join(junk) + "\n")
    result = colorize(tmp_path / "in", "-o", out, "--resume", *model)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("is not a whole row") == len(junk)
    assert (out / "a_color.png").exists()


# --- 13: a long film holds back no photo --------------------------------------------------------------


def test_a_long_film_does_not_hold_back_the_photos_behind_it(tmp_path, model):
    """Item 13: a film first in the plan and photos after it: the photos are done and recorded
    while the film is still at work (rows in the order files finish)."""
    folder = tmp_path / "in"
    folder.mkdir()
    frames = [np.repeat(texture(48, 64, seed=index)[..., None], 3, axis=2) for index in range(24)]
    write_clip(folder / "a_reel.mp4", frames, fps=8)
    for index in range(5):
        write_bgr(folder / f"p{index}.png", texture(32, 48, seed=index))
    out = tmp_path / "out"
    result = colorize(folder, "-o", out, "--jobs", "2", *model)
    assert result.returncode == 0, result.stderr
    order = [Path(row["input"]).name for row in rows(out)]
    assert order[-1] == "a_reel.mp4", order


# --- 14: one unwritable output subfolder --------------------------------------------------------------


def test_an_unwritable_output_subfolder_fails_only_its_files(tmp_path, model):
    """Item 14: a subfolder of the output that refuses files (immutable: even root cannot write)
    fails the files that go there, one line each; the rest of the archive is written (exit 1)."""
    folder = tmp_path / "in"
    for name in ("sub/x.png", "sub/y.png", "top.png", "zz/w.png"):
        write_bgr(folder / name, texture(32, 32, seed=len(name)))
    locked = tmp_path / "out" / "sub"
    locked.mkdir(parents=True)
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
        if os.geteuid() == 0:
            pytest.skip("chattr +i is not available here, and root ignores permissions")
        locked.chmod(0o555)
    try:
        result = colorize(folder, "-o", tmp_path / "out", "-r", *model)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True)
        locked.chmod(0o755)
    assert result.returncode == 1, result.stderr
    one_line_errors(result.stderr)
    latest = last_rows(tmp_path / "out")
    assert {name: row["status"] for name, row in latest.items()} == {
        "x.png": "failed",
        "y.png": "failed",
        "top.png": "ok",
        "w.png": "ok",
    }
    assert "cannot write to" in latest["x.png"]["error"]


# --- 15: an input carrying copied provenance ----------------------------------------------------------


def test_force_colorizes_an_input_that_carries_copied_provenance(tmp_path, model):
    """Item 15: a photo whose metadata was copied from one of our outputs is skipped as ours, with
    the way out in the message; --force colorizes it."""
    write_bgr(tmp_path / "first" / "scan.png", texture(40, 40, seed=1))
    assert colorize(tmp_path / "first", "-o", tmp_path / "made", *model).returncode == 0
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(tmp_path / "made" / "scan_color.png", folder / "print.png")  # carries our provenance
    out = tmp_path / "out"
    skipped = colorize(folder, "-o", out, *model)
    assert skipped.returncode == 0 and "--force" in skipped.stderr
    assert last_rows(out)["print.png"]["status"] == "skipped"
    forced = colorize(folder, "-o", out, "--force", *model)
    assert forced.returncode == 0, forced.stderr
    assert last_rows(out)["print.png"]["status"] == "ok" and (out / "print_color.png").exists()
