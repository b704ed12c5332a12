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
# The hints' points drawn on the colorized photo: a dot of the point's colour in a white ring with a
# dark edge (seen on any colour), centred on the pixel's centre, where the photo is drawn in its box
# (object-fit contain). The dots ignore the pointer, so a click on one still reaches the photo. They
# are drawn again when the table changes, the photo (re)loads, or the page's layout changes.
MARKERS_JS = """(table) => {
  const rows = Array.isArray(table) ? table : (table && table.data) || [];
  window.hintPoints = rows.map(row => ({x: Number(row[0]), y: Number(row[1]), colour: String(row[2] || '')}))
    .filter(point => Number.isFinite(point.x) && Number.isFinite(point.y) && /^#[0-9a-f]{6}$/i.test(point.colour));
  if (!window.drawHintPoints) {
    window.drawHintPoints = () => {
      document.querySelectorAll('.hint-marker').forEach(marker => marker.remove());
      const img = document.querySelector('#result img');
      if (!img || !img.naturalWidth) return;
      const frame = img.parentElement, box = img.getBoundingClientRect(), outer = frame.getBoundingClientRect();
      if (getComputedStyle(frame).position === 'static') frame.style.position = 'relative';
      const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
      const left = box.left - outer.left - frame.clientLeft + (box.width - img.naturalWidth * scale) / 2;
      const top = box.top - outer.top - frame.clientTop + (box.height - img.naturalHeight * scale) / 2;
      for (const point of window.hintPoints) {
        const marker = document.createElement('div');
        marker.className = 'hint-marker';
        marker.style.cssText = `position:absolute; box-sizing:border-box; width:14px; height:14px; margin:-7px 0 0 -7px;
          border-radius:50%; border:2px solid #fff; box-shadow:0 0 0 1px #000; pointer-events:none; z-index:5;
          background:${point.colour}; left:${left + (point.x + 0.5) * scale}px; top:${top + (point.y + 0.5) * scale}px`;
        frame.appendChild(marker);
      }
    };
    document.addEventListener('load', event => event.target.closest?.('#result') && window.drawHintPoints(), true);
    new ResizeObserver(() => window.drawHintPoints()).observe(document.body);
  }
  window.drawHintPoints();
}"""
# The suggested colours are radio choices whose values are #rrggbb: each is shown in its colour (its
# text, the share, in black or white, whichever reads on it), now and whenever the choices change.
SWATCHES_JS = """() => {
  const paint = () => document.querySelectorAll('#suggested label').forEach(label => {
    const colour = label.querySelector('input')?.value;
    if (!/^#[0-9a-f]{6}$/i.test(colour || '')) return;
    const [r, g, b] = [1, 3, 5].map(i => parseInt(colour.slice(i, i + 2), 16));
    label.style.background = colour;
    label.style.color = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff';
  });
  // New choices may be new labels, or the same inputs given new values (a property, which no
  // MutationObserver sees): repaint a few times a second, once installed.
  const radio = document.getElementById('suggested');
  if (radio && !radio.dataset.painted) {
    radio.dataset.painted = '1';
    setInterval(paint, 200);
  }
  paint();
}"""
