"""Films have their own lane in the app: while two long films are being colorized (sent and
abandoned, as fire-and-forget API clients do), a photo's wait stays within a small multiple of its
wait alone (reliability round three, item 5: two films in the photos' lane made a photo wait 202 s
instead of 1.2 s). Measured on a real server through gradio_client; the figures are printed (-s)
and written in docs/reliability.md."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from testkit.app_server import running_app
from testkit.fixtures import photo
from testkit.video_clips import camera_frames, write_clip

pytestmark = pytest.mark.slow  # a server and long films: not in the quick subset

FILM_FRAMES = 1500  # a minute at 25 frames/s of 320x240: tens of seconds of a worker even with keyframes


@pytest.fixture(scope="module")
def client(synthetic_model, tmp_path_factory):
    with running_app(synthetic_model, tmp_path_factory.mktemp("lane_server")) as url:
        yield Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("lane_downloads")))


def photo_seconds(client, path) -> float:
    started = time.perf_counter()
    client.predict(handle_file(str(path)), api_name="/colorize")
    return time.perf_counter() - started


def test_a_photo_keeps_flowing_while_two_long_films_run(client, tmp_path):
    source = tmp_path / "photo.png"
    Image.fromarray(photo(320, 240)).save(source)
    rgb = np.dstack([photo(640, 480)] * 3)
    film = write_clip(tmp_path / "long.mp4", camera_frames(rgb, 320, 240, FILM_FRAMES, pan=(0.5, 0.2)), fps=25)
    photo_seconds(client, source)  # warm-up: the model and kernels
    alone = statistics.median(photo_seconds(client, source) for _ in range(3))
    films = [client.submit(handle_file(str(film)), api_name="/colorize_video") for _ in range(2)]
    deadline = time.monotonic() + 60
    working = {"PROCESSING", "PROGRESS", "ITERATING"}  # a film is being colorized (its frames/s reported)
    while not any(job.status().code.name in working for job in films):
        assert time.monotonic() < deadline, "no film started"
        time.sleep(0.5)
    busy = max(photo_seconds(client, source) for _ in range(3))  # every photo, the first one too
    still_running = [not job.done() for job in films]
    print(f"\nphoto alone {alone:.2f} s (median of 3), while two films run {busy:.2f} s (the slowest of 3)")
    assert busy < max(4 * alone, alone + 5), f"a photo waited {busy:.1f} s beside films, {alone:.1f} s alone"
    assert any(still_running), "the films ended before the photos were timed: make them longer"
    for job in films:  # abandoned, as a fire-and-forget client would
        job.cancel()
