"""The checkpoint browser: every checkpoint under the runs folder (and folders the user adds), verified
file by file in a thread worker before anything loads, with the reasons a file cannot be loaded.

Rows appear at once from a stat-only listing; a worker verifies them one by one (cached by size and
mtime) and a 3 Hz timer moves finished results into the table, so a folder of thousands of files stays
responsive. Enter loads only an ok file; a file without a manifest first asks for its env and
hyperparameters and is verified against them.
"""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from lerax_tui.core.checkpoint_index import CheckpointIndex, CheckpointRow
from lerax_tui.tui.screens.checkpoint_details import details_text, status_text
from lerax_tui.tui.screens.checkpoint_export import BrowserExport
from lerax_tui.tui.screens.dialogs import ConfirmDialog, FolderDialog, PolicyParametersDialog

# Widths fit a 120-column terminal; the run column drops the env prefix (the env has its own column).
COLUMNS = (("name", 16), ("run", 22), ("env", 13), ("step", 8), ("return", 6), ("size", 8), ("age", 4), ("status", 26))
DRAIN_INTERVAL_S = 1 / 3  # verified rows reach the table at 3 Hz: each batch re-renders the table once
VERIFIED_COLUMNS = {"env", "step", "return", "status"}  # what verification can change in a row
FILTER_DEBOUNCE_S = 0.15
FILL_CHUNK = 300  # rows added to the table per event-loop turn
RUN_STAMP = re.compile(r"-(\d{8}-\d{6}-[0-9a-f]+)$")

Loader = Callable[..., tuple[Any, Any]]
OpenPolicy = Callable[[Any, Any, CheckpointRow], None]


def _default_loader(path: Path, *, env_id: str | None = None, overrides: dict | None = None) -> tuple[Any, Any]:
    from lerax_tui.core.verification import load_checkpoint

    return load_checkpoint(path, env_id=env_id, overrides=overrides)


class CheckpointTable(DataTable):
    """The browser's table; Enter (select) is shown in the footer as "Load"."""

    BINDINGS = [Binding("enter", "select_cursor", "Load", id="browser.load")]


class CheckpointBrowserScreen(BrowserExport, Screen):
    """Browse, verify, load, export and delete checkpoints.

    Args:
        runs_dir: The folder of run folders.
        checkpoints_dir: An extra folder to list (``lerax-tui --checkpoints DIR``).
        index: A prepared :class:`CheckpointIndex` (tests inject one with a fake verifier and clock).
        loader: ``loader(path, *, env_id, overrides) -> (policy, report)``; raises ``CheckpointError``.
        open_policy: Called with ``(policy, report, row)`` after a load; default opens the inspector.
        form_defaults: ``() -> (env_id, hyperparameters)`` of the app's form, for prefilling.
    """

    CSS_PATH = "../checkpoints.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="browser.back"),
        Binding("j", "move(1)", "Down", id="browser.down", show=False),
        Binding("k", "move(-1)", "Up", id="browser.up", show=False),
        Binding("slash", "filter", "Filter", id="browser.filter"),
        Binding("r", "rescan", "Rescan", id="browser.rescan"),
        Binding("d", "delete", "Delete", id="browser.delete"),
        Binding("a", "add_folder", "Add folder", id="browser.add_folder"),
        Binding("x", "export", "Export", id="browser.export"),
    ]
    HELP = """\
## Checkpoint browser

Every checkpoint under the runs folder (and the folders you add with **a**), verified file by file
before anything loads: the status column says whether it can be loaded, the pane below says why not
(field by field for a structure that differs). **↑↓** or **j**/**k** move, **/** filters,
**Enter** loads an ok file into the inspector (a file without a manifest, such as one lerax wrote,
first asks for its env and hyperparameters and is verified against them), **r** rescans, **d**
deletes the file and its manifest after asking, **x** exports an ok file in another layout (lerax
main, lerax 0.0.5 or ours: read back and verified before it lands, never over an existing file),
**Escape** goes back.
"""

    def __init__(
        self,
        runs_dir: str | Path | None,
        checkpoints_dir: str | Path | None = None,
        *,
        index: CheckpointIndex | None = None,
        loader: Loader | None = None,
        open_policy: OpenPolicy | None = None,
        form_defaults: Callable[[], tuple[str | None, dict]] | None = None,
        env_choices: list[str] | None = None,
    ):
        super().__init__(id="checkpoint-browser")
        self.index = index or CheckpointIndex(runs_dir, [checkpoints_dir] if checkpoints_dir else [])
        if index is not None and checkpoints_dir:
            self.index.add_folder(checkpoints_dir)
        self.loader = loader or _default_loader
        self._open_policy = open_policy
        self._form_defaults = form_defaults
        self._env_choices = env_choices
        self.rows: dict[str, CheckpointRow] = {}
        self._order: list[str] = []
        self._shown: list[str] = []
        self._shown_set: set[str] = set()
        self._done: collections.deque[str] = collections.deque()
        self._filter = ""
        self._pending_filter = ""
        self._filter_timer: Any = None
        self._fill_generation = 0
        self.scan_seconds = 0.0
        self.verify_started: float | None = None
        self.verify_seconds: float | None = None

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="browser-title")
        yield Input(placeholder="filter: words in name, run, env or status (Enter keeps it, Esc clears)", id="browser-filter")
        with Vertical(id="browser-body"):
            yield CheckpointTable(id="browser-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="browser-details"):
                yield Static("", id="browser-details-text")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in COLUMNS:
            table.add_column(name, key=name, width=width)
        self.query_one("#browser-filter").display = False
        self.set_interval(DRAIN_INTERVAL_S, self._drain)
        table.focus()
        self.rescan()

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def select_path(self, path: Path) -> None:
        """Put the cursor on ``path``'s row when it is shown (e.g. a file just exported)."""
        key = str(path)
        if key in self._shown_set:
            index = self._shown.index(key)
            if index < self.table.row_count:
                self.table.move_cursor(row=index)

    def current_row(self) -> CheckpointRow | None:
        table = self.table
        if not self._shown or table.cursor_row < 0 or table.cursor_row >= len(self._shown):
            return None
        return self.rows.get(self._shown[table.cursor_row])

    # --- listing and verifying --------------------------------------------------------------

    def rescan(self) -> None:
        result = self.index.scan()
        self.scan_seconds = result.seconds
        self.rows = {r.key: r for r in result.rows}
        self._order = [r.key for r in result.rows]
        self._refill()
        pending = [r for r in result.rows if r.report is None and r.listing_problem is None]
        self.verify_started = time.perf_counter()
        self.verify_seconds = None if pending else 0.0
        self._update_title()
        self._verify_rows(pending)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify_rows(self, rows: list[CheckpointRow]) -> None:
        worker = get_current_worker()
        for row in rows:
            if worker.is_cancelled:
                return
            self.index.verify_row(row)
            self._done.append(row.key)

    def _drain(self) -> None:
        if not self._done:
            return
        keys = set()
        while self._done:
            keys.add(self._done.popleft())
        table = self.table
        current = self.current_row()
        with self.app.batch_update():
            for key in keys:
                row = self.rows.get(key)
                if row is None or key not in self._shown_set:
                    continue
                for (name, _), value in zip(COLUMNS, self._cells(row)):
                    if name not in VERIFIED_COLUMNS:
                        continue
                    try:
                        table.update_cell(key, name, value)
                    except Exception:  # not added yet (chunked fill) or filtered out meanwhile
                        break
            if current is not None and current.key in keys:
                self._show_details(current)
        if self.verify_seconds is None and all(r.report is not None or r.listing_problem for r in self.rows.values()):
            self.verify_seconds = time.perf_counter() - (self.verify_started or time.perf_counter())
        self._update_title()

    def _cells(self, row: CheckpointRow) -> list[Any]:
        cells: list[Any] = list(row.cells(self.index.clock()))
        stamp = RUN_STAMP.search(cells[1])  # <ENV>-<date>-<time>-<hex>: the env has its own column
        if stamp:
            cells[1] = stamp.group(1)
        cells[-1] = status_text(row)
        return cells

    def _refill(self) -> None:
        """Rebuild the table from the filter: the first rows at once, the rest in chunks between
        events (thousands of rows would otherwise block keys for a second or more)."""
        keep = self.current_row()
        self._shown = [k for k in self._order if self.rows[k].matches(self._filter)]
        self._shown_set = set(self._shown)
        self._fill_generation += 1
        self.table.clear()
        self._add_rows(self._fill_generation, 0, keep.key if keep is not None else None)

    def _add_rows(self, generation: int, start: int, keep: str | None) -> None:
        if generation != self._fill_generation:
            return  # a newer refill took over (the timer dies with the screen)
        table = self.table
        end = min(len(self._shown), start + FILL_CHUNK)
        with self.app.batch_update():
            for key in self._shown[start:end]:
                table.add_row(*self._cells(self.rows[key]), key=key)
            if keep is not None and keep in self._shown_set and start <= self._shown.index(keep) < end:
                table.move_cursor(row=self._shown.index(keep))
        if start == 0:
            self._show_details(self.current_row())
        if end < len(self._shown):
            self.set_timer(0.01, lambda: self._add_rows(generation, end, keep))

    def _update_title(self) -> None:
        total = sum(1 for r in self.rows.values() if r.listing_problem is None)
        done = sum(1 for r in self.rows.values() if r.report is not None)
        folders = ([self.index.runs_dir] if self.index.runs_dir is not None else []) + self.index.folders
        where = [f"{f}/" if f.suffix != ".eqx" else str(f) for f in folders]
        progress = f"verified {done}/{total}" if done < total else f"{total} checkpoints verified"
        if done == 0 and total:
            progress += " (the first file loads JAX: a few seconds)"
        shown = f" · showing {len(self._shown)} matching {self._filter!r}" if self._filter else ""
        self.query_one("#browser-title", Static).update(
            Text.assemble(("Checkpoints  ", "bold"), (" · ".join(where) or "no folder", "dim"), f"   {progress}{shown}")
        )

    def _show_details(self, row: CheckpointRow | None) -> None:
        self.query_one("#browser-details-text", Static).update(details_text(row))

    def on_screen_resume(self) -> None:
        """Back from the inspector or a dialog: ages moved on (a rescan, r, re-reads the folders)."""
        if len(self._shown) > 5000:
            return
        now = self.index.clock()
        from lerax_tui.core.checkpoint_index import format_age

        for key in self._shown:
            row = self.rows[key]
            try:
                self.table.update_cell(key, "age", format_age(None if row.mtime is None else now - row.mtime))
            except Exception:
                break

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details(self.current_row())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_load()

    # --- actions ----------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        if delta > 0:
            self.table.action_cursor_down()
        else:
            self.table.action_cursor_up()

    def action_back(self) -> None:
        filt = self.query_one("#browser-filter", Input)
        if filt.display:
            filt.value = ""
            filt.display = False
            self._pending_filter = ""
            self._apply_filter()
            self.table.focus()
            return
        self.workers.cancel_group(self, "verify")
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_filter(self) -> None:
        filt = self.query_one("#browser-filter", Input)
        filt.display = True
        filt.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as the user types, once typing pauses: rebuilding thousands of rows per key would lag."""
        if event.input.id == "browser-filter":
            self._pending_filter = event.value.strip()
            if self._filter_timer is not None:
                self._filter_timer.stop()
            self._filter_timer = self.set_timer(FILTER_DEBOUNCE_S, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        if self._pending_filter != self._filter:
            self._filter = self._pending_filter
            self._refill()
            self._update_title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "browser-filter":
            event.stop()
            if not event.value.strip():
                event.input.display = False
            self.table.focus()

    def action_rescan(self) -> None:
        self.rescan()
        self.notify(f"rescanned: {len(self._order)} entries in {self.scan_seconds * 1000:.0f} ms", timeout=2)

    def action_add_folder(self) -> None:
        def added(folder: Path | None) -> None:
            if folder is not None:
                self.index.add_folder(folder)
                self.rescan()

        self.app.push_screen(FolderDialog(), added)

    def action_delete(self) -> None:
        row = self.current_row()
        if row is None or row.listing_problem is not None:
            return
        from lerax_tui.core.checkpoint import manifest_path

        files = [p.name for p in (row.path, manifest_path(row.path)) if p.exists()] or [row.path.name]
        message = f"Delete {' and '.join(files)} from\n{row.path.parent}?\nThis cannot be undone."

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                removed = self.index.delete(row)
            except OSError as e:
                self.notify(f"could not delete {row.path.name}: {e.strerror or e}", severity="error")
                return
            self._order = [k for k in self._order if k != row.key]
            self.rows.pop(row.key, None)
            self._refill()
            self._update_title()
            self.notify(f"deleted {', '.join(p.name for p in removed) or row.path.name}", timeout=3)

        self.app.push_screen(ConfirmDialog("Delete checkpoint", message), answered)

    def action_load(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.listing_problem is not None:
            self.notify(row.listing_problem, severity="error", title="cannot list")
            return
        if row.report is None:
            self._load(row, None, None, verify_first=True)
            return
        if row.needs_parameters:
            self._ask_parameters(row)
            return
        if not row.loadable:
            self.notify(self._why_not(row), severity="error", title=f"{row.name}: {row.label}")
            return
        self._load(row, None, None)

    @staticmethod
    def _why_not(row: CheckpointRow) -> str:
        return ("; ".join(row.problems[:2]) or row.label) + " — not loaded"

    def _ask_parameters(self, row: CheckpointRow) -> None:
        env_id, hp = self._prefill(row)
        report = row.report
        note = "No manifest: the file does not say what it was built for. "
        if report is not None and report.inferred and report.env_id:
            note += f"Inferred from its record shapes: {report.env_id}. "
        note += "Check the values; the file is verified against them before anything loads."

        def answered(result: tuple[str, dict] | None) -> None:
            if result is not None:
                self._load(row, result[0], result[1], verify_first=True)

        self.app.push_screen(
            PolicyParametersDialog(row.path.name, env_id=env_id, hyperparameters=hp, env_choices=self._choices(), note=note),
            answered,
        )

    def _prefill(self, row: CheckpointRow) -> tuple[str | None, dict]:
        """Values read off the file first (they are facts), then the app's form."""
        form_env, form_hp = None, {}
        try:
            if self._form_defaults is not None:
                form_env, form_hp = self._form_defaults()
            elif hasattr(self.app, "form") and hasattr(self.app, "env_id"):  # the main app's config form
                form_env, form_hp = self.app.env_id, dict(self.app.form.config().policy_kwargs)
        except Exception:  # an invalid form (or none): prefill from the file alone
            form_env, form_hp = None, {}
        report = self.index.own_report(row) or (row.report if row.requested is None else None)
        env_id = (report.env_id if report is not None else None) or form_env
        hp = {k: form_hp.get(k) for k in ("width_size", "depth", "epsilon") if form_hp.get(k) is not None}
        if report is not None and report.hyperparameters:
            hp.update({k: v for k, v in report.hyperparameters.items() if v is not None})
        return env_id, hp

    def _choices(self) -> list[str]:
        if self._env_choices is None:
            try:
                import gymnax

                self._env_choices = list(gymnax.registered_envs)
            except Exception:
                self._env_choices = []
        return self._env_choices

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, row: CheckpointRow, env_id: str | None, overrides: dict | None, *, verify_first: bool = False) -> None:
        from lerax_tui.core.checkpoint import CheckpointError

        if verify_first:
            report = self.index.verify_row(row, env_id=env_id, overrides=overrides)
            self.app.call_from_thread(self._row_changed, row)
            if report is None or not report.ok:
                if report is not None and report.manifest is None and env_id is None and row.needs_parameters:
                    self.app.call_from_thread(self._ask_parameters, row)
                else:
                    self.app.call_from_thread(self.notify, self._why_not(row), severity="error", title=f"{row.name}: {row.label}")
                return
            if report.manifest is None and env_id is None:  # verified now: still needs the user's word
                self.app.call_from_thread(self._ask_parameters, row)
                return
        try:
            policy, report = self.loader(row.path, env_id=env_id, overrides=overrides)
        except CheckpointError as e:
            row.report = e.report
            self.app.call_from_thread(self._row_changed, row)
            self.app.call_from_thread(self.notify, self._why_not(row), severity="error", title=f"{row.name}: {row.label}")
            return
        except Exception as e:  # never a traceback in the UI
            self.app.call_from_thread(self.notify, f"{type(e).__name__}: {e}", severity="error", title=f"{row.name}: load failed")
            return
        if not get_current_worker().is_cancelled:  # a second Enter superseded this load
            self.app.call_from_thread(self._opened, policy, report, row)

    def _row_changed(self, row: CheckpointRow) -> None:
        self._done.append(row.key)
        if self.is_mounted:
            self._drain()

    def _opened(self, policy: Any, report: Any, row: CheckpointRow) -> None:
        if not self.is_mounted or self.app.screen is not self:  # left meanwhile
            return
        if self._open_policy is not None:
            self._open_policy(policy, report, row)
            return
        from lerax_tui.tui.screens.inspector import InspectorScreen

        self.app.push_screen(InspectorScreen(policy, report, row=row))
