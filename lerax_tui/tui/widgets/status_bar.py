"""Two lines under everything: what the run is doing and how far along it is (read off the
:class:`LiveRun`, never out of another view)."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from lerax_tui.core.timefmt import format_duration
from lerax_tui.tui.live_run import LiveRun

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

ETA_PHASES = frozenset({"training", "evaluating"})


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _seconds(value: float) -> str:
    """0.5s, 12s, 1:05: as short as the status line needs at 80 columns."""
    return f"{value:.1f}s" if value < 10 else f"{value:.0f}s" if value < 60 else format_duration(value)


def _sps(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


class StatusBar(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run = LiveRun()
        self._shape: tuple = ()

    def on_mount(self) -> None:
        self.show(self.run)
        # no event arrives while JAX compiles: the compile clock ticks on its own
        self.set_interval(1.0, self._tick_compiling, name="status-compile-clock")

    def _tick_compiling(self) -> None:
        if self.run.compiling_for() is not None or self.run.starting_for() is not None:
            self.show(self.run)

    def show(self, run: LiveRun) -> None:
        self.run = run
        phase = run.phase
        style = PHASE_STYLE.get(phase, "$text")
        compiling_for, starting_for = run.compiling_for(), run.starting_for()
        shown = "compiling…" if phase == "compiling" else phase
        if starting_for is not None:  # before JAX compiles: loading it, checking the environment
            shown = f"starting… {format_duration(starting_for)}"
        elif compiling_for is not None:
            shown = f"compiling… {format_duration(compiling_for)}"
        progress = f"{run.step:,}/{run.total:,} steps" if run.total else "–/– steps"
        # An ETA means something only while steps are being taken: a stopped, finished, paused or
        # failed run shows "–" instead of the last estimate (the field stays, so nothing jumps).
        eta = format_duration(run.eta_s) if phase in ETA_PHASES else "–"
        line1 = (
            f"[b {style}]● {shown}[/]  {progress}  [dim]sps[/] {_sps(run.sps)}"
            f"  [dim]ETA[/] {eta}  [dim]episodes[/] {run.episodes:,}"
        )
        where = escape(run.run_dir.name) if run.run_dir else "no run yet"
        compiled = f"  [dim]compile[/] {_seconds(run.compile_s)}" if run.compile_s is not None else ""
        line2 = f"[dim]return[/] {_num(run.last_return)} [dim]best[/] {_num(run.best_return)}{compiled}  [dim]run[/] {where}"
        lines = [line1, line2]
        if run.message:
            style = "$error" if phase == "failed" or run.message.startswith("Cannot") else "$text-muted"
            lines.append(f"[{style}]{escape(run.message)}[/]")
        # A relayout of the whole screen four times a second is the costliest thing a status line
        # can do: only ask for one when the number of lines changes.
        shape = (len(lines), run.message)  # the message may wrap: its text decides the height too
        self.update("\n".join(lines), layout=shape != self._shape)
        self._shape = shape
