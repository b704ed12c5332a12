"""The hostile-input corpora sent through gradio_client to a real server, with measured bounds.

Each file is either colorized correctly (displayed size, alpha kept or not, output lightness following
the input's where the colour is in gamut, which also pins the orientation) or refused with a one-line
message naming the file and the problem. For each file the server's peak RSS (reset before it via
/proc/PID/clear_refs) and the seconds it took are measured and bounded; a normal request sent while
it runs, and another after it, finish within a bound of their usual time. The measurements go to
tests/out/hostile_app.md.

CORPORA lists the corpora: each a function returning HostileFile entries (testkit.hostile_corpus's
format); a new corpus is one more entry.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from testkit.app_server import REPO_ROOT, running_app
from testkit.hostile_corpus import Colorize, HostileFile, Refuse, hostile_corpus, scene

CORPORA = [hostile_corpus]  # the decoder's second corpus (testkit.hostile_files) joins here
CORPUS = [item for corpus in CORPORA for item in corpus()]
MIN_IN_GAMUT = 0.2  # below this share of unclipped pixels the mean L error says little (e.g. 1-bit)
# Bounds per file through the app on two shared cores (measured values: tests/out/hostile_app.md).
MAX_SECONDS = 60.0
MAX_PEAK_RSS_GROWTH_MB = 1024  # over the server's RSS before the file
NORMAL_SLOWDOWN = 4.0  # a normal request during or after a hostile file: at most this x usual + 5 s
REPORT = REPO_ROOT / "tests" / "out" / "hostile_app.md"
MEASURED: dict[str, tuple[float, float, float, float]] = {}


def server_process(url: str) -> psutil.Process:
    port = url.rstrip("/").rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        command = child.cmdline()
        if "--port" in command and command[command.index("--port") + 1] == port:
            return child
    raise LookupError(url)


def reset_peak_rss(process: psutil.Process) -> None:
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # VmHWM := current RSS (Linux >= 4.0)


def peak_rss_mb(process: psutil.Process) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmHWM")


@pytest.fixture(scope="module")
def server_url(synthetic_model, tmp_path_factory):
    with running_app(synthetic_model, tmp_path_factory.mktemp("hostile_server")) as url:
        yield url
    if MEASURED:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        rows = "\n".join(
            f"| {name} | {seconds:.2f} | {growth:.0f} | {during:.2f} | {after:.2f} |"
            for name, (seconds, growth, during, after) in MEASURED.items()
        )
        REPORT.write_text(
            "| file | s | peak RSS growth MB | normal request during, s | after, s |\n"
            "| --- | ---: | ---: | ---: | ---: |\n" + rows + "\n"
        )


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
    colour = output[..., :3]
    out_l = lightness(colour / 255)
    expected_l = lightness(cv2.cvtColor(expect.grey, cv2.COLOR_GRAY2RGB))
    in_gamut = np.all((colour > 0) & (colour < 255), axis=2)  # there L survives the RGB round trip
    if in_gamut.mean() >= MIN_IN_GAMUT:
        error = np.abs(out_l - expected_l)[in_gamut].mean()
        assert error <= expect.l_tolerance, f"{name}: mean |L out - L in| {error:.2f} > {expect.l_tolerance}"
    if expected_l.std() > 1:  # a flip or rotation would break this (the scene has no symmetry)
        correlation = np.corrcoef(out_l.ravel(), expected_l.ravel())[0, 1]
        assert correlation > 0.9, f"{name}: output L correlates {correlation:.3f} with the input's"


def test_corpus_covers_the_issue():
    names = {item.name for item in CORPUS}
    assert len(CORPUS) >= 25
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


@pytest.mark.parametrize("item", CORPUS, ids=[item.name for item in CORPUS])
def test_hostile_file_within_bounds_while_serving_others(
    client, server_url, item: HostileFile, normal_photo, usual_seconds, tmp_path, tmp_path_factory
):
    path = tmp_path / item.name
    path.write_bytes(item.data)
    process = server_process(server_url)
    rss_before = process.memory_info().rss / 2**20
    reset_peak_rss(process)
    during: list[float] = []

    def normal_request_meanwhile() -> None:  # another user, with a client of their own
        other = Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp("other")))
        start = time.perf_counter()
        assert read_png(other.predict(handle_file(str(normal_photo)), api_name="/colorize")).shape == (48, 80, 3)
        during.append(time.perf_counter() - start)

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
    seconds = time.perf_counter() - start
    meanwhile.join(timeout=MAX_SECONDS * 2)
    growth = peak_rss_mb(process) - rss_before

    start = time.perf_counter()
    after = read_png(client.predict(handle_file(str(normal_photo)), api_name="/colorize"))
    after_seconds = time.perf_counter() - start
    assert after.shape == (48, 80, 3), f"the server misbehaved after {item.name}"
    MEASURED[item.name] = (seconds, growth, during[0] if during else float("nan"), after_seconds)

    bound = NORMAL_SLOWDOWN * usual_seconds + 5
    assert seconds <= MAX_SECONDS, f"{item.name}: {seconds:.1f} s"
    assert growth <= MAX_PEAK_RSS_GROWTH_MB, f"{item.name}: peak RSS grew {growth:.0f} MB"
    assert during and during[0] <= bound, f"normal request during {item.name}: {during} s (usual {usual_seconds:.2f})"
    assert after_seconds <= bound, (
        f"normal request after {item.name}: {after_seconds:.2f} s (usual {usual_seconds:.2f})"
    )
