"""The checkpoint browser's table: every listed row, the ones the filter keeps, filled in chunks so a
folder of thousands of files never blocks keys, and cells refreshed as rows are verified."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from lerax_tui.core.checkpoint_index import CheckpointRow
from lerax_tui.tui.checkpoint_text import (
    COLUMNS,
    NAME_LEAST,
    NAME_WANT,
    VERIFIED_COLUMNS,
    format_step,
    row_age,
    row_cells,
    row_matches,
)
from lerax_tui.tui.columns import Column, fit_columns

RIGHT_ALIGNED = frozenset({"step", "return", "size", "age"})  # numbers: their headers too
FILL_CHUNK = 300  # rows added to the table per event-loop turn
AGES_UP_TO = 5000  # rows whose age column is refreshed when the browser comes back into view


class CheckpointTable(DataTable):
    """The browser's rows, keyed by path. Enter (select) is shown in the footer as "Load".

    Its columns fit its width: name, step and status first, the others only when they fit (an
    80-column terminal shows what matters without scrolling sideways); the step column is as wide
    as its widest number.

    Args:
        clock: Seconds since the epoch now (the age column); tests fix it.
    """

    BINDINGS = [Binding("enter", "select_cursor", "Load", id="browser.load")]

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.clock = clock
        self.entries: dict[str, CheckpointRow] = {}  # every listed row by key (DataTable's own are `rows`)
        self.filter = ""
        self._order: list[str] = []
        self._shown: list[str] = []
        self._shown_set: set[str] = set()
        self._fill_generation = 0
        self.widths: dict[str, int] = {}  # the shown columns and their widths

    def on_mount(self) -> None:
        self._layout()

    def on_resize(self) -> None:
        if self._layout():
            self._refill()

    def _layout(self) -> bool:
        """Fit the columns to the width (and the step column to its widest number); True when the
        columns changed (the rows must be added again)."""
        widest_step = max((len(format_step(r.step)) for r in self.entries.values()), default=0)
        columns = [
            Column(key, key, max(width, widest_step) if key == "step" else width, priority, flex=key == "name")
            for key, width, priority in COLUMNS
        ]
        longest = max((len(r.name) for r in self.entries.values()), default=16)
        columns[0] = Column(
            "name", "name", NAME_LEAST, 0, flex=True, want=NAME_WANT, want_priority=2.5, most=max(16, longest)
        )
        width = self.size.width or 120
        if self.row_count > max(1, self.size.height - 1):
            width -= 2  # the vertical scrollbar
        fitted = fit_columns(columns, width, gap=2 * self.cell_padding)
        widths = {c.key: w for c, w in fitted}
        if widths == self.widths:
            return False
        self.widths = widths
        self.clear(columns=True)
        for column, w in fitted:
            label = Text(column.key, justify="right" if column.key in RIGHT_ALIGNED else "left")
            self.add_column(label, key=column.key, width=w)
        return True

    # --- what is shown ---------------------------------------------------------------------------

    @property
    def shown(self) -> list[CheckpointRow]:
        """The rows the filter keeps, in table order (some may still wait for their chunk)."""
        return [self.entries[key] for key in self._shown]

    def current_row(self) -> CheckpointRow | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= len(self._shown):
            return None
        return self.entries.get(self._shown[self.cursor_row])

    def select_path(self, path: Path) -> None:
        """Put the cursor on ``path``'s row when it is shown (e.g. a file just exported)."""
        key = str(path)
        if key in self._shown_set:
            index = self._shown.index(key)
            if index < self.row_count:
                self.move_cursor(row=index)

    # --- changing it ------------------------------------------------------------------------------

    def show_rows(self, rows: list[CheckpointRow]) -> None:
        """Show a new listing (the cursor stays on the same file when it is still there)."""
        self.entries = {r.key: r for r in rows}
        self._order = [r.key for r in rows]
        self._layout()
        self._refill()

    def drop_row(self, key: str) -> None:
        """Forget a row (its file was deleted)."""
        self._order = [k for k in self._order if k != key]
        self.entries.pop(key, None)
        self._refill()

    def set_filter(self, text: str) -> bool:
        """Keep the rows whose name, run, env, status or path hold every word; False if unchanged."""
        if text == self.filter:
            return False
        self.filter = text
        self._refill()
        return True

    def refresh_rows(self, keys: Iterable[str]) -> None:
        """Rewrite the cells that verification changes, for the rows of ``keys`` that are shown."""
        now = self.clock()
        for key in keys:
            row = self.entries.get(key)
            if row is None or key not in self._shown_set:
                continue
            if row.step is not None and len(format_step(row.step)) > self.widths.get("step", 99):
                self._layout()  # a wider step than any before: never cut it
                self._refill()
                return
            cells = row_cells(row, now, self.widths)
            for name in self.widths:
                if name not in VERIFIED_COLUMNS:
                    continue
                try:
                    self.update_cell(key, name, cells[name])
                except Exception:  # not added yet (chunked fill) or filtered out meanwhile
                    break

    def refresh_ages(self) -> None:
        """Ages moved on while another screen was shown (skipped for huge tables: r rescans)."""
        if len(self._shown) > AGES_UP_TO or "age" not in self.widths:
            return
        now = self.clock()
        for key in self._shown:
            try:
                self.update_cell(key, "age", row_age(self.entries[key], now))
            except Exception:  # not added yet (chunked fill)
                break

    def _refill(self) -> None:
        """Rebuild the table from the filter: the first rows at once, the rest in chunks between
        events (thousands of rows would otherwise block keys for a second or more)."""
        keep = self.current_row()
        self._shown = [k for k in self._order if row_matches(self.entries[k], self.filter)]
        self._shown_set = set(self._shown)
        self._fill_generation += 1
        self.clear()
        self._add_rows(self._fill_generation, 0, keep.key if keep is not None else None)

    def _add_rows(self, generation: int, start: int, keep: str | None) -> None:
        if generation != self._fill_generation:
            return  # a newer refill took over (the timer dies with the table)
        end = min(len(self._shown), start + FILL_CHUNK)
        now = self.clock()
        with self.app.batch_update():
            for key in self._shown[start:end]:
                cells = row_cells(self.entries[key], now, self.widths)
                self.add_row(*(cells[name] for name in self.widths), key=key)
            if keep is not None and keep in self._shown_set and start <= self._shown.index(keep) < end:
                self.move_cursor(row=self._shown.index(keep))
        if end < len(self._shown):
            self.set_timer(0.01, lambda: self._add_rows(generation, end, keep))
