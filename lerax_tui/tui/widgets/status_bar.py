"""Two lines under everything: what the run is doing and how far along it is."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rich.markup import escape
from textual.widgets import Static

PHASE_STYLE = {
    "idle": "$text-muted",
    "compiling": "$warning",
    "training": "$success",
    "paused": "$warning",
    "pausing": "$warning",
    "evaluating": "$accent",
    "finished": "$primary",
    "stopped": "$primary",
    "stopping": "$warning",
    "failed": "$error",
}


@dataclass(frozen=True)
class RunStatus:
    phase: str = "idle"
    step: int = 0
    total: int = 0
    sps: float = 0.0
    eta_s: float | None = None
    episodes: int = 0
    last_return: float | None = None
    best_return: float | None = None
    run_dir: Path | None = None
    message: str = ""

    def with_(self, **changes) -> "RunStatus":
        return replace(self, **changes)


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _sps(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


class StatusBar(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = RunStatus()
        self._shape: tuple = ()

    def on_mount(self) -> None:
        self.show(self.status)

    def show(self, status: RunStatus) -> None:
        self.status = status
        style = PHASE_STYLE.get(status.phase, "$text")
        phase = "compiling…" if status.phase == "compiling" else status.phase
        progress = f"{status.step:,}/{status.total:,} steps" if status.total else "–/– steps"
        line1 = (
            f"[b {style}]● {phase}[/]  {progress}  [dim]sps[/] {_sps(status.sps)}"
            f"  [dim]ETA[/] {format_duration(status.eta_s)}  [dim]episodes[/] {status.episodes:,}"
        )
        where = escape(status.run_dir.name) if status.run_dir else "no run yet"
        line2 = f"[dim]return[/] {_num(status.last_return)} [dim]best[/] {_num(status.best_return)}  [dim]run[/] {where}"
        lines = [line1, line2]
        if status.message:
            style = "$error" if status.phase == "failed" or status.message.startswith("Cannot") else "$text-muted"
            lines.append(f"[{style}]{escape(status.message)}[/]")
        # A relayout of the whole screen four times a second is the costliest thing a status line
        # can do: only ask for one when the number of lines changes.
        shape = (len(lines), status.message)  # the message may wrap: its text decides the height too
        self.update("\n".join(lines), layout=shape != self._shape)
        self._shape = shape
