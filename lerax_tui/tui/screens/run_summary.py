"""One past run in full: status and figures, the hyperparameters that differ from its environment's
preset, each seed's results, and where it came from when it continues a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lerax_tui.train.run_summary import RunSummary, started_label
from lerax_tui.tui.csv_export import export_run_metrics
from lerax_tui.tui.run_text import DASH, format_return, format_steps, status_text


class RunSummaryScreen(Screen):
    """A run's summary (Escape goes back).

    Args:
        summary: The run, as the Runs table read it.
        exports_dir: Where **x** writes the run's metrics CSV.
    """

    CSS_PATH = "../runs.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="summary.back"),
        Binding("x", "export", "Export metrics CSV", id="summary.export"),
    ]
    HELP = """\
## Run summary

The run's status and figures, the hyperparameters that differ from its environment's preset (the
rest are the preset's), one row per seed (final and best greedy return, training episodes, the
mean return of its last 20 training episodes), and its origin when it continues a checkpoint.
**{key:summary.export}** exports its metrics (a row per chunk) to CSV; **{key:summary.back}** goes back.
"""

    def __init__(
        self, summary: RunSummary, *, exports_dir: Path, export_name: str | None = None, title: str | None = None
    ) -> None:
        super().__init__()
        self.summary, self.exports_dir = summary, exports_dir
        self.export_name = export_name or summary.name  # a sweep member's: SWEEP-config-000
        self.heading = title or summary.name  # a sweep member's: SWEEP/config-000 (lr 0.001)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="summary-body"):
            yield Static(self.header_text(), id="summary-header")
            yield Static(Text("Hyperparameters (differing from the preset)", style="bold"), classes="summary-title")
            yield Static(self.differences_text(), id="summary-config")
            yield Static(Text("Seeds", style="bold"), classes="summary-title")
            yield DataTable(id="summary-seeds", cursor_type="none", zebra_stripes=True)
            if self.summary.origin:
                yield Static(Text("Origin", style="bold"), classes="summary-title")
                yield Static(origin_text(self.summary.origin), id="summary-origin")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#summary-seeds", DataTable)
        for label in ("seed", "final", "best", "best at", "episodes", "recent"):
            table.add_column(label, key=label)
        for s in self.summary.seeds:
            table.add_row(
                str(s.seed if s.seed is not None else s.index),
                Text(format_return(s.final), justify="right"),
                Text(format_return(s.best), justify="right"),
                Text(format_steps(s.best_step), justify="right"),
                Text(f"{s.episodes:,}", justify="right"),
                Text(format_return(s.recent), justify="right"),
            )

    def header_text(self) -> Text:
        s = self.summary
        total = f" / {s.total_timesteps:,}" if s.total_timesteps else ""
        text = Text.assemble((self.heading, "bold"), "\n")
        text.append_text(Text.assemble(("env      ", "dim"), s.env_id, ("   status ", "dim"), status_text(s.status)))
        text.append("\n")
        text.append_text(
            Text.assemble(
                ("steps    ", "dim"),
                f"{s.step:,}{total}",
                ("   seeds ", "dim"),
                str(s.num_seeds),
                ("   started ", "dim"),
                started_label(s),
            )
        )
        text.append("\n")
        text.append_text(
            Text.assemble(
                ("greedy   ", "dim"),
                "final ",
                (format_return(s.final), "bold"),
                "   best ",
                (format_return(s.best), "bold"),
                (f"   ({s.evaluations} periodic evaluations)", "dim"),
            )
        )
        if s.error:
            text.append(f"\nerror    {s.error}", style="red")
        return text

    def differences_text(self) -> Text:
        rows = preset_differences(self.summary)
        if not rows:
            return Text("none: the preset of " + self.summary.env_id, style="dim")
        width = max(len(k) for k, _, _ in rows)
        text = Text()
        for key, value, preset_value in rows:
            text.append(f"{key:<{width}}  ", style="dim")
            text.append(value, style="bold")
            text.append(f"   preset {preset_value}\n", style="dim")
        return text

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_export(self) -> None:
        export_run_metrics(self, self.summary.path, self.exports_dir / f"{self.export_name}-metrics.csv")


def preset_differences(summary: RunSummary) -> list[tuple[str, str, str]]:
    """``(key, run's value, preset's value)`` for every hyperparameter that differs from the
    env's preset (an env the presets do not know compares with the defaults)."""
    from lerax_tui.train.config import DQNConfig, preset

    try:
        base = preset(summary.env_id).to_dict()
    except Exception:  # an env id from a hostile file: compare with the defaults
        base = DQNConfig().to_dict()
    rows = []
    for key in sorted(set(summary.config) | set(base)):
        value, preset_value = summary.config.get(key, DASH), base.get(key, DASH)
        if key in summary.config and value != preset_value:
            rows.append((key, _shown(value), _shown(preset_value)))
    return rows


def origin_text(origin: dict[str, Any]) -> Text:
    """Where a continued run came from, one field a line (only the fields a file holds)."""
    labels = (
        ("path", "file"),
        ("run", "run"),
        ("step", "step"),
        ("from", "from"),
        ("exact", "exact"),
        ("epsilon_start", "epsilon start"),
        ("layout", "layout"),
        ("env_id", "env"),
        ("fingerprint", "fingerprint"),
    )
    text = Text()
    for key, label in labels:
        if key in origin and origin[key] is not None:
            value = origin[key]
            shown = f"{value:,}" if type(value) is int else _shown(value)
            text.append(f"{label:<14}", style="dim")
            text.append(f"{shown}\n")
    return text


def _shown(value: Any) -> str:
    if type(value) is int:
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)[:200]
