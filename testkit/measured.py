"""Run a command and measure it: its exit status, its own peak RSS and the tail of its stderr.

    done = run_measured([sys.executable, "-m", "colorizer", folder, "-o", out], cwd=REPO_ROOT)
    assert done.peak_mb < 2000, done.stderr

The command runs as the only child of a small wrapper process, so that the wrapper's
RUSAGE_CHILDREN peak is the command's own, not the test process's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
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
