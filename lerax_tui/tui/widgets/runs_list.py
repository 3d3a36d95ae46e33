"""Past runs under ``--runs-dir``: tick any number to overlay their returns on the chart.

The folder is rescanned and every ticked run's ``metrics.jsonl`` tailed once a second, so a run that
another process is still writing keeps growing on the chart.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import SelectionList, Static

from lerax_tui.tui.history import ReturnHistory
from lerax_tui.tui.runs_tail import MetricsTail, RunFolder, list_run_folders

POLL_S = 1.0


class RunSelection(SelectionList[str]):
    HELP = """\
## Past runs

Every run folder under `--runs-dir`, newest first. **Space** or **Enter** ticks a run to overlay its
smoothed return on the chart (tick several to compare). A run still being written, e.g. by
`lerax-tui train` in another window, updates live.
"""


class RunsList(Vertical):
    HELP = RunSelection.HELP

    class OverlaysChanged(Message):
        def __init__(self, overlays: dict[str, ReturnHistory]) -> None:
            super().__init__()
            self.overlays = overlays

    def __init__(self, runs_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs_dir = Path(runs_dir)
        self.folders: list[RunFolder] = []
        self._tails: dict[str, MetricsTail] = {}
        self._histories: dict[str, ReturnHistory] = {}

    def compose(self) -> ComposeResult:
        yield Static(f"[dim]{self.runs_dir}[/dim]", id="runs-dir-label")
        yield RunSelection(id="runs-selection")

    def on_mount(self) -> None:
        self.rescan()
        self.set_interval(POLL_S, self.poll, name="runs-poll")

    def rescan(self) -> None:
        folders = list_run_folders(self.runs_dir)
        if [f.path for f in folders] == [f.path for f in self.folders]:
            return
        self.folders = folders
        selection = self.query_one(RunSelection)
        ticked = set(selection.selected)
        highlighted = selection.highlighted
        selection.clear_options()
        for folder in folders:
            label = Text(folder.name)
            selection.add_option((label, str(folder.path), str(folder.path) in ticked))
        if folders:
            selection.highlighted = min(highlighted or 0, len(folders) - 1)
        if not folders:
            self.query_one("#runs-dir-label", Static).update(f"[dim]{self.runs_dir}: no runs yet[/dim]")
        else:
            self.query_one("#runs-dir-label", Static).update(f"[dim]{self.runs_dir} · {len(folders)} runs[/dim]")

    def poll(self) -> None:
        self.rescan()
        changed = False
        for key, tail in self._tails.items():
            records = tail.poll()
            for record in records:
                self._histories[key].add_record(record)
            changed = changed or bool(records)
        if changed:
            self._announce()

    def tick(self, path: Path) -> None:
        """Tick a run programmatically (tests, screenshots)."""
        self.rescan()
        self.query_one(RunSelection).select(str(path))

    @on(SelectionList.SelectedChanged, "#runs-selection")
    def _selection_changed(self) -> None:
        ticked = set(self.query_one(RunSelection).selected)
        for key in list(self._tails):
            if key not in ticked:
                del self._tails[key], self._histories[key]
        for key in ticked - set(self._tails):
            self._tails[key] = MetricsTail(Path(key) / "metrics.jsonl")
            self._histories[key] = ReturnHistory()
            for record in self._tails[key].poll():
                self._histories[key].add_record(record)
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.OverlaysChanged({overlay_label(Path(k)): h for k, h in self._histories.items()}))


def overlay_label(run_dir: Path) -> str:
    """A short, distinct legend label: the folder's stamp and hex, plus seeds when more than one."""
    import json

    name = run_dir.name
    parts = name.rsplit("-", 3)
    label = "-".join(parts[1:]) if len(parts) == 4 else name
    try:
        config = json.loads((run_dir / "config.json").read_text()).get("config", {})
        if int(config.get("num_seeds", 1)) > 1:
            label += f" ×{config['num_seeds']}"
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return label
