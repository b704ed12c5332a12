"""The load test's workload and measurements: many gradio_client clients, each in its own thread,
against one app on 127.0.0.1. ``python -m bench.load_test`` runs it in full, tests/test_load.py in a
reduced form.

Steps: start ``python app.py`` on the benchmark's random-weight model (real architecture); measure
each request kind's service time alone (one client, one request at a time); run the load (each
thread makes its own Client and takes the next request of a shuffled mixed schedule that includes
broken files); sample the server's RSS with psutil throughout; finally overflow the queue on purpose
to show the designed rejection. Outcomes: ``ok`` (a PNG of the expected size), ``refused`` (a broken
file refused with its expected message), ``queue_full`` (the designed rejection) or ``unexpected``.

tests/test_load.py runs a reduced version of the same functions.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import platform
import random
import re
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlparse

import httpx
import numpy as np
import psutil
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError
from PIL import Image

from appkit import config
from testkit.fixtures import photo
from testkit.hostile_corpus import Colorize, Refuse, hostile_corpus

QUEUE_FULL = re.compile(r"[Qq]ueue is full")  # gradio_client: "Queue is full! Please try again."
PREDICT_DEFAULTS = [50, 224, "bilinear", False, "fp32"]  # the /colorize inputs after the image, raw API (vibrancy 50)


@dataclass(frozen=True)
class RequestKind:
    """One kind of request: a file, and either the output size (width, height) or a refusal regex."""

    name: str
    filename: str
    data: bytes
    weight: int  # share of the schedule
    size: tuple[int, int] | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: str  # "ok", "refused", "queue_full" or "unexpected"
    seconds: float  # from predict() called to its result (upload, queue, work, download)
    detail: str = ""


def jpeg_kind(width: int, height: int, weight: int) -> RequestKind:
    buffer = io.BytesIO()
    Image.fromarray(photo(width, height)).save(buffer, "JPEG", quality=90)
    return RequestKind(
        f"{width}x{height}", f"photo_{width}x{height}.jpg", buffer.getvalue(), weight, size=(width, height)
    )


def broken_kinds(weight: int, names: Sequence[str] = ("truncated.jpg", "notes.jpg", "bomb.png")) -> list[RequestKind]:
    """Refused files from the hostile corpus, each with the corpus's expected message."""
    corpus = {item.name: item for item in hostile_corpus()}
    return [RequestKind(name, name, corpus[name].data, weight, refusal=_refusal(corpus[name].expect)) for name in names]


def _refusal(expect: Colorize | Refuse) -> str:
    assert isinstance(expect, Refuse), f"{expect} is not a refusal"
    return expect.pattern


def full_workload() -> list[RequestKind]:
    """The load test's mix: mostly phone-to-web sizes, some 5 MP photos, ~10% broken files."""
    return [
        jpeg_kind(320, 240, 30),
        jpeg_kind(640, 480, 30),
        jpeg_kind(1280, 960, 20),
        jpeg_kind(2560, 1920, 8),
        *broken_kinds(4),
    ]


def schedule(kinds: Sequence[RequestKind], requests: int, seed: int = 0) -> list[RequestKind]:
    """``requests`` kinds in proportion to their weights (largest remainder), shuffled."""
    total = sum(kind.weight for kind in kinds)
    counts = [requests * kind.weight // total for kind in kinds]
    remainders = sorted(range(len(kinds)), key=lambda i: -(requests * kinds[i].weight % total))
    for index in remainders[: requests - sum(counts)]:
        counts[index] += 1
    order = [kind for kind, count in zip(kinds, counts) for _ in range(count)]
    random.Random(seed).shuffle(order)
    return order


def write_files(kinds: Sequence[RequestKind], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind in kinds:
        paths[kind.name] = directory / kind.filename
        paths[kind.name].write_bytes(kind.data)
    return paths


def request_once(client: Client, kind: RequestKind, path: Path) -> Outcome:
    """One /colorize call, classified against what the kind expects."""
    start = time.perf_counter()
    try:
        result = client.predict(handle_file(str(path)), api_name="/colorize")
    except QueueError as error:
        return Outcome(
            kind.name,
            "queue_full" if QUEUE_FULL.search(str(error)) else "unexpected",
            time.perf_counter() - start,
            str(error),
        )
    except AppError as error:
        seconds = time.perf_counter() - start
        if kind.refusal and re.search(kind.refusal, str(error)):
            return Outcome(kind.name, "refused", seconds, str(error))
        return Outcome(kind.name, "unexpected", seconds, f"AppError: {error}")
    except Exception as error:
        return Outcome(kind.name, "unexpected", time.perf_counter() - start, f"{type(error).__name__}: {error}")
    seconds = time.perf_counter() - start
    if kind.size is None:
        return Outcome(kind.name, "unexpected", seconds, f"colorized a file that must be refused: {result}")
    try:
        with Image.open(result) as image:
            image.load()
            found = (image.format, image.size)
    except (OSError, SyntaxError) as error:  # what Pillow raises for an empty, cut or corrupt file
        return Outcome(
            kind.name,
            "unexpected",
            seconds,
            f"the result is not a whole PNG ({Path(result).stat().st_size:,} bytes): {error}",
        )
    if found != ("PNG", kind.size):
        return Outcome(kind.name, "unexpected", seconds, f"got {found}, expected a PNG of {kind.size}")
    return Outcome(kind.name, "ok", seconds)


def run_load(
    url: str,
    kinds: Sequence[RequestKind],
    clients: int,
    requests: int,
    files_dir: Path,
    downloads_dir: Path,
    seed: int = 0,
) -> tuple[list[Outcome], float]:
    """``clients`` threads, each with its own Client, share a schedule of ``requests`` requests.
    Returns the outcomes and the wall time from the first request to the last answer (client
    creation excluded)."""
    paths = write_files(kinds, files_dir)
    order = schedule(kinds, requests, seed)
    next_index = itertools.count()
    index_lock = threading.Lock()
    outcomes: list[Outcome] = []
    ready = threading.Barrier(clients + 1)

    def worker(number: int) -> None:
        client = Client(url, verbose=False, download_files=str(downloads_dir / f"client{number}"))
        ready.wait()
        while True:
            with index_lock:
                index = next(next_index)
            if index >= len(order):
                return
            outcomes.append(request_once(client, order[index], paths[order[index].name]))  # list.append: atomic

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(worker, number) for number in range(clients)]
        ready.wait(timeout=300)
        start = time.perf_counter()
        for future in futures:
            future.result()
    return outcomes, time.perf_counter() - start


def service_times(
    url: str, kinds: Sequence[RequestKind], samples: int, files_dir: Path, downloads_dir: Path
) -> dict[str, float]:
    """Median seconds of each kind with nothing else running: one client, one request at a time
    (after one warm-up request per kind)."""
    paths = write_files(kinds, files_dir)
    client = Client(url, verbose=False, download_files=str(downloads_dir))
    medians = {}
    for kind in kinds:
        request_once(client, kind, paths[kind.name])
        medians[kind.name] = statistics.median(
            request_once(client, kind, paths[kind.name]).seconds for _ in range(samples)
        )
    return medians


class RssSampler:
    """Samples a process's resident set size (bytes) every ``interval`` seconds in a thread."""

    def __init__(self, process: psutil.Process, interval: float = 0.5):
        self.process, self.interval = process, interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, RSS bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - self._start, self.process.memory_info().rss))
            self._stop.wait(self.interval)


def slope_mb_per_minute(samples: Sequence[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, MB per minute."""
    seconds = np.array([t for t, _ in samples])
    megabytes = np.array([rss / 1e6 for _, rss in samples])
    if len(samples) < 2 or np.ptp(seconds) == 0:
        return 0.0
    return float(np.polyfit(seconds, megabytes, 1)[0] * 60)


def server_process(url: str) -> psutil.Process:
    """The app process listening on ``url``'s port: a child of this process (tests.app_server)."""
    port = str(urlparse(url).port)
    for child in psutil.Process().children(recursive=True):
        command = child.cmdline()
        if "--port" in command and command[command.index("--port") + 1] == port:
            return child
    raise LookupError(f"no child process serves {url}")


@dataclass(frozen=True)
class Burst:
    submitted: int
    accepted: int
    rejections: list[str]  # the raw API's refusal details
    completed: int  # accepted requests that then finished with a result
    client_message: str  # what a gradio_client user got while the queue was full ("" if it got in)


def queue_full_burst(url: str, path: Path, submitted: int, timeout: float = 300) -> Burst:
    """Overflow the queue on purpose: ``submitted`` raw /gradio_api/queue/join requests at once
    (one session), then one gradio_client call while it is full; wait for the accepted ones."""
    client = Client(url, verbose=False, download_files=tempfile.mkdtemp(prefix="burst"))
    session = secrets.token_hex(8)
    with httpx.Client(base_url=url, trust_env=False, timeout=60) as http:
        with open(path, "rb") as stream:
            uploaded = http.post("gradio_api/upload", files={"files": (path.name, stream)}).json()[0]
        fn_index = next(
            dependency["id"]
            for dependency in http.get("config").json()["dependencies"]
            if dependency.get("api_name") == "colorize"
        )
        body = {
            "data": [
                {"path": uploaded, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}},
                *PREDICT_DEFAULTS,
            ],
            "fn_index": fn_index,
            "session_hash": session,
        }
        with ThreadPoolExecutor(max_workers=min(submitted, 64)) as pool:
            responses = list(pool.map(lambda _: http.post("gradio_api/queue/join", json=body), range(submitted)))
            client_outcome = request_once(client, RequestKind("client", path.name, b"", 0), path)
        accepted = {response.json()["event_id"] for response in responses if response.status_code == 200}
        rejections = [
            response.json().get("detail", response.text) for response in responses if response.status_code != 200
        ]
        completed = _drain(http, session, accepted, timeout)
    return Burst(
        submitted,
        len(accepted),
        rejections,
        completed,
        client_outcome.detail if client_outcome.status == "queue_full" else "",
    )


def _drain(http: httpx.Client, session: str, events: set[str], timeout: float) -> int:
    """Read the session's event stream until every event in ``events`` has completed; the number
    that completed successfully."""
    done, succeeded = set(), 0
    deadline = time.monotonic() + timeout
    with http.stream(
        "GET", "gradio_api/queue/data", params={"session_hash": session}, timeout=httpx.Timeout(timeout, connect=10)
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and '"process_completed"' in line:
                message = json.loads(line[5:])
                done.add(message["event_id"])
                succeeded += bool(message.get("success"))
            if done >= events or time.monotonic() > deadline:
                break
    return succeeded


# --- the report -------------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(np.array(values), [50, 95, 99])
    return float(p50), float(p95), float(p99)


def report(
    outcomes: Sequence[Outcome],
    wall: float,
    clients: int,
    medians: dict[str, float],
    samples: Sequence[tuple[float, int]],
    burst: Burst | None,
    print_line: Callable[[str], None] = print,
) -> None:
    statuses = Counter(outcome.status for outcome in outcomes)
    mean_service = statistics.fmean(medians[outcome.kind] for outcome in outcomes)
    ideal = config.CONCURRENCY / mean_service
    p50, p95, p99 = percentiles([outcome.seconds for outcome in outcomes])

    print_line("\n**Service time alone** (one client, one request at a time; median):\n")
    print_line("| request | share of the load | service time ms | under load p50 ms | under load p95 ms |")
    print_line("| --- | --- | --- | --- | --- |")
    by_kind = Counter(outcome.kind for outcome in outcomes)
    for name, median in medians.items():
        seconds = [outcome.seconds for outcome in outcomes if outcome.kind == name]
        loaded = percentiles(seconds) if seconds else (float("nan"),) * 3
        print_line(
            f"| {name} | {by_kind[name]} | {median * 1000:.0f} | {loaded[0] * 1000:.0f} | {loaded[1] * 1000:.0f} |"
        )

    print_line(
        f"\n**Load**: {clients} concurrent clients, {len(outcomes)} requests "
        f"(concurrency limit {config.CONCURRENCY}, queue size {config.QUEUE_SIZE}):\n"
    )
    print_line(
        "| ok | refused as designed | queue full | unexpected | wall s | throughput req/s | "
        "ideal req/s (limit / mean service) | one at a time req/s (1 / mean service) | p50 s | p95 s | p99 s |"
    )
    print_line("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print_line(
        f"| {statuses['ok']} | {statuses['refused']} | {statuses['queue_full']} | {statuses['unexpected']} "
        f"| {wall:.1f} | {len(outcomes) / wall:.2f} | {ideal:.2f} | {1 / mean_service:.2f} | {p50:.2f} | "
        f"{p95:.2f} | {p99:.2f} |"
    )
    for outcome in [outcome for outcome in outcomes if outcome.status == "unexpected"][:10]:
        print_line(f"- unexpected: {outcome.kind}: {outcome.detail}")

    rss = [value / 1e6 for _, value in samples]
    print_line(f"\n**Server RSS** ({len(samples)} samples over {samples[-1][0]:.0f} s, psutil):\n")
    second_half = [sample for sample in samples if sample[0] >= samples[-1][0] / 2]
    print_line("| first MB | last MB | max MB | slope MB/min, whole run | slope MB/min, second half |")
    print_line("| --- | --- | --- | --- | --- |")
    print_line(
        f"| {rss[0]:.0f} | {rss[-1]:.0f} | {max(rss):.0f} | {slope_mb_per_minute(samples):+.1f} | "
        f"{slope_mb_per_minute(second_half):+.1f} |"
    )

    if burst is not None:
        print_line(f"\n**Queue overflow on purpose**: {burst.submitted} raw queue/join requests at once\n")
        print_line("| accepted | rejected | accepted that completed | raw API message | gradio_client message |")
        print_line("| --- | --- | --- | --- | --- |")
        raw = Counter(burst.rejections).most_common(1)[0][0] if burst.rejections else ""
        print_line(
            f"| {burst.accepted} | {len(burst.rejections)} | {burst.completed} | {raw} | {burst.client_message} |"
        )


def machine_line(model: Path) -> str:
    import gradio
    import onnxruntime

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; Python {platform.python_version()}, "
        f"gradio {gradio.__version__}, onnxruntime {onnxruntime.__version__}; model {model.name} "
        f"(random weights, real ECCV16 architecture); clients run on the same machine as the server"
    )
