"""Downloads against a local HTTP server: every source tried in order, every byte verified, and
nothing partial or wrong ever left under the final cache name, even when the process is killed.

The server listens on 127.0.0.1 only; each test decides per path what it answers (good bytes, a
404, a lying Content-Length, a cut connection, a stall) and counts the requests it gets.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from colorkit.files import PART_SUFFIX, atomic_writer
from convert import sources
from convert.download import fetch
from convert.errors import DownloadError
from convert.lock import lock_beside
from convert.sources import PinnedFile
from testkit.fixtures import (
    GUIDED_DIST_PROTOTXT,
    GUIDED_PROTOTXT,
    write_guided_caffemodel,
    write_guided_release_caffemodel,
)
from testkit.requirements import SHARED_GUIDED, requires

REPO_ROOT = Path(__file__).resolve().parents[1]
NAME = "weights.bin"
GOOD = np.random.default_rng(7).bytes(4096)
WRONG = bytes(reversed(GOOD))  # same size, other SHA-256

Responder = Callable[[http.server.BaseHTTPRequestHandler], None]


def pinned(data: bytes = GOOD, *urls: str, name: str = NAME) -> PinnedFile:
    return PinnedFile(name, len(data), hashlib.sha256(data).hexdigest(), tuple(urls))


# --- what the server answers --------------------------------------------------------------------


def serve(data: bytes, *, length: int | None = None) -> Responder:
    """200 with ``data``; ``length`` is the Content-Length announced (None: the true one)."""

    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data) if length is None else length))
        handler.end_headers()
        handler.wfile.write(data)

    return respond


def serve_without_length(data: bytes) -> Responder:
    """200 with ``data`` and no Content-Length: the body ends when the connection closes."""

    def respond(handler):
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(data)

    return respond


def status(code: int) -> Responder:
    def respond(handler):
        handler.send_error(code)

    return respond


def cut_after(data: bytes, sent: int) -> Responder:
    """Announce all of ``data``, send ``sent`` bytes, then drop the connection."""

    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[:sent])
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)

    return respond


def chunked_cut_after(data: bytes, sent: int) -> Responder:
    """Chunked transfer encoding (no Content-Length), connection dropped inside the one chunk."""

    def respond(handler):
        handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data[:sent])
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)

    return respond


def garbage_status_line(handler) -> None:
    """Not HTTP at all (a mirror URL pointing at some other service)."""
    handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    handler.wfile.flush()


def non_numeric_length(data: bytes) -> Responder:
    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "lots")
        handler.end_headers()
        handler.wfile.write(data)

    return respond


def stall_after(data: bytes, sent: int, release: threading.Event) -> Responder:
    """Announce all of ``data``, send ``sent`` bytes, then hang until ``release`` is set."""

    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[:sent])
        handler.wfile.flush()
        release.wait(30)

    return respond


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        state: LocalServer = self.server.state
        state.requests[self.path] += 1
        state.routes.get(self.path, status(404))(self)

    def log_message(self, format, *args):  # keep the test output clean
        pass


class LocalServer:
    """A threaded HTTP server on 127.0.0.1; ``routes`` maps a path to what it answers."""

    def __init__(self):
        self.routes: dict[str, Responder] = {}
        self.requests: Counter[str] = Counter()
        self.release = threading.Event()  # set at teardown to free stalled handlers
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.state = self
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server():
    with LocalServer() as local:
        yield local


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    """A proxy configured on the machine must not stand between the tests and 127.0.0.1."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def closed_port_url(path: str = f"/{NAME}") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def parts(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{PART_SUFFIX}"))


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for ``python -m convert``: the pinned https sources made unreachable (a proxy
    on a closed port) so that only the local server is ever contacted, here or on a networked CI."""
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    refused = closed_port_url("").rstrip("/")
    env.update(
        https_proxy=refused,
        HTTPS_PROXY=refused,
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(REPO_ROOT),
        **extra,
    )
    return env


# --- 1. sources in order --------------------------------------------------------------------------


def test_404_mirror_falls_through_to_next_source(server, tmp_path):
    server.routes["/good/" + NAME] = serve(GOOD)
    file = pinned(GOOD, server.url("/good/" + NAME))

    path = fetch(file, tmp_path, mirrors=(server.url("/missing/"),), progress=False)

    assert path == tmp_path / NAME
    assert path.read_bytes() == GOOD
    assert server.requests == {f"/missing/{NAME}": 1, f"/good/{NAME}": 1}
    assert parts(tmp_path) == []


def test_mirrors_are_tried_before_pinned_urls_and_first_success_wins(server, tmp_path):
    server.routes["/mirror/" + NAME] = serve(GOOD)
    server.routes["/pinned/" + NAME] = serve(GOOD)
    file = pinned(GOOD, server.url("/pinned/" + NAME))

    fetch(file, tmp_path, mirrors=(server.url("/mirror"),), progress=False)  # no trailing slash

    assert server.requests == {f"/mirror/{NAME}": 1}


# --- 2. bad bytes are discarded -------------------------------------------------------------------

BAD_RESPONSES = {
    "wrong_hash_same_size": serve(WRONG),
    "truncated_lying_length": serve(GOOD[:1000], length=len(GOOD)),
    "connection_cut": cut_after(GOOD, 1000),
    "short_honest_length": serve(GOOD[:1000]),
    "announces_more": serve(GOOD + b"x", length=len(GOOD) + 1),
    "longer_without_length": serve_without_length(GOOD + b"extra"),
    "truncated_without_length": serve_without_length(GOOD[:1000]),
}


@pytest.mark.parametrize("bad", BAD_RESPONSES.values(), ids=BAD_RESPONSES.keys())
def test_bad_bytes_are_never_used_and_next_source_is(server, tmp_path, bad):
    seen_when_good_was_asked: list[list[str]] = []

    def good_after_checking(handler):
        seen_when_good_was_asked.append(sorted(p.name for p in tmp_path.iterdir()))
        serve(GOOD)(handler)

    server.routes["/bad/" + NAME] = bad
    server.routes["/good/" + NAME] = good_after_checking
    file = pinned(GOOD, server.url("/bad/" + NAME), server.url("/good/" + NAME))

    path = fetch(file, tmp_path, progress=False)

    # When the good source was asked, the bad bytes were gone: no final file, no temporary.
    assert seen_when_good_was_asked == [[f"{NAME}.lock"]]
    assert path.read_bytes() == GOOD
    assert parts(tmp_path) == []


@pytest.mark.parametrize("bad", BAD_RESPONSES.values(), ids=BAD_RESPONSES.keys())
def test_bad_bytes_from_the_only_source_leave_nothing(server, tmp_path, bad):
    server.routes["/bad/" + NAME] = bad
    file = pinned(GOOD, server.url("/bad/" + NAME))

    with pytest.raises(DownloadError, match="/bad/" + NAME):
        fetch(file, tmp_path, progress=False)

    assert not (tmp_path / NAME).exists()
    assert parts(tmp_path) == []
    assert list(tmp_path.iterdir()) == [], "a failed download left files behind (a lock file?)"


MISBEHAVING_SERVERS = [
    pytest.param(chunked_cut_after(GOOD, 1000), id="chunked_connection_cut"),
    pytest.param(garbage_status_line, id="not_http"),
    pytest.param(non_numeric_length(GOOD), id="non_numeric_content_length"),
]


@pytest.mark.parametrize("bad", MISBEHAVING_SERVERS)
def test_misbehaving_server_falls_through_to_next_source(server, tmp_path, bad):
    server.routes["/bad/" + NAME] = bad
    server.routes["/good/" + NAME] = serve(GOOD)
    file = pinned(GOOD, server.url("/bad/" + NAME), server.url("/good/" + NAME))

    path = fetch(file, tmp_path, progress=False)

    assert path.read_bytes() == GOOD
    assert parts(tmp_path) == []


def test_stalled_source_times_out_and_next_source_is_used(server, tmp_path):
    server.routes["/stall/" + NAME] = stall_after(GOOD, 1000, server.release)
    server.routes["/good/" + NAME] = serve(GOOD)
    file = pinned(GOOD, server.url("/stall/" + NAME), server.url("/good/" + NAME))

    path = fetch(file, tmp_path, progress=False, timeout=0.5)

    assert path.read_bytes() == GOOD
    assert parts(tmp_path) == []


# --- 3. the cache -------------------------------------------------------------------------------


def test_cache_hit_downloads_nothing(server, tmp_path):
    server.routes["/" + NAME] = serve(GOOD)
    file = pinned(GOOD, server.url("/" + NAME))

    first = fetch(file, tmp_path, progress=False)
    second = fetch(file, tmp_path, progress=False)

    assert first == second and second.read_bytes() == GOOD
    assert server.requests == {f"/{NAME}": 1}


@pytest.mark.parametrize("cached", [WRONG, GOOD[:-1], GOOD + b"\0"], ids=["same_size", "shorter", "longer"])
def test_corrupted_cache_is_fetched_again(server, tmp_path, cached):
    server.routes["/" + NAME] = serve(GOOD)
    (tmp_path / NAME).write_bytes(cached)

    path = fetch(pinned(GOOD, server.url("/" + NAME)), tmp_path, progress=False)

    assert path.read_bytes() == GOOD
    assert server.requests == {f"/{NAME}": 1}


def test_corrupted_cache_with_no_source_left_is_removed(server, tmp_path):
    (tmp_path / NAME).write_bytes(WRONG)

    with pytest.raises(DownloadError):
        fetch(pinned(GOOD, server.url("/gone/" + NAME)), tmp_path, progress=False)

    assert not (tmp_path / NAME).exists()


def test_concurrent_fetches_download_once(server, tmp_path):
    def slow_good(handler):
        time.sleep(0.3)
        serve(GOOD)(handler)

    server.routes["/" + NAME] = slow_good
    file = pinned(GOOD, server.url("/" + NAME))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(fetch(file, tmp_path, progress=False))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert results == [tmp_path / NAME] * 3
    assert server.requests == {f"/{NAME}": 1}
    assert [path.name for path in tmp_path.iterdir()] == [NAME], "only the download is left, no lock file"


def test_lock_beside_admits_one_holder_at_a_time_and_leaves_no_file(tmp_path):
    """Holders delete the lock file as they release it; waiters that then hold a deleted file's lock
    must start again, or two would overlap. A file left by a killed holder is taken over."""
    target = tmp_path / "model.onnx"
    Path(f"{target}.lock").write_bytes(b"")  # as a holder killed with SIGKILL leaves it
    inside, overlaps, rounds = [0], [], 40

    def hold() -> None:
        for _ in range(rounds):
            with lock_beside(target):
                inside[0] += 1
                if inside[0] != 1:
                    overlaps.append(inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    threads = [threading.Thread(target=hold) for _ in range(4)]  # each lock_beside opens its own file
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not any(thread.is_alive() for thread in threads)
    assert overlaps == [], f"{len(overlaps)} times two holders at once"
    assert list(tmp_path.iterdir()) == [], "the lock file is left behind"


# --- 4. nothing reachable -----------------------------------------------------------------------


def test_every_source_failing_names_each_url_and_the_offline_command(server, tmp_path):
    refused = closed_port_url()
    mirror = server.url("/mirror/")
    pinned_404 = server.url("/pinned/" + NAME)
    server.routes["/wrong/" + NAME] = serve(WRONG)
    file = pinned(GOOD, pinned_404, refused, server.url("/wrong/" + NAME))

    with pytest.raises(DownloadError) as caught:
        fetch(file, tmp_path, mirrors=(mirror,), progress=False)

    message = str(caught.value)
    for url in (mirror + NAME, pinned_404, refused, server.url("/wrong/" + NAME)):
        assert url in message, f"{url} missing from: {message}"
    assert "HTTP 404" in message
    assert "does not match the pin" in message
    assert "python -m convert --prototxt" in message
    assert "\n" not in message
    assert not (tmp_path / NAME).exists() and parts(tmp_path) == []


# --- 5. the command line --------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "convert", "--no-progress", *args],
        cwd=REPO_ROOT,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow  # a converter subprocess
def test_cli_offline_conversion_writes_a_loadable_model(synthetic_release, tmp_path):
    output = tmp_path / "m.onnx"

    result = run_cli(
        *synthetic_release.convert_args(),
        "--output",
        str(output),
        "--cache-dir",
        str(tmp_path / "cache"),
    )

    assert result.returncode == 0, result.stderr
    assert str(output) in result.stdout
    assert parts(tmp_path) == []
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert "data_l" in [i.name for i in session.get_inputs()]
    assert [o.name for o in session.get_outputs()] == ["class8_ab"]
    (ab,) = session.run(None, {"data_l": np.zeros((1, 1, 32, 32), np.float32)})
    assert ab.shape == (1, 2, 8, 8)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())  # nothing fetched


def _official_files_match_pins(*paths: Path) -> bool:
    return all(
        hashlib.sha256(p.read_bytes()).hexdigest() == f.sha256 for p, f in zip(paths, (sources.PROTOTXT, sources.HULL))
    )


@pytest.mark.slow  # a converter subprocess
def test_cli_fetches_from_mirror_and_converts(server, synthetic_release, tmp_path):
    """The official prototxt and hull (when ../shared has them) served by a local mirror: verified
    against the real pins, cached, converted. The caffemodel is local (no synthetic one matches)."""
    if not _official_files_match_pins(synthetic_release.prototxt, synthetic_release.hull):
        pytest.skip("needs the official prototxt and pts_in_hull.npy from ../shared/fixtures")
    server.routes["/release/" + sources.PROTOTXT.name] = serve(synthetic_release.prototxt.read_bytes())
    server.routes["/release/" + sources.HULL.name] = serve(synthetic_release.hull.read_bytes())
    output, cache = tmp_path / "m.onnx", tmp_path / "cache"

    result = run_cli(
        "--mirror",
        server.url("/release/"),
        "--caffemodel",
        str(synthetic_release.caffemodel),
        "--cache-dir",
        str(cache),
        "--output",
        str(output),
    )

    assert result.returncode == 0, result.stderr
    assert output.exists()
    assert (cache / sources.PROTOTXT.name).read_bytes() == synthetic_release.prototxt.read_bytes()
    assert (cache / sources.HULL.name).read_bytes() == synthetic_release.hull.read_bytes()
    assert server.requests == {f"/release/{sources.PROTOTXT.name}": 1, f"/release/{sources.HULL.name}": 1}


@pytest.fixture
def cli_with_wrong_bytes(server, tmp_path):
    """``python -m convert --mirror`` at a server that serves wrong bytes under every official name."""
    for file in sources.RELEASE.values():
        server.routes["/release/" + file.name] = serve(np.random.default_rng(1).bytes(min(file.size, 1 << 20)))
    output, cache = tmp_path / "m.onnx", tmp_path / "cache"
    result = run_cli("--mirror", server.url("/release/"), "--cache-dir", str(cache), "--output", str(output))
    return result, output, cache, server


@pytest.mark.slow  # a converter subprocess
def test_cli_wrong_bytes_from_mirror_fail_cleanly(cli_with_wrong_bytes):
    result, output, cache, server = cli_with_wrong_bytes

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], result.stderr
    assert server.url("/release/" + sources.PROTOTXT.name) in lines[-1]
    assert "python -m convert --prototxt" in lines[-1]
    assert not output.exists()
    assert not (cache / sources.PROTOTXT.name).exists() and parts(cache) == []


def test_cli_wrong_bytes_from_mirror_print_one_line(cli_with_wrong_bytes):
    result, *_ = cli_with_wrong_bytes

    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error:")


# --- 6. interruptions -----------------------------------------------------------------------------


def test_exception_inside_atomic_writer_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"

    with pytest.raises(RuntimeError), atomic_writer(target) as stream:
        stream.write(b"half")
        raise RuntimeError("interrupted")

    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_exception_inside_atomic_writer_keeps_the_previous_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous complete file")

    with pytest.raises(RuntimeError), atomic_writer(target) as stream:
        stream.write(b"half")
        raise RuntimeError("interrupted")

    assert target.read_bytes() == b"previous complete file"
    assert parts(tmp_path) == []


_FETCH_IN_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from convert.download import fetch
    from convert.sources import PinnedFile
    name, size, sha256, url, cache = sys.argv[1:]
    fetch(PinnedFile(name, int(size), sha256, (url,)), Path(cache), progress=False)
""")


def test_download_killed_midway_leaves_no_final_file_and_is_recovered(server, tmp_path):
    big = np.random.default_rng(3).bytes(3 << 20)  # several 1 MiB read chunks, so some reach the disk
    file = pinned(big, server.url("/" + NAME))
    server.routes["/" + NAME] = stall_after(big, len(big) // 2, server.release)
    child = subprocess.Popen(
        [sys.executable, "-c", _FETCH_IN_CHILD, file.name, str(file.size), file.sha256, file.urls[0], str(tmp_path)],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > 0 for p in parts(tmp_path)):
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()

    assert child.returncode == -signal.SIGKILL
    assert not (tmp_path / NAME).exists()
    assert len(parts(tmp_path)) == 1  # the killed writer's temporary, never under the final name

    server.routes["/" + NAME] = serve(big)
    path = fetch(file, tmp_path, progress=False)

    assert path.read_bytes() == big
    assert parts(tmp_path) == []


# --- 6. the user-guided release: a caffemodel without a published checksum -----------------------


def unpinned(*urls: str) -> PinnedFile:
    return PinnedFile(NAME, None, None, tuple(urls))


def test_unpinned_file_is_fetched_whole_and_its_sha256_logged(server, tmp_path, caplog):
    server.routes["/u/" + NAME] = serve(GOOD)
    with caplog.at_level("WARNING", logger="convert.download"):
        path = fetch(unpinned(server.url("/u/" + NAME)), tmp_path, progress=False)
    assert path.read_bytes() == GOOD
    assert hashlib.sha256(GOOD).hexdigest() in caplog.text and "no published checksum" in caplog.text
    fetch(unpinned(server.url("/u/" + NAME)), tmp_path, progress=False)
    assert server.requests == {f"/u/{NAME}": 1}, "the cached copy is used"


def test_unpinned_file_cut_short_is_refused(server, tmp_path):
    server.routes["/cut/" + NAME] = cut_after(GOOD, 1000)
    with pytest.raises(DownloadError, match="could not fetch"):
        fetch(unpinned(server.url("/cut/" + NAME)), tmp_path, progress=False)
    assert not (tmp_path / NAME).exists() and parts(tmp_path) == []


def test_guided_sources_pin_the_prototxts_and_not_the_caffemodel():
    assert sources.GUIDED_PROTOTXT.pinned and sources.GUIDED_DIST_PROTOTXT.pinned
    assert not sources.GUIDED_CAFFEMODEL.pinned
    assert sources.GUIDED_CAFFEMODEL.urls == ("http://colorization.eecs.berkeley.edu/siggraph/models/model.caffemodel",)


@requires(SHARED_GUIDED)
def test_guided_prototxt_fixtures_match_their_pins():
    for path, file in (
        (GUIDED_PROTOTXT, sources.GUIDED_PROTOTXT),
        (GUIDED_DIST_PROTOTXT, sources.GUIDED_DIST_PROTOTXT),
    ):
        assert path.stat().st_size == file.size and hashlib.sha256(path.read_bytes()).hexdigest() == file.sha256


@requires(SHARED_GUIDED)
def test_cli_guided_fetches_from_mirror_and_converts(server, tmp_path):
    """--guided: the official prototxt (verified against its pin) and a caffemodel (unpinned) from a
    mirror, converted to a model with the guided contract."""
    caffemodel = write_guided_caffemodel(tmp_path / "random.caffemodel", GUIDED_PROTOTXT, seed=1)
    server.routes["/g/" + sources.GUIDED_PROTOTXT.name] = serve(GUIDED_PROTOTXT.read_bytes())
    server.routes["/g/" + sources.GUIDED_CAFFEMODEL.name] = serve(caffemodel.read_bytes())
    output, cache = tmp_path / "guided.onnx", tmp_path / "cache"

    result = run_cli("--guided", "--mirror", server.url("/g/"), "--cache-dir", str(cache), "--output", str(output))

    assert result.returncode == 0, result.stderr
    assert "no published checksum" in result.stderr, "the unverified caffemodel is said so"
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["data_l_ab_mask"]
    assert [o.name for o in session.get_outputs()] == ["pred_ab"]
    assert session.get_modelmeta().custom_metadata_map["model.kind"] == "guided"
    (ab,) = session.run(None, {"data_l_ab_mask": np.zeros((1, 4, 32, 48), np.float32)})
    assert ab.shape == (1, 2, 32, 48)


@requires(SHARED_GUIDED)
def test_cli_guided_prototxt_is_recognised_and_eccv16_options_refused(tmp_path):
    caffemodel = write_guided_caffemodel(tmp_path / "random.caffemodel", GUIDED_PROTOTXT, seed=1)
    local = ["--prototxt", str(GUIDED_PROTOTXT), "--caffemodel", str(caffemodel)]
    output = tmp_path / "g.onnx"
    result = run_cli(*local, "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert (
        ort.InferenceSession(str(output), providers=["CPUExecutionProvider"]).get_inputs()[0].name == "data_l_ab_mask"
    )
    for extra, message in (
        (["--hull", str(caffemodel)], "--hull is for ECCV16"),
        (["--int8"], "int8 is not available for the user-guided model"),
    ):
        refused = tmp_path / "refused.onnx"
        result = run_cli(*local, *extra, "--output", str(refused))
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr and not refused.exists()


@requires(SHARED_GUIDED)
def test_cli_guided_distribution_and_a_prototxt_that_contradicts_the_flag(tmp_path, hull_file):
    caffemodel = write_guided_release_caffemodel(tmp_path / "model.caffemodel", seed=2)
    output = tmp_path / "guided-dist.onnx"
    local = ["--caffemodel", str(caffemodel), "--hull", str(hull_file)]
    result = run_cli("--prototxt", str(GUIDED_DIST_PROTOTXT), *local, "--output", str(output))
    assert result.returncode == 0, result.stderr
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["dist_ab_S", "pred_ab"]
    assert session.get_modelmeta().custom_metadata_map["model.kind"] == "guided-dist"
    result = run_cli("--guided", "--prototxt", str(GUIDED_DIST_PROTOTXT), *local, "--output", str(tmp_path / "x.onnx"))
    assert result.returncode == 2 and "--guided: " in result.stderr and "guided-dist network" in result.stderr
