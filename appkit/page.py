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
# The before/after layers: Gradio 6.31 lays the first image out in the flow (width 100%, max-height
# 500 px) and the second absolutely over the 400 px panel, so photos that are not ~3:2 were offset and
# cropped. Both now fill the panel and letterbox the same way: pixel-aligned, the whole photo shown.
CSS = """
#model-line { opacity: 0.75; font-size: 0.9em; }
#before-after img { position: absolute; inset: 0; width: 100%; height: 100%; max-width: none;
                    max-height: none; margin: 0; object-fit: contain; }
"""
WORKING_JS = "() => 'Colorizing…'"
# After a result on a narrow screen (one column), bring the before/after view into sight.
SCROLL_JS = """() => { if (window.innerWidth < 768) {
  document.getElementById('before-after')?.scrollIntoView({behavior: 'smooth', block: 'start'}); } }"""
