"""What a request hands the app: the file behind an upload payload (checked to be one of Gradio's
uploads), the name the user's file had, a folder for the request's results, and the library's
refusals as the page's error messages."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from appkit.config import MAX_FILE_BYTES, MAX_FILE_SIZE
from colorizer.errors import ColorizerError, Interrupted

RUN_FOLDER = "colorizer"  # results and previews, one subfolder per request, inside Gradio's upload folder


def request_folder() -> Path:
    """A new folder for one request's files, inside Gradio's upload folder (so Gradio serves and
    deletes them without copying); created by the first file written there, so a refused request
    leaves none."""
    return Path(get_upload_folder()) / RUN_FOLDER / secrets.token_hex(8)


def original_name(value: str | dict | None) -> str | None:
    """The name the user's file had (Gradio's payload keeps it as ``orig_name``)."""
    if isinstance(value, dict):
        return value.get("orig_name") or Path(str(value.get("path") or "")).name or None
    return Path(value).name if value else None


def upload_path(value: str | Path | dict | None, what: str = "photo") -> Path:
    """The file behind an image input: a path, or Gradio's file payload ({"path": ...}) as the events
    receive it unprocessed (see app.build_demo).

    Only regular files inside Gradio's upload folder (uploads, and the examples Gradio copies there)
    are read: a payload without Gradio's file marker is not checked by Gradio, and could otherwise
    name any file on the server, a folder (the upload folder itself), a FIFO or a device. The refusal
    is the same whether such a path exists or not, and names no server path.
    """
    path = value.get("path") if isinstance(value, dict) else value
    if not path:
        raise gr.Error(f"Upload a {what} first.", print_exception=False)
    refusal = gr.Error(
        f"Send the {what} as a file upload; paths on the server are not accepted.", print_exception=False
    )
    try:
        resolved = Path(path).resolve()
        folder = Path(get_upload_folder()).resolve()
        if resolved == folder or not resolved.is_relative_to(folder) or not resolved.is_file():
            raise refusal
    except (OSError, ValueError, TypeError):  # a name too long, a NUL byte, not a string
        raise refusal from None
    if resolved.stat().st_size > MAX_FILE_BYTES:
        # Inputs sent as URLs skip Gradio's max_file_size (Gradio fetched them already; decoding would cost more).
        raise gr.Error(f"{resolved.name}: the file is larger than the limit of {MAX_FILE_SIZE}", print_exception=False)
    return resolved


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the colorizer's refusals into gr.Error carrying the library's one-line message, and work
    stopped for a client that has gone (``abandon.ClientGone``) into one that says so (nobody reads
    it; no traceback in the server's log)."""
    try:
        yield
    except ColorizerError as error:
        raise gr.Error(str(error), print_exception=False) from None
    except Interrupted:
        raise gr.Error("Stopped: the request was cancelled.", print_exception=False) from None
