"""colorizer.heap: freed heap memory goes back to the operating system (glibc), in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from colorizer.heap import release_free_heap
from testkit.fixtures import REPO_ROOT

# 200 MB in 64 KiB blocks (below glibc's mmap threshold: they come from the heap), every tenth one
# kept so the freed space is not at the heap's top, where free() alone would give it back.
_PROBE = textwrap.dedent("""
    import json
    from colorizer.heap import release_free_heap

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

    blocks = [bytearray(64 * 1024) for _ in range(3200)]
    kept = blocks[::10]
    del blocks
    before = rss_mb()
    released = release_free_heap()
    print(json.dumps({"released": released, "before": before, "after": rss_mb()}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc are Linux's")
def test_freed_heap_goes_back_to_the_system():
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["released"] is True
    assert result["before"] - result["after"] > 100, result  # of the ~180 MB freed


def test_release_is_harmless_to_call_again():
    assert release_free_heap() == release_free_heap()
