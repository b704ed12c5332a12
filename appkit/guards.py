"""Guards around Gradio 6.31 behaviour that a request can otherwise turn against the server."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

import gradio as gr


class RegularFilesOnly(set):
    """Gradio's record of files to delete later, taking regular files only.

    Gradio records every file payload it accepts. A payload naming the upload folder itself (or any
    folder in it) was recorded too; each later cleanup then failed on ``os.remove(folder)``, which
    stopped the periodic cleanup (delete_cache) for good and made shutdown fail.
    """

    def add(self, path: str) -> None:
        if _is_regular_file(path):
            super().add(path)

    def update(self, *others: Iterable[str]) -> None:
        for other in others:
            for path in other:
                self.add(path)


def only_regular_files_recorded(demo: gr.Blocks) -> None:
    """Swap every set of files that ``demo`` deletes later (each component's ``temp_files``, the
    uploads' set, and the list that the cleanup walks) for a RegularFilesOnly with the same content."""
    guarded: dict[int, RegularFilesOnly] = {}

    def guard(files: set) -> RegularFilesOnly:
        return guarded.setdefault(id(files), files if isinstance(files, RegularFilesOnly) else RegularFilesOnly(files))

    for block in demo.blocks.values():
        if isinstance(getattr(block, "temp_files", None), set):
            block.temp_files = guard(block.temp_files)
    demo.upload_file_set = guard(demo.upload_file_set)
    demo.temp_file_sets = [guard(files) for files in demo.temp_file_sets]


def _is_regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, TypeError, ValueError):
        return False
