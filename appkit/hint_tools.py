"""The page's hints mode (the user-guided model): its tools under the colorized photo, and their
events. A click on the photo puts a point (a hint of the picker's colour) and chooses it; the
suggested colours at the chosen point (``colorizer.suggest``) and the free picker set its colour;
the table moves a point (edit x, y), and a row's click chooses it; *Delete point* and *Clear hints*
remove points. After each change the photo is colorized again, and the points are drawn on it
(``page.MARKERS_JS``)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from appkit.handlers import Handlers
from appkit.page import MARKERS_JS, SWATCHES_JS

DEFAULT_HINT_COLOUR = "#2f6fd6"


@dataclass(frozen=True)
class HintTools:
    """The hints mode's components: ``group`` (shown with the user-guided model), ``hints`` (the
    table the colorize events read), the picker, the suggested colours (#rrggbb, shown in
    their colour) and their note, and ``chosen`` (the table row the colour tools act on)."""

    group: gr.Group
    hints: gr.Dataframe
    picker: gr.ColorPicker
    suggested: gr.Radio
    note: gr.Markdown
    delete: gr.Button
    clear: gr.Button
    chosen: gr.State


def hint_tools() -> HintTools:
    """The hints mode's components, laid out where this is called (hidden until the user-guided
    model is chosen)."""
    with gr.Group(visible=False, elem_id="hint-tools") as group:
        suggested = gr.Radio(
            [],
            label="Suggested colours at the point (the share of the model's belief)",
            visible=False,
            elem_id="suggested",
        )
        note = gr.Markdown(elem_id="suggest-note")
        with gr.Row():
            picker = gr.ColorPicker(DEFAULT_HINT_COLOUR, label="Point colour (or pick freely)", elem_id="hint-colour")
            delete = gr.Button("Delete point", elem_id="delete-hint")
            clear = gr.Button("Clear hints", elem_id="clear-hints")
        hints = gr.Dataframe(
            headers=["x", "y", "color", "size"],
            datatype=["number", "number", "str", "number"],
            column_count=(4, "fixed"),
            interactive=True,
            label="Hints: click the colorized photo to add one; edit a row to move it, click a row to choose it",
            elem_id="hints",
        )
    return HintTools(group, hints, picker, suggested, note, delete, clear, gr.State(None))


def wire_hint_tools(
    tools: HintTools,
    handlers: Handlers,
    source: gr.Image,
    result: gr.Image,
    colorize: tuple[list, list, dict],
    quick: dict,
) -> None:
    """The hints mode's events. ``colorize``: the page's colorize event (its inputs, outputs and
    options), run after every change of the points; ``quick``: the options of events that only
    edit the page (no queue, no progress, not in the API)."""
    inputs, outputs, options = colorize
    suggestions = [tools.suggested, tools.note]
    suggest = (handlers.suggest, [source, tools.hints, tools.chosen], suggestions)
    added = result.select(handlers.add_hint, [tools.hints, tools.picker], [tools.hints, tools.chosen], **quick)
    for edited in (
        added,
        tools.suggested.input(
            handlers.choose_suggestion,
            [tools.hints, tools.chosen, tools.suggested],
            [tools.hints, tools.picker],
            **quick,
        ),
        tools.picker.input(
            handlers.recolour_hint,
            [tools.hints, tools.chosen, tools.picker],
            tools.hints,
            trigger_mode="always_last",
            **quick,
        ),
        tools.delete.click(handlers.delete_hint, [tools.hints, tools.chosen], [tools.hints, tools.chosen], **quick),
        tools.clear.click(lambda: (None, None), None, [tools.hints, tools.chosen], **quick),
    ):
        edited.then(handlers.colorize_page, inputs, outputs, **options)
    tools.hints.input(handlers.colorize_page, inputs, outputs, **options)
    # The suggestions follow the chosen point: a new one, or a row clicked in the table; none after a deletion.
    for chosen in (added, tools.hints.select(handlers.choose_row, tools.hints, tools.chosen, **quick)):
        chosen.then(*suggest, **options).then(None, js=SWATCHES_JS)
    for emptied in (tools.delete.click, tools.clear.click):
        emptied(Handlers.no_suggestions, None, suggestions, **quick)
    source.change(
        lambda: (None, None, *Handlers.no_suggestions()), None, [tools.hints, tools.chosen, *suggestions], **quick
    )
    tools.hints.change(None, tools.hints, None, js=MARKERS_JS, **quick)
