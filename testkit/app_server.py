"""Run ``python app.py`` as a real server subprocess for the app tests, and always stop it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "app.py"
START_TIMEOUT = 120.0  # seconds; importing gradio and loading the model take ~10 s on two busy cores
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never via a proxy


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_command(*args: str, app: Path = APP) -> list[str]:
    return [sys.executable, str(app), *args]


def app_env(temp_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for an app subprocess: Gradio's uploads and results in ``temp_dir``."""
    return {**os.environ, "GRADIO_TEMP_DIR": str(temp_dir), "PYTHONUNBUFFERED": "1", **extra}


@contextlib.contextmanager
def running_app(
    model: Path, work_dir: Path, *options: str, timeout: float = START_TIMEOUT, app: Path = APP
) -> Iterator[str]:
    """Start the app (``app``: another checkout's app.py, for a before/after benchmark) on a free port
    of 127.0.0.1 with ``model`` and its further command-line ``options``; yield its URL once it answers.

    The server's output goes to ``work_dir/app.log`` and is quoted when it fails to start.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = work_dir / "app.log"
    (work_dir / "gradio").mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            app_command("--model", str(model), "--host", "127.0.0.1", "--port", str(port), *options, app=app),
            cwd=app.parent,
            env=app_env(work_dir / "gradio"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(url, process, timeout, log_path)
            yield url
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it has not gone in 15 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_ready(url: str, process: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"app.py exited with status {process.returncode} before serving:\n"
                f"{log_path.read_text(errors='replace')}"
            )
        try:
            with _NO_PROXY.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"app.py did not answer at {url} within {timeout:.0f} s:\n{log_path.read_text(errors='replace')}"
    )


def server_process(url: str) -> psutil.Process:
    """The app process (a child of this one, started by ``running_app``) serving ``url``."""
    port = url.rstrip("/").rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        command = child.cmdline()
        if "--port" in command and command[command.index("--port") + 1] == port:
            return child
    raise LookupError(url)


def reset_peak_rss(process: psutil.Process) -> None:
    """Set the process's peak RSS (VmHWM) to its current RSS (Linux 4.0+)."""
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")


def peak_rss_mb(process: psutil.Process) -> float:
    """The process's peak RSS (VmHWM) since it started or was last reset, MiB."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmHWM")
