"""The app in a real headless Chromium at a desktop and a phone size: the before/after layers'
geometry and the slider's handle, a clean state between photos, examples in one click, the
many-photos tab with a broken file, the film tab, no console errors.

Screenshots go to tests/out/screenshots/; ``COLORIZER_REFRESH_DOCS=1`` writes them to docs/ instead,
to refresh the docs' pictures (docs/testing.md). A plain test run leaves the checkout as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from testkit.screenshots import screenshot_dir

CHROMIUM = Path("/usr/bin/chromium")
# Offline and quiet: no sandbox (containers), no GPU, no background calls home, fresh state.
# (Playwright's launch() already gives each browser a fresh temporary profile; it refuses --user-data-dir.)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = screenshot_dir()  # tests/out/screenshots/, or docs/ with COLORIZER_REFRESH_DOCS=1
TIMEOUT_MS = 120_000  # page load and colorizing on two busy CPU cores
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
MAX_SLIDER_HEIGHT = 400  # px: the before/after view's height limit (app.CSS)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.slow,  # Chromium against the app's server: not in the quick subset (docs/testing.md)
]

# Each layer of the before/after view: its box, the photo's drawn rectangle inside it (object-fit),
# and the box of the nearest ancestor that clips (overflow hidden): what of the photo can be seen.
LAYERS_JS = """() => Array.from(document.querySelectorAll('#before-after img')).map(img => {
  const box = img.getBoundingClientRect(), style = getComputedStyle(img);
  let scale = 1;
  if (style.objectFit === 'contain') scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
  else if (style.objectFit === 'cover') scale = Math.max(box.width / img.naturalWidth, box.height / img.naturalHeight);
  const drawn = style.objectFit === 'fill' ? {x: box.x, y: box.y, w: box.width, h: box.height} : {
    w: img.naturalWidth * scale, h: img.naturalHeight * scale,
    x: box.x + (box.width - img.naturalWidth * scale) / 2, y: box.y + (box.height - img.naturalHeight * scale) / 2};
  let clip = img.parentElement;
  while (clip && getComputedStyle(clip).overflow === 'visible') clip = clip.parentElement;
  const c = clip.getBoundingClientRect();
  return {box: [box.x, box.y, box.width, box.height], natural: [img.naturalWidth, img.naturalHeight],
          drawn: [drawn.x, drawn.y, drawn.w, drawn.h], clip: [c.x, c.y, c.width, c.height]};
})"""
# Texts #status shows from now on (the progress message, then the outcome).
WATCH_STATUS_JS = """() => { window.statusSeen = [];
  const status = document.querySelector('#status');
  new MutationObserver(() => window.statusSeen.push(status.innerText.trim()))
    .observe(status, {subtree: true, childList: true, characterData: true}); }"""


def grid_photo(path: Path, width: int, height: int) -> Path:
    """A grey photo with a grid and a gradient, so misaligned layers would show."""
    y, x = np.mgrid[0:height, 0:width]
    grey = (60 + 140 * x / width).astype(np.uint8)
    grey[(y % 40 < 2) | (x % 40 < 2)] = 250
    Image.fromarray(grey).save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("browser_photos")
    broken = folder / "broken.jpg"
    broken.write_bytes(b"this is not a photo")
    return {
        "portrait": grid_photo(folder / "portrait.png", 481, 640),
        "panorama": grid_photo(folder / "panorama.png", 1600, 400),
        "square": grid_photo(folder / "square.png", 300, 300),
        "broken": broken,
    }


@pytest.fixture(scope="module")
def server_url(app_server):
    return app_server.url


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, server_url):
    """A fresh page at a viewport; fails the test on any console error or uncaught exception."""
    width, height = VIEWPORTS[request.param]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.problems = []  # nothing is filtered out
    page.on(
        "console",
        lambda message: (
            message.type == "error" and page.problems.append(f"console: {message.text} ({message.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.set_default_timeout(TIMEOUT_MS)
    page.viewport_name = request.param
    page.goto(server_url)
    page.locator("#model-line code").first.wait_for()  # the model line arrives with the page's load event
    yield page
    page.close()
    assert not page.problems, "\n".join(page.problems)


def upload(page, path: Path) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))


def wait_for_result(page, size: tuple[int, int]) -> None:
    """Until the full-size result and both before/after layers are loaded."""
    page.wait_for_function(
        """size => { const result = document.querySelector('#result img');
                     const layers = Array.from(document.querySelectorAll('#before-after img'));
                     return result && result.complete && result.naturalWidth === size[0]
                            && result.naturalHeight === size[1] && layers.length >= 2
                            && layers.every(img => img.complete && img.naturalWidth > 0); }""",
        arg=list(size),
    )


def check_layer_geometry(page, size: tuple[int, int]) -> None:
    """Both layers draw the whole photo in the same place, undistorted, as large as the panel allows
    (up to its own size), and the panel is no taller than the photo: no empty bands."""
    layers = page.evaluate(LAYERS_JS)
    assert len(layers) == 2, layers
    before, after = layers
    assert before["natural"] == after["natural"] == list(size)
    assert before["box"] == pytest.approx(after["box"], abs=0.5), f"layers' boxes differ: {layers}"
    assert before["drawn"] == pytest.approx(after["drawn"], abs=0.5), f"photos drawn apart: {layers}"
    x, y, width, height = before["drawn"]
    cx, cy, cwidth, cheight = before["clip"]
    assert width / height == pytest.approx(size[0] / size[1], rel=0.01), "photo distorted"
    assert cx - 0.5 <= x and x + width <= cx + cwidth + 0.5 and cy - 0.5 <= y and y + height <= cy + cheight + 0.5, (
        f"part of the photo is cut off: drawn {before['drawn']}, visible {before['clip']}"
    )
    panel_width, panel_height = page.evaluate(
        "() => { const panel = document.querySelector('#before-after'); return [panel.clientWidth, panel.clientHeight]; }"
    )
    scale = min(panel_width / size[0], MAX_SLIDER_HEIGHT / size[1], 1)
    assert [width, height] == pytest.approx([size[0] * scale, size[1] * scale], abs=1.5), (
        f"the photo is drawn at {width:.1f}x{height:.1f}, not as large as the {panel_width}x{MAX_SLIDER_HEIGHT} "
        f"panel allows ({size[0] * scale:.1f}x{size[1] * scale:.1f})"
    )
    assert panel_height == pytest.approx(height, abs=1.5), (
        f"empty bands: a {panel_height} px panel, a {height} px photo"
    )


# The slider: the handle's line (its x), the photo's drawn box, and the share of the photo the "after"
# layer shows (its clip-path's left inset, in % of the photo).
SLIDER_JS = """() => { const handle = document.querySelector('#before-after [data-testid=slider]').getBoundingClientRect();
  const layers = document.querySelectorAll('#before-after img'), photo = layers[0].getBoundingClientRect();
  const inset = /inset\\([^)]*?([\\d.]+)%\\)/.exec(layers[1].style.clipPath);
  return {handle: handle.x + handle.width / 2, photo: [photo.x, photo.y, photo.width, photo.height],
          panel: document.querySelector('#before-after').getBoundingClientRect().toJSON(),
          after_from: inset ? Number(inset[1]) : null}; }"""


def drag_handle(page, to_x: float) -> dict:
    """Drag the slider's handle to ``to_x`` (page pixels, left to right) and say where it ended."""
    start = page.evaluate(SLIDER_JS)
    x, y, width, height = start["photo"]
    grab = min(max(start["handle"], x + 2), x + width - 2)  # the handle's part over the photo
    page.mouse.move(grab, y + height / 2)
    page.mouse.down()
    page.mouse.move(to_x, y + height / 2, steps=5)
    page.mouse.up()
    return page.evaluate(SLIDER_JS)


# Resolves once the page has not scrolled for five animation frames: after each result a phone's
# page scrolls smoothly to the photo, and what is measured mid-scroll has moved by the next step.
STILL_JS = """() => new Promise(done => { let last = NaN, still = 0;
  const look = () => { still = scrollY === last ? still + 1 : 0; last = scrollY;
    if (still >= 5) done(); else requestAnimationFrame(look); };
  look(); })"""


def check_handle_stays_on_the_photo(page) -> None:
    """Wherever the handle is dragged, even over the panel's margins, it stays on the photo, and the
    photo shows "after" from the handle on: the handle at 25% of the photo shows 25% "before"."""
    page.locator("#before-after").scroll_into_view_if_needed()
    page.evaluate(STILL_JS)
    panel = page.evaluate(SLIDER_JS)["panel"]
    for share in (0.02, 0.25, 0.98):  # of the panel's width: beside the photo for a portrait on a desktop
        end = drag_handle(page, panel["x"] + share * panel["width"])
        x, _, width, _ = end["photo"]
        assert x - 1 <= end["handle"] <= x + width + 1, (
            f"dragged to {share:.0%} of the panel, the handle left the photo: {end}"
        )
        assert end["after_from"] == pytest.approx(100 * (end["handle"] - x) / width, abs=1), (
            f"the handle at {end['handle']:.1f} does not split the photo where it stands: {end}"
        )
    x, _, width, _ = page.evaluate(SLIDER_JS)["photo"]
    end = drag_handle(page, x + 0.25 * width)
    assert end["after_from"] == pytest.approx(25, abs=1), f"the handle at 25% of the photo: {end}"
    drag_handle(page, x + 0.5 * width)  # as the screenshot shows it


def shot(page, name: str) -> None:
    """The whole page as app_<name>.png in SHOTS."""
    page.evaluate("document.fonts.ready")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"app_{name}.png"), full_page=True)


def test_before_after_layers_align_and_show_the_whole_photo(page, photos):
    for name, size in (("portrait", (481, 640)), ("panorama", (1600, 400))):
        upload(page, photos[name])
        page.evaluate(WATCH_STATUS_JS)
        page.get_by_role("button", name="Colorize", exact=True).click()
        wait_for_result(page, size)
        check_layer_geometry(page, size)
        seen = page.evaluate("window.statusSeen")
        # "Colorizing…" at the click, then Gradio's "queue: ..." / "processing | t/ETA" over the same spot.
        assert any("Colorizing…" in text for text in seen), f"no message near the button at the click: {seen}"
        assert any("processing |" in text for text in seen), f"no progress near the button while working: {seen}"
        assert page.locator("#status").inner_text().startswith(f"Colorized {size[0]}×{size[1]} in ")
        if page.viewport_name == "phone":  # one column: the result is scrolled into view, all of it
            page.wait_for_function(
                "() => { const view = document.querySelector('#before-after').getBoundingClientRect();"
                " return view.top >= -1 && view.bottom <= innerHeight + 1; }"
            )
        check_handle_stays_on_the_photo(page)
        shot(page, f"{name}_{page.viewport_name}")


def test_new_upload_clears_the_old_result_and_error(page, photos):
    upload(page, photos["broken"])
    page.get_by_role("button", name="Colorize", exact=True).click()
    page.get_by_text("not a recognised image format").first.wait_for()  # the error toast
    upload(page, photos["square"])
    page.wait_for_function("() => !document.querySelector('#status')?.innerText.trim()")
    assert page.locator("#result img").count() == 0 and page.locator("#before-after img").count() == 0
    assert not page.locator("#result, #before-after, #status").get_by_text("Error").count(), "stale error badge"

    page.get_by_role("button", name="Colorize", exact=True).click()
    wait_for_result(page, (300, 300))
    upload(page, photos["portrait"])  # a new photo: the old result and slider go at once
    page.wait_for_function("() => document.querySelectorAll('#result img, #before-after img').length === 0")
    # The status is emptied by the upload's event, whose timer ("0.0s") shows in it while that runs;
    # a status left from the old result never empties, and this wait fails.
    page.wait_for_function("() => !document.querySelector('#status')?.innerText.trim()")
    shot(page, f"cleared_{page.viewport_name}")


def test_example_colorizes_in_one_click(page):
    page.locator(".gallery img").nth(1).click()  # the second example (chelsea.jpg, 451x300); no Colorize click
    wait_for_result(page, (451, 300))
    check_layer_geometry(page, (451, 300))
    shot(page, f"example_{page.viewport_name}")


def test_many_photos_tab_keeps_the_good_ones_and_lists_the_broken_one(page, photos):
    page.get_by_role("tab", name="Many photos").click()
    page.locator("#many-files input[type=file]").set_input_files(
        [str(photos["square"]), str(photos["broken"]), str(photos["panorama"])]
    )
    page.get_by_role("button", name="Colorize all").click()
    page.wait_for_function("() => document.querySelector('#many-status')?.innerText.includes('Colorized 2 of 3')")
    status = page.locator("#many-status").inner_text()
    assert "broken.jpg: not a recognised image format" in status, status
    page.wait_for_function("() => document.querySelectorAll('#many-gallery img').length === 2")
    captions = page.locator("#many-gallery").inner_text()
    assert "square_color.png" in captions and "panorama_color.png" in captions, captions
    link = page.locator("#many-zip a").first
    link.wait_for()
    assert "colorized_photos.zip" in (link.get_attribute("href") or "") + link.inner_text()
    shot(page, f"many_{page.viewport_name}")


def test_settings_show_the_controls(browser, server_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server_url)
    page.locator("#model-line code").first.wait_for()
    page.get_by_role("button", name="Settings").first.click()  # the accordion (the footer has a Settings link too)
    for label in ("Vibrancy", "Render size", "Colour upsampling", "Keep original colours"):
        page.get_by_text(label, exact=True).first.wait_for(state="visible", timeout=10_000)  # the accordion opens
    assert page.get_by_text("Higher is more colourful").first.is_visible()
    assert not page.get_by_text("Speed", exact=True).is_visible(), "no int8 model: the speed choice stays hidden"
    shot(page, "controls")
    assert not problems, "\n".join(problems)
    page.close()


def grey_clip(path: Path, width: int = 96, height: int = 64, count: int = 10) -> Path:
    """A small grey film with a tone: a gradient with a disc moving right, 10 frames/s."""
    from testkit.video_clips import write_clip

    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for index in range(count):
        grey = (50 + 140 * x / width).astype(np.uint8)
        grey[(y - height // 2) ** 2 + (x - width // 4 - 3 * index) ** 2 < (height // 5) ** 2] = 225
        frames.append(np.repeat(grey[..., None], 3, axis=2))  # HxW -> HxWx3 RGB
    return write_clip(path, frames, fps=10, audio="aac")


# The result's <video>: once its metadata has loaded, its duration (NaN before; Infinity for streams).
FILM_DURATION_JS = """() => new Promise(resolve => {
  const video = document.querySelector('#film-result video');
  if (video.readyState >= 1) resolve(video.duration);
  else { video.addEventListener('loadedmetadata', () => resolve(video.duration), {once: true});
         video.addEventListener('error', () => resolve(`error ${video.error && video.error.code}`), {once: true}); }
})"""


def test_film_tab_colorizes_a_clip_that_plays(browser, server_url, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server_url)
    page.locator("#model-line code").first.wait_for()
    page.get_by_role("tab", name="Film").click()
    page.locator("#film input[type=file]").set_input_files(str(grey_clip(tmp_path / "reel.mp4")))
    page.locator("#film video").wait_for()  # the upload is shown
    page.evaluate("""() => { window.filmSeen = [];  // what the result panel shows while it works
      const panel = document.querySelector('#film-result');
      new MutationObserver(() => window.filmSeen.push(panel.innerText.trim()))
        .observe(panel, {subtree: true, childList: true, characterData: true}); }""")
    page.locator("#film-button").click()
    page.wait_for_function("() => document.querySelector('#film-status')?.innerText.includes('Colorized 10 frames')")
    page.locator("#film-result video").wait_for()
    seen = page.evaluate("window.filmSeen")
    assert any("/10 frames" in text for text in seen), f"no frame count shown while it worked: {seen}"
    duration = page.evaluate(FILM_DURATION_JS)
    assert isinstance(duration, (int, float)) and 0.9 <= duration <= 1.2, f"the result does not play: {duration}"
    source = page.locator("#film-result video").get_attribute("src") or ""
    assert source.endswith("reel_color.mp4"), source
    shot(page, "video")
    page.close()
    assert not problems, "\n".join(problems)


# The film input's label (it states the limits) and the toolbar the video gets once uploaded.
FILM_LABEL_JS = """() => { const film = document.querySelector('#film'), label = film.querySelector('label[data-testid=block-label]');
  const box = element => { const r = element.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
  return {label: box(label), text: label.innerText, clipped: label.scrollWidth > label.clientWidth + 1,
          toolbar: Array.from(film.querySelectorAll('.icon-button-wrapper button')).map(box)}; }"""


def test_film_limits_stay_readable_beside_the_video_toolbar(page, tmp_path):
    page.get_by_role("tab", name="Film").click()
    page.locator("#film input[type=file]").set_input_files(str(grey_clip(tmp_path / "reel.mp4")))
    page.locator("#film video").wait_for()
    page.locator("#film .icon-button-wrapper button").first.wait_for()
    seen = page.evaluate(FILM_LABEL_JS)
    assert "3,600 frames" in seen["text"] and not seen["clipped"], seen
    lx, ly, lw, lh = seen["label"]
    for bx, by, bw, bh in seen["toolbar"]:
        overlap = min(lx + lw, bx + bw) > max(lx, bx) and min(ly + lh, by + bh) > max(ly, by)
        assert not overlap, f"the limits label runs under the video's toolbar: {seen}"
    shot(page, f"film_{page.viewport_name}")
