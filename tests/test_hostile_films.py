"""Crafted and hostile films (testkit/hostile_films.py) through the library, the command line and the
app's film endpoint, each within a bound proportional to what it really holds.

- Library: each film through ``colorize_video`` (the library's defaults) in a measuring process of its
  own: written as expected (size, frames, rotation read back by PyAV) or refused with the library's
  own exception in one line naming the file, nothing left behind; peak RSS and CPU seconds within the
  case's bound (a base, a network pass per frame, and the pixels of the frames in flight).
- Command line: one ``python -m colorizer`` batch over every film and a good photo: the batch
  completes, the photo is colorized, each film is a failed row with its one-line message or a valid
  MP4; no partial file is left; each row's seconds and the run's peak RSS within bounds.
- App: each film through the ``colorize_video`` endpoint of a running server, with the server's peak
  RSS growth and CPU seconds bounded the same way, and a normal photo request served during and after.

The three front ends' slow starts (the measuring process, the command line and the server each load
the model; the server imports Gradio) run at once, in the background, from the first test that
needs one of them: on two cores that saves about a third of this module's time.

Measured values go to tests/out/hostile_films.md.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from colorizer.errors import VideoTooLargeError
from colorizer.pipeline import colorize_video
from testkit.app_server import REPO_ROOT, peak_rss_mb, reset_peak_rss, running_app, server_process
from testkit.hostile_bounds import rss_bytes
from testkit.hostile_corpus import scene
from testkit.hostile_files import Refused
from testkit.hostile_films import (
    FilmCase,
    Photo,
    Written,
    film_case_names,
    film_cases,
    measure_films,
    output_sound,
    warned,
)
from testkit.measured import run_measured
from testkit.video_clips import read_film, write_clip

pytestmark = pytest.mark.slow  # hostile films: not in the quick subset

NAMES = film_case_names()
REPORT = REPO_ROOT / "tests" / "out" / "hostile_films.md"
CLI_BASE_RSS_BYTES = 1000 << 20  # as tests/test_hostile_cli.py: interpreter, session, kernels, pools
NORMAL_SLOWDOWN = 4.0  # a normal request during or after a film: at most this x usual + 5 s
PHOTO = "photo.png"  # the good photo in the command line's batch
MEASURED: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, FilmCase]:
    return {case.name: case for case in film_cases(tmp_path_factory.mktemp("hostile_films"))}


def test_corpus_covers_the_issue():
    required = {
        "moov_missing.mp4",
        "mdat_cut.mp4",  # truncated MP4
        "declares_12000x12000.mkv",
        "line_1000000x1.avi",
        "frame_lies_16000x16000.avi",  # huge declared frames over tiny data
        "fast_1000fps.mp4",  # thousands of tiny frames at a huge rate
        "declares_1e6_s.mkv",
        "gap_1e6_s.mkv",  # a long declared duration; huge time stamp gaps
        "no_frames.mkv",
        "audio_only.mp4",  # no frames, sound only
        "zero_matrix.mp4",
        "turned_minus_90.mp4",  # odd rotation metadata
        "notes.mp4",
        "animated.gif",  # not a film
        "corrupt_middle.avi",  # damaged packets in the middle
        "sample_table_bomb.mp4",
        "fragment_bomb.mp4",  # index amplification
        "sound_packets.mkv",
        "long_sound.avi",  # sound out of proportion to the film (issue #23, item 9)
        "sound_192khz.mkv",
        "sound_16_channels.mkv",  # sound MP4 cannot take (item 10)
        "size_change.avi",  # frames that change size
    }
    assert required <= set(NAMES), sorted(required - set(NAMES))


def test_corpus_is_small(corpus):
    sizes = {name: case.path.stat().st_size for name, case in corpus.items()}
    assert max(sizes.values()) < 100_000, sizes


@pytest.fixture(scope="module")
def started(request, corpus, synthetic_model, tmp_path_factory) -> Iterator[dict[str, Future]]:
    """The library's measurements, the command line's batch and the server, started at once: those
    the selected tests of this module need (test_library_*, test_cli_*, test_app_*)."""
    needed = {
        front
        for item in request.session.items
        if item.module is request.module
        for front in ("library", "cli", "app")
        if item.originalname.startswith(f"test_{front}_")
    }
    library_out, cli_out = tmp_path_factory.mktemp("library_out"), tmp_path_factory.mktemp("cli_out")
    server_dir = tmp_path_factory.mktemp("film_server")
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(3) as pool:
        starts = {
            "library": lambda: pool.submit(measure_films, list(corpus.values()), synthetic_model, library_out),
            "cli": lambda: pool.submit(run_cli, corpus, synthetic_model, cli_out),
            "app": lambda: pool.submit(stack.enter_context, running_app(synthetic_model, server_dir)),
        }
        yield {front: start() for front, start in starts.items() if front in needed}
        write_report()


def write_report() -> None:
    if MEASURED:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            f"| {name} | {front.get('library', '')} | {front.get('cli', '')} | {front.get('app', '')} |"
            for name, front in MEASURED.items()
        ]
        REPORT.write_text(
            "| film | library | command line | app |\n| --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
        )


# --- library -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(corpus, started) -> dict:
    return dict(zip(corpus, started["library"].result()))


@pytest.mark.parametrize("name", NAMES)
def test_library_writes_or_refuses_within_bounds(corpus, library, name):
    case, result = corpus[name], library[name]
    expect = case.expect_for("library")
    assert result.outcome != "crashed", f"{name}: {result.error}: {result.message}"
    assert result.matches(expect), f"{name}: got {result}, expected {expect}"
    if isinstance(expect, Refused):
        assert "\n" not in result.message and str(case.path.parent) not in result.message, result.message
        assert result.leftovers == (), f"{name}: left {result.leftovers}"
        assert result.network_passes <= case.passes_before_refusal, (
            f"{name}: {result.network_passes} network passes before the refusal"
        )
    else:
        assert result.network_passes == expect.frames, f"{name}: {result.network_passes} network passes"
    bound = case.bound_for("library")
    MEASURED.setdefault(name, {})["library"] = (
        f"{result.outcome}, {result.network_passes} passes, {result.rss_bytes / 2**20:.0f} MiB, "
        f"{result.cpu_seconds:.2f} CPU s"
    )
    assert result.rss_bytes <= bound.rss_bytes, (
        f"{name}: peak RSS +{result.rss_bytes / 2**20:.0f} MiB > {bound.rss_bytes / 2**20:.0f} MiB"
    )
    assert result.cpu_seconds <= bound.seconds, f"{name}: {result.cpu_seconds:.1f} CPU s > {bound.seconds:.0f} s"


def test_library_frame_limit_refuses_before_any_work(tmp_path):
    """FilmLimits.max_frames, the app's: the frames are counted from the packets before any work."""

    class NoNetwork:  # the refusal must come before the first frame reaches the network
        def predict(self, *args, **kwargs):
            raise AssertionError("the network was called")

    frames = [np.repeat(scene(64, 48)[..., None], 3, axis=2)] * 5
    film = write_clip(tmp_path / "five.mkv", frames, container="matroska")  # Matroska declares no frame count
    with pytest.raises(VideoTooLargeError, match=r"^five\.mkv: 5 frames, more than the limit of 4$"):
        colorize_video(NoNetwork(), film, tmp_path / "out" / "five_color.mp4", max_frames=4)
    assert not (tmp_path / "out").exists()


# --- command line ----------------------------------------------------------------------------------------


def run_cli(corpus: dict[str, FilmCase], model: Path, out: Path):
    """One batch over the corpus's folder with a good photo added: the output folder, the manifest's
    rows by input name, and the run's exit status, peak RSS and stderr."""
    folder = next(iter(corpus.values())).path.parent
    Image.fromarray(scene(80, 48)).save(folder / PHOTO)
    command = [sys.executable, "-m", "colorizer", str(folder), "-o", str(out), "--model", str(model)]
    measured = run_measured(command, cwd=REPO_ROOT, timeout=600)
    rows = {Path(row["input"]).name: row for row in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    return out, rows, measured


@pytest.fixture(scope="module")
def cli_run(started):
    return started["cli"].result()


def test_cli_batch_completes_with_the_photo_colorized(cli_run):
    out, rows, measured = cli_run
    assert measured.status == 1, measured.stderr  # some films failed, the batch went on
    assert rows[PHOTO]["status"] == "ok", rows[PHOTO]
    with Image.open(rows[PHOTO]["output"]) as image:
        assert image.size == (80, 48)
    assert not [path.name for path in out.rglob("*.part")], "a temporary file was left"


@pytest.mark.parametrize("name", NAMES)
def test_cli_row_per_film(corpus, cli_run, name):
    out, rows, measured = cli_run
    case = corpus[name]
    expect = case.expect_for("cli")
    row = rows.get(name)
    assert row is not None, f"{name}: no manifest row ({measured.stderr})"
    if isinstance(expect, Refused):
        assert row["status"] == "failed", row
        assert re.search(expect.anywhere, row["error"] or ""), f"{name}: {row['error']!r}"
        assert "\n" not in row["error"]
        assert not list(out.glob(f"{Path(name).stem}_color*")), f"{name}: an output was written"
    elif isinstance(expect, Photo):
        assert row["status"] == "ok", row
        with Image.open(row["output"]) as image:
            assert image.size == (expect.width, expect.height)
    else:
        assert row["status"] == "ok", row
        film = read_film(Path(row["output"]), audio=False)
        assert (film.width, film.height, film.frames, film.rotation) == (
            expect.width,
            expect.height,
            expect.frames,
            expect.rotation,
        ), row
        assert expect.sound in (None, output_sound(Path(row["output"]))), f"{name}: {output_sound(Path(row['output']))}"
        assert warned(expect, measured.stderr), f"{name}: no warning {expect.warning!r} in {measured.stderr[-2000:]}"
    bound = case.bound_for("cli")
    MEASURED.setdefault(name, {})["cli"] = f"{row['status']}, {row['seconds']:.2f} s"
    assert row["seconds"] <= bound.seconds, f"{name}: {row['seconds']:.1f} s > {bound.seconds:.0f} s"


def test_cli_peak_memory(corpus, cli_run):
    out, rows, measured = cli_run
    largest = max(case.bound_for("cli").rss_bytes for case in corpus.values())
    bound = rss_bytes(80 * 48, base_bytes=CLI_BASE_RSS_BYTES + largest) / 2**20
    MEASURED.setdefault("(the whole run)", {})["cli"] = f"peak RSS {measured.peak_mb:.0f} MB"
    assert measured.peak_mb <= bound, f"peak RSS {measured.peak_mb:.0f} MB > {bound:.0f} MB"


# --- app -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(started) -> str:
    return started["app"].result()


@pytest.fixture(scope="module")
def clients(server_url, tmp_path_factory) -> tuple[Client, Client]:
    """The films' client and another user's, for the normal requests."""
    return tuple(
        Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp(who)))
        for who in ("films", "other")
    )


@pytest.fixture(scope="module")
def normal_photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("normal") / "normal.png"
    Image.fromarray(scene(80, 48)).save(path)
    return path


@pytest.fixture(scope="module")
def usual_seconds(clients, normal_photo) -> float:
    """A normal request's usual time on this server (median of 3, after a warm-up)."""
    client = clients[1]
    times = []
    for _ in range(4):
        start = time.perf_counter()
        client.predict(handle_file(str(normal_photo)), api_name="/colorize")
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[1]


def normal_request(client: Client, photo: Path) -> None:
    with Image.open(client.predict(handle_file(str(photo)), api_name="/colorize")) as image:
        assert image.size == (80, 48)


@pytest.mark.parametrize("name", NAMES)
def test_app_film_endpoint_within_bounds_while_serving_others(
    corpus, server_url, clients, normal_photo, usual_seconds, name
):
    case = corpus[name]
    expect = case.expect_for("app")
    client, other = clients
    process = server_process(server_url)
    rss_before = process.memory_info().rss / 2**20
    cpu_before = sum(process.cpu_times()[:2])
    reset_peak_rss(process)
    during: list[float] = []  # the normal request's seconds, and when it finished

    def normal_request_meanwhile() -> None:
        start = time.perf_counter()
        normal_request(other, normal_photo)
        during.extend((time.perf_counter() - start, time.perf_counter()))

    meanwhile = threading.Thread(target=normal_request_meanwhile)
    start = time.perf_counter()
    meanwhile.start()
    if isinstance(expect, Refused):
        with pytest.raises(AppError) as refused:
            client.predict(handle_file(str(case.path)), api_name="/colorize_video")
        message = str(refused.value)
        assert re.search(expect.pattern, message), f"{name}: {message!r}"
        assert "\n" not in message and "Traceback" not in message
    else:
        assert isinstance(expect, Written)
        output = Path(client.predict(handle_file(str(case.path)), api_name="/colorize_video"))
        film = read_film(output, audio=False)
        assert (film.width, film.height, film.frames, film.rotation) == (
            expect.width,
            expect.height,
            expect.frames,
            expect.rotation,
        ), film
        assert expect.sound in (None, output_sound(output)), f"{name}: {output_sound(output)}"
    finished = time.perf_counter()
    bound = case.bound_for("app")
    meanwhile.join(timeout=bound.seconds)
    growth = peak_rss_mb(process) - rss_before
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    after = None  # the normal request sent meanwhile finished after the film's: it is the one after
    if not during or during[1] <= finished:
        start_after = time.perf_counter()
        normal_request(client, normal_photo)
        after = time.perf_counter() - start_after
    MEASURED.setdefault(name, {})["app"] = f"{finished - start:.2f} s, +{growth:.0f} MB, {cpu:.2f} server CPU s"

    slow = NORMAL_SLOWDOWN * usual_seconds + 5
    assert growth <= bound.rss_bytes / 2**20, f"{name}: the server's peak RSS grew {growth:.0f} MB"
    assert cpu <= bound.seconds, f"{name}: {cpu:.1f} server CPU s > {bound.seconds:.0f}"  # the normal requests' too
    assert during and during[0] <= slow, f"normal request during {name}: {during} s (usual {usual_seconds:.2f})"
    assert after is None or after <= slow, f"normal request after {name}: {after:.2f} s (usual {usual_seconds:.2f})"
