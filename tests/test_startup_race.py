"""Starting the app with no model on disk: concurrent starts convert once, and a start killed while
writing the model leaves nothing that a later start takes for a good model.

Each app runs ``python app.py --model TMP/m.onnx --release-dir DIR -v``, DIR holding the synthetic
release files under their official names (so nothing is downloaded; every proxy is dead to make
sure). A kill during the download itself is covered by test_download.py
(test_download_killed_midway_leaves_no_final_file_and_is_recovered).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock
from gradio_client import Client, handle_file
from PIL import Image

from colorkit.files import stale_parts
from convert import sources
from testkit.app_server import REPO_ROOT, START_TIMEOUT, app_command, app_env, free_port
from testkit.hostile_corpus import scene

pytestmark = pytest.mark.slow  # app starts that race: not in the quick subset

MISSING_LINE = "is missing: building it"  # app.main, before ensure_model
WROTE_LINE = "INFO convert.build: wrote "  # convert.build.build_model_file, logged with -v
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class AppProcess:
    process: subprocess.Popen
    url: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def release_dir(tmp_path, synthetic_release) -> Path:
    """The synthetic release under the official file names (symlinks), as --release-dir expects."""
    directory = tmp_path / "release"
    directory.mkdir()
    for source, official in (
        (synthetic_release.prototxt, sources.PROTOTXT),
        (synthetic_release.caffemodel, sources.CAFFEMODEL),
        (synthetic_release.hull, sources.HULL),
    ):
        (directory / official.name).symlink_to(source)
    return directory


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(scene(64, 48)).save(path)
    return path


@contextlib.contextmanager
def started_apps(model: Path, release: Path, work_dir: Path, count: int) -> Iterator[list[AppProcess]]:
    """Start ``count`` app processes at once on free ports; kill whatever is left at the end."""
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    work_dir.mkdir(parents=True, exist_ok=True)
    apps = []
    try:
        for index in range(count):
            port = free_port()
            log = work_dir / f"app{index}.log"
            env = app_env(
                work_dir / f"gradio{index}",
                COLORIZER_CACHE=str(work_dir / "cache"),
                HTTPS_PROXY=dead_proxy,
                HTTP_PROXY=dead_proxy,
                https_proxy=dead_proxy,
                http_proxy=dead_proxy,
                NO_PROXY="127.0.0.1",
                no_proxy="127.0.0.1",
            )
            with open(log, "wb") as stream:
                process = subprocess.Popen(
                    app_command(
                        "--model",
                        str(model),
                        "--release-dir",
                        str(release),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "-v",
                    ),
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=stream,
                    stderr=subprocess.STDOUT,
                )
            apps.append(AppProcess(process, f"http://127.0.0.1:{port}/", log))
        yield apps
    finally:
        for app in apps:
            if app.process.poll() is None:
                app.process.terminate()
        for app in apps:
            try:
                app.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                app.process.kill()
                app.process.wait()


def wait_for(
    condition, what: str, apps: list[AppProcess], timeout: float = START_TIMEOUT, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for app in apps:
            assert app.process.poll() is None, f"app exited ({app.process.returncode}):\n{app.text()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n" + "\n---\n".join(
            app.text() for app in apps
        )
        time.sleep(interval)


def serves(app: AppProcess) -> bool:
    try:
        with _NO_PROXY.open(app.url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def colorize_one(app: AppProcess, photo: Path, downloads: Path) -> tuple[int, int]:
    client = Client(app.url, verbose=False, download_files=str(downloads))
    with Image.open(client.predict(handle_file(str(photo)), api_name="/colorize")) as result:
        return result.size


def parts(model: Path) -> list[Path]:
    return sorted(stale_parts(model))


def test_two_starts_without_a_model_convert_once_and_both_serve(tmp_path, release_dir, photo):
    model = tmp_path / "models" / "m.onnx"
    model.parent.mkdir()
    # Holding the converters' lock until both apps have seen the model missing makes the race certain:
    # both then queue on the lock; one converts, the other must wait and then find the model built.
    lock = FileLock(f"{model}.lock")
    lock.acquire()
    try:
        with started_apps(model, release_dir, tmp_path, 2) as apps:
            wait_for(lambda: all(MISSING_LINE in app.text() for app in apps), "both apps to see no model", apps)
            time.sleep(1.0)  # from that line to ensure_model's lock is a few statements
            assert not model.exists()
            lock.release()
            wait_for(lambda: all(serves(app) for app in apps), "both apps to serve", apps)
            built = model.stat()
            sizes = [colorize_one(app, photo, tmp_path / f"downloads{index}") for index, app in enumerate(apps)]
            logs = [app.text() for app in apps]
    finally:
        if lock.is_locked:
            lock.release()

    assert sizes == [(64, 48), (64, 48)]
    assert [log.count(WROTE_LINE) for log in logs] in ([1, 0], [0, 1]), "\n---\n".join(logs)
    assert all(f"model {model} on CPUExecutionProvider" in log for log in logs)
    mismatch = f"official {sources.CAFFEMODEL.name}"  # the random-weight caffemodel is not the release's
    assert all(mismatch in log and "converting it anyway" in log for log in logs), "\n---\n".join(logs)
    assert parts(model) == []
    assert (model.stat().st_ino, model.stat().st_mtime_ns) == (built.st_ino, built.st_mtime_ns)


def test_start_killed_while_writing_the_model_leaves_nothing_taken_for_a_model(tmp_path, release_dir, photo):
    model = tmp_path / "models" / "m.onnx"

    def being_written() -> bool:
        with contextlib.suppress(FileNotFoundError):  # a part may vanish between glob and stat
            return any(part.stat().st_size > 0 for part in parts(model))
        return False

    with started_apps(model, release_dir, tmp_path / "first", 1) as (first,):
        # The model is written to .m.onnx.<random>.part, then renamed: kill once bytes reach that file.
        wait_for(being_written, "the model's temporary file to fill", [first], interval=0.001)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
        written = sum(part.stat().st_size for part in parts(model))
    assert first.process.returncode == -signal.SIGKILL
    assert written > 0
    assert not model.exists(), "a killed writer left a file under the model's name"
    assert len(parts(model)) == 1, "the killed writer's temporary is expected to remain"
    assert Path(f"{model}.lock").exists()  # its lock file stays; the kernel released the lock itself

    with started_apps(model, release_dir, tmp_path / "second", 1) as (second,):
        wait_for(lambda: serves(second), "the second start to serve", [second])
        size = colorize_one(second, photo, tmp_path / "downloads")
        log = second.text()
    assert size == (64, 48)
    assert MISSING_LINE in log and log.count(WROTE_LINE) == 1, log
    assert parts(model) == [], "the stale temporary was not removed"
