"""The hints mode's table edits (appkit.handlers), as the page's events call them with the table
Gradio hands over: a click adds a point and chooses it, the picker or a suggestion recolours the
chosen point only, Delete point removes the chosen one (else the last), a row clicked in the table is
chosen as the handlers count rows (blank ones left out), and a stale choice changes nothing else."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from appkit.handlers import Handlers, hints_from_table

TABLE = pd.DataFrame([[10, 20, "#112233", None], [30, 40, "#445566", 12]], columns=["x", "y", "color", "size"])


def test_a_click_adds_a_point_of_the_pickers_colour_and_chooses_it():
    rows, chosen = Handlers.add_hint(TABLE, "#abcdef", SimpleNamespace(index=(399, 60)))
    assert chosen == 2 and rows[2] == [399, 60, "#abcdef", None]
    assert hints_from_table(rows)[2] == {"x": 399.0, "y": 60.0, "color": "#abcdef"}


def test_a_row_clicked_in_the_table_is_chosen_as_the_handlers_count_rows():
    table = pd.DataFrame([[10, 20, "#112233", None], [None, None, None, None], [30, 40, "#445566", 12]])
    assert [Handlers.choose_row(table, SimpleNamespace(index=(row, 1))) for row in range(3)] == [0, None, 1]
    assert Handlers.recolour_hint(table, 1, "#ff0000")[1] == [30, 40, "#ff0000", 12]


def test_the_picker_and_a_suggestion_recolour_the_chosen_point_only():
    rows = Handlers.recolour_hint(TABLE, 1, "#ff0000")
    assert [row[2] for row in rows] == ["#112233", "#ff0000"]
    rows, picker = Handlers.choose_suggestion(TABLE, 0, "#00ff00")
    assert picker == "#00ff00" and [row[2] for row in rows] == ["#00ff00", "#445566"]
    for stale in (None, 5):
        assert [row[2] for row in Handlers.recolour_hint(TABLE, stale, "#ff0000")] == ["#112233", "#445566"]


def test_delete_point_removes_the_chosen_one_else_the_last():
    rows, chosen = Handlers.delete_hint(TABLE, 0)
    assert chosen is None and [row[:2] for row in rows] == [[30, 40]]
    for stale in (None, 7):
        assert [row[:2] for row in Handlers.delete_hint(TABLE, stale)[0]] == [[10, 20]]
    assert Handlers.delete_hint(None, None) == ([], None)
