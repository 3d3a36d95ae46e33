"""The main screen's sweep half: starting a sweep from the form's swept fields, showing the last one
again, and opening a sweep folder (from the picker or from its row in the Runs tab) on a
:class:`~lerax_tui.tui.screens.sweep.SweepScreen`."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.binding import Binding
from textual.screen import Screen

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.sweep_spec import SweepSpec
from lerax_tui.tui.keymap import with_keys
from lerax_tui.tui.live_run import LiveRun
from lerax_tui.tui.screens.sweep import SweepScreen
from lerax_tui.tui.screens.sweep_open import Loaded, SweepPicker
from lerax_tui.tui.sweep_follow import SweepFollower
from lerax_tui.tui.sweep_form import status_text
from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_session import SweepSession, SweepTrainerFactory
from lerax_tui.tui.widgets.runs_list import RunsList


class SweepActions(Screen):
    """The base of :class:`~lerax_tui.tui.screens.main.MainScreen`, which sets the attributes below
    and starts sessions (:meth:`_begin`)."""

    BINDINGS = [
        Binding("ctrl+t", "show_sweep", "Sweep view", id="sweep.show"),
        # not ctrl+w: a focused Input deletes the word before the cursor with it
        Binding("ctrl+g", "open_sweep", "Open sweep folder", id="sweep.open"),
    ]

    runs_dir: Path
    sweep_factory: SweepTrainerFactory
    last_sweep: tuple[SweepRun, DQNConfig, SweepSession | SweepFollower | None] | None
    session: object | None
    run: LiveRun

    def _begin(self, session: SweepSession, run: LiveRun) -> None:
        raise NotImplementedError

    def start_sweep(self, env_id: str, spec: SweepSpec) -> bool:
        """Start a sweep of ``spec`` and show it on the sweep screen (F5 here or there stops it)."""
        session = SweepSession(self.sweep_factory, env_id, spec, self.runs_dir)
        self.last_sweep = (session.sweep, spec.base, session)
        # No step count here: the sweep screen has the configurations' progress.
        self._begin(session, LiveRun(env_id, 0, phase="compiling", message=status_text(spec)))
        self.action_show_sweep()
        return True

    def action_show_sweep(self) -> None:
        """The last sweep started or opened, on a new sweep screen (the screens are views of its model)."""
        if self.last_sweep is None:
            text = (
                "No sweep yet: put a list (1e-3, 3e-3) or a range (1e-4:1e-2:log) in a field, then {key:train.toggle}."
            )
            self.notify(with_keys(text, self.app))
            return
        if isinstance(self.app.screen, SweepScreen):
            self.app.pop_screen()  # F5 on the last sweep's screen: the new sweep's replaces it
        sweep, base, source = self.last_sweep
        session = source if isinstance(source, SweepSession) else None
        follower = source if isinstance(source, SweepFollower) else None
        self.app.push_screen(SweepScreen(sweep, base, self.runs_dir, session=session, follower=follower))

    def action_open_sweep(self, folder: Path | None = None) -> None:
        """A sweep folder from the runs folder (picked, or ``folder`` read at once), on its own sweep
        screen (its leaderboard, curves, sensitivity), which follows its files while another process
        still writes them."""

        def opened(loaded: Loaded | None) -> None:
            if loaded is not None and self.session is None:  # a live sweep stays the one ctrl+t shows
                self.last_sweep = (loaded.run, loaded.base, loaded)
            if loaded is not None:
                self.app.push_screen(SweepScreen(loaded.run, loaded.base, self.runs_dir, follower=loaded))

        self.app.push_screen(SweepPicker(self.runs_dir, folder=folder), opened)

    @on(RunsList.OpenSweep)
    def _open_sweep_row(self, message: RunsList.OpenSweep) -> None:
        self.action_open_sweep(message.path)
