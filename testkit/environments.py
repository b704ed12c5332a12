"""Virtual environments for tests that install the project: built on the interpreter that runs the
tests, whatever it is (the system Python in CI, a user's venv on their machine)."""

from __future__ import annotations

import site
import subprocess
import venv
from pathlib import Path


def package_dirs() -> list[str]:
    """This interpreter's site-packages folders (its venv's, plus the ones the venv itself sees),
    and the user's site-packages when this interpreter reads it."""
    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return folders


def make_venv(path: Path) -> Path:
    """A venv at ``path`` that sees this interpreter's installed packages; returns its bin folder.

    ``--system-site-packages`` is not that: run from a venv, it gives the new venv the *base*
    interpreter's packages (often none of ours). Here the new venv's own site-packages comes first,
    then this interpreter's folders, added as site folders (their ``.pth`` files processed) by a
    ``.pth`` file of its own. Build what you install into it with this interpreter (``pip wheel``):
    pip's build isolation inside the venv would see the borrowed folders too, and an old setuptools
    there would build the project instead of the one pyproject.toml asks for.
    """
    venv.create(path, with_pip=True)
    bin_dir = path / "bin"
    own = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({folder!r})" for folder in package_dirs() if Path(folder).is_dir()]
    (Path(own) / "_tests_outer_packages.pth").write_text("\n".join(lines) + "\n")
    return bin_dir
