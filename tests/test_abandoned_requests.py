"""A film or a batch of photos whose client goes away stops being colorized (reliability round three, item 5): Gradio
never stops a running function, and an abandoned film kept a core busy to its last frame. Two ways
a client goes, on a real server: its connection to the queue's event stream closes (a closed page,
a client that died), or it cancels (gradio_client's ``Job.cancel``). What is asserted is that the
server's CPU falls to idle while the film would still be running, and that it says why in its log;
then a photo is served."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from appkit.abandon import ClientGone
from appkit.config import MAX_BATCH_FILES
from appkit.requests import ZIP_NAME, colorize_many
from colorizer.colorizer import Colorizer
from colorizer.errors import Interrupted
from colorizer.settings import Settings
from testkit.app_server import running_app, server_process
from testkit.fixtures import photo
from testkit.queue_client import join, messages, upload
from testkit.video_clips import camera_frames, write_clip

pytestmark = pytest.mark.slow  # a server and long films: not in the quick subset

FILM_FRAMES = 1500  # 256x192: a minute at 25 frames/s, about a minute of a worker on two cores
FILM_INPUTS = [50, 224, "bilinear", "fp32", True]  # /colorize_video's after the film
QUIET_SECONDS = 3.0  # the server is idle when it uses less than IDLE_SHARE of a core for this long
IDLE_SHARE = 0.08  # an idle server used 0.02-0.04 of a core, the film under a load of 8 at least 0.2
SETTLE_WITHIN = 30.0  # seconds after the client went; the film alone takes far longer
GONE = "its client has gone; its work stops"  # appkit.abandon's log line


@dataclass
class Server:
    url: str
    log: Path
    cache: Path  # GRADIO_TEMP_DIR: uploads and results
    process: psutil.Process


@pytest.fixture(scope="module")
def server(synthetic_model, tmp_path_factory):
    work = tmp_path_factory.mktemp("abandon_server")
    with running_app(synthetic_model, work, "--verbose") as url:
        yield Server(url, work / "app.log", work / "gradio", server_process(url))


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    rgb = np.dstack([photo(640, 480)] * 3)
    folder = tmp_path_factory.mktemp("abandon_films")
    return write_clip(folder / "long.mp4", camera_frames(rgb, 256, 192, FILM_FRAMES, pan=(0.5, 0.2)), fps=25)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return Client(server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("abandon_downloads")))


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def seconds_until_idle(process: psutil.Process, within: float) -> float | None:
    """Seconds until ``process`` began a spell of QUIET_SECONDS in which it used less than
    IDLE_SHARE of a core; None if none began within ``within`` seconds."""
    started = time.monotonic()
    samples: list[tuple[float, float]] = []  # (time, CPU seconds used)
    while (now := time.monotonic()) - started < within + QUIET_SECONDS:
        samples.append((now, cpu_seconds(process)))
        spell = [sample for sample in samples if now - sample[0] >= QUIET_SECONDS]
        if spell and samples[-1][1] - spell[-1][1] < IDLE_SHARE * (now - spell[-1][0]):
            return spell[-1][0] - started
        time.sleep(0.25)
    return None


def assert_work_stops_then_photos_flow(server: Server, client: Client, tmp_path: Path, log_before: int) -> None:
    settled = seconds_until_idle(server.process, SETTLE_WITHIN)
    print(f"\nthe server was idle {settled} s after the client went")
    assert settled is not None, f"the server still worked {SETTLE_WITHIN:.0f} s after the film's client went"
    log = server.log.read_text(errors="replace")[log_before:]
    assert GONE in log, log[-2000:]
    assert "frames (the network on" not in log, "the abandoned film was colorized to its end"
    source = tmp_path / "photo.png"
    Image.fromarray(photo(160, 120)).save(source)
    with Image.open(client.predict(handle_file(str(source)), api_name="/colorize")) as result:
        assert result.size == (160, 120)


def test_a_film_whose_connection_closes_stops(server, client, film, tmp_path):
    log_before = len(server.log.read_text(errors="replace"))
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
        joined = join(http, "colorize_video", [upload(http, [(film, film.name)])[0], *FILM_INPUTS])
        with messages(http, joined) as stream:  # read until frames are being colorized, then hang up
            next(m for m in stream if m.get("msg") == "progress" and (m["progress_data"][0].get("index") or 0) > 0)
    assert_work_stops_then_photos_flow(server, client, tmp_path, log_before)


def test_a_cancelled_film_stops(server, client, film, tmp_path):
    log_before = len(server.log.read_text(errors="replace"))
    job = client.submit(handle_file(str(film)), *FILM_INPUTS, api_name="/colorize_video")
    deadline = time.monotonic() + 60
    while job.status().code.name != "PROGRESS":  # frames are being colorized
        assert time.monotonic() < deadline and not job.done(), "the film did not start"
        time.sleep(0.2)
    job.cancel()
    assert_work_stops_then_photos_flow(server, client, tmp_path, log_before)


def test_a_photo_batch_whose_connection_closes_stops_before_its_next_photo(server, tmp_path):
    log_before = len(server.log.read_text(errors="replace"))
    photos = []
    for index in range(MAX_BATCH_FILES):
        photos.append((tmp_path / f"{index}.png", f"scan {index}.png"))
        Image.fromarray(photo(640, 480)).save(photos[-1][0])
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
        joined = join(http, "colorize_many", [upload(http, photos), 50, 224, "bilinear", False, "fp32", "eccv16"])
        with messages(http, joined) as stream:  # hang up once the first photo is being colorized
            next(m for m in stream if m.get("msg") == "progress")
    deadline = time.monotonic() + SETTLE_WITHIN
    while GONE not in server.log.read_text(errors="replace")[log_before:]:
        assert time.monotonic() < deadline, "the batch went on without its client"
        time.sleep(0.5)
    assert not list(server.cache.rglob(ZIP_NAME)), "the batch was finished"


def test_a_stopped_batch_writes_no_zip(synthetic_model, tmp_path):
    stop = threading.Event()
    sources = []
    for index in range(3):
        sources.append((f"{index}.png", tmp_path / f"{index}.png"))
        Image.fromarray(photo(64, 48)).save(sources[-1][1])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Interrupted):
        colorize_many(
            Colorizer(synthetic_model), sources, out, Settings(), progress=lambda index, name: stop.set(), stop=stop
        )
    assert not (out / ZIP_NAME).exists() and ClientGone().is_set() is False  # outside an event: never set
