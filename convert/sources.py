"""The official release files, pinned by size and SHA-256 where a public source corroborates one,
and the mirrors that serve them.

Any mirror is safe for a pinned file: it is used only if its bytes match the pin. The original
Berkeley host has been down since 2024; the OpenVINO storage mirror holds all three ECCV16 files.

The user-guided release (SIGGRAPH 2017, junyanz/interactive-deep-colorization) has its prototxts
pinned (their bytes are those of the repository's git history, unchanged since 2017), but no
published checksum for its ``model.caffemodel`` could be found (see docs/model.md): that file is
fetched unpinned, ``PinnedFile.sha256`` None, and its SHA-256 is recorded in the model it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_OPENVINO = "https://storage.openvinotoolkit.org/repositories/datumaro/models/colorization"
_GITHUB = "https://raw.githubusercontent.com/richzhang/colorization/caffe"
_BERKELEY = "https://people.eecs.berkeley.edu/~rich.zhang/projects/2016_colorization/files/demo_v2"
# junyanz/interactive-deep-colorization at its last commit (0ee4d11, 2020); the prototxts date from 6c7bf29 (2017).
_GUIDED_GITHUB = (
    "https://raw.githubusercontent.com/junyanz/interactive-deep-colorization/"
    "0ee4d11f06d77765d777c0cf90e34278db99e621/models/reference_model"
)
_GUIDED_BERKELEY = "http://colorization.eecs.berkeley.edu/siggraph/models"  # models/fetch_models.sh


@dataclass(frozen=True)
class PinnedFile:
    """A file identified by its bytes, with the URLs to try in order. ``size`` and ``sha256`` None:
    no public source states them, so the bytes cannot be checked (the guided caffemodel)."""

    name: str
    size: int | None
    sha256: str | None
    urls: tuple[str, ...]

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


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

# The role of each file: the keyword that convert.build.build_model_file takes it by.
RELEASE = {"prototxt": PROTOTXT, "caffemodel": CAFFEMODEL, "hull": HULL}

GUIDED_PROTOTXT = PinnedFile(
    "deploy_nodist.prototxt",
    19190,
    "7d8828a29ec3b711db33e37fa1f46ce5dd5ac3c13a71961b6b61a5443e4cc75e",
    (f"{_GUIDED_GITHUB}/deploy_nodist.prototxt",),
)
# The same network ending in the 313-bin colour distribution (the repository's suggested colours);
# it reads the same model.caffemodel (ideepcolor.py's --dist_caffemodel default).
GUIDED_DIST_PROTOTXT = PinnedFile(
    "deploy_nopred.prototxt",
    15969,
    "44c1673ced7fa2dc026edd62f228f814596371f2d74718ac716f6096d03a956f",
    (f"{_GUIDED_GITHUB}/deploy_nopred.prototxt",),
)
GUIDED_CAFFEMODEL = PinnedFile("model.caffemodel", None, None, (f"{_GUIDED_BERKELEY}/model.caffemodel",))

GUIDED_RELEASE = {"prototxt": GUIDED_PROTOTXT, "caffemodel": GUIDED_CAFFEMODEL}
GUIDED_DIST_RELEASE = {"prototxt": GUIDED_DIST_PROTOTXT, "caffemodel": GUIDED_CAFFEMODEL, "hull": HULL}


def release_files_in(directory: Path | None, release: dict[str, PinnedFile] | None = None) -> dict[str, Path]:
    """The files of ``release`` (default: ECCV16's, ``RELEASE``) present in ``directory`` under their
    official names, as keyword arguments for ``convert.build.build_model_file`` (prototxt=,
    caffemodel=, hull=) or ``build_guided_model_file``; {} for None."""
    if directory is None:
        return {}
    release = RELEASE if release is None else release
    return {key: directory / file.name for key, file in release.items() if (directory / file.name).is_file()}
