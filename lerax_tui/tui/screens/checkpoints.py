"""The checkpoint browser: every checkpoint under the runs folder (and folders the user adds), verified file
by file in a thread worker before anything loads, with the reasons a file cannot be loaded.

Rows appear at once from a stat-only listing (:class:`CheckpointTable` fills them in chunks); a worker
verifies them one by one (cached by size and mtime) and a 3 Hz timer moves finished results into the
table, so a folder of thousands of files stays responsive. Enter loads only an ok file
(:mod:`.checkpoint_load`); a file without a manifest first asks for its env and hyperparameters and is
verified against them. ``x`` exports (:mod:`.checkpoint_export`). What a row says is
:mod:`lerax_tui.tui.checkpoint_text`.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from lerax_tui.core.checkpoint_index import CheckpointIndex, CheckpointRow
from lerax_tui.tui.checkpoint_text import details_text, row_label, why_not_loaded
from lerax_tui.tui.messages import PolicyLoaded
from lerax_tui.tui.screens.checkpoint_export import BrowserExport
from lerax_tui.tui.screens.checkpoint_load import (
    FormDefaults,
    Loader,
    LoadRefused,
    ParametersNeeded,
    RowVerified,
    default_loader,
    load_row,
    parameters_note,
    prefill,
)
from lerax_tui.tui.screens.dialogs import ConfirmDialog, FolderDialog, PolicyParametersDialog
from lerax_tui.tui.widgets.checkpoint_table import CheckpointTable

DRAIN_INTERVAL_S = 1 / 3  # verified rows reach the table at 3 Hz: each batch re-renders the table once
FILTER_DEBOUNCE_S = 0.15


class CheckpointBrowserScreen(BrowserExport):
    """Browse, verify, load, export and delete checkpoints.

    A loaded policy is posted as :class:`~lerax_tui.tui.messages.PolicyLoaded`: the app (or a test's
    app) decides what opens it.

    Args:
        runs_dir: The folder of run folders.
        checkpoints_dir: An extra folder to list (``lerax-tui --checkpoints DIR``).
        index: A prepared :class:`CheckpointIndex` (tests inject one with a fake verifier and clock).
        loader: ``loader(path, *, env_id, overrides) -> (policy, report)``; raises ``CheckpointError``.
        form_defaults: ``() -> (env_id, hyperparameters)`` of the app's form, for prefilling.
        env_choices: The env ids the parameters dialog suggests (default: gymnax's).
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

Every checkpoint under the runs folder (and the folders you add with **{key:browser.add_folder}**), verified file by file
before anything loads: the status column says whether it can be loaded, the pane below says why not
(field by field for a structure that differs). **↑↓** or **{key:browser.down}**/**{key:browser.up}** move, **{key:browser.filter}** filters,
**{key:browser.load}** loads an ok file into the inspector (a file without a manifest, such as one lerax wrote,
first asks for its env and hyperparameters and is verified against them), **{key:browser.rescan}** rescans, **{key:browser.delete}**
deletes the file and its manifest after asking, **{key:browser.export}** exports an ok file in another layout (lerax
main, lerax 0.0.5 or ours: read back and verified before it lands, never over an existing file),
**{key:browser.back}** goes back.
"""

    def __init__(
        self,
        runs_dir: str | Path | None,
        checkpoints_dir: str | Path | None = None,
        *,
        index: CheckpointIndex | None = None,
        loader: Loader | None = None,
        form_defaults: FormDefaults | None = None,
        env_choices: list[str] | None = None,
    ):
        super().__init__(id="checkpoint-browser")
        self.index = index or CheckpointIndex(runs_dir, [checkpoints_dir] if checkpoints_dir else [])
        if index is not None and checkpoints_dir:
            self.index.add_folder(checkpoints_dir)
        self.loader = loader or default_loader
        self._form_defaults = form_defaults
        self._env_choices = env_choices
        self._verified_keys: collections.deque[str] = collections.deque()
        self._pending_filter = ""
        self._filter_timer: Timer | None = None
        self.scan_seconds = 0.0
        self.verify_started: float | None = None
        self.verify_seconds: float | None = None

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="browser-title")
        yield Input(
            placeholder="filter: words in name, run, env or status (Enter keeps it, Esc clears)", id="browser-filter"
        )
        with Vertical(id="browser-body"):
            yield CheckpointTable(self.index.clock, id="browser-table")
            with VerticalScroll(id="browser-details"):
                yield Static("", id="browser-details-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#browser-filter").display = False
        self.set_interval(DRAIN_INTERVAL_S, self._drain)
        self.table.focus()
        self.rescan()

    @property
    def table(self) -> CheckpointTable:
        return self.query_one(CheckpointTable)

    @property
    def rows(self) -> dict[str, CheckpointRow]:
        """Every listed row by key (its path), shown or filtered out."""
        return self.table.entries

    @property
    def verified(self) -> bool:
        """Every listed file is verified and its result is in the table."""
        return self.verify_seconds is not None and not self._verified_keys

    def select_path(self, path: Path) -> None:
        self.table.select_path(path)

    def current_row(self) -> CheckpointRow | None:
        return self.table.current_row()

    # --- listing and verifying --------------------------------------------------------------

    def rescan(self) -> None:
        result = self.index.scan()
        self.scan_seconds = result.seconds
        self.table.show_rows(result.rows)
        self._show_details(self.current_row())
        pending = [r for r in result.rows if r.report is None and r.listing_problem is None]
        self.verify_started = time.perf_counter()
        self.verify_seconds = None if pending else 0.0
        self._update_title()
        self._verify_rows(pending)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify_rows(self, rows: list[CheckpointRow]) -> None:
        # Results go through a queue drained at 3 Hz, not a message per file: thousands of files
        # would otherwise re-render the table thousands of times.
        worker = get_current_worker()
        for row in rows:
            if worker.is_cancelled:
                return
            self.index.verify_row(row)
            self._verified_keys.append(row.key)

    def _drain(self) -> None:
        if not self._verified_keys:
            return
        keys = set()
        while self._verified_keys:
            keys.add(self._verified_keys.popleft())
        current = self.current_row()
        with self.app.batch_update():
            self.table.refresh_rows(keys)
            if current is not None and current.key in keys:
                self._show_details(current)
        if self.verify_seconds is None and all(r.report is not None or r.listing_problem for r in self.rows.values()):
            self.verify_seconds = time.perf_counter() - (self.verify_started or time.perf_counter())
        self._update_title()

    def _update_title(self) -> None:
        total = sum(1 for r in self.rows.values() if r.listing_problem is None)
        done = sum(1 for r in self.rows.values() if r.report is not None)
        folders = ([self.index.runs_dir] if self.index.runs_dir is not None else []) + self.index.folders
        where = [f"{f}/" if f.suffix != ".eqx" else str(f) for f in folders]
        progress = f"verified {done}/{total}" if done < total else f"{total} checkpoints verified"
        if done == 0 and total:
            progress += " (the first file loads JAX: a few seconds)"
        table = self.table
        shown = f" · showing {len(table.shown)} matching {table.filter!r}" if table.filter else ""
        self.query_one("#browser-title", Static).update(
            Text.assemble(("Checkpoints  ", "bold"), (" · ".join(where) or "no folder", "dim"), f"   {progress}{shown}")
        )

    def _show_details(self, row: CheckpointRow | None) -> None:
        self.query_one("#browser-details-text", Static).update(details_text(row))

    def on_screen_resume(self) -> None:
        """Back from the inspector or a dialog: ages moved on (a rescan, r, re-reads the folders)."""
        self.table.refresh_ages()

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
        if self.table.set_filter(self._pending_filter):
            self._show_details(self.current_row())
            self._update_title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "browser-filter":
            event.stop()
            if not event.value.strip():
                event.input.display = False
            self.table.focus()

    def action_rescan(self) -> None:
        self.rescan()
        self.notify(f"rescanned: {len(self.rows)} entries in {self.scan_seconds * 1000:.0f} ms", timeout=2)

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
            self.table.drop_row(row.key)
            self._show_details(self.current_row())
            self._update_title()
            self.notify(f"deleted {', '.join(p.name for p in removed) or row.path.name}", timeout=3)

        self.app.push_screen(ConfirmDialog("Delete checkpoint", message), answered)

    # --- loading ----------------------------------------------------------------------------

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
            self.notify(why_not_loaded(row), severity="error", title=f"{row.name}: {row_label(row)}")
            return
        self._load(row, None, None)

    def prefill(self, row: CheckpointRow) -> tuple[str | None, dict]:
        """The parameters dialog's first values for ``row`` (the file's facts, then the form's)."""
        return prefill(self.index, row, self._form_defaults)

    def _ask_parameters(self, row: CheckpointRow) -> None:
        env_id, hp = self.prefill(row)

        def answered(result: tuple[str, dict] | None) -> None:
            if result is not None:
                self._load(row, result[0], result[1], verify_first=True)

        dialog = PolicyParametersDialog(
            row.path.name, env_id=env_id, hyperparameters=hp, env_choices=self._choices(), note=parameters_note(row)
        )
        self.app.push_screen(dialog, answered)

    def _choices(self) -> list[str]:
        if self._env_choices is None:
            try:
                import gymnax

                self._env_choices = list(gymnax.registered_envs)
            except Exception:
                self._env_choices = []
        return self._env_choices

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(
        self, row: CheckpointRow, env_id: str | None, overrides: dict | None, *, verify_first: bool = False
    ) -> None:
        worker = get_current_worker()
        load_row(
            self.index,
            self.loader,
            row,
            env_id,
            overrides,
            verify_first=verify_first,
            post=self.post_message,
            cancelled=lambda: worker.is_cancelled,
        )

    def on_row_verified(self, message: RowVerified) -> None:
        self._verified_keys.append(message.row.key)
        self._drain()

    def on_parameters_needed(self, message: ParametersNeeded) -> None:
        self._ask_parameters(message.row)

    def on_load_refused(self, message: LoadRefused) -> None:
        self.notify(message.message, severity="error", title=message.title)

    def on_policy_loaded(self, message: PolicyLoaded) -> None:
        """Goes on up to the app, unless the user left this screen meanwhile."""
        if self.app.screen is not self:
            message.stop()
