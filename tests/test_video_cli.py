"""Films through the command line: recognised by content in a batch beside photos, written as
<name>_color.mp4 with their sound, --no-stabilize giving the per-frame film, a manifest row each."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from colorizer import Colorizer, cli
from colorizer.limits import DEFAULT_MAX_FILE_BYTES
from colorizer.pipeline import colorize_video
from testkit.video_clips import film_frames, read_film, write_clip

pytestmark = pytest.mark.slow  # films through the CLI: not in the quick subset

WIDTH, HEIGHT, FRAMES = 64, 48, 6


def grey_frames() -> list[np.ndarray]:
    """A slow pan over smooth grey texture, uint8 HxWx3 RGB frames."""
    texture = cv2.resize(
        np.random.default_rng(3).integers(0, 256, (6, 8), dtype=np.uint8),
        (WIDTH + FRAMES, HEIGHT),
        interpolation=cv2.INTER_CUBIC,
    )  # cv2: (w, h)
    return [
        cv2.cvtColor(np.ascontiguousarray(texture[:, shift : shift + WIDTH]), cv2.COLOR_GRAY2RGB)
        for shift in range(FRAMES)
    ]


@pytest.fixture(scope="module")
def batch(tmp_path_factory, synthetic_model):
    """A folder with a film (AAC tone), a photo, and a JPEG photo named .mp4; one CLI run over it."""
    source = tmp_path_factory.mktemp("films")
    write_clip(source / "clip.mp4", grey_frames(), fps=12, audio="aac")
    cv2.imwrite(str(source / "photo.png"), grey_frames()[0][..., 0])
    cv2.imwrite(str(source / "not a film.mp4.jpg"), grey_frames()[1])
    (source / "still.mp4").write_bytes(cv2.imencode(".jpg", grey_frames()[2])[1].tobytes())
    out = tmp_path_factory.mktemp("out")
    status = cli.main([str(source), "-o", str(out), "--model", str(synthetic_model)])
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return source, out, status, {row["input"].rsplit("/", 1)[-1]: row for row in rows}


def test_film_in_a_batch_becomes_an_mp4_with_its_sound(batch):
    source, out, status, rows = batch
    assert status == 0, rows
    film, original = read_film(out / "clip_color.mp4"), read_film(source / "clip.mp4")
    assert (film.codec, film.pixel_format, film.frames) == ("h264", "yuv420p", FRAMES)
    assert (film.width, film.height) == (WIDTH, HEIGHT)
    assert film.audio_codec == "aac" and film.audio_packets == original.audio_packets  # copied, bit for bit
    colours = [
        cv2.cvtColor(frame.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 1:]
        for frame in film_frames(out / "clip_color.mp4")
    ]
    chroma = np.hypot(*np.moveaxis(np.stack(colours), -1, 0))
    assert (chroma > 5).mean() > 0.5, f"colour on only {(chroma > 5).mean():.0%} of the pixels"
    row = rows["clip.mp4"]
    assert row["status"] == "ok" and row["output"].endswith("clip_color.mp4")
    assert (row["width"], row["height"]) == (WIDTH, HEIGHT) and row["output_bytes"] == (
        out / "clip_color.mp4"
    ).stat().st_size


def test_photos_beside_it_are_photos_whatever_their_name(batch):
    _, out, _, rows = batch
    assert sorted(path.name for path in out.iterdir()) == [
        "clip_color.mp4",
        "manifest.jsonl",
        "not a film.mp4_color.png",
        "photo_color.png",
        "still_color.png",
    ]
    assert rows["still.mp4"]["status"] == "ok"  # a JPEG named .mp4 is a photo, by its content
    assert cv2.imread(str(out / "still_color.png")).shape == (HEIGHT, WIDTH, 3)


def test_no_stabilize_gives_the_per_frame_film(batch, synthetic_model, tmp_path):
    source, _, _, _ = batch
    out = tmp_path / "plain"
    assert cli.main([str(source / "clip.mp4"), "-o", str(out), "--no-stabilize", "--model", str(synthetic_model)]) == 0
    expected = colorize_video(
        Colorizer(synthetic_model), source / "clip.mp4", tmp_path / "library.mp4", stabilize=False
    )
    plain = list(film_frames(out / "clip_color.mp4"))
    library = list(film_frames(expected.path))
    assert len(plain) == len(library) == FRAMES
    for ours, theirs in zip(plain, library):
        np.testing.assert_array_equal(ours, theirs)
    steady = list(film_frames(batch[1] / "clip_color.mp4"))
    assert any(not np.array_equal(a, b) for a, b in zip(plain, steady)), "--no-stabilize changed nothing"


def test_a_film_is_not_held_to_a_photos_file_size(synthetic_model, tmp_path):
    """Films stream a frame at a time, so a film file larger than the largest photo file accepted
    (limits.max_file_bytes) is colorized; a photo file that large is refused by its size, unread."""
    folder = tmp_path / "in"
    folder.mkdir()
    film = write_clip(folder / "long reel.mkv", grey_frames()[:3], fps=10, container="matroska")
    photo = folder / "big scan.png"
    cv2.imwrite(str(photo), grey_frames()[0])
    for path in (film, photo):  # sparse padding after the data: no disk, no frames
        os.truncate(path, DEFAULT_MAX_FILE_BYTES + 1)
    out = tmp_path / "out"
    status = cli.main([str(folder), "-o", str(out), "--model", str(synthetic_model)])
    rows = {json.loads(line)["input"]: json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()}
    assert status == 1
    assert rows[str(film)]["status"] == "ok" and read_film(out / "long reel_color.mp4").frames == 3
    assert rows[str(photo)]["status"] == "failed" and "more than the limit of 445.5 MiB" in rows[str(photo)]["error"]
