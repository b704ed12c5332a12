"""File access and exposure through the HTTP API of a real server.

- /gradio_api/file= serves only uploads and results: no model, source, system file, ``..`` or
  URL-encoded traversal, absolute path or symlink placed in the cache dir that points outside.
- The API's file payloads: a path the client did not upload is not read (the same refusal whether
  the file exists or not), data: URLs and loopback URLs are refused.
- Uploads over max_file_size are refused; a URL payload skips that limit, so the decoder's pixel
  limit is what bounds it (checked on a server that treats 127.0.0.1 as a public host).
- /gradio_api/monitoring off; SSR off even with GRADIO_SSR_MODE=True; gradio pinned >= 6.20;
  uploads and results deleted after a bounded time (delete_cache), also when the server is stopped.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import gradio
import httpx
import psutil
import pytest
from gradio_client import Client, handle_file
from packaging.version import Version
from PIL import Image

import app
from appkit import config
from appkit.disk import LOCK_NAME
from testkit.app_server import REPO_ROOT, START_TIMEOUT, app_env, free_port, running_app, server_process, stop
from testkit.hostile_corpus import png_declaring, scene

pytestmark = pytest.mark.slow  # servers of its own: not in the quick subset

EXAMPLE = REPO_ROOT / "examples" / "chelsea.jpg"  # an image on the server, outside the upload dir
DEFAULTS = [50, 224, "bilinear", False, "fp32"]  # the /colorize inputs after the image
# The page's own (private) events take the model too, and the one-photo event its hints table.
EXTRA = {"colorize": [], "colorize_page": ["eccv16", None], "colorize_many": ["eccv16"]}
GRADIO_FILE = {"_type": "gradio.FileData"}


@dataclass
class Server:
    url: str
    cache: Path  # GRADIO_TEMP_DIR: uploads and results
    work: Path  # the cache's parent, holding the server's log (outside the cache)
    process: psutil.Process | None = None


def raw_client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, trust_env=False, timeout=60)


@pytest.fixture(scope="module")
def server(synthetic_model, tmp_path_factory) -> Iterator[Server]:
    """The app as shipped, started with GRADIO_SSR_MODE=True (which config.LAUNCH_OPTIONS overrides)."""
    work = tmp_path_factory.mktemp("security_server")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_SSR_MODE", "True")
        with running_app(synthetic_model, work) as url:
            yield Server(url, work / "gradio", work, server_process(url))


def call(server: Server, api_name: str, data: list, timeout: float = 60) -> tuple[bool, object]:
    """Run an event through the raw queue API (/gradio_api/queue/join, then its event stream), as
    any HTTP client can, private events included: (success, output data or error message)."""
    session = secrets.token_hex(8)
    with raw_client(server) as client:
        fn_index = next(
            dependency["id"]
            for dependency in client.get("config").json()["dependencies"]
            if dependency.get("api_name") == api_name
        )
        joined = client.post(
            "gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session}
        )
        joined.raise_for_status()
        event = joined.json()["event_id"]
        with client.stream(
            "GET", "gradio_api/queue/data", params={"session_hash": session}, timeout=httpx.Timeout(timeout, connect=10)
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") == event:
                    output = message.get("output", {})
                    return bool(message.get("success")), output.get("data") if message.get("success") else output.get(
                        "error"
                    )
    raise AssertionError(f"no result for {api_name} within {timeout} s")


def serves_normally(server: Server, tmp_path: Path) -> None:
    photo = tmp_path / "normal.png"
    Image.fromarray(scene(40, 30)).save(photo)
    client = Client(server.url, verbose=False, download_files=str(tmp_path / "downloads"))
    with Image.open(client.predict(handle_file(str(photo)), api_name="/colorize")) as result:
        assert result.size == (40, 30)


# --- /gradio_api/file= ----------------------------------------------------------------------------


def file_targets(server: Server, model: Path) -> dict[str, str]:
    """Paths (as put after ``file=``) that must not be served, by case."""
    cache, outside = server.cache, server.work / "app.log"  # the server's own log: a sibling of the cache
    return {
        "model": str(model),
        "app.py absolute": str(REPO_ROOT / "app.py"),
        "app.py relative to the cwd": "app.py",
        "/etc/passwd": "/etc/passwd",
        "/proc/self/environ": "/proc/self/environ",
        "dot-dot from the cache": f"{cache}/../{outside.name}",
        "%2e%2e from the cache": f"{cache}/%2e%2e/{outside.name}",
        "..%2f from the cache": f"{cache}/..%2f{outside.name}",
        "double-encoded %252e%252e": f"{cache}/%252e%252e/{outside.name}",
        "relative ..%2f chain": "..%2f" * 12 + "etc%2fpasswd",
        "encoded absolute %2Fetc%2Fpasswd": "%2Fetc%2Fpasswd",
        "double slash": "//etc/passwd",
        "dot segment": "/./etc/passwd",
        "file: URL": "file:///etc/passwd",
        "symlink in the cache to the model": f"{cache}/planted/model.onnx",
        "symlinked folder in the cache": f"{cache}/planted/repo/app.py",
    }


@pytest.fixture(scope="module")
def planted_symlinks(server, synthetic_model) -> None:
    """Symlinks in the cache dir pointing outside it, as a second process on the machine could plant."""
    planted = server.cache / "planted"
    planted.mkdir()
    (planted / "model.onnx").symlink_to(synthetic_model)
    (planted / "repo").symlink_to(REPO_ROOT, target_is_directory=True)


@pytest.mark.parametrize("prefix", ["gradio_api/file=", "file="])
def test_file_route_serves_nothing_outside_the_uploads(server, synthetic_model, planted_symlinks, prefix):
    served = {}
    with raw_client(server) as client:
        for case, path in file_targets(server, synthetic_model).items():
            response = client.get(prefix + path)
            if response.status_code not in (403, 404) or len(response.content) > 300:
                served[case] = (response.status_code, response.content[:80])
    assert not served, f"served through {prefix}: {served}"


def test_file_route_serves_an_upload(server):
    """The control: the same route does serve what was uploaded, so the refusals above mean something."""
    data = png_declaring(7, 5)
    with raw_client(server) as client:
        uploaded = client.post("gradio_api/upload", files={"files": ("mine.png", data)}).json()[0]
        assert Path(uploaded).resolve().is_relative_to(server.cache.resolve())
        response = client.get(f"gradio_api/file={uploaded}")
    assert response.status_code == 200 and response.content == data


# --- file payloads in API calls -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["example image", "model", "/etc/passwd"])
def test_payload_path_marked_as_file_must_be_an_upload(server, synthetic_model, target):
    """Gradio checks payloads marked as files ("meta": gradio.FileData) against the upload dir."""
    path = {"example image": EXAMPLE, "model": synthetic_model, "/etc/passwd": Path("/etc/passwd")}[target]
    success, error = call(server, "colorize", [{"path": str(path), "meta": GRADIO_FILE}, *DEFAULTS])
    assert not success and "it was not uploaded by a user" in error


@pytest.mark.parametrize("api_name", ["colorize", "colorize_page", "colorize_many"])
def test_payload_path_outside_the_uploads_is_not_read(server, tmp_path, api_name):
    """Without "meta", Gradio validates the payload as ImageData but does not check its path. The
    app must refuse it the same way whether the file is an image, another file or absent (no oracle);
    the page's own (private) events as well as the API's."""
    targets = [EXAMPLE, REPO_ROOT / "app.py", tmp_path / "absent.png", server.cache]
    answers = []
    for path in targets:
        payload = {"path": str(path)}
        data = [[payload] if api_name == "colorize_many" else payload, *DEFAULTS, *EXTRA[api_name]]
        answers.append(call(server, api_name, data))
    assert [success for success, _ in answers] == [False] * len(targets), answers
    if api_name == "colorize_many":  # gr.File's data model refuses such payloads before the app sees them
        assert all("The 'meta' field must be explicitly provided" in message for _, message in answers), answers
    else:
        assert len({message for _, message in answers}) == 1, answers


@pytest.mark.parametrize(
    "image",
    [
        "data:image/png;base64,iVBORw0KGgo=",
        {"path": "data:image/png;base64,iVBORw0KGgo=", "meta": GRADIO_FILE},
        {"url": "data:image/png;base64,iVBORw0KGgo=", "path": "x.png", "meta": GRADIO_FILE},
    ],
    ids=["data-URL string", "data-URL path", "data-URL url"],
)
def test_data_url_payloads_are_refused(server, image, tmp_path):
    success, error = call(server, "colorize", [image, *DEFAULTS])
    assert not success and error


@contextlib.contextmanager
def local_http_server(files: dict[str, bytes]) -> Iterator[tuple[str, dict[str, int]]]:
    """A bounded HTTP server on 127.0.0.1 serving ``files``; yields its URL and the bytes sent per path."""
    sent: dict[str, int] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for start in range(0, len(data), 1 << 20):
                self.wfile.write(data[start : start + (1 << 20)])
                sent[self.path] = sent.get(self.path, 0) + len(data[start : start + (1 << 20)])

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        httpd.timeout = 30
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}", sent
        finally:
            httpd.shutdown()
            thread.join(timeout=10)


def url_payload(url: str, name: str) -> dict:
    return {"path": url, "url": url, "orig_name": name, "meta": GRADIO_FILE}


def test_url_payload_to_loopback_is_refused(server, tmp_path):
    with local_http_server({"/bomb.png": png_declaring(30000, 30000)}) as (base, sent):
        success, error = call(server, "colorize", [url_payload(f"{base}/bomb.png", "bomb.png"), *DEFAULTS])
    assert not success and "failed validation" in error and not sent  # Gradio's SSRF guard: never fetched
    serves_normally(server, tmp_path)


def status_of_raw_request(server: Server, head: bytes, body: bytes = b"", timeout: float = 30) -> int:
    """Send ``head`` (and ``body``) on a raw socket; the HTTP status of the answer."""
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "route, declared",
    [
        ("gradio_api/queue/join", 300_000_000),
        ("gradio_api/call/colorize", 2 * 2**20),
        ("gradio_api/mcp/", 300_000_000),
        ("gradio_api/upload", 2 * 2**30),
    ],
)
def test_declared_oversized_body_is_refused_before_it_is_read(server, route, declared, tmp_path):
    rss_before = server.process.memory_info().rss
    head = (
        f"POST /{route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    assert status_of_raw_request(server, head, b"{" * 1000) == 413  # answered without the body
    assert server.process.memory_info().rss - rss_before < 50 * 2**20
    serves_normally(server, tmp_path)


def test_streamed_oversized_body_is_cut_off(server, tmp_path):
    def chunks():  # 8 MiB of JSON-ish bytes without a Content-Length (chunked)
        for _ in range(128):
            yield b" " * 65536

    with raw_client(server) as client:
        response = client.post("gradio_api/queue/join", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    serves_normally(server, tmp_path)


def test_idle_keep_alive_connection_is_closed(server):
    """uvicorn closes a kept-alive connection left idle (5 s, its default); one that never sends a
    request is not timed out by uvicorn 0.54 (docs/app.md: put a proxy with a header timeout in front)."""
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        connection.sendall(b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        start = time.monotonic()
        while connection.recv(65536):
            pass  # the answer, then the close
        idle = time.monotonic() - start
    assert idle < 30


def test_upload_over_max_file_size_is_refused(server, tmp_path):
    too_big = b"\x89PNG\r\n\x1a\n" + bytes(27 * 2**20)  # max_file_size "25mb" is 25 MiB to Gradio
    with raw_client(server) as client:
        response = client.post("gradio_api/upload", files={"files": ("big.png", too_big)})
    assert response.status_code == 413 and "maximum allowed size of 26214400 bytes" in response.text
    path = tmp_path / "big.png"
    path.write_bytes(too_big)
    with pytest.raises(ValueError, match="exceeds the maximum file size of 26214400 bytes"):
        Client(server.url, verbose=False).predict(handle_file(str(path)), api_name="/colorize")
    serves_normally(server, tmp_path)


# --- exposure and configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["gradio_api/monitoring", "gradio_api/monitoring/summary"])
def test_monitoring_is_off_under_the_api_prefix(server, route):
    # /monitoring and /monitoring/summary (403) are tests/test_app.py's test_server_monitoring_is_off.
    with raw_client(server) as client:
        assert client.get(route).status_code in (403, 404)


def test_ssr_is_off_even_when_the_environment_asks_for_it(server):
    assert config.LAUNCH_OPTIONS["ssr_mode"] is False  # explicit: GRADIO_SSR_MODE is then ignored
    children = [" ".join(child.cmdline()) for child in server.process.children(recursive=True)]
    assert not [command for command in children if re.search(r"\bnode\b", command)], children


def test_gradio_is_pinned_past_the_file_access_fixes():
    assert Version(gradio.__version__) >= Version("6.20")
    pins = re.findall(r"^gradio(?:\[[\w,]+\])?==([\w.]+)", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pins == [gradio.__version__], f"requirements.txt pins {pins}, installed {gradio.__version__}"


def test_delete_cache_is_configured_and_bounded():
    frequency, age = app.demo.delete_cache
    assert (frequency, age) == config.DELETE_CACHE == (600, 3600)
    assert 0 < frequency <= age <= 24 * 3600  # an upload lives at most age + frequency: 70 minutes


# --- servers started by the tests themselves ------------------------------------------------------------

# The app as shipped, with two changes made in the launching process only: delete_cache shortened to
# (1 s, 8 s), and 127.0.0.1 put on Gradio's list of hosts it fetches URL payloads from, standing in for
# a public web server (there is no internet here). app.py itself is not changed.
INSTRUMENTED = """
import sys
import gradio.processing_utils
import app
from appkit import config
config.DELETE_CACHE = (1, 8)
config.MAX_KEPT_BYTES = 4_000_000

# Count the colorizations running at once (each held HOLD s so that they overlap) into $PEAK_FILE.
import os, threading, time
import appkit.requests as requests
_active, _peak, _lock, _real = 0, 0, threading.Lock(), requests.colorize_photo
def _counted(*args, **kwargs):
    global _active, _peak
    with _lock:
        _active += 1
        _peak = max(_peak, _active)
        open(os.environ["PEAK_FILE"], "w").write(str(_peak))
    try:
        time.sleep(0.5)
        return _real(*args, **kwargs)
    finally:
        with _lock:
            _active -= 1
requests.colorize_photo = _counted  # under colorize_one and colorize_many
gradio.processing_utils.PUBLIC_HOSTNAME_WHITELIST.append("127.0.0.1")
sys.exit(app.main(sys.argv[1:]))
"""


@contextlib.contextmanager
def started(
    model: Path, work: Path, code: str | None = None, prepare=lambda cache: None
) -> Iterator[tuple[Server, subprocess.Popen]]:
    """``python app.py`` (or ``python -c code``) on a free port; terminated (SIGTERM) at the end.
    ``prepare(cache)`` runs before the start (to leave files there as a killed run would)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    cache = work / "gradio"
    cache.mkdir(parents=True)
    prepare(cache)
    program = ["-c", code] if code else [str(REPO_ROOT / "app.py")]
    with open(work / "app.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *program, "--model", str(model), "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=app_env(cache, PEAK_FILE=str(work / "peak.txt")),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, (work / "app.log").read_text()
            assert time.monotonic() < deadline, (work / "app.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, trust_env=False, timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield Server(url, cache, work, psutil.Process(process.pid)), process
    finally:
        stop(process)


@pytest.fixture(scope="module")
def instrumented(synthetic_model, tmp_path_factory) -> Iterator[Server]:
    with started(synthetic_model, tmp_path_factory.mktemp("instrumented"), INSTRUMENTED) as (server, _):
        yield server


def user_files(cache: Path) -> set[Path]:
    """Files in the cache other than the page's example photos (kept for the server's lifetime)."""
    examples = {path.name for path in (REPO_ROOT / "examples").glob("*.jpg")} | {LOCK_NAME}  # the app's lock too
    return {path for path in cache.rglob("*") if path.is_file() and path.name not in examples}


def uploads_and_results_are_deleted_after_delete_cache_age(instrumented, tmp_path) -> None:
    serves_normally(instrumented, tmp_path)  # an upload and a result
    left = user_files(instrumented.cache)
    assert {path.suffix for path in left} >= {".png"}, left  # the result at least (the upload may be gone already)
    deadline = time.monotonic() + 30  # age 8 s, checked every 1 s; generous on a busy machine
    while (user_files(instrumented.cache) & left) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not user_files(instrumented.cache) & left


def a_killed_runs_files(cache: Path) -> None:
    """What a server killed an hour ago leaves: a result in the app's run folder, an old upload,
    and a young upload (kept: it may be another app's, and it is within the budget)."""
    for relative, age in (
        ("colorizer/0123456789abcdef/old_color.png", 0),
        ("f" * 64 + "/old.png", 3 * 3600),
        ("e" * 64 + "/young.png", 0),
    ):
        path = cache / relative
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\x89PNG" + bytes(1000))
        os.utime(path, (time.time() - age, time.time() - age))


def test_sigterm_deletes_this_runs_files_while_a_request_is_still_open(synthetic_model, tmp_path):
    """A request still open at SIGTERM (here an upload whose body is still coming; a long film's
    stream alike) keeps Gradio's server from stopping until Gradio stops waiting for it (5 s) and
    skips its cleanup; the app deletes its uploads and results itself once the server is gone."""
    with started(synthetic_model, tmp_path / "server") as (server, process):
        serves_normally(server, tmp_path)
        left = user_files(server.cache)
        assert left
        port = int(server.url.rstrip("/").rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as upload:
            upload.sendall(
                b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n--x\r\n"
            )
            time.sleep(1)  # the server is reading the body
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    assert not user_files(server.cache) & left, sorted(str(path) for path in user_files(server.cache) & left)


def test_start_deletes_a_killed_runs_files_and_sigterm_deletes_this_runs(synthetic_model, tmp_path):
    """A killed run's results go at the next start; on SIGTERM the server deletes its uploads and
    results and exits 0, even after a payload naming the upload folder itself (which Gradio once
    recorded as a file to delete, so that every cleanup and the shutdown failed)."""
    with started(synthetic_model, tmp_path / "server", prepare=a_killed_runs_files) as (server, process):
        left_over = {path.relative_to(server.cache).as_posix() for path in user_files(server.cache)}
        assert left_over == {"e" * 64 + "/young.png"}, left_over
        for api_name in ("colorize", "colorize_page"):
            payload = {"path": str(server.cache), "meta": GRADIO_FILE}
            success, error = call(server, api_name, [payload, *DEFAULTS, *EXTRA[api_name]])
            assert not success and "paths on the server are not accepted" in error
        serves_normally(server, tmp_path)
        left = user_files(server.cache) - {server.cache / ("e" * 64) / "young.png"}
        assert left
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    log = (server.work / "app.log").read_text(errors="replace")
    assert "Traceback" not in log and "Error" not in log, log[-3000:]
    assert not user_files(server.cache) & left, sorted(str(path) for path in left)


def test_uploads_and_results_are_deleted_after_delete_cache_age_even_after_a_folder_payload(instrumented, tmp_path):
    """A payload naming the upload folder itself (which Gradio once recorded as a file to delete, so
    that every cleanup failed) is refused, and the periodic cleanup still deletes what it should."""
    success, error = call(instrumented, "colorize", [{"path": str(instrumented.cache), "meta": GRADIO_FILE}, *DEFAULTS])
    assert not success and "paths on the server are not accepted" in error
    uploads_and_results_are_deleted_after_delete_cache_age(instrumented, tmp_path)


def test_disk_budget_deletes_the_oldest_beyond_the_cap(instrumented, tmp_path):
    """Files the app's Gradio does not know (a killed run's, planted here) count too: beyond the cap
    (4 MB in this server) the oldest go after the next request."""
    planted = instrumented.cache / "planted-uploads"
    planted.mkdir(exist_ok=True)
    now = time.time()
    for index in range(6):  # 6 MB, oldest first
        path = planted / f"{index}.png"
        path.write_bytes(os.urandom(1_000_000))
        os.utime(path, (now - 60 + index, now - 60 + index))
    serves_normally(instrumented, tmp_path)
    deadline = time.monotonic() + 30
    while sum(path.stat().st_size for path in user_files(instrumented.cache)) > 4_000_000:
        assert time.monotonic() < deadline, sorted(user_files(instrumented.cache))
        time.sleep(0.5)
    kept = sorted(path.name for path in planted.glob("*.png"))
    assert kept and kept == [f"{index}.png" for index in range(6 - len(kept), 6)], kept  # the newest stay


def test_every_colorizing_event_shares_one_concurrency_limit(instrumented, tmp_path):
    """The API's event, the page's button and the batch tab, called at once through the raw queue
    API (as anyone can, private events included): never more than config.CONCURRENCY at a time."""
    # The photos are put in the cache directly (Gradio would delete its uploads of them after 8 s).
    folder = instrumented.cache / "concurrency"
    folder.mkdir()
    payloads = []
    for index in range(6):
        Image.fromarray(scene(40, 30)).save(folder / f"p{index}.png")
        payloads.append({"path": str(folder / f"p{index}.png"), "meta": GRADIO_FILE, "orig_name": f"p{index}.png"})
    calls = [
        ("colorize", [payloads[0], *DEFAULTS]),
        ("colorize", [payloads[1], *DEFAULTS]),
        ("colorize_page", [payloads[2], *DEFAULTS, *EXTRA["colorize_page"]]),
        ("colorize_page", [payloads[3], *DEFAULTS, *EXTRA["colorize_page"]]),
        ("colorize_many", [[payloads[4]], *DEFAULTS, *EXTRA["colorize_many"]]),
        ("colorize_many", [[payloads[5]], *DEFAULTS, *EXTRA["colorize_many"]]),
    ]
    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(lambda item: call(instrumented, *item, timeout=120), calls))
    assert [success for success, _ in answers] == [True] * len(calls), answers
    assert int((instrumented.work / "peak.txt").read_text()) == config.CONCURRENCY


@pytest.fixture(scope="module")
def big_files() -> dict[str, bytes]:
    return {
        "/bomb.png": png_declaring(30000, 30000),
        "/big.png": b"\x89PNG\r\n\x1a\n" + bytes(60_000_000),
    }  # 60 MB: over max_file_size (25 MiB)


def test_url_payload_is_bounded_by_the_pixel_limit(instrumented, big_files, tmp_path):
    """Inputs given as a URL skip max_file_size; the decoder's limits still refuse them, quickly."""
    with local_http_server(big_files) as (base, sent):
        start = time.monotonic()
        bomb = call(instrumented, "colorize", [url_payload(f"{base}/bomb.png", "bomb.png"), *DEFAULTS])
        big = call(instrumented, "colorize", [url_payload(f"{base}/big.png", "big.png"), *DEFAULTS])
        seconds = time.monotonic() - start
    assert bomb == (False, "bomb.png: the image declares 900,000,000 pixels, more than the limit of 50,000,000")
    assert big == (False, "big.png: the file is larger than the limit of 25mb")  # refused before decoding
    assert seconds < 30 and sent["/bomb.png"] == len(big_files["/bomb.png"])
    serves_normally(instrumented, tmp_path)


@pytest.mark.xfail(
    strict=True,
    reason="Gradio 6.31 fetches a URL payload whole, in memory, without max_file_size "
    "(processing_utils.async_ssrf_protected_download), before the app sees it",
)
def test_url_payload_over_max_file_size_is_not_fetched_whole(instrumented, big_files):
    with local_http_server(big_files) as (base, sent):
        call(instrumented, "colorize", [url_payload(f"{base}/big.png", "big.png"), *DEFAULTS])
    assert sent.get("/big.png", 0) <= 25 * 2**20 + (1 << 20)
