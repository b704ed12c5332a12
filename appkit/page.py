"""The page's words and looks: its title and introduction, the theme, and the few style and script
fixes laid over Gradio's own (each says what it fixes)."""

import gradio as gr

TITLE = "Black-and-white photo and film colorizer"
INTRO = f"""\
# {TITLE}
Upload an old photo (drag it here, paste it, or click to choose a file): the
[ECCV16 model](https://richzhang.github.io/colorization/) of Zhang, Isola and Efros guesses plausible
colours for it. The result keeps your photo's full resolution and downloads as PNG. Many photos at
once: the **Many photos** tab; a short film: the **Film** tab.
"""
# Gradio 6.31's bundled SourceSansPro-SemiBold.woff2 holds only a few glyphs, so semi-bold text (titles,
# labels, buttons) mixed two fonts; with the complete Bold face declared instead, weight 600 resolves to it.
THEME = gr.themes.Default(
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"]
)
# The before/after view. Gradio 6.31 centres a letterboxed photo in a 400 px panel and lets the slider's
# handle travel the whole panel, over the empty bands beside or above the photo. Here the slider's box
# (.wrap) is the photo's own box: the first layer sits in the flow at its natural size, shrunk to fit
# the column and 400 px of height; the second lies exactly over it; the panel's height follows, so the
# handle's track is the photo and no band is left. (The first layer's size sets the box: both layers
# are the same size, the result having the photo's size.) The films' labels (the limits) stop short of
# the video's toolbar (up to three buttons, 71 px) instead of running under it on a phone.
CSS = """
#model-line { opacity: 0.75; font-size: 0.9em; }
#before-after { height: auto !important; }
#before-after .slider-wrap.limit_height, #before-after .slider-wrap.limit_height .content {
    display: block; height: auto; }
#before-after .slider-wrap.limit_height .wrap { width: fit-content; max-width: 100%; height: auto; margin: 0 auto; }
#before-after .slider-wrap.limit_height img { display: block; width: 100%; height: auto; max-width: none;
    max-height: 400px !important; margin: 0; object-fit: fill; }
#before-after .slider-wrap.limit_height img.fixed { position: absolute; inset: 0; height: 100%; }
#film > label[data-testid="block-label"], #film-result > label[data-testid="block-label"] {
    max-width: calc(100% - 84px); }
"""
WORKING_JS = "() => 'Colorizing…'"
# After a result on a narrow screen (one column), bring the before/after view into sight, once its
# layers and the result below have loaded (up to 10 s): the view takes its photo's height, and the
# page only becomes long enough to scroll it to the top then.
SCROLL_JS = """() => { if (window.innerWidth >= 768) return;
  const deadline = Date.now() + 10000;
  const scroll = () => {
    const images = Array.from(document.querySelectorAll('#before-after img, #result img'));
    if (Date.now() < deadline && (images.length < 3 || !images.every(img => img.complete && img.naturalWidth))) {
      setTimeout(scroll, 100); return; }
    document.getElementById('before-after')?.scrollIntoView({behavior: 'smooth', block: 'start'}); };
  scroll(); }"""
