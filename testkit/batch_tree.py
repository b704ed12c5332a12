"""Folder trees for batch tests: good photos of mixed sizes and formats, broken files, nested folders,
names with spaces and non-ASCII letters, name collisions and a name that ends in _color."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np


def texture(height: int, width: int, channels: int = 1, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    """Smooth random texture, uint8 (or uint16) HxW or HxWxC: photo-like enough to colorize."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, height // 16), max(2, width // 16), channels), dtype=np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)  # cv2 size: (width, height)
    image = image.reshape(height, width, channels)
    if dtype == np.uint16:
        image = image.astype(np.uint16) * 257
    return image[..., 0] if channels == 1 else image


def write_bgr(path: Path, image: np.ndarray, *params: int) -> Path:
    """Write with OpenCV (which takes BGR(A) and non-ASCII paths only through imencode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded, data = cv2.imencode(path.suffix, image, list(params))
    assert encoded, path
    path.write_bytes(data.tobytes())
    return path


@dataclass
class Tree:
    """A generated input tree. good/broken: relative paths of inputs that colorize / that fail;
    ignored: files without an image suffix; sizes: (height, width) of each good input."""

    root: Path
    good: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


def write_mixed_tree(root: Path) -> Tree:
    """The batch test tree (about 60 KB): eleven good photos, three broken files, two ignored files."""
    tree = Tree(root)

    def good(relative: str, image: np.ndarray, *params: int) -> None:
        write_bgr(root / relative, image, *params)
        tree.good.append(relative)
        tree.sizes[relative] = image.shape[:2]

    good("photo one.jpg", texture(120, 160, seed=1))
    good("scan.jpg", texture(64, 96, seed=2))
    good("scan.png", texture(96, 64, 3, seed=3))  # same stem as scan.jpg: the names must not collide
    good("tiny.bmp", texture(13, 7, seed=4))
    good("deep.tif", texture(30, 40, seed=5, dtype=np.uint16))  # 16-bit grey
    good("alpha.png", np.dstack([texture(40, 50, 3, seed=6), texture(40, 50, seed=7)]))  # BGRA
    good("sub/ä ö/写真.webp", texture(60, 80, 3, seed=8), cv2.IMWRITE_WEBP_QUALITY, 101)
    good("sub/photo.jpg", texture(48, 64, seed=9))
    good("other/photo.jpg", texture(48, 64, seed=10))  # same name in another folder
    good("sub/x_color.png", texture(32, 32, seed=11))  # ends in _color but is a user's photo, not ours
    (root / "old.JFIF").write_bytes(cv2.imencode(".jpg", texture(36, 28, seed=13))[1].tobytes())
    tree.good.append("old.JFIF")  # a JPEG suffix OpenCV does not know, in capitals
    tree.sizes["old.JFIF"] = (36, 28)
    encoded = cv2.imencode(".jpg", texture(120, 160, seed=12))[1].tobytes()
    (root / "broken.jpg").write_bytes(encoded[: len(encoded) // 2])
    (root / "empty.png").write_bytes(b"")
    (root / "sub" / "text.png").write_text("not an image")
    tree.broken += ["broken.jpg", "empty.png", "sub/text.png"]
    (root / "notes.txt").write_text("scanned 1962")
    (root / "sub" / "readme.md").write_text("# scans")
    tree.ignored += ["notes.txt", "sub/readme.md"]
    return tree


def write_flat_folder(root: Path, count: int, height: int = 150, width: int = 200) -> list[Path]:
    """``count`` grey JPEG photos img00.jpg ... in ``root``."""
    return [write_bgr(root / f"img{index:02d}.jpg", texture(height, width, seed=100 + index)) for index in range(count)]


def make_fifo(path: Path) -> bool:
    """A FIFO at ``path``; False where the platform or file system has none."""
    try:
        os.mkfifo(path)
    except (AttributeError, OSError):
        return False
    return True
