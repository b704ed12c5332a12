"""The app in a real headless Chromium: upload, colorize, see the result, no console errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from testkit.app_server import REPO_ROOT, running_app

CHROMIUM = Path("/usr/bin/chromium")
# Offline and quiet: no sandbox (containers), no GPU, no background calls home, fresh state.
# (Playwright's launch() already gives each browser a fresh temporary profile; it refuses --user-data-dir.)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
EXAMPLE = REPO_ROOT / "examples" / "coffee.jpg"  # 600x400
SCREENSHOT = REPO_ROOT / "tests" / "out" / "app_screenshot.png"
CONTROLS_SCREENSHOT = REPO_ROOT / "tests" / "out" / "app_controls.png"
TIMEOUT_MS = 120_000  # page load and colorizing on two busy CPU cores

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def server_url(synthetic_model, tmp_path_factory):
    with running_app(synthetic_model, tmp_path_factory.mktemp("browser_server")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_upload_colorize_and_see_the_result(browser, server_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []  # console errors and uncaught exceptions; nothing is filtered out
    page.on("console", lambda message: message.type == "error" and problems.append(
        f"console: {message.text} ({message.location.get('url')})"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(server_url)
    page.locator("#model-line code").first.wait_for()  # the model line arrives with the page's load event
    assert "CPUExecutionProvider" in page.locator("#model-line").inner_text()
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Colorize").click()

    result = page.locator("#result img")
    result.wait_for(state="visible")
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=result.element_handle())
    size = result.evaluate("image => [image.naturalWidth, image.naturalHeight]")
    assert size == [600, 400], "the browser did not get the full-resolution result"
    assert ".png" in result.get_attribute("src")
    page.wait_for_function("document.querySelectorAll('#before-after img').length >= 2")  # before and after

    page.evaluate("document.fonts.ready")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert not problems, "\n".join(problems)
    page.close()


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
    assert not page.get_by_text("Speed", exact=True).is_visible(), "no int8 model: the speed choice stays hidden"
    page.locator(".gallery img").nth(1).click()  # the second example (chelsea.jpg, 451x300)
    page.locator("#before-after img, [data-testid=image] img").first.wait_for(state="visible")
    page.get_by_role("button", name="Colorize").click()
    result = page.locator("#result img")
    result.wait_for(state="visible")
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=result.element_handle())
    assert result.evaluate("image => [image.naturalWidth, image.naturalHeight]") == [451, 300], \
        "an example photo must colorize like an upload"
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(CONTROLS_SCREENSHOT), full_page=True)
    assert not problems, "\n".join(problems)
    page.close()
