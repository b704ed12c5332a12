"""Local release files against the official pins: which were found, and which differ."""

from __future__ import annotations

from pathlib import Path

from colorkit.files import sha256_file
from convert.sources import RELEASE_FILES, RELEASE_KEYWORDS, PinnedFile, release_files_in


def pin_mismatch(path: Path, pinned: PinnedFile) -> str | None:
    """None if ``path`` has the pinned size and SHA-256; else one line naming the difference."""
    size = path.stat().st_size
    if size != pinned.size:
        return f"{path} is {size:,} bytes, the official {pinned.name} is {pinned.size:,}"
    digest = sha256_file(path)
    if digest != pinned.sha256:
        return f"{path} has SHA-256 {digest[:16]}..., the official {pinned.name} has {pinned.sha256[:16]}..."
    return None


def mismatch_warnings(files: dict[str, Path]) -> list[str]:
    """A warning line for each release file in ``files`` (build_model_file's keywords: prototxt=,
    caffemodel=, hull=) that differs from the official one; files that do not exist are left to the
    converter's own error."""
    lines = []
    for key, path in files.items():
        mismatch = pin_mismatch(path, RELEASE_KEYWORDS[key]) if path.is_file() else None
        if mismatch:
            lines.append(f"warning: {mismatch}; converting it anyway (a fine-tuned model?)")
    return lines


def describe_release_dir(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """(the release files found in ``directory`` as build_model_file keywords, lines to tell the
    user: what was looked for and missing, and each found file that differs from its pin)."""
    found = release_files_in(directory)
    names = {path.name for path in found.values()}
    lines = []
    missing = [file.name for file in RELEASE_FILES if file.name not in names]
    if missing:
        lines.append(
            f"{directory}: looked for {', '.join(file.name for file in RELEASE_FILES)}; "
            f"missing {', '.join(missing)} (downloaded instead)"
        )
    return found, lines + mismatch_warnings(found)
