"""Run a command and measure it: its exit status, its own peak RSS and the tail of its stderr; or
measure a block of code in this process (``step_cost``: peak RSS growth, wall and CPU seconds).

    done = run_measured([sys.executable, "-m", "colorizer", folder, "-o", out], cwd=REPO_ROOT)
    assert done.peak_mb < 2000, done.stderr

The command runs as the only child of a small wrapper process, so that the wrapper's
RUSAGE_CHILDREN peak is the command's own, not the test process's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_WRAPPER = textwrap.dedent("""
    import json, resource, subprocess, sys
    done = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=float(sys.argv[1]))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"status": done.returncode, "peak_mb": peak_kb / 1024, "stderr": done.stderr[-4000:]}))
""")


@dataclass(frozen=True)
class Measured:
    status: int  # the command's exit status
    peak_mb: float  # its peak resident memory, MiB
    stderr: str  # the last 4,000 characters of its stderr


def run_measured(command: list[str], *, cwd: Path, timeout: float = 1200) -> Measured:
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(timeout), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout + 300,
        check=True,
    )
    return Measured(**json.loads(done.stdout))


@dataclass
class StepCost:
    """What a block of code cost this process: peak RSS growth in bytes, wall and CPU seconds."""

    rss_bytes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@contextmanager
def step_cost() -> Iterator[StepCost]:
    """Measure the block in this process (Linux: its peak RSS, VmHWM, is reset to the current RSS
    first, then read after it); the StepCost is filled in when the block ends, whatever it raised."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := current RSS (Linux 4.0+)
    before = _status_kib("VmRSS")
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    cost = StepCost()
    try:
        yield cost
    finally:
        cost.seconds, cost.cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
        cost.rss_bytes = max(0, _status_kib("VmHWM") - before) * 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
