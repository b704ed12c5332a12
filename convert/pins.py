"""Local release files against the official pins: which were found, and which differ."""

from __future__ import annotations

from pathlib import Path

from colorkit.files import sha256_file
from convert.sources import RELEASE, PinnedFile, release_files_in


def pin_mismatch(path: Path, pinned: PinnedFile) -> str | None:
    """None if ``path`` has the pinned size and SHA-256 (or ``pinned`` has no pin to differ from);
    else one line naming the difference."""
    if not pinned.pinned:
        return None
    size = path.stat().st_size
    if size != pinned.size:
        return f"{path} is {size:,} bytes, the official {pinned.name} is {pinned.size:,}"
    digest = sha256_file(path)
    if digest != pinned.sha256:
        return f"{path} has SHA-256 {digest[:16]}..., the official {pinned.name} has {str(pinned.sha256)[:16]}..."
    return None


def mismatch_warnings(files: dict[str, Path], release: dict[str, PinnedFile] | None = None) -> list[str]:
    """A line for each file in ``files`` (build_model_file's keywords: prototxt=, caffemodel=, hull=)
    that differs from ``release``'s (default ECCV16's) pinned one, or has no pin to be checked
    against; files that do not exist are left to the converter's own error."""
    release = RELEASE if release is None else release
    lines = []
    for key, path in files.items():
        pinned = release.get(key)
        if pinned is None or not path.is_file():
            continue
        if not pinned.pinned:
            lines.append(f"note: {path} has no published SHA-256 to check it against (SHA-256 {sha256_file(path)})")
        elif mismatch := pin_mismatch(path, pinned):
            lines.append(f"warning: {mismatch}; converting it anyway (a fine-tuned model?)")
    return lines


def describe_release_dir(
    directory: Path, release: dict[str, PinnedFile] | None = None
) -> tuple[dict[str, Path], list[str]]:
    """(the files of ``release`` (default ECCV16's) found in ``directory`` as build keywords, lines
    to tell the user: what was looked for and missing, each found file that differs from its pin,
    and each found file that has no pin to be checked against)."""
    release = RELEASE if release is None else release
    files = tuple(release.values())
    found = release_files_in(directory, release)
    names = {path.name for path in found.values()}
    lines = []
    missing = [file.name for file in files if file.name not in names]
    if missing:
        lines.append(
            f"{directory}: looked for {', '.join(file.name for file in files)}; "
            f"missing {', '.join(missing)} (downloaded instead)"
        )
    return found, lines + mismatch_warnings(found, release)
