"""Pick a sweep folder under the runs folder (newest first); the app reads it in a thread worker
and shows it on a :class:`~lerax_tui.tui.screens.sweep.SweepScreen`."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from lerax_tui.tui.sweep_folder import SweepOpenError, list_sweep_folders, load_sweep
from lerax_tui.tui.sweep_follow import SweepFollower

Loaded = SweepFollower


class SweepPicker(ModalScreen[Loaded | None]):
    """The sweep folders of ``runs_dir``; Enter reads one (a thread worker) and dismisses with it,
    or says in one line why it cannot be shown; Escape cancels. With ``folder`` (Enter on a sweep's
    row in the Runs tab) that one is read at once."""

    CSS_PATH = "../sweep.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="sweep_open.cancel")]

    def __init__(self, runs_dir: Path, *, folder: Path | None = None) -> None:
        super().__init__(id="sweep-picker")
        self.runs_dir = Path(runs_dir)
        self.folders = list_sweep_folders(self.runs_dir)
        self.folder = folder

    def on_mount(self) -> None:
        if self.folder is not None:
            self._read(self.folder)

    def compose(self) -> ComposeResult:
        with Vertical(id="sweep-picker-box"):
            yield Static(f"[b]Open a sweep[/]  [dim]{self.runs_dir}[/]", id="sweep-picker-title")
            if self.folders:
                yield OptionList(
                    *(
                        Option(
                            Text.assemble(
                                f.name, ("  " + time.strftime("%Y-%m-%d %H:%M", time.localtime(f.mtime)), "dim")
                            ),
                            id=str(i),
                        )
                        for i, f in enumerate(self.folders)
                    ),
                    id="sweep-picker-list",
                )
            else:
                yield Static("No sweep folder here yet (a folder with a sweep.json).", id="sweep-picker-empty")
            yield Static("", id="sweep-picker-error")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._read(self.folders[int(event.option.id or 0)].path)

    def _read(self, folder: Path) -> None:
        self.query_one("#sweep-picker-error", Static).update(f"reading {folder.name}…")
        self._load(folder)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sweep-open")
    def _load(self, folder: Path) -> Loaded:
        return load_sweep(folder)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "sweep-open":
            return
        if event.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            text = str(error) if isinstance(error, SweepOpenError) else f"{type(error).__name__}: {error}"
            self.query_one("#sweep-picker-error", Static).update(Text(text, style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(None)
