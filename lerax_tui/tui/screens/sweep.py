"""The sweep screen: the configurations' curves, the sensitivity picture, the live leaderboard and the
sweep's status, for a sweep training now (its :class:`~lerax_tui.tui.sweep_session.SweepSession`) or
one opened from its folder.

The screen only reads the :class:`~lerax_tui.tui.sweep_run.SweepRun`; requests that other screens
serve (put a configuration into the form, open a checkpoint) go up as messages.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from lerax_tui.train.config import ConfigError, DQNConfig
from lerax_tui.train.sweep_record import ConfigStatus
from lerax_tui.tui.sweep_follow import SweepFollower
from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_session import SweepSession
from lerax_tui.tui.sweep_table import default_csv_path, export_csv, ranked
from lerax_tui.tui.widgets.leaderboard import Leaderboard
from lerax_tui.tui.widgets.sensitivity import SensitivityPlot
from lerax_tui.tui.widgets.sweep_chart import SweepChart

REFRESH_HZ = 4
FOLLOW_S = 1.0  # a sweep opened from its folder: its files are read again this often (a thread worker)
WIDE_FROM = 110  # columns: curves and sensitivity side by side; below, one at a time (sweep.view)


class UseSweepConfig(Message):
    """Put ``config`` (for ``env_id``) into the main screen's form."""

    def __init__(self, env_id: str, config: DQNConfig, label: str) -> None:
        super().__init__()
        self.env_id, self.config, self.label = env_id, config, label


class OpenCheckpoint(Message):
    """Open ``path`` in the checkpoint browser and load it into the inspector."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class SweepScreen(Screen):
    """A sweep, live or from disk.

    Args:
        sweep: The model the views read.
        base: The configuration every configuration overrides (for "use in form").
        runs_dir: Where the CSV goes before the sweep has a folder.
        session: The live sweep's session (None for a sweep opened from disk).
        follower: A sweep opened from its folder: reads what another process still writes there.
    """

    HELP = """\
## Sweep

The curves (one line per configuration, mean over its seeds), the sensitivity picture (final
greedy return against each swept hyperparameter) and the leaderboard. Arrows move in the
leaderboard; the highlighted configuration is drawn on top with its seeds' band.
**{key:sweep.view}** switches between curves and sensitivity on a narrow terminal;
**{key:sweep.back}** goes back to the main screen (a sweep keeps training: {key:train.toggle} there stops it).
A sweep opened from its folder while another process (`lerax-tui sweep`) still runs it grows as
that process writes its files.
"""

    CSS_PATH = "../sweep.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="sweep.back"),
        Binding("v", "toggle_view", "Curves/sensitivity", id="sweep.view"),
    ]

    def __init__(
        self,
        sweep: SweepRun,
        base: DQNConfig,
        runs_dir: Path,
        *,
        session: SweepSession | None = None,
        follower: SweepFollower | None = None,
    ) -> None:
        super().__init__(id="sweep-screen")
        self.sweep, self.base, self.runs_dir, self.session = sweep, base, Path(runs_dir), session
        self.follower = follower
        self.show_sensitivity = False
        self._version = -1

    def compose(self) -> ComposeResult:
        yield Static("", id="sweep-title")
        with Horizontal(id="sweep-plots"):
            yield SweepChart(self.sweep, id="sweep-chart")
            yield SensitivityPlot(self.sweep, id="sweep-sensitivity")
        yield Leaderboard(self.sweep, id="leaderboard")
        yield Static("", id="sweep-status")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self.refresh_views, name="sweep-refresh")
        if self.follower is not None:
            self.set_interval(FOLLOW_S, self._follow, name="sweep-follow")
        self.query_one(Leaderboard).focus()
        self._layout()
        self.refresh_views(force=True)

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        wide = self.size.width >= WIDE_FROM
        self.query_one(SweepChart).display = wide or not self.show_sensitivity
        self.query_one(SensitivityPlot).display = wide or self.show_sensitivity
        self.call_after_refresh(self._replot)

    def _replot(self) -> None:
        self.query_one(SweepChart).mark_dirty()
        sensitivity = self.query_one(SensitivityPlot)
        if sensitivity.display:
            sensitivity.replot()

    # --- keeping the views current -------------------------------------------------------------

    def refresh_views(self, force: bool = False) -> None:
        """Timer: pump the live sweep's events into the model; redraw once when it changed."""
        if self.session is not None:
            self.session.pump()
            version = self.session.version
        elif self.follower is not None:
            self.follower.apply()
            version = self.follower.version
        else:
            version = 0
        if version == self._version and not force:
            return
        self._version = version
        with self.app.batch_update():
            board = self.query_one(Leaderboard)
            board.refresh_rows()
            focused = board.current_index()
            if focused is not None:
                self.sweep.focused = focused
            self.query_one(SweepChart).mark_dirty()
            if self.query_one(SensitivityPlot).display:
                self.query_one(SensitivityPlot).replot()
            self._show_status()

    def _follow(self) -> None:
        """Timer: read the sweep folder's new lines in a thread worker (one at a time); the next
        refresh takes them into the model."""
        follower = self.follower
        if follower is None or any(w.group == "sweep-follow" and not w.is_finished for w in self.workers):
            return
        self.run_worker(follower.read, thread=True, group="sweep-follow", exit_on_error=False)

    def _show_status(self) -> None:
        sweep = self.sweep
        where = escape(sweep.sweep_dir.name) if sweep.sweep_dir else "no folder yet"
        n = sweep.num_configs
        title = f"[b]Sweep[/]  {escape(sweep.env_id)} · {n} configuration{'s' if n != 1 else ''} x {sweep.seeds} seed"
        title += f"{'s' if sweep.seeds != 1 else ''} = {n * sweep.seeds} agents · [dim]{where}[/]"
        self.query_one("#sweep-title", Static).update(title)
        counts = sweep.counts()
        parts = [f"{counts[s]} {s}" for s in ConfigStatus if counts.get(s)]
        top = next(iter(ranked(sweep, self.query_one(Leaderboard).sort_key)), None)
        best = f"  [dim]leader[/] {escape(sweep.label(top.index, short=True))}" if top is not None else ""
        steps = f"{sweep.step:,}/{sweep.total_steps:,} steps" if sweep.total_steps else ""
        phase = "compiling…" if sweep.phase == "compiling" else sweep.phase
        line = f"[b]● {phase}[/]  {steps}  {', '.join(parts)}{best}"
        lines = [line, f"[dim]{escape(sweep.message)}[/]"] if sweep.message else [line]
        self.query_one("#sweep-status", Static).update("\n".join(lines))

    # --- the leaderboard's requests ------------------------------------------------------------

    @on(Leaderboard.Focused)
    def _focused(self, event: Leaderboard.Focused) -> None:
        if self.sweep.focused != event.index:
            self.sweep.focused = event.index
            self.query_one(SweepChart).mark_dirty()

    @on(Leaderboard.UseConfig)
    def _use(self, event: Leaderboard.UseConfig) -> None:
        member = self.sweep.members[event.index]
        try:
            config = self.base.replace(**member.overrides)
        except ConfigError as error:  # a hostile sweep.json cannot reach here, but never a traceback
            self.notify(f"cannot use configuration {event.index}: {error}", severity="error")
            return
        self.post_message(UseSweepConfig(self.sweep.env_id, config, self.sweep.label(event.index)))

    @on(Leaderboard.InspectBest)
    def _inspect(self, event: Leaderboard.InspectBest) -> None:
        member = self.sweep.members[event.index]
        path = member.best_checkpoint(self.sweep.seeds)
        if path is None:
            self.notify(
                f"{self.sweep.label(event.index)}: no best checkpoint yet (written at its first greedy evaluation)",
                severity="warning",
            )
            return
        self.post_message(OpenCheckpoint(path))

    @on(Leaderboard.Export)
    def _export(self, event: Leaderboard.Export) -> None:
        board = self.query_one(Leaderboard)
        path = default_csv_path(self.sweep, self.runs_dir)
        try:
            export_csv(self.sweep, path, board.sort_key, reverse=board.reverse_order)
        except OSError as error:
            self.notify(f"cannot write {path}: {error.strerror or error}", severity="error")
            return
        self.notify(f"wrote {path} ({self.sweep.num_configs} configurations, {board.sort_title})", timeout=6)

    # --- keys ----------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_view(self) -> None:
        self.show_sensitivity = not self.show_sensitivity
        if self.size.width >= WIDE_FROM:
            self.notify("both are shown at this width", timeout=2)
        self._layout()
