"""Colour hints on the page, in a real headless Chromium at a desktop and a phone size: with the
user-guided model chosen, a click at a known place of a non-square colorized photo puts a hint at
that pixel of the photo (the click's geometry checked against the photo's drawn box), a marker is
drawn centred there (found in a screenshot's pixels), the result is colorized again with the colour
changed there, the suggested colours at the point appear and one of them becomes the point's colour,
and deleting the point removes its marker and gives back the photo without hints. Without the
distribution model the page says so and the picker still colours the point. Screenshots go to
tests/out/ (looked at); the docs' copies are refreshed with COLORIZER_REFRESH_DOCS=1."""

from __future__ import annotations

import io
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from testkit.app_server import running_app
from testkit.screenshots import screenshot_dir
from tests.test_browser import (
    CHROMIUM,
    STILL_JS,
    TIMEOUT_MS,
    VIEWPORTS,
    grid_photo,
    upload,
    wait_for_result,
)
from tests.test_hints_suggest import write_guided_dist_model

SHOTS = screenshot_dir()  # tests/out/screenshots/, or docs/ with COLORIZER_REFRESH_DOCS=1
HINT_COLOUR = (0x2F, 0x6F, 0xD6)  # the picker's default: the first point's colour
SIZE = (480, 320)  # a non-square photo: width, height
TARGET = (400, 60)  # the photo pixel clicked: near a corner, so a wrong scale or offset misses it

pytestmark = [
    pytest.mark.slow,  # a server and a browser: not in the quick subset
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]

# Where the result's photo is drawn on the page (object-fit contain, as Gradio lays it out).
DRAWN_JS = """() => { const img = document.querySelector('#result img'), box = img.getBoundingClientRect();
  const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
  return {x: box.x + (box.width - img.naturalWidth * scale) / 2, y: box.y + (box.height - img.naturalHeight * scale) / 2,
          scale: scale, src: img.src}; }"""
ROWS_JS = """() => Array.from(document.querySelectorAll('#hints [role=row][aria-rowindex]'))
  .filter(row => row.getAttribute('aria-rowindex') !== '1')  // the header
  .map(row => Array.from(row.querySelectorAll('[role=gridcell], td')).map(cell => cell.textContent.trim()))
  .filter(row => row.some(Boolean))"""


def guided_folder(folder: Path, guided_model: Path) -> Path:
    """A folder of the server's own holding the user-guided model (a link), so that what lies
    beside it (the distribution model, or nothing) is this module's."""
    (folder / "guided.onnx").symlink_to(guided_model)
    return folder / "guided.onnx"


@pytest.fixture(scope="module")
def server_url(synthetic_model, guided_model, hull_file, tmp_path_factory):
    """The app with the user-guided model and, beside it, its distribution (random weights)."""
    folder = tmp_path_factory.mktemp("hints_browser")
    write_guided_dist_model(folder, hull_file)
    with running_app(synthetic_model, folder, "--guided-model", str(guided_folder(folder, guided_model))) as url:
        yield url


@pytest.fixture(scope="module")
def server_without_suggestions(synthetic_model, guided_model, tmp_path_factory):
    """The app with the user-guided model alone: its distribution cannot be built here (offline)."""
    folder = tmp_path_factory.mktemp("hints_browser_alone")
    with running_app(synthetic_model, folder, "--guided-model", str(guided_folder(folder, guided_model))) as url:
        yield url


def fetched(page, url: str) -> np.ndarray:
    """The image at ``url`` as the browser would get it: float32 Lab."""
    with Image.open(io.BytesIO(page.request.get(url).body())) as image:
        return cv2.cvtColor(np.asarray(image.convert("RGB"), np.float32) / 255, cv2.COLOR_RGB2Lab)


def open_hints_mode(browser, url: str, viewport: str, tmp_path: Path):
    """A page at ``viewport`` with the user-guided model chosen and a non-square photo colorized;
    its console errors and uncaught exceptions collected in ``page.problems``."""
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.locator("#model-line code").first.wait_for()
    page.get_by_text("Settings").first.click()
    page.get_by_text("User-guided (your colour hints)").click()
    page.locator("#hint-tools").first.wait_for(state="visible")
    upload(page, grid_photo(tmp_path / "harbour.png", *SIZE))
    page.get_by_role("button", name="Colorize", exact=True).click()
    wait_for_result(page, SIZE)
    return page


def on_page(page, pixel: tuple[int, int]) -> tuple[float, float]:
    """The centre of photo ``pixel`` on the page (the colorized photo scrolled into view)."""
    page.locator("#result img").scroll_into_view_if_needed()
    page.evaluate(STILL_JS)
    drawn = page.evaluate(DRAWN_JS)
    return drawn["x"] + (pixel[0] + 0.5) * drawn["scale"], drawn["y"] + (pixel[1] + 0.5) * drawn["scale"]


def click_photo_pixel(page, pixel: tuple[int, int]) -> tuple[float, float]:
    """Click the centre of photo ``pixel`` on the colorized photo; its (x, y) on the page."""
    x, y = on_page(page, pixel)
    page.mouse.click(x, y)
    page.wait_for_function(f"() => ({ROWS_JS})().length === 1")
    return x, y


PAINTED_JS = """() => [...document.querySelectorAll('#suggested label')].every(label => {
  const colour = label.querySelector('input').value;
  const rgb = [1, 3, 5].map(i => parseInt(colour.slice(i, i + 2), 16));
  return getComputedStyle(label).backgroundColor === `rgb(${rgb.join(', ')})`;
})"""


def marker_centre(page, at: tuple[float, float], colour: tuple[int, int, int]) -> tuple[float, float, int]:
    """Where the pixels of exactly ``colour`` (a marker's fill) lie in a screenshot of 40 x 40 page
    pixels around ``at``: their centroid on the page, and how many there are."""
    left, top = round(at[0]) - 20, round(at[1]) - 20
    shot = page.screenshot(clip={"x": left, "y": top, "width": 40, "height": 40})
    with Image.open(io.BytesIO(shot)) as image:
        pixels = np.asarray(image.convert("RGB"), np.int16)
    rows, columns = np.nonzero((np.abs(pixels - np.array(colour)) <= 3).all(axis=2))
    if not len(rows):
        return float("nan"), float("nan"), 0
    return left + columns.mean() + 0.5, top + rows.mean() + 0.5, len(rows)


def settled_marker(page, pixel: tuple[int, int], colour: tuple[int, int, int]) -> tuple[tuple[float, float], tuple]:
    """Photo ``pixel``'s centre on the page and ``marker_centre`` there, looked at again every 200 ms
    (up to 10 s) until a marker of ``colour`` is centred on it: after each result a phone's page
    scrolls smoothly to the photo, so a look taken mid-scroll sees the marker elsewhere."""
    deadline = time.monotonic() + 10
    while True:
        x, y = on_page(page, pixel)
        centre_x, centre_y, count = marker_centre(page, (x, y), colour)
        if count >= 40 and abs(centre_x - x) <= 1 and abs(centre_y - y) <= 1 or time.monotonic() > deadline:
            return (x, y), (centre_x, centre_y, count)
        page.wait_for_timeout(200)


def hint_rows(page) -> list[list[str]]:
    return page.evaluate(ROWS_JS)


def wait_for_new_result(page, src: str) -> np.ndarray:
    page.wait_for_function("src => document.querySelector('#result img').src !== src", arg=src)
    wait_for_result(page, SIZE)
    return fetched(page, page.evaluate(DRAWN_JS)["src"])


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_click_on_the_colorized_photo_puts_a_hint_at_that_pixel(browser, server_url, tmp_path, viewport):
    page = open_hints_mode(browser, server_url, viewport, tmp_path)
    drawn = page.evaluate(DRAWN_JS)
    before = fetched(page, drawn["src"])
    x, y = click_photo_pixel(page, TARGET)
    [row] = hint_rows(page)
    hinted_x, hinted_y = float(row[0]), float(row[1])
    assert abs(hinted_x - TARGET[0]) <= 1 and abs(hinted_y - TARGET[1]) <= 1, (
        f"clicked photo pixel {TARGET} (page {x:.1f}, {y:.1f}; drawn {drawn}), the hint is at {row}"
    )
    after = wait_for_new_result(page, drawn["src"])
    change = np.hypot(*(after[..., 1:] - before[..., 1:]).transpose(2, 0, 1))
    rows, columns = np.mgrid[: SIZE[1], : SIZE[0]]
    near = np.hypot(columns - TARGET[0], rows - TARGET[1]) < 30
    assert change[near].mean() > 5 * change[~near].mean(), "the colour did not change most at the hint"

    # The marker: a dot of the hint's colour centred on the clicked pixel's centre.
    page.locator(".hint-marker").first.wait_for()
    (x, y), (centre_x, centre_y, count) = settled_marker(page, TARGET, HINT_COLOUR)
    assert count >= 40 and abs(centre_x - x) <= 1 and abs(centre_y - y) <= 1, (
        f"marker pixels centred at ({centre_x:.1f}, {centre_y:.1f}) ({count} of them), the click at ({x:.1f}, {y:.1f})"
    )

    # The suggested colours at the point: one chosen becomes the point's colour, and the marker's.
    page.wait_for_function("() => document.querySelectorAll('#suggested label').length === 6")
    page.wait_for_function(PAINTED_JS)  # every swatch in its own colour (within the page's 200 ms repaint)
    src = page.evaluate(DRAWN_JS)["src"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SHOTS / f"app_hints_{viewport}.png"), full_page=True)
    swatch = page.locator("#suggested label").nth(2)
    chosen = swatch.locator("input").get_attribute("value")
    painted = swatch.evaluate("label => getComputedStyle(label).backgroundColor")
    colour = tuple(int(chosen[index : index + 2], 16) for index in (1, 3, 5))
    assert painted == "rgb({}, {}, {})".format(*colour), f"the swatch of {chosen} is painted {painted}"
    swatch.click()
    page.wait_for_function(f"() => ({ROWS_JS})()[0][2] === {chosen!r}")
    wait_for_new_result(page, src)
    page.wait_for_function(
        "painted => Array.from(document.querySelectorAll('.hint-marker')).map(m => m.style.background).join() === painted",
        arg=painted,
    )
    _, (_, _, found) = settled_marker(page, TARGET, colour)
    assert found >= 40, "the marker did not take the chosen colour"

    # Deleting the point: no marker, and the photo as it was without hints.
    src = page.evaluate(DRAWN_JS)["src"]
    page.locator("#delete-hint").click()
    page.wait_for_function(f"() => ({ROWS_JS})().length === 0")
    without = wait_for_new_result(page, src)
    assert page.locator(".hint-marker").count() == 0
    assert np.abs(without - before).max() < 1e-3, "deleting the only hint did not give back the unhinted colours"
    page.close()
    assert not page.problems, page.problems


def test_without_the_distribution_the_picker_still_colours_the_point(browser, server_without_suggestions, tmp_path):
    page = open_hints_mode(browser, server_without_suggestions, "desktop", tmp_path)
    src = page.evaluate(DRAWN_JS)["src"]
    click_photo_pixel(page, TARGET)
    wait_for_new_result(page, src)
    page.get_by_text("No suggested colours").wait_for()
    assert "--guided-dist" in page.locator("#suggest-note").inner_text()
    assert page.locator("#suggested label").count() == 0
    assert hint_rows(page)[0][2] == "#2f6fd6"
    page.close()
    assert not page.problems, page.problems
