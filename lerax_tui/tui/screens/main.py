"""The main screen: environments / config / past runs on the left, the charts on the right."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from lerax_tui.train.config import DQNConfig
from lerax_tui.tui.widgets.config_form import ConfigForm
from lerax_tui.tui.widgets.env_picker import EnvPicker
from lerax_tui.tui.widgets.key_hints import KeyHints
from lerax_tui.tui.widgets.metrics_view import MetricsView
from lerax_tui.tui.widgets.return_chart import Overlay, ReturnChart
from lerax_tui.tui.widgets.runs_list import RunsList
from lerax_tui.tui.widgets.status_bar import StatusBar

NARROW_BELOW = 100  # columns: the sidebar shrinks and labels shorten
SHORT_BELOW = 30  # rows: the loss/epsilon view shrinks to one line each


class MainScreen(Screen):
    def __init__(self, runs_dir: Path, env_id: str, config: DQNConfig) -> None:
        super().__init__(id="main")
        self.runs_dir, self.env_id, self.config = runs_dir, env_id, config

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with TabbedContent(id="sidebar", initial="tab-envs"):
                with TabPane("Env", id="tab-envs"):
                    yield EnvPicker(self.env_id, id="env-picker")
                with TabPane("Config", id="tab-config"):
                    yield ConfigForm(self.config, id="config-form")
                with TabPane("Runs", id="tab-runs"):
                    yield RunsList(self.runs_dir, id="runs-list")
            with Vertical(id="plots"):
                yield ReturnChart(id="chart")
                yield MetricsView(id="metrics")
        yield StatusBar(id="status")
        yield KeyHints(id="key-hints")

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        self.set_class(self.size.height < SHORT_BELOW, "-short")

    def show_tab(self, tab_id: str) -> None:
        self.query_one("#sidebar", TabbedContent).active = tab_id
        pane = self.query_one(f"#{tab_id}", TabPane)
        focusable = [w for w in pane.query("*") if w.focusable]
        if focusable:
            focusable[0].focus()

    @on(EnvPicker.Selected)
    def _env_selected(self, event: EnvPicker.Selected) -> None:
        self.app.select_env(event.env.env_id)  # type: ignore[attr-defined]

    @on(RunsList.OverlaysChanged)
    def _overlays_changed(self, event: RunsList.OverlaysChanged) -> None:
        chart = self.query_one(ReturnChart)
        chart.set_overlays({name: Overlay(name, history) for name, history in event.overlays.items()})
