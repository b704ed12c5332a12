"""Round three, item 8: the app's disk budget counts what files take on disk (blocks) and how many
there are, not their lengths: many one-byte uploads cannot fill the disk or its inodes unseen."""

from __future__ import annotations

import contextlib
import time

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from appkit.disk import DiskBudget
from testkit.app_server import running_app
from testkit.queue_client import upload


def test_tiny_files_count_their_blocks_and_their_number(tmp_path):
    for index in range(300):
        folder = tmp_path / f"{index:04d}"
        folder.mkdir()
        (folder / "upload.png").write_bytes(b"x")
    budget = DiskBudget(tmp_path, max_bytes=1 << 30, max_age=3600, max_files=100)
    swept = budget.sweep()
    assert swept.kept_files == 100 and swept.deleted_files == 200
    assert swept.kept_bytes >= 100 * 512  # blocks, not 100 bytes

    by_bytes = DiskBudget(tmp_path, max_bytes=50 * 4096, max_age=3600)
    assert by_bytes.sweep().kept_bytes <= 50 * 4096
    assert len(list(tmp_path.rglob("upload.png"))) <= 50


def blocks_of(files) -> int:
    """Bytes of the blocks ``files`` hold; a file the app's sweep deleted since it was listed holds none."""
    total = 0
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_blocks * 512
    return total


@pytest.mark.slow  # a server of its own for each budget
@pytest.mark.parametrize(
    ("option", "value", "kept"),
    [
        ("--max-kept-mb", "1", lambda files: blocks_of(files) <= 2**20),
        ("--max-kept-files", "100", lambda files: len(files) <= 100),
    ],
    ids=["blocks", "files"],
)
def test_the_running_app_keeps_tiny_uploads_within_its_budget(synthetic_model, tmp_path, option, value, kept):
    """400 uploads of a few bytes each (1.6 MiB of blocks and 400 inodes, 1.1 KB of bytes), sent to
    the running app as any client can: after the next request the app has deleted the oldest."""
    with running_app(synthetic_model, tmp_path / "server", option, value) as url:
        tiny = []
        for index in range(400):
            tiny.append((tmp_path / f"tiny-{index:03d}.txt", f"tiny-{index:03d}.txt"))
            tiny[-1][0].write_text(str(index))
        with httpx.Client(base_url=url, trust_env=False, timeout=60) as http:
            for start in range(0, len(tiny), 20):
                upload(http, tiny[start : start + 20])
        cache = tmp_path / "server" / "gradio"
        assert len(list(cache.rglob("tiny-*.txt"))) == 400
        photo = tmp_path / "photo.png"
        Image.fromarray(np.full((48, 64), 120, np.uint8)).save(photo)
        Client(url, verbose=False, download_files=str(tmp_path / "downloads")).predict(
            handle_file(str(photo)), api_name="/colorize"
        )  # each request asks for a sweep
        deadline = time.monotonic() + 30
        while not kept(left := list(cache.rglob("tiny-*.txt"))):
            assert time.monotonic() < deadline, f"{len(left)} tiny uploads kept with {option} {value}"
            time.sleep(0.5)
        assert left, "the newest uploads are kept"
