"""Past runs under ``--runs-dir``: tick any number to overlay their returns on the chart.

The folder is rescanned and every ticked run's ``metrics.jsonl`` tailed once a second, so a run that
another process is still writing keeps growing on the chart.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import SelectionList, Static

from lerax_tui.train.runs import RunFolder, list_run_folders, read_run_config
from lerax_tui.tui.history import ReturnHistory
from lerax_tui.tui.runs_tail import MetricsTail

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

    @property
    def ticked(self) -> set[str]:
        """The paths (as strings) of the runs overlaid now."""
        return {str(value) for value in self.query_one(RunSelection).selected}

    def toggle(self, path: Path) -> None:
        """Tick or untick a run (the palette's overlay commands)."""
        self.rescan()
        self.query_one(RunSelection).toggle(str(path))

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
        paths = [Path(k) for k in self._histories]
        differences = config_differences(paths)
        self.post_message(
            self.OverlaysChanged({overlay_label(p, differences.get(p, "")): self._histories[str(p)] for p in paths})
        )


_NOT_COMPARED = {"seed", "eval_episodes", "eval_interval", "checkpoint_interval", "num_seeds"}  # seeds: shown as ×N


def _config_of(run_dir: Path) -> dict:
    """The run's hyperparameters and env (bounded, checked read); empty when config.json is
    missing or unusable, so one bad file never stops the list."""
    try:
        run = read_run_config(run_dir)
    except (OSError, ValueError):
        return {}
    return {**run.config, "env": run.env_id, "num_seeds": run.num_seeds}


def config_differences(run_dirs: list[Path], limit: int = 2) -> dict[Path, str]:
    """For runs overlaid together, the hyperparameters that tell them apart ("lr 0.0003, width 16")."""
    if len(run_dirs) < 2:
        return {}
    configs = {path: _config_of(path) for path in run_dirs}
    keys = sorted({k for c in configs.values() for k in c} - _NOT_COMPARED)
    differing = [k for k in keys if len({json.dumps(c.get(k)) for c in configs.values()}) > 1]
    differing.sort(key=lambda k: k == "total_timesteps")  # run length last: the x axis shows it anyway
    short = {"learning_rate": "lr", "width_size": "width", "total_timesteps": "steps", "num_seeds": "seeds"}
    return {
        path: ", ".join(
            f"{short.get(k, k)} {str(c.get(k))[:24]}" for k in differing[:limit]
        )  # a file may hold anything
        for path, c in configs.items()
    }


def overlay_label(run_dir: Path, difference: str = "") -> str:
    """A short, distinct legend label: the folder's time and hex, then what sets it apart."""
    parts = run_dir.name.rsplit("-", 3)
    label = "-".join(parts[2:]) if len(parts) == 4 else run_dir.name  # HHMMSS-hex
    seeds = _config_of(run_dir).get("num_seeds", 1)
    if isinstance(seeds, int) and seeds > 1:
        label += f" ×{seeds}"
    return f"{label} {difference}" if difference else label
