"""The hostile-input corpora sent through gradio_client to a real server, with measured bounds.

Each file is either colorized correctly (displayed size, alpha kept or not, output lightness following
the input's where the colour is in gamut, which also pins the orientation) or refused with a one-line
message naming the file and the problem. For each file the server's peak RSS (reset before it via
/proc/PID/clear_refs) and the seconds it took are measured and bounded in proportion to the pixels it
really holds (testkit.hostile_bounds, the rule the CLI's hostile test uses); a normal request sent
while it runs, and another after it, finish within a bound of their usual time. The measurements go
to tests/out/hostile_app.md.

"After it": when the normal request sent during the file finishes after the file's own request (a
refusal takes ~0.3 s, a normal request ~0.7 s of network alone), that request is the one after it;
otherwise another is sent. Each file thus costs one or two network passes, not always two.

CORPORA lists the corpora, each a testkit.hostile_corpus.Corpus (names for the parameters, then the
HostileFile entries, built once per module): the first corpus (testkit.hostile_corpus) and the
second (testkit.hostile_files, adapted by testkit.hostile_uploads). A new corpus is one more entry.

Most of this module's time is the normal requests (the network at 224 pixels, ~0.7 s each on an
idle 2-core machine, 2-4 s on a loaded one), not the uploads: a refused hostile file costs ~0.3 s
round trip.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from testkit.app_server import REPO_ROOT, peak_rss_mb, reset_peak_rss, running_app, server_process
from testkit.hostile_bounds import file_seconds, rss_bytes
from testkit.hostile_corpus import FIRST_CORPUS, Colorize, HostileFile, Refuse, scene
from testkit.hostile_files import case_names, special_file_names
from testkit.hostile_uploads import SECOND_CORPUS

pytestmark = pytest.mark.slow  # a hostile corpus against a server: not in the quick subset

CORPORA = [FIRST_CORPUS, SECOND_CORPUS]
NAMES = [name for corpus in CORPORA for name in corpus.names()]
MIN_IN_GAMUT = 0.2  # below this share of unclipped pixels the mean L error says little (e.g. 1-bit)
CHECKED_PIXELS = 1_000_000  # larger outputs are checked on a regular grid of about this many pixels
# Bounds per file through the app on two shared cores (measured values: tests/out/hostile_app.md):
# testkit.hostile_bounds's, the peak RSS over the server's RSS before the file.
SERVER_BASE_BYTES = 1024 << 20  # a refused file, or the fixed part of an accepted one's cost
NORMAL_SLOWDOWN = 4.0  # a normal request during or after a hostile file: at most this x usual + 5 s
REPORT = REPO_ROOT / "tests" / "out" / "hostile_app.md"
MEASURED: dict[str, tuple[int, float, float, float, float | None]] = {}


@pytest.fixture(scope="module")
def server_url(synthetic_model, tmp_path_factory):
    with running_app(synthetic_model, tmp_path_factory.mktemp("hostile_server")) as url:
        yield url
    if MEASURED:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        rows = "\n".join(
            f"| {name} | {pixels:,} | {seconds:.2f} | {file_seconds(pixels):.0f} | {growth:.0f} | "
            f"{rss_bytes(pixels, base_bytes=SERVER_BASE_BYTES) / 2**20:.0f} | {during:.2f} | "
            + ("the same" if after is None else f"{after:.2f}")
            + " |"
            for name, (pixels, seconds, growth, during, after) in MEASURED.items()
        )
        REPORT.write_text(
            "| file | pixels | s | bound s | peak RSS growth MB | bound MB | normal request during, s | after, s |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" + rows + "\n"
        )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Callable[[], HostileFile]]:
    """Every corpus's entries by name, each built when its test looks it up."""
    files: dict[str, Callable[[], HostileFile]] = {}
    for corpus in CORPORA:
        entries = corpus.files(tmp_path_factory.mktemp("corpus"))
        files.update({name: functools.partial(entries.__getitem__, name) for name in entries})
    return files


@pytest.fixture(scope="module")
def usual_seconds(client, normal_photo) -> float:
    """A normal request's usual time on this server (median of 3, after a warm-up)."""
    client.predict(handle_file(str(normal_photo)), api_name="/colorize")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        client.predict(handle_file(str(normal_photo)), api_name="/colorize")
        times.append(time.perf_counter() - start)
    return sorted(times)[1]


@pytest.fixture(scope="module")
def client(server_url, tmp_path_factory):
    return Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def other_client(server_url, tmp_path_factory):
    """Another user's client, for the normal requests sent while a hostile file is being handled."""
    return Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp("other")))


@pytest.fixture(scope="module")
def normal_photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("normal") / "normal.png"
    Image.fromarray(scene(80, 48)).save(path)
    return path


def read_png(path) -> np.ndarray:
    """The PNG the server returned, as uint8 HxWx3 or HxWx4."""
    with open(path, "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as image:
        assert image.mode in ("RGB", "RGBA"), image.mode
        return np.array(image)


def lightness(rgb_unit: np.ndarray) -> np.ndarray:
    """float32 HxWx3 RGB in 0..1 -> Lab L, 0..100."""
    return cv2.cvtColor(rgb_unit.astype(np.float32), cv2.COLOR_RGB2Lab)[..., 0]


def check_colorized(output: np.ndarray, expect: Colorize, name: str) -> None:
    channels = 4 if expect.alpha else 3
    assert output.shape == (expect.height, expect.width, channels), (
        f"{name}: got {output.shape}, expected {(expect.height, expect.width, channels)} (H, W, C)"
    )
    step = max(1, math.ceil(math.sqrt(expect.width * expect.height / CHECKED_PIXELS)))  # 1 up to 1 MP
    colour = output[::step, ::step, :3]
    out_l = lightness(colour / 255)
    expected_l = lightness(cv2.cvtColor(np.ascontiguousarray(expect.grey[::step, ::step]), cv2.COLOR_GRAY2RGB))
    in_gamut = np.all((colour > 0) & (colour < 255), axis=2)  # there L survives the RGB round trip
    if in_gamut.mean() >= MIN_IN_GAMUT:
        error = np.abs(out_l - expected_l)[in_gamut].mean()
        assert error <= expect.l_tolerance, f"{name}: mean |L out - L in| {error:.2f} > {expect.l_tolerance}"
    if expected_l.std() > 1:  # a flip or rotation would break this (the scene has no symmetry)
        correlation = np.corrcoef(out_l.ravel(), expected_l.ravel())[0, 1]
        assert correlation > 0.9, f"{name}: output L correlates {correlation:.3f} with the input's"


def test_corpus_covers_the_issue():
    names = set(NAMES)
    assert len(names) == len(NAMES), "corpus names must be unique across corpora"
    for required in (
        "bomb.png",
        "bomb.jpg",
        "empty.png",
        "notes.jpg",
        "truncated.jpg",
        "truncated.png",
        "grey16.png",
        "palette_transparent.png",
        "animated.gif",
        "animated.webp",
        "cmyk.jpg",
        "exif_rotate_90.jpg",
        "progressive.jpg",
        "multipage.tiff",
        "photo.bmp",
        "logo.svg",
        "photo.heic",
        "one_pixel.png",
        "strip_20000x200.png",
        "png_named.jpg",
    ):
        assert required in names, required


def test_every_image_of_the_second_corpus_a_client_can_send_is_sent():
    image_cases = set(case_names(roles=("image",)))
    assert set(SECOND_CORPUS.names()) == image_cases - special_file_names()
    assert image_cases - special_file_names() <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_hostile_file_within_bounds_while_serving_others(
    client, other_client, server_url, corpus, name, normal_photo, usual_seconds, tmp_path
):
    item = corpus[name]()
    path = tmp_path / item.name
    path.write_bytes(item.data)
    process = server_process(server_url)
    rss_before = process.memory_info().rss / 2**20
    reset_peak_rss(process)
    during: list[float] = []  # the normal request's seconds, and when it finished

    def normal_request_meanwhile() -> None:  # another user, with a client of their own
        start = time.perf_counter()
        assert read_png(other_client.predict(handle_file(str(normal_photo)), api_name="/colorize")).shape == (48, 80, 3)
        during.extend((time.perf_counter() - start, time.perf_counter()))

    meanwhile = threading.Thread(target=normal_request_meanwhile)
    start = time.perf_counter()
    meanwhile.start()
    if isinstance(item.expect, Refuse):
        with pytest.raises(AppError) as refused:
            client.predict(handle_file(str(path)), api_name="/colorize")
        message = str(refused.value)
        assert re.search(item.expect.pattern, message), f"{item.name}: message {message!r}"
        assert "\n" not in message and "Traceback" not in message
    else:
        check_colorized(read_png(client.predict(handle_file(str(path)), api_name="/colorize")), item.expect, item.name)
    finished = time.perf_counter()
    seconds = finished - start
    max_seconds = file_seconds(item.pixels)
    meanwhile.join(timeout=max_seconds * 2)
    growth = peak_rss_mb(process) - rss_before

    after_seconds = None  # the normal request sent during the file finished after it
    if not during or during[1] <= finished:
        start = time.perf_counter()
        after = read_png(client.predict(handle_file(str(normal_photo)), api_name="/colorize"))
        after_seconds = time.perf_counter() - start
        assert after.shape == (48, 80, 3), f"the server misbehaved after {item.name}"
    MEASURED[item.name] = (item.pixels, seconds, growth, during[0] if during else float("nan"), after_seconds)

    bound = NORMAL_SLOWDOWN * usual_seconds + 5
    max_growth = rss_bytes(item.pixels, base_bytes=SERVER_BASE_BYTES) / 2**20
    assert seconds <= max_seconds, f"{item.name}: {seconds:.1f} s > {max_seconds:.0f} s for {item.pixels:,} pixels"
    assert growth <= max_growth, f"{item.name}: peak RSS grew {growth:.0f} MB > {max_growth:.0f} MB"
    assert during and during[0] <= bound, f"normal request during {item.name}: {during} s (usual {usual_seconds:.2f})"
    assert after_seconds is None or after_seconds <= bound, (
        f"normal request after {item.name}: {after_seconds:.2f} s (usual {usual_seconds:.2f})"
    )
