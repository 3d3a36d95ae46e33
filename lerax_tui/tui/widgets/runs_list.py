"""Past runs under ``--runs-dir`` as a table (status, seeds, steps, final and best greedy return,
started); tick any number to overlay their returns on the chart and to compare them.

The folder is rescanned and every ticked run's ``metrics.jsonl`` tailed once a second, so a run that
another process is still writing keeps growing on the chart. The table's figures come from
:class:`~lerax_tui.train.run_summary.RunSummaries` in a thread worker (metrics read incrementally).
"""

from __future__ import annotations

import threading
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from lerax_tui.train.run_export import EXPORTS
from lerax_tui.train.run_summary import RunSummaries, RunSummary
from lerax_tui.train.runs import RunFolder
from lerax_tui.tui.columns import fit_columns
from lerax_tui.tui.csv_export import export_run_metrics
from lerax_tui.tui.history import ReturnHistory
from lerax_tui.tui.overlay_labels import config_differences, overlay_label
from lerax_tui.tui.run_text import Row, overlay_marker, row_cells, table_columns, table_rows
from lerax_tui.tui.runs_listing import Listing, SweepListing, list_runs, member_summary
from lerax_tui.tui.runs_tail import MetricsTail

POLL_S = 1.0

__all__ = ["RunsList", "RunsTable", "config_differences", "overlay_label"]


class RunsTable(DataTable):
    HELP = """\
## Past runs

Every run folder under `--runs-dir`, newest first: status (**running** while a process holds its
lock; **finished**, **stopped** or **failed** as its `result.json` says; **interrupted** when its
writer was killed), seeds, steps, the final and best greedy return, and when it started. **best**
is the best policies' greedy return (each seed's best-scoring policy, averaged over seeds;
re-evaluated at the end once finished, until then each seed's best evaluation so far), as
`best_eval_return_mean` in `--json` and `sweep.json`. Columns
that do not fit are left out (**{key:runs.wide}** widens the table).

**{key:runs.tick}** ticks a run: its smoothed return is overlaid on the chart, with the marker shown
in the first column (told apart without colour too). **{key:runs.open}** opens the run's summary,
**{key:runs.compare}** compares the ticked runs' hyperparameters side by side, **{key:runs.export}**
exports the highlighted run's metrics to CSV (under `--runs-dir`/exports). A run still being written
updates live.

A sweep is one row (**▸**, configurations × seeds, the final and best of its leading configuration:
the one `sweep --json` ranks first by final return, or while none has finished, the highest best): **{key:runs.expand}**
(or **{key:runs.tick}**) unfolds it into its members, one row each named by the values that set it
apart (`├ lr 0.001`); a member ticks, opens, compares and exports like any run. **{key:runs.open}** on
the sweep's row opens its sweep view (leaderboard, curves, sensitivity). A sweep whose `sweep.json`
is damaged says so in its status (**{key:runs.open}** tells why) and still lists its members.
"""

    BINDINGS = [
        Binding("space", "act('tick')", "Tick", id="runs.tick"),
        Binding("enter", "act('open')", "Open run", id="runs.open"),
        Binding("c", "act('compare')", "Compare ticked", id="runs.compare"),
        Binding("x", "act('export')", "Export metrics CSV", id="runs.export"),
        Binding("w", "act('wide')", "Wide runs table", id="runs.wide"),
        Binding("e", "act('expand')", "Unfold/fold sweep", id="runs.expand"),
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

    class OpenSweep(Message):
        """Enter on a sweep's row: show it on a sweep screen (the main screen reads it)."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class _Summarised(Message):
        def __init__(self, summaries: list[RunSummary], listing: Listing | None) -> None:
            super().__init__()
            self.summaries, self.listing = summaries, listing

    def __init__(self, runs_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs_dir = Path(runs_dir)
        self.listing = Listing()
        self.summaries: dict[str, RunSummary] = {}
        self.tick_order: list[str] = []  # the ticked runs in ticking order: the K-th has the K-th marker
        self.expanded: set[str] = set()  # the sweeps whose members are shown
        self._order: list[str] = []  # the rows' keys as shown
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

    @property
    def folders(self) -> list[RunFolder]:
        """The plain run folders (a sweep's members are in :attr:`sweeps`)."""
        return self.listing.runs

    @property
    def sweeps(self) -> list[SweepListing]:
        return self.listing.sweeps

    def run_choices(self) -> list[tuple[str, Path]]:
        """Every run the table can show, with a name for the palette: plain runs by folder name,
        sweep members as ``SWEEP/config-000 (lr 0.001)``."""
        choices = [(f.name, f.path) for f in self.folders]
        for sweep in self.sweeps:
            choices += [(f"{sweep.name}/{m.path.name} ({m.label})", m.path) for m in sweep.members]
        return choices

    def rescan(self) -> None:
        """List the folder now (on the UI thread: at start and when ticking), then read the figures
        in a worker."""
        self._show_listing(list_runs(self.runs_dir))
        self._refresh(listing=False)

    def _show_listing(self, listing: Listing) -> None:
        if listing != self.listing:
            self.listing = listing
            keys = {str(p) for p in listing.paths()}
            self.summaries = {k: v for k, v in self.summaries.items() if k in keys}
            self._redraw()

    def _reading(self) -> bool:
        return any(w.group == "runs-summaries" and not w.is_finished for w in self.workers)

    @work(thread=True, exit_on_error=False, group="runs-summaries")
    def _refresh(self, listing: bool = True) -> None:
        """The folder's listing (``listing``: reads each config.json and sweep.json) and every run's
        figures (sweep members' too), off the UI thread."""
        found = list_runs(self.runs_dir) if listing else self.listing
        with self._reader_lock:  # an older worker may still be reading
            summaries = self._reader.summaries(found.paths())
        self.post_message(self._Summarised(summaries, found if listing else None))

    @on(_Summarised)
    def _summarised(self, message: _Summarised) -> None:
        if message.listing is not None:
            self._show_listing(message.listing)
        keys = {str(p) for p in self.listing.paths()}
        members = {str(m.path): m for m in self.listing.members()}
        self.summaries = {
            str(s.path): member_summary(members[str(s.path)], s) if str(s.path) in members else s
            for s in message.summaries
            if str(s.path) in keys
        }
        self._redraw()

    def poll(self) -> None:
        """Once a second: the listing and the figures in a worker; the ticked runs' new lines here
        (few runs, only their new bytes)."""
        if not self._reading():  # a first read of many runs can take longer than a second
            self._refresh()
        changed = False
        for key, tail in self._tails.items():
            restarts = tail.restarts
            records = tail.poll()
            if tail.restarts != restarts:  # cut by a resume: its curve is read again from the start
                self._histories[key] = ReturnHistory()
                changed = True
            for record in records:
                self._histories[key].add_record(record)
            changed = changed or bool(records)
        if changed:
            self._announce()

    # --- the table ---------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._shown = ()
        self._redraw()

    def _rows(self, *, compact: bool) -> list[Row]:
        return table_rows(self.listing, self.summaries, self.tick_order, self.expanded, compact=compact)

    def _redraw(self) -> None:
        table = self.query_one(RunsTable)
        rows = self._rows(compact=False)
        width = table.size.width or self.size.width or 44
        if len(rows) + 1 > (table.size.height or len(rows) + 1):
            width -= 1  # the vertical scrollbar
        columns = fit_columns(table_columns(rows), max(20, width), gap=1)
        if "steps" not in {c.key for c, _ in columns}:  # a narrow pane: steps as 1M rather than no steps at all
            rows = self._rows(compact=True)
            columns = fit_columns(table_columns(rows), max(20, width), gap=1)
        keys = [c.key for c, _ in columns]
        widths = {c.key: w for c, w in columns}
        cells = [(row.key, row_cells(row, keys, widths)) for row in rows]
        shown = (tuple(keys), tuple(widths.values()), tuple((k, tuple(map(str, c))) for k, c in cells))
        if shown == self._shown:
            return
        self._shown = shown
        cursor_key = self.current_key()
        self._order = [row.key for row in rows]
        with self.app.batch_update():
            table.clear(columns=True)
            for column, width in columns:
                label = Text(column.label + " ", justify="right") if column.right else Text(column.label)
                table.add_column(label, key=column.key, width=width + 1)
            for key, row_cells_ in cells:
                table.add_row(*row_cells_, key=key)
            if cursor_key in self._order:
                table.move_cursor(row=self._order.index(cursor_key))
        self._show_caption()

    def _caption(self) -> str:
        """The counts first: a narrow pane cuts the folder, not them."""
        runs, sweeps = len(self.folders), len(self.sweeps)
        parts = []
        if runs or not sweeps:
            parts.append("no runs yet" if not runs else f"{runs} run{'' if runs == 1 else 's'}")
        if sweeps:
            parts.append(f"{sweeps} sweep{'' if sweeps == 1 else 's'}")
        if self.tick_order:
            parts.append(f"{len(self.tick_order)} ticked")
        return " · ".join([*parts, str(self.runs_dir)])

    @on(RunsTable.RowHighlighted)
    def _highlighted(self, event: RunsTable.RowHighlighted) -> None:
        """On a damaged sweep's row the caption says why (the row itself has room for one word)."""
        event.stop()
        self._show_caption()

    def _show_caption(self) -> None:
        key = self.current_key()
        sweep = self._sweep_of(key) if key is not None and self._is_sweep_row(key) else None
        label = self.query_one("#runs-dir-label", Static)
        if sweep is not None and sweep.error is not None:
            label.update(Text(sweep.error, style="bold red"))
        else:
            label.update(Text(self._caption(), style="dim"))

    def current_key(self) -> str | None:
        row = self.query_one(RunsTable).cursor_row
        return self._order[row] if self._order and 0 <= row < len(self._order) else None

    def _sweep_of(self, key: str) -> SweepListing | None:
        """The sweep whose row is ``key``, or whose member ``key`` is."""
        for sweep in self.sweeps:
            if str(sweep.path) == key or any(str(m.path) == key for m in sweep.members):
                return sweep
        return None

    def _is_sweep_row(self, key: str) -> bool:
        return any(str(s.path) == key for s in self.sweeps)

    # --- sweeps ---------------------------------------------------------------------------------------

    def toggle_expanded(self, key: str | None = None) -> None:
        """Show or hide the members of the sweep under the cursor (on a member: fold its sweep and
        put the cursor on the sweep's row)."""
        key = key or self.current_key()
        sweep = self._sweep_of(key) if key else None
        if sweep is None:
            self.notify("Not a sweep: its members unfold under a sweep's row (▸).", timeout=3)
            return
        path = str(sweep.path)
        if path in self.expanded:
            self.expanded.discard(path)
        else:
            self.expanded.add(path)
        self._shown = ()
        self._redraw()
        if path in self._order:
            self.query_one(RunsTable).move_cursor(row=self._order.index(path))

    def open_sweep(self, key: str) -> None:
        sweep = self._sweep_of(key)
        if sweep is None:
            return
        if sweep.error is not None:
            self.notify(f"{sweep.name}: {sweep.error}", severity="error", timeout=10)
            return
        self.post_message(self.OpenSweep(sweep.path))

    # --- ticking and overlays ------------------------------------------------------------------------------

    def tick(self, path: Path, on: bool | None = None) -> None:
        """Tick (or untick, or toggle when ``on`` is None) a run or a sweep member: overlay it on the chart."""
        self.rescan()
        key = str(path)
        if key not in {str(p) for p in self.listing.paths()}:
            return
        sweep = self._sweep_of(key)
        if sweep is not None:
            self.expanded.add(str(sweep.path))  # a ticked member stays in sight
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
        on_sweep = key is not None and self._is_sweep_row(key)
        if message.what == "expand" or (message.what == "tick" and on_sweep):
            self.toggle_expanded(key)
        elif message.what == "tick" and key is not None:
            self.tick(Path(key))
        elif message.what == "open" and key is not None:
            if on_sweep:
                self.open_sweep(key)
            else:
                self.open_run(Path(key))
        elif message.what == "compare":
            self.compare()
        elif message.what == "export" and key is not None:
            if on_sweep:
                self.notify("A sweep's leaderboard exports from its sweep view (Enter, then x).", timeout=4)
            else:
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
        title = dict((str(p), name) for name, p in self.run_choices()).get(str(path))
        self.app.push_screen(
            RunSummaryScreen(
                summary, exports_dir=self.runs_dir / EXPORTS, export_name=self._export_name(path), title=title
            )
        )

    def compare(self) -> None:
        from lerax_tui.tui.screens.run_compare import RunCompareScreen

        chosen = [self.summaries[k] for k in self.tick_order if k in self.summaries]
        if len(chosen) < 2:
            self.notify("Tick two runs or more (space) to compare them.", timeout=4)
            return
        self.app.push_screen(RunCompareScreen(chosen, exports_dir=self.runs_dir / EXPORTS))

    def _export_name(self, path: Path) -> str:
        sweep = self._sweep_of(str(path))
        return f"{sweep.name}-{path.name}" if sweep is not None else path.name  # config-000 is in every sweep

    def export(self, path: Path) -> None:
        export_run_metrics(self, path, self.runs_dir / EXPORTS / f"{self._export_name(path)}-metrics.csv")
