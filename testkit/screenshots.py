"""Where the browser test's screenshots go: tests/out/screenshots/ (ignored by git), or docs/ when
``COLORIZER_REFRESH_DOCS`` asks for the docs' pictures to be refreshed (docs/testing.md)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REFRESH_DOCS_ENV = "COLORIZER_REFRESH_DOCS"
DOCS = REPO_ROOT / "docs"


def refreshing_docs() -> bool:
    """Whether this run is meant to rewrite the screenshots in docs/."""
    return os.environ.get(REFRESH_DOCS_ENV, "").strip().lower() not in ("", "0", "false", "no")


def screenshot_dir() -> Path:
    return DOCS if refreshing_docs() else REPO_ROOT / "tests" / "out" / "screenshots"
