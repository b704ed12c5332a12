"""Films carry the run's provenance in their MP4, so --resume skips a finished film (untouched, its
row "skipped" with the .mp4), redoes one that is cut short, missing, or made another way, and a
film output fed back as an input is recognised as ours."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import onnx
import pytest

from colorizer import Colorizer, cli
from colorizer.errors import ColorizerError
from colorizer.pipeline import colorize_video
from colorizer.provenance import (
    KEY_MODEL,
    KEY_SETTINGS,
    is_our_output,
    looks_complete,
    provenance_text,
    read_provenance,
)
from testkit.batch_tree import texture
from testkit.video_clips import film_frames, read_film, write_clip

pytestmark = pytest.mark.slow  # films: not in the quick subset

WIDTH, HEIGHT = 64, 48
FILMS = {"pan.mp4": 3, "zoom.mkv": 2}  # input name: frames
FILM_OUTPUTS = {"pan.mp4": "pan_color.mp4", "zoom.mkv": "zoom_color.mp4"}
PHOTO, PHOTO_OUTPUT = "photo.png", "photo_color.png"


def grey_pan(frames: int, seed: int) -> list[np.ndarray]:
    """A slow pan over smooth grey texture: uint8 HxWx3 RGB frames, all three channels equal."""
    strip = texture(HEIGHT, WIDTH + frames, seed=seed)
    return [np.repeat(strip[:, shift : shift + WIDTH, None], 3, axis=2) for shift in range(frames)]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, synthetic_model) -> tuple[Path, Path]:
    """Two films (MP4 with AAC sound, Matroska) and a photo, colorized once into an output folder."""
    source = tmp_path_factory.mktemp("in")
    write_clip(source / "pan.mp4", grey_pan(FILMS["pan.mp4"], seed=1), fps=12, audio="aac")
    write_clip(source / "zoom.mkv", grey_pan(FILMS["zoom.mkv"], seed=2), fps=10, container="matroska")
    cv2.imwrite(str(source / PHOTO), texture(HEIGHT, WIDTH, seed=3))
    out = tmp_path_factory.mktemp("out")
    status, rows = run(source, out, synthetic_model)
    assert status == 0 and {row["status"] for row in rows.values()} == {"ok"}, rows
    return source, out


def run(source: Path, out: Path, model: Path, *options: str) -> tuple[int, dict[str, dict]]:
    """One CLI run of ``source`` into ``out``; its exit status and this run's manifest rows, by input name."""
    status = cli.main([str(source), "-o", str(out), "--model", str(model), *options])
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    this_run = rows[-1]["run"]
    return status, {Path(row["input"]).name: row for row in rows if row["run"] == this_run}


def copy_of(out: Path, tmp_path: Path) -> Path:
    """The first run's output folder, copied with its files' times (each test changes its own copy)."""
    return Path(shutil.copytree(out, tmp_path / "out"))


def identity(path: Path) -> tuple[int, int, int]:
    """What changes when a file is rewritten (a rename gives a new inode): inode, mtime_ns, size."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns, status.st_size


def test_films_carry_the_runs_provenance(first_run, synthetic_model):
    _, out = first_run
    model_hash = hashlib.sha256(synthetic_model.read_bytes()).hexdigest()
    photo = read_provenance(out / PHOTO_OUTPUT)
    for name in FILM_OUTPUTS.values():
        film = read_provenance(out / name)
        assert film[KEY_MODEL] == photo[KEY_MODEL] == model_hash, name
        film_settings, photo_settings = json.loads(film[KEY_SETTINGS]), json.loads(photo[KEY_SETTINGS])
        assert film_settings.pop("stabilize") is True and "stabilize" not in photo_settings  # each kind its own
        assert film_settings.pop("network_every") == "auto" and "network_every" not in photo_settings
        for photo_only in ("keep_color", "format", "quality", "max_pixels"):
            assert photo_only not in film_settings and photo_only in photo_settings
        assert film_settings == {key: value for key, value in photo_settings.items() if key in film_settings}
        assert set(film_settings) == {"temperature", "render_size", "upsample", "precision"}
        with av.open(str(out / name)) as container:  # FFmpeg reads the same entries back
            assert {key: container.metadata.get(key) for key in film} == film
        assert is_our_output(out / name) and looks_complete(out / name)


def test_resume_skips_finished_films_and_leaves_them_alone(first_run, synthetic_model, tmp_path):
    source, out = first_run
    out = copy_of(out, tmp_path)
    outputs = [out / name for name in [*FILM_OUTPUTS.values(), PHOTO_OUTPUT]]
    before = {path: identity(path) for path in outputs}
    status, rows = run(source, out, synthetic_model, "--resume")
    assert status == 0
    assert {path: identity(path) for path in outputs} == before, "a finished output was rewritten"
    for name, output in [*FILM_OUTPUTS.items(), (PHOTO, PHOTO_OUTPUT)]:
        row = rows[name]
        assert row["status"] == "skipped" and "done in an earlier run" in row["error"], row
        assert row["output"] == str(out / output) and row["output_bytes"] == (out / output).stat().st_size


def test_resume_redoes_a_cut_or_missing_film_whole(first_run, synthetic_model, tmp_path):
    source, first = first_run
    out = copy_of(first, tmp_path)
    cut, missing = out / FILM_OUTPUTS["pan.mp4"], out / FILM_OUTPUTS["zoom.mkv"]
    with open(cut, "r+b") as stream:
        stream.truncate(cut.stat().st_size // 2)
    missing.unlink()
    stale = out / f".{cut.name}.0123abcd.part"  # what a killed run leaves
    stale.write_bytes(b"\0" * 100)
    photo = identity(out / PHOTO_OUTPUT)
    status, rows = run(source, out, synthetic_model, "--resume")
    assert status == 0
    assert rows[PHOTO]["status"] == "skipped" and identity(out / PHOTO_OUTPUT) == photo
    for name, output in FILM_OUTPUTS.items():
        assert rows[name]["status"] == "ok" and rows[name]["output"] == str(out / output), rows[name]
        film = read_film(out / output)  # every frame decodes
        assert (film.frames, film.width, film.height) == (FILMS[name], WIDTH, HEIGHT)
        for redone, original in zip(film_frames(out / output), film_frames(first / output), strict=True):
            np.testing.assert_array_equal(redone, original, err_msg=f"{name}: the redone film differs")
        assert read_provenance(out / output) == read_provenance(first / output)
    assert not stale.exists()


@pytest.fixture(scope="module")
def other_model(tmp_path_factory, synthetic_model) -> Path:
    """The same network saved with another doc string: another file, another SHA-256."""
    model = onnx.load(str(synthetic_model))
    model.doc_string += " (a copy)"
    path = tmp_path_factory.mktemp("other") / "other.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("change", ["--no-stabilize", "--temperature 0.2", "--network-every 1", "another model"])
def test_resume_redoes_films_made_another_way(first_run, synthetic_model, other_model, tmp_path, change):
    source, out = first_run
    out = copy_of(out, tmp_path)
    model, options = (other_model, []) if change == "another model" else (synthetic_model, change.split())
    before = {name: identity(out / output) for name, output in FILM_OUTPUTS.items()}
    status, rows = run(source, out, model, "--resume", *options)
    assert status == 0
    for name, output in FILM_OUTPUTS.items():
        assert rows[name]["status"] == "ok" and rows[name]["output"] == str(out / output), rows[name]
        assert identity(out / output) != before[name]
        text = read_provenance(out / output)
        settings = json.loads(text[KEY_SETTINGS])  # the new run's
        assert settings["stabilize"] is (change != "--no-stabilize")
        assert settings["network_every"] == (1 if change == "--network-every 1" else "auto")
        assert settings["temperature"] == (0.2 if change == "--temperature 0.2" else 0.38)
        assert text[KEY_MODEL] == hashlib.sha256(model.read_bytes()).hexdigest()


@pytest.mark.parametrize("change", ["--no-stabilize", "--network-every 1", "--format jpg"])
def test_resume_redoes_only_the_kind_a_setting_is_for(first_run, synthetic_model, tmp_path, change):
    """A film-only setting does not redo the photos, nor a photo-only one the films."""
    source, out = first_run
    out = copy_of(out, tmp_path)
    films = {name: identity(out / output) for name, output in FILM_OUTPUTS.items()}
    photo = identity(out / PHOTO_OUTPUT)
    status, rows = run(source, out, synthetic_model, "--resume", *change.split())
    assert status == 0
    if change != "--format jpg":  # a film's own setting
        assert rows[PHOTO]["status"] == "skipped" and identity(out / PHOTO_OUTPUT) == photo
        assert {rows[name]["status"] for name in FILM_OUTPUTS} == {"ok"}
    else:
        assert rows[PHOTO]["status"] == "ok" and rows[PHOTO]["output"] == str(out / "photo_color.jpg")
        assert {rows[name]["status"] for name in FILM_OUTPUTS} == {"skipped"}
        assert {name: identity(out / output) for name, output in FILM_OUTPUTS.items()} == films


def test_film_outputs_fed_back_are_skipped_as_ours(first_run, synthetic_model, tmp_path):
    _, out = first_run
    again = tmp_path / "again"
    status, rows = run(out, again, synthetic_model)  # the output folder as the input
    assert status == 0
    for name in [*FILM_OUTPUTS.values(), PHOTO_OUTPUT]:
        assert rows[name]["status"] == "skipped", rows[name]
        assert "an output of the colorizer (provenance" in rows[name]["error"]
    assert sorted(os.listdir(again)) == ["manifest.jsonl"]


def test_a_photo_is_not_skipped_for_an_mp4_at_its_film_path(first_run, synthetic_model, tmp_path):
    """An MP4 of ours where a film's output would go counts only for an input that is a film."""
    source, out = first_run
    out = copy_of(out, tmp_path)
    (out / PHOTO_OUTPUT).unlink()
    shutil.copy2(out / FILM_OUTPUTS["pan.mp4"], out / "photo_color.mp4")
    status, rows = run(source, out, synthetic_model, "--resume")
    assert status == 0
    assert rows[PHOTO]["status"] == "ok" and rows[PHOTO]["output"] == str(out / PHOTO_OUTPUT), rows[PHOTO]
    assert looks_complete(out / PHOTO_OUTPUT)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", grey_pan(3, seed=4), fps=10)


def test_colorize_video_writes_the_text_it_is_given(clip, synthetic_model, tmp_path):
    entries = provenance_text("cd" * 32, {"temperature": 0.3, "note": "é 漢"})
    colorize_video(Colorizer(synthetic_model), clip, tmp_path / "with.mp4", text=entries)
    with av.open(str(tmp_path / "with.mp4")) as container:
        assert {key: container.metadata.get(key) for key in entries} == entries
    assert {key: read_provenance(tmp_path / "with.mp4").get(key) for key in entries} == entries
    colorize_video(Colorizer(synthetic_model), clip, tmp_path / "without.mp4")  # the library's default: none
    assert read_provenance(tmp_path / "without.mp4") == {} and not is_our_output(tmp_path / "without.mp4")
    assert looks_complete(tmp_path / "with.mp4") and looks_complete(tmp_path / "without.mp4")


@pytest.mark.parametrize("entries", [{"Key": "a\0b"}, {"": "value"}, {"Key\0": "value"}])
def test_text_ffmpeg_would_cut_is_refused_before_any_work(clip, synthetic_model, tmp_path, entries):
    with pytest.raises(ColorizerError, match="without NUL"):
        colorize_video(Colorizer(synthetic_model), clip, tmp_path / "out.mp4", text=entries)
    assert os.listdir(tmp_path) == []


def test_a_films_result_beside_its_input_never_takes_a_users_file(clip, synthetic_model, tmp_path):
    """Results beside the inputs: a user's own clip_color.mp4 stays as it is; the film's result takes
    the next free name, and the photo beside it keeps its own."""
    shutil.copy2(clip, tmp_path / "clip.mp4")
    (tmp_path / "clip_color.mp4").write_bytes(b"the user's own edit")
    cv2.imwrite(str(tmp_path / "scan.png"), texture(HEIGHT, WIDTH, seed=5))
    status = cli.main([str(tmp_path / "clip.mp4"), str(tmp_path / "scan.png"), "--model", str(synthetic_model)])
    assert status == 0
    assert (tmp_path / "clip_color.mp4").read_bytes() == b"the user's own edit"
    assert read_film(tmp_path / "clip_mp4_color.mp4").frames == 3 and (tmp_path / "scan_color.png").is_file()
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["clip.mp4", "clip_color.mp4", "clip_mp4_color.mp4", "scan.png", "scan_color.png"]
    )
