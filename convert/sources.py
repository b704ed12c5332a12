"""The official ECCV16 release files, pinned by size and SHA-256, and the mirrors that serve them.

Any mirror is safe: a file is used only if its bytes match the pin. The original Berkeley host has
been down since 2024; the OpenVINO storage mirror holds all three files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_OPENVINO = "https://storage.openvinotoolkit.org/repositories/datumaro/models/colorization"
_GITHUB = "https://raw.githubusercontent.com/richzhang/colorization/caffe"
_BERKELEY = "https://people.eecs.berkeley.edu/~rich.zhang/projects/2016_colorization/files/demo_v2"


@dataclass(frozen=True)
class PinnedFile:
    """A file identified by its bytes, with the URLs to try in order."""

    name: str
    size: int
    sha256: str
    urls: tuple[str, ...]


PROTOTXT = PinnedFile(
    "colorization_deploy_v2.prototxt",
    9945,
    "d16418cef8df4ccd703a55ae0ef3960861d5010418f77c90d0a47689998a7169",
    (f"{_OPENVINO}/colorization_deploy_v2.prototxt", f"{_GITHUB}/models/colorization_deploy_v2.prototxt"),
)
CAFFEMODEL = PinnedFile(
    "colorization_release_v2.caffemodel",
    128946764,
    "f5af1e602646328c792e1094f9876fe9cd4c09ac46fa886e5708a1abc89137b1",
    (f"{_OPENVINO}/colorization_release_v2.caffemodel", f"{_BERKELEY}/colorization_release_v2.caffemodel"),
)
HULL = PinnedFile(
    "pts_in_hull.npy",
    5088,
    "b5dec01315c34f43f1c8c089e84c45ae35d1838d8e77ed0e7ca930f79ffa450e",
    (f"{_OPENVINO}/pts_in_hull.npy", f"{_GITHUB}/resources/pts_in_hull.npy"),
)

RELEASE_FILES = (PROTOTXT, CAFFEMODEL, HULL)
# The keywords that name each file for convert.build.build_model_file (and the converter's options).
RELEASE_KEYWORDS = {"prototxt": PROTOTXT, "caffemodel": CAFFEMODEL, "hull": HULL}


def release_files_in(directory: Path | None) -> dict[str, Path]:
    """The release files present in ``directory`` under their official names, as keyword arguments
    for ``convert.build.build_model_file`` (prototxt=, caffemodel=, hull=); {} for None."""
    if directory is None:
        return {}
    return {key: directory / file.name for key, file in RELEASE_KEYWORDS.items() if (directory / file.name).is_file()}
