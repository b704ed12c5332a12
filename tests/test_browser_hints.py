"""Colour hints on the page, in a real headless Chromium at a desktop and a phone size: with the
user-guided model chosen, a click at a known place of a non-square colorized photo puts a hint at
that pixel of the photo (the click's geometry checked against the photo's drawn box), and the result
is colorized again with the colour changed there. Screenshots go to tests/out/ (looked at; the docs'
copies are refreshed by hand)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from testkit.app_server import REPO_ROOT, running_app
from tests.test_browser import (
    CHROMIUM,
    TIMEOUT_MS,
    VIEWPORTS,
    grid_photo,
    upload,
    wait_for_result,
)

SHOTS = REPO_ROOT / "tests" / "out" / "screenshots"
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


@pytest.fixture(scope="module")
def server_url(synthetic_model, guided_model, tmp_path_factory):
    with running_app(
        synthetic_model, tmp_path_factory.mktemp("hints_browser"), "--guided-model", str(guided_model)
    ) as url:
        yield url


def fetched(page, url: str) -> np.ndarray:
    """The image at ``url`` as the browser would get it: float32 Lab."""
    with Image.open(io.BytesIO(page.request.get(url).body())) as image:
        return cv2.cvtColor(np.asarray(image.convert("RGB"), np.float32) / 255, cv2.COLOR_RGB2Lab)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_click_on_the_colorized_photo_puts_a_hint_at_that_pixel(browser, server_url, tmp_path, viewport):
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server_url)
    page.locator("#model-line code").first.wait_for()
    page.get_by_text("Settings").first.click()
    page.get_by_text("User-guided (your colour hints)").click()
    page.locator("#hint-tools").first.wait_for(state="visible")
    upload(page, grid_photo(tmp_path / "harbour.png", *SIZE))
    page.get_by_role("button", name="Colorize", exact=True).click()
    wait_for_result(page, SIZE)
    drawn = page.evaluate(DRAWN_JS)
    before = fetched(page, drawn["src"])
    page.locator("#result img").scroll_into_view_if_needed()
    drawn = page.evaluate(DRAWN_JS)
    x = drawn["x"] + (TARGET[0] + 0.5) * drawn["scale"]
    y = drawn["y"] + (TARGET[1] + 0.5) * drawn["scale"]
    page.mouse.click(x, y)
    page.wait_for_function(f"() => ({ROWS_JS})().length === 1")
    [row] = page.evaluate(ROWS_JS)
    hinted_x, hinted_y = float(row[0]), float(row[1])
    assert abs(hinted_x - TARGET[0]) <= 1 and abs(hinted_y - TARGET[1]) <= 1, (
        f"clicked photo pixel {TARGET} (page {x:.1f}, {y:.1f}; drawn {drawn}), the hint is at {row}"
    )
    page.wait_for_function("src => document.querySelector('#result img').src !== src", arg=drawn["src"])
    wait_for_result(page, SIZE)
    after = fetched(page, page.evaluate(DRAWN_JS)["src"])
    change = np.hypot(*(after[..., 1:] - before[..., 1:]).transpose(2, 0, 1))
    rows, columns = np.mgrid[: SIZE[1], : SIZE[0]]
    near = np.hypot(columns - TARGET[0], rows - TARGET[1]) < 30
    assert change[near].mean() > 5 * change[~near].mean(), "the colour did not change most at the hint"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SHOTS / f"app_hints_{viewport}.png"), full_page=True)
    page.close()
    assert not problems, problems
