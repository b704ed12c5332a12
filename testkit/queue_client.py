"""Gradio's queue API over plain HTTP, as the page's own JavaScript (and any HTTP client) uses it:
upload files, join an event by its name (the page's private events too), read its event stream,
and go away in the middle of it.

    with httpx.Client(base_url=url, trust_env=False, timeout=60) as http:
        files = upload(http, [(path, "A.png")])
        success, output = call(http, "colorize_many", [files, 50, 224, "bilinear", False, "fp32", "eccv16"])
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

GRADIO_FILE = {"_type": "gradio.FileData"}


def upload(http: httpx.Client, files: Sequence[tuple[Path, str]]) -> list[dict]:
    """Upload each (file, name the user's file had) in one request; their file payloads, in order."""
    parts = [("files", (name, path.read_bytes())) for path, name in files]
    response = http.post("gradio_api/upload", files=parts)
    response.raise_for_status()
    return [{"path": path, "orig_name": name, "meta": GRADIO_FILE} for path, (_, name) in zip(response.json(), files)]


@dataclass
class Joined:
    session: str
    event: str


def join(http: httpx.Client, api_name: str, data: list) -> Joined:
    """Put the event named ``api_name`` with ``data`` in the queue, for a new session."""
    fn_index = next(
        dependency["id"]
        for dependency in http.get("config").json()["dependencies"]
        if dependency.get("api_name") == api_name
    )
    session = secrets.token_hex(8)
    joined = http.post("gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session})
    joined.raise_for_status()
    return Joined(session, joined.json()["event_id"])


@contextmanager
def messages(http: httpx.Client, joined: Joined, timeout: float = 60) -> Iterator[Iterator[dict]]:
    """The session's event stream, message by message (``{"msg": "progress", ...}``); leaving the
    block closes the connection, as a closed page does."""
    with http.stream(
        "GET",
        "gradio_api/queue/data",
        params={"session_hash": joined.session},
        timeout=httpx.Timeout(timeout, connect=10),
    ) as stream:
        yield (json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:"))


def call(http: httpx.Client, api_name: str, data: list, timeout: float = 60) -> tuple[bool, object]:
    """Run the event to its end: (success, its output data or its error message)."""
    joined = join(http, api_name, data)
    with messages(http, joined, timeout) as stream:
        for message in stream:
            if message.get("msg") == "process_completed" and message.get("event_id") == joined.event:
                output = message.get("output", {})
                return bool(message.get("success")), output.get("data") if message.get("success") else output.get(
                    "error"
                )
    raise AssertionError(f"no result for {api_name} within {timeout} s")
