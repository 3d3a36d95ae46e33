"""The sweep's live leaderboard: one row per configuration (its marker, the values that vary, status,
smoothed training return, greedy evaluation mean ± std - the latest periodic one, the final one once
it finished - and best so far), ordered from the keyboard. The keys post messages; the sweep screen acts on them.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_style import swatch
from lerax_tui.tui.sweep_table import SORT_TITLES, SortKey, cells, columns, ranked

SORT_CYCLE = (SortKey.BEST, SortKey.EVAL, SortKey.RETURN, SortKey.CONFIG)


class Leaderboard(DataTable):
    """Rows are configurations; the cursor row is the focused configuration (the chart's band)."""

    HELP = """\
## Leaderboard

One row per configuration of the sweep: the values that vary, its status, its smoothed training
return (mean over seeds of the last 20 episodes), its greedy evaluation (mean ± std over every seed's
episodes: the latest periodic one while it trains; once it finished, the **final** evaluation of its
final policies, `eval_return_mean` in `sweep --json` - the heading reads *final eval* when every row
shows that one) and its **best**: the best policies' greedy return (each seed's best
evaluation so far, averaged over seeds; once finished, those policies re-evaluated at the end, as
`best_eval_return_mean` in `sweep.json`). The row under the cursor
is drawn on top of the curves, with its seeds' band.

- **{key:leaderboard.sort}** orders by the next column (best, greedy eval, return, configuration),
  **{key:leaderboard.reverse}** reverses the order.
- **{key:leaderboard.use}** puts the configuration into the form ({key:train.toggle} then trains it alone).
- **{key:leaderboard.inspect}** opens its best checkpoint (its best seed's) in the inspector.
- **{key:leaderboard.export}** writes the leaderboard as CSV into the sweep folder.
"""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort by next column", id="leaderboard.sort"),
        Binding("r", "reverse", "Reverse order", id="leaderboard.reverse"),
        Binding("enter", "use", "Use in form", id="leaderboard.use"),
        Binding("i", "inspect", "Inspect best checkpoint", id="leaderboard.inspect"),
        Binding("x", "export", "Export CSV", id="leaderboard.export"),
    ]

    class Focused(Message):
        """The cursor moved to configuration ``index``."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class UseConfig(Message):
        """Put configuration ``index`` into the form."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class InspectBest(Message):
        """Open configuration ``index``'s best checkpoint."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class Export(Message):
        """Write the leaderboard, in the order shown, as CSV."""

    def __init__(self, sweep: SweepRun, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sweep = sweep
        self.sort_key = SortKey.BEST
        self.reverse_order = False
        self._order: list[int] = []
        self._columns: list[tuple[str, int]] = []

    def on_mount(self) -> None:
        self.refresh_rows()

    @property
    def order(self) -> list[int]:
        """Configuration indices, top row first."""
        return list(self._order)

    @property
    def sort_title(self) -> str:
        arrow = "↑" if self.reverse_order else "↓"
        return f"sorted by {SORT_TITLES[self.sort_key]} {arrow}"

    def current_index(self) -> int | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def refresh_rows(self) -> None:
        """Show the sweep as it is now, in the chosen order, the cursor staying on its configuration."""
        sweep = self.sweep
        keep = self.current_index()
        titles = [c.title for c in columns(sweep)]
        texts_by_index = {m.index: cells(sweep, m) for m in sweep.members}
        widths = [max([len(t)] + [len(row[i]) for row in texts_by_index.values()]) for i, t in enumerate(titles)]
        widths[0] += 2  # the marker before the configuration's number
        shape = list(zip(titles, widths, strict=True))
        if shape != self._columns:  # a wider cell (finished, 1,234.5) widens its column
            self.clear(columns=True)
            for title, width in shape:
                self.add_column(title, key=title, width=width)
            self._columns = shape
        else:
            self.clear()
        members = ranked(sweep, self.sort_key, reverse=self.reverse_order)
        self._order = [m.index for m in members]
        for m in members:
            row_texts = texts_by_index[m.index]
            keys = len(sweep.varying)
            first = swatch(m.index, row_texts[0])
            status = Text(row_texts[keys + 1], style="bold red" if m.error else "")
            row = [first, *row_texts[1 : keys + 1], status, *row_texts[keys + 2 :]]
            self.add_row(*row, key=str(m.index))
        target = keep if keep is not None else (self._order[0] if self._order else None)
        if target is not None:
            self.move_cursor(row=self._order.index(target), animate=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = self.current_index()
        if index is not None:
            self.post_message(self.Focused(index))

    def action_cycle_sort(self) -> None:
        self.sort_key = SORT_CYCLE[(SORT_CYCLE.index(self.sort_key) + 1) % len(SORT_CYCLE)]
        self.refresh_rows()
        self.notify(self.sort_title, timeout=2)

    def action_reverse(self) -> None:
        self.reverse_order = not self.reverse_order
        self.refresh_rows()
        self.notify(self.sort_title, timeout=2)

    def action_use(self) -> None:
        index = self.current_index()
        if index is not None:
            self.post_message(self.UseConfig(index))

    def action_inspect(self) -> None:
        index = self.current_index()
        if index is not None:
            self.post_message(self.InspectBest(index))

    def action_export(self) -> None:
        self.post_message(self.Export())
