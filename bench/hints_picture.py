"""The docs' before/after picture of a colour hint (docs/app.md): a real photo colorized by the
user-guided model without hints and with one hint, and where the colour changed between the two.

Run by hand:  python -m bench.hints_picture [--output docs/hints_before_after.jpg]

The release's weights cannot be fetched here, so the model has random weights of the real
architecture (bench.hints_bench's): its colours are meaningless, and the picture says so. What it
shows is the mechanism: where one hint's colour goes in the photo (with these weights: centred on
the hint and fading with distance, not following the photo's edges as the trained model is meant to).
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from bench.hints_bench import guided_model_path
from colorizer.hints import Hint
from testkit.fixtures import REPO_ROOT, SHARED_FIXTURES

PHOTO = SHARED_FIXTURES / "photos" / "coco_000000000785.jpg"  # a skier on snow, 640 x 425
HINT = Hint(410, 170, "#d62f2f")  # red, on the skier's jacket
PANEL_WIDTH = 400
CAPTION = (
    "Made with RANDOM weights of the real user-guided architecture (the release's weights cannot be "
    "downloaded here): the colours mean nothing; the picture shows where one hint's colour goes."
)


def marked(rgb: np.ndarray, x: float, y: float, colour: tuple[int, int, int]) -> np.ndarray:
    """A copy of ``rgb`` with the page's hint marker at (x, y): a dot of the hint's colour in a
    white ring with a dark edge."""
    out = rgb.copy()
    centre = (round(x), round(y))
    cv2.circle(out, centre, 9, (0, 0, 0), -1, cv2.LINE_AA)
    cv2.circle(out, centre, 8, (255, 255, 255), -1, cv2.LINE_AA)
    cv2.circle(out, centre, 6, colour, -1, cv2.LINE_AA)
    return out


def change_map(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Where the colour changed: the ab distance between two uint8 RGB pictures, 0 (black) to
    20 Lab units or more (white), as uint8 RGB."""
    lab = [cv2.cvtColor(picture.astype(np.float32) / 255, cv2.COLOR_RGB2Lab) for picture in (before, after)]
    distance = np.hypot(*(lab[1][..., 1:] - lab[0][..., 1:]).transpose(2, 0, 1))
    grey = np.clip(distance / 20 * 255, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def labelled(rgb: np.ndarray, title: str) -> np.ndarray:
    """``rgb`` resized to PANEL_WIDTH, with ``title`` in a band above it."""
    height = round(rgb.shape[0] * PANEL_WIDTH / rgb.shape[1])
    panel = cv2.resize(rgb, (PANEL_WIDTH, height), interpolation=cv2.INTER_AREA)
    band = np.full((34, PANEL_WIDTH, 3), 255, np.uint8)
    cv2.putText(band, title, (8, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([band, panel])


def main(argv: list[str] | None = None) -> None:
    from colorizer import Colorizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(REPO_ROOT / "docs" / "hints_before_after.jpg"))
    args = parser.parse_args(argv)
    grey = cv2.imread(str(PHOTO), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise SystemExit(f"needs {PHOTO} (../shared)")
    colorizer = Colorizer(guided_model_path())
    before = colorizer.colorize(grey)
    after = colorizer.colorize(grey, hints=[HINT])
    panels = np.hstack(
        [
            labelled(np.repeat(grey[..., None], 3, axis=2), "The photo (grey)"),
            labelled(before, "No hints"),
            labelled(marked(after, HINT.x + 0.5, HINT.y + 0.5, HINT.rgb()), f"One hint, {HINT.color}"),
            labelled(change_map(before, after), "Colour change (white: 20+ ab)"),
        ]
    )
    caption = np.full((56, panels.shape[1], 3), 255, np.uint8)
    words = CAPTION.split(": ")
    for line, text in enumerate((words[0] + ":", words[1])):
        cv2.putText(caption, text, (8, 22 + 24 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 160), 1, cv2.LINE_AA)
    picture = np.vstack([panels, caption])
    cv2.imwrite(args.output, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"wrote {args.output} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    main()
