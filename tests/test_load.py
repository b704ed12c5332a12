"""A reduced load test (bench/load_test.py runs the full one by hand): 8 gradio_client clients in
threads, 40 mixed requests with broken files among them; a queue overflow on purpose; and identical
requests finishing while an earlier identical result is being downloaded."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from appkit import config
from testkit.app_server import running_app
from testkit.load import broken_kinds, jpeg_kind, queue_full_burst, request_once, run_load, schedule

pytestmark = pytest.mark.slow  # a server under load: not in the quick subset


@pytest.fixture(scope="module")
def server(synthetic_model, tmp_path_factory):
    """(URL, the server's Gradio cache folder)."""
    work = tmp_path_factory.mktemp("load_server")
    with running_app(synthetic_model, work) as url:
        yield url, work / "gradio"


def test_8_clients_40_mixed_requests_without_unexpected_failures(server, tmp_path):
    url, _ = server
    kinds = [jpeg_kind(160, 120, 3), jpeg_kind(320, 240, 3), jpeg_kind(640, 480, 2), *broken_kinds(1)]
    planned = Counter("refused" if kind.refusal else "ok" for kind in schedule(kinds, 40))

    outcomes, _ = run_load(
        url, kinds, clients=8, requests=40, files_dir=tmp_path / "files", downloads_dir=tmp_path / "downloads"
    )

    # With 8 clients at most 6 requests wait, far below the queue's size: no rejection is designed.
    unexpected = [outcome for outcome in outcomes if outcome.status not in ("ok", "refused")]
    assert not unexpected, unexpected
    assert Counter(outcome.status for outcome in outcomes) == planned
    after = request_once(
        Client(url, verbose=False, download_files=str(tmp_path / "after")),
        kinds[0],
        tmp_path / "files" / kinds[0].filename,
    )
    assert after.status == "ok", after


def test_queue_overflow_is_refused_saying_so_and_the_rest_is_served(server, tmp_path):
    url, _ = server
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_kind(320, 240, 1).data)

    burst = queue_full_burst(url, photo, submitted=40)

    assert burst.accepted + len(burst.rejections) == 40
    assert burst.accepted >= config.QUEUE_SIZE and burst.rejections
    assert set(burst.rejections) == {f"Queue is full. Max size is {config.QUEUE_SIZE} and size is {config.QUEUE_SIZE}."}
    assert burst.client_message == "Queue is full! Please try again."
    assert burst.completed == burst.accepted


def test_result_being_downloaded_is_not_rewritten_by_an_identical_request(server, tmp_path):
    """Two users colorizing the same photo (an example, say) get the same pixels: the first one's
    download must not be cut or emptied when the second one's result is saved."""
    url, cache = server
    photo = tmp_path / "same.jpg"
    photo.write_bytes(jpeg_kind(320, 240, 1).data)
    first = Path(
        Client(url, verbose=False, download_files=str(tmp_path / "first")).predict(
            handle_file(str(photo)), api_name="/colorize"
        )
    ).read_bytes()
    served = next(path for path in cache.rglob("*.png") if path.read_bytes() == first)

    reads, stop = Counter(), threading.Event()

    def download_again_and_again() -> None:  # the first user's browser fetching its result
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            while not stop.is_set():
                try:
                    reads["whole" if client.get(f"gradio_api/file={served}").content == first else "cut"] += 1
                except httpx.TransportError:  # the body ended before its Content-Length
                    reads["cut"] += 1

    def same_request_again(number: int) -> Counter:
        client = Client(url, verbose=False, download_files=str(tmp_path / f"client{number}"))
        kind = jpeg_kind(320, 240, 1)
        return Counter(request_once(client, kind, photo).status for _ in range(8))

    downloader = threading.Thread(target=download_again_and_again)
    downloader.start()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = sum(pool.map(same_request_again, range(2)), Counter())
    finally:
        stop.set()
        downloader.join()
    assert statuses == Counter(ok=16) and reads["cut"] == 0, (statuses, reads)
