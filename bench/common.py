"""Shared by the benchmarks: synthetic release files of the real size, photos, peak RSS."""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path

from testkit.fixtures import REPO_ROOT, SHARED_FIXTURES, official_hull, official_prototxt, photo, write_caffemodel  # noqa: F401 (photo: for the benchmarks)

WORK_DIR = REPO_ROOT / "bench" / "out"


def release_files(work_dir: Path = WORK_DIR) -> tuple[Path, Path, Path]:
    """(prototxt, caffemodel, hull): the official prototxt and hull when ../shared has them, else the
    project's own; a random-weight caffemodel of the real size (written once, reused)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    prototxt, hull = official_prototxt(work_dir), official_hull(work_dir)
    caffemodel = work_dir / "random_release.caffemodel"
    if not caffemodel.exists():
        write_caffemodel(caffemodel, prototxt, seed=0)
    return prototxt, caffemodel, hull


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, MB.

    Linux's VmHWM belongs to the address space, so it starts afresh in an exec'd worker;
    getrusage's ru_maxrss would carry over the peak of the parent that forked it.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, elsewhere best effort
