"""Command-palette entries for the chart's settings from anywhere on the main screen, each with
the key it has now (after the user's keymap).

While the chart has the focus its keys are active bindings, and :func:`palette.screen_commands`
lists them already; the system pane's key is the main screen's own, listed the same way."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from lerax_tui.tui.keymap import key_label
from lerax_tui.tui.screens.main import MainScreen
from lerax_tui.tui.widgets.return_chart import ReturnChart


def view_commands(app: App, screen: Screen) -> Iterable[SystemCommand]:
    if not isinstance(screen, MainScreen):
        return
    chart = screen.query_one(ReturnChart)
    if chart.has_focus:
        return
    for binding in ReturnChart.BINDINGS:
        assert isinstance(binding, Binding) and binding.id
        yield SystemCommand(
            f"Chart: {binding.description}",
            f"{key_label(app, binding.id)} on the chart",
            lambda action=binding.action: chart.run_action(action),
        )
