"""The ticked runs' hyperparameters side by side: the result rows, then only the hyperparameters that
differ (**a** shows them all); **x** writes the table shown to CSV."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lerax_tui.train.run_export import RESULT_ROWS, compare_table, write_csv
from lerax_tui.train.run_summary import RunSummary
from lerax_tui.tui.columns import cut_left, cut_middle
from lerax_tui.tui.csv_export import export_in_worker
from lerax_tui.tui.keymap import key_label
from lerax_tui.tui.run_text import overlay_marker, short_name

RUN_COLUMN = 24  # a run's column: its marker and its name without the env (cut from the left if longer)


class RunCompareScreen(Screen):
    """Compare runs (Escape goes back).

    Args:
        summaries: The runs, in ticking order (the K-th has the chart's K-th overlay marker).
        exports_dir: Where **x** writes the CSV.
    """

    CSS_PATH = "../runs.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="compare.back"),
        Binding("a", "toggle_all", "All rows", id="compare.all"),
        Binding("x", "export", "Export CSV", id="compare.export"),
    ]
    HELP = """\
## Compare runs

The ticked runs side by side, one column each (its chart marker first): status, steps, seeds and the
final and best greedy returns, then the hyperparameters whose values differ between them.
**{key:compare.all}** shows every hyperparameter (and back), **{key:compare.export}** writes the table
shown to CSV under `--runs-dir`/exports, **{key:compare.back}** goes back.
"""

    def __init__(self, summaries: list[RunSummary], *, exports_dir: Path) -> None:
        super().__init__()
        self.summaries, self.exports_dir = summaries, exports_dir
        self.only_differing = True

    def compose(self) -> ComposeResult:
        yield Static("", id="compare-caption")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.fill()
        self.query_one(DataTable).focus()

    def table(self) -> tuple[list[str], list[list[str]]]:
        return compare_table(self.summaries, only_differing=self.only_differing)

    def fill(self) -> None:
        header, rows = self.table()
        table = self.query_one(DataTable)
        table.clear(columns=True)
        key_width = max(len(r[0]) for r in rows) if rows else 8
        table.add_column("", key="key", width=key_width)
        for i, summary in enumerate(self.summaries):
            name = cut_left(short_name(summary), RUN_COLUMN - 2)
            table.add_column(f"{overlay_marker(i)} {name}", key=f"run{i}", width=RUN_COLUMN)
        for row in rows:
            style = "dim" if row[0] in RESULT_ROWS else "bold"
            cells = [Text(row[0], style=style)] + [Text(cut_middle(_grouped(v), RUN_COLUMN)) for v in row[1:]]
            table.add_row(*cells)
        hidden = (
            ""
            if not self.only_differing
            else f" · only the hyperparameters that differ ({key_label(self.app, 'compare.all')}: all)"
        )
        self.query_one("#compare-caption", Static).update(Text(f"{len(self.summaries)} runs{hidden}", style="dim"))

    def action_toggle_all(self) -> None:
        self.only_differing = not self.only_differing
        self.fill()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_export(self) -> None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        header, rows = self.table()
        out = self.exports_dir / f"compare-{stamp}.csv"

        def write() -> str:
            return f"{len(rows)} rows × {len(header) - 1} runs → {write_csv(out, header, rows)}"

        export_in_worker(self, write, out)


def _grouped(value: str) -> str:
    """``1000000`` -> ``1,000,000`` on screen (the CSV keeps the plain number)."""
    return f"{int(value):,}" if value.isdigit() and len(value) > 3 else value
