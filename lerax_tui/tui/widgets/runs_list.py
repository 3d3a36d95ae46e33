"""Past runs under ``--runs-dir`` as a table (status, seeds, steps, final and best greedy return,
started); tick any number to overlay their returns on the chart and to compare them.

The folder is rescanned and every ticked run's ``metrics.jsonl`` tailed once a second, so a run that
another process is still writing keeps growing on the chart. The table's figures come from
:class:`~lerax_tui.train.run_summary.RunSummaries` in a thread worker (metrics read incrementally).
"""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from lerax_tui.train.run_export import EXPORTS, export_metrics
from lerax_tui.train.run_summary import RunSummaries, RunSummary
from lerax_tui.train.runs import RunFolder, list_run_folders
from lerax_tui.tui.columns import cut_left, fit_columns
from lerax_tui.tui.history import ReturnHistory
from lerax_tui.tui.overlay_labels import config_differences, overlay_label
from lerax_tui.tui.run_text import overlay_marker, row_cells, table_columns
from lerax_tui.tui.runs_tail import MetricsTail

POLL_S = 1.0

__all__ = ["RunsList", "RunsTable", "config_differences", "overlay_label"]


class RunsTable(DataTable):
    HELP = """\
## Past runs

Every run folder under `--runs-dir`, newest first: status (**running** while a process holds its
lock; **finished**, **stopped** or **failed** as its `result.json` says; **interrupted** when its
writer was killed), seeds, steps, the final and best greedy return, and when it started. Columns
that do not fit are left out (**{key:runs.wide}** widens the table).

**{key:runs.tick}** ticks a run: its smoothed return is overlaid on the chart, with the marker shown
in the first column (told apart without colour too). **{key:runs.open}** opens the run's summary,
**{key:runs.compare}** compares the ticked runs' hyperparameters side by side, **{key:runs.export}**
exports the highlighted run's metrics to CSV (under `--runs-dir`/exports). A run still being written
updates live.
"""

    BINDINGS = [
        Binding("space", "act('tick')", "Tick", id="runs.tick"),
        Binding("enter", "act('open')", "Open run", id="runs.open"),
        Binding("c", "act('compare')", "Compare ticked", id="runs.compare"),
        Binding("x", "act('export')", "Export metrics CSV", id="runs.export"),
        Binding("w", "act('wide')", "Wide runs table", id="runs.wide"),
    ]

    class Act(Message):
        def __init__(self, what: str) -> None:
            super().__init__()
            self.what = what

    def __init__(self, *, id: str | None = None) -> None:
        # no cell padding: each column is one wider instead (text left, numbers right), so a 44-column
        # side pane keeps run, status, steps and best
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=0)

    def action_act(self, what: str) -> None:
        self.post_message(self.Act(what))


class RunsList(Vertical):
    HELP = RunsTable.HELP

    class OverlaysChanged(Message):
        def __init__(self, overlays: dict[str, ReturnHistory]) -> None:
            super().__init__()
            self.overlays = overlays

    class _Summarised(Message):
        def __init__(self, summaries: list[RunSummary], folders: list[RunFolder] | None) -> None:
            super().__init__()
            self.summaries, self.folders = summaries, folders

    class _Exported(Message):
        def __init__(self, text: str, error: bool) -> None:
            super().__init__()
            self.text, self.error = text, error

    def __init__(self, runs_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs_dir = Path(runs_dir)
        self.folders: list[RunFolder] = []
        self.summaries: dict[str, RunSummary] = {}
        self.tick_order: list[str] = []  # the ticked runs in ticking order: the K-th has the K-th marker
        self._tails: dict[str, MetricsTail] = {}
        self._histories: dict[str, ReturnHistory] = {}
        self._reader = RunSummaries()
        self._reader_lock = threading.Lock()
        self._shown: tuple = ()

    def compose(self) -> ComposeResult:
        yield Static(Text(str(self.runs_dir), style="dim"), id="runs-dir-label")
        yield RunsTable(id="runs-table")

    def on_mount(self) -> None:
        self.rescan()
        self.set_interval(POLL_S, self.poll, name="runs-poll")

    # --- the folder and its figures ------------------------------------------------------------------

    def rescan(self) -> None:
        """List the folder now (on the UI thread: at start and when ticking), then read the figures
        in a worker."""
        self._show_folders(list_run_folders(self.runs_dir))
        self._refresh(listing=False)

    def _show_folders(self, folders: list[RunFolder]) -> None:
        if [f.path for f in folders] != [f.path for f in self.folders]:
            self.folders = folders
            keys = {str(f.path) for f in folders}
            self.summaries = {k: v for k, v in self.summaries.items() if k in keys}
            self._redraw()

    def _reading(self) -> bool:
        return any(w.group == "runs-summaries" and not w.is_finished for w in self.workers)

    @work(thread=True, exit_on_error=False, group="runs-summaries")
    def _refresh(self, listing: bool = True) -> None:
        """The folder's listing (``listing``: reads each config.json) and every run's figures, off
        the UI thread."""
        folders = list_run_folders(self.runs_dir) if listing else list(self.folders)
        with self._reader_lock:  # an older worker may still be reading
            summaries = self._reader.summaries([f.path for f in folders])
        self.post_message(self._Summarised(summaries, folders if listing else None))

    @on(_Summarised)
    def _summarised(self, message: _Summarised) -> None:
        if message.folders is not None:
            self._show_folders(message.folders)
        keys = {str(f.path) for f in self.folders}
        self.summaries = {str(s.path): s for s in message.summaries if str(s.path) in keys}
        self._redraw()

    def poll(self) -> None:
        """Once a second: the listing and the figures in a worker; the ticked runs' new lines here
        (few runs, only their new bytes)."""
        if not self._reading():  # a first read of many runs can take longer than a second
            self._refresh()
        changed = False
        for key, tail in self._tails.items():
            records = tail.poll()
            for record in records:
                self._histories[key].add_record(record)
            changed = changed or bool(records)
        if changed:
            self._announce()

    # --- the table ---------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._shown = ()
        self._redraw()

    def _redraw(self) -> None:
        table = self.query_one(RunsTable)
        order = [str(f.path) for f in self.folders]
        known = [self.summaries[k] for k in order if k in self.summaries]
        width = table.size.width or self.size.width or 44
        if len(order) + 1 > (table.size.height or len(order) + 1):
            width -= 1  # the vertical scrollbar
        columns = fit_columns(table_columns(known), max(20, width), gap=1)
        compact = "steps" not in {c.key for c, _ in columns}
        if compact:  # a narrow pane: steps as 1M rather than no steps at all
            columns = fit_columns(table_columns(known, compact=True), max(20, width), gap=1)
        keys = [c.key for c, _ in columns]
        widths = {c.key: w for c, w in columns}
        markers = {key: overlay_marker(i) for i, key in enumerate(self.tick_order)}
        rows: list[tuple[str, list[str | Text]]] = []
        for key in order:
            summary = self.summaries.get(key)
            if summary is None:  # listed, figures still being read
                waiting: list[str | Text] = [" ", cut_left(Path(key).name, widths.get("name", 12)), "…"]
                rows.append((key, waiting[: len(keys)]))
            else:
                rows.append((key, row_cells(summary, keys, widths, markers.get(key), compact=compact)))
        shown = (tuple(keys), tuple(widths.values()), tuple((k, tuple(map(str, cells))) for k, cells in rows))
        if shown == self._shown:
            return
        self._shown = shown
        cursor_key = self.current_key()
        with self.app.batch_update():
            table.clear(columns=True)
            for column, width in columns:
                label = Text(column.label + " ", justify="right") if column.right else Text(column.label)
                table.add_column(label, key=column.key, width=width + 1)
            for key, cells in rows:
                table.add_row(*cells, *[""] * (len(keys) - len(cells)), key=key)
            if cursor_key in order:
                table.move_cursor(row=order.index(cursor_key))
        # the counts first: a narrow pane cuts the folder, not them
        caption = "no runs yet" if not order else f"{len(order)} run{'' if len(order) == 1 else 's'}"
        if self.tick_order:
            caption += f" · {len(self.tick_order)} ticked"
        caption += f" · {self.runs_dir}"
        self.query_one("#runs-dir-label", Static).update(Text(caption, style="dim"))

    def current_key(self) -> str | None:
        table = self.query_one(RunsTable)
        order = [str(f.path) for f in self.folders]
        row = table.cursor_row
        return order[row] if order and 0 <= row < len(order) else None

    # --- ticking and overlays ------------------------------------------------------------------------------

    def tick(self, path: Path, on: bool | None = None) -> None:
        """Tick (or untick, or toggle when ``on`` is None) a run: overlay it on the chart."""
        self.rescan()
        key = str(path)
        if key not in {str(f.path) for f in self.folders}:
            return
        want = key not in self.tick_order if on is None else on
        if want and key not in self.tick_order:
            self.tick_order.append(key)
            self._tails[key] = MetricsTail(Path(key) / "metrics.jsonl")
            self._histories[key] = ReturnHistory()
            for record in self._tails[key].poll():
                self._histories[key].add_record(record)
        elif not want and key in self.tick_order:
            self.tick_order.remove(key)
            del self._tails[key], self._histories[key]
        else:
            return
        self._shown = ()
        self._redraw()
        self._announce()

    @property
    def ticked(self) -> set[str]:
        """The paths (as strings) of the runs overlaid now."""
        return set(self.tick_order)

    def toggle(self, path: Path) -> None:
        """Tick or untick a run (the palette's overlay commands)."""
        self.tick(path)

    def _announce(self) -> None:
        paths = [Path(k) for k in self.tick_order]
        differences = config_differences(paths)
        self.post_message(
            self.OverlaysChanged(
                {
                    f"{overlay_marker(i)} {overlay_label(p, differences.get(p, ''))}": self._histories[str(p)]
                    for i, p in enumerate(paths)
                }
            )
        )

    # --- the table's keys ---------------------------------------------------------------------------------

    @on(RunsTable.Act)
    def _act(self, message: RunsTable.Act) -> None:
        message.stop()
        key = self.current_key()
        if message.what == "tick" and key is not None:
            self.tick(Path(key))
        elif message.what == "open" and key is not None:
            self.open_run(Path(key))
        elif message.what == "compare":
            self.compare()
        elif message.what == "export" and key is not None:
            self.export(Path(key))
        elif message.what == "wide":
            self.toggle_wide()

    def toggle_wide(self) -> None:
        """The runs table takes the whole screen (every column fits), or gives the chart back."""
        self.screen.toggle_class("-runs-wide")
        self._shown = ()
        self.call_after_refresh(self._redraw)

    def open_run(self, path: Path) -> None:
        from lerax_tui.tui.screens.run_summary import RunSummaryScreen

        summary = self.summaries.get(str(path))
        if summary is None:
            self.notify(f"{path.name}: still reading its files, try again in a moment", timeout=3)
            return
        self.app.push_screen(RunSummaryScreen(summary, exports_dir=self.runs_dir / EXPORTS))

    def compare(self) -> None:
        from lerax_tui.tui.screens.run_compare import RunCompareScreen

        chosen = [self.summaries[k] for k in self.tick_order if k in self.summaries]
        if len(chosen) < 2:
            self.notify("Tick two runs or more (space) to compare them.", timeout=4)
            return
        self.app.push_screen(RunCompareScreen(chosen, exports_dir=self.runs_dir / EXPORTS))

    def export(self, path: Path) -> None:
        self._export(path, self.runs_dir / EXPORTS / f"{path.name}-metrics.csv")

    @work(thread=True, exit_on_error=False, group="runs-export")
    def _export(self, path: Path, out: Path) -> None:
        try:
            written, rows = export_metrics(path, out)
        except OSError as e:
            self.post_message(self._Exported(f"export failed: {e.strerror or e} ({out})", True))
            return
        when = _dt.datetime.now().strftime("%H:%M:%S")
        self.post_message(self._Exported(f"{rows:,} rows of {path.name} → {written} ({when})", False))

    @on(_Exported)
    def _exported(self, message: _Exported) -> None:
        self.notify(message.text, severity="error" if message.error else "information", timeout=8)
