"""The lerax-tui Textual app: the screens, the keys, the keymap, signals and quitting.

The training workflow lives on :class:`MainScreen`, which shows it; the app's keys hand their actions
down to it, and requests from other screens come up as messages (:mod:`lerax_tui.tui.messages`) that
the app hands down the same way. ``make_app`` is shared by the CLI and the tests (which inject a fake
trainer and a fixed catalogue).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from lerax_tui.core.env_catalogue import EnvInfo
from lerax_tui.train.events import TrainerFactory
from lerax_tui.train.memory import host_memory_available
from lerax_tui.tui.keymap import binding_ids, clashes, current_keys, default_keymap_path, load_keymap, with_keys
from lerax_tui.tui.messages import ContinueTraining, PolicyLoaded
from lerax_tui.tui.palette import app_commands, help_keys, main_screen_commands, screen_commands
from lerax_tui.tui.screens.browser import CheckpointBrowserScreen
from lerax_tui.tui.screens.help import HelpScreen, pane_help
from lerax_tui.tui.screens.inspector import InspectorScreen
from lerax_tui.tui.screens.main import MainScreen
from lerax_tui.tui.screens.sweep import OpenCheckpoint, UseSweepConfig
from lerax_tui.tui.sweep_session import SweepTrainerFactory
from lerax_tui.tui.training import default_trainer_factory
from lerax_tui.tui.view_commands import view_commands


class LeraxApp(App[None], inherit_bindings=False):
    """The app the CLI runs and the tests drive (tests pass a fake trainer factory and catalogue).

    ``memory_probe`` says how many bytes replay buffers may take (the form checks a config against it as it
    is typed); the CLI passes the device's once a run has started it, the default is the host's, read without JAX.
    """

    CSS_PATH = "app.tcss"
    TITLE = "lerax-tui"

    BINDINGS = [
        Binding("f5", "toggle_training", "Start/Stop", id="train.toggle", priority=True),
        Binding("f6", "toggle_pause", "Pause", id="train.pause", priority=True),
        Binding("ctrl+s", "checkpoint", "Checkpoint", id="train.checkpoint", priority=True),
        Binding("ctrl+o", "open_browser", "Checkpoints", id="app.browser"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("ctrl+r", "reset_form", "Reset to preset", id="form.reset", show=False),
        Binding("f2", "show_tab('tab-envs')", "Environments", id="app.tab_envs", show=False),
        Binding("f3", "show_tab('tab-config')", "Config", id="app.tab_config", show=False),
        Binding("f4", "show_tab('tab-runs')", "Runs", id="app.tab_runs", show=False),
        Binding("ctrl+c", "help_quit", show=False, system=True, id="app.help_quit"),
    ]

    def __init__(
        self,
        runs_dir: Path,
        env_id: str = "CartPole-v1",
        checkpoints_dir: Path | None = None,
        trainer_factory: TrainerFactory | None = None,
        catalogue: Sequence[EnvInfo] | None = None,
        keymap_path: Path | None = None,
        stop_timeout_s: float = 15.0,
        memory_probe: Callable[[], int | None] | None = None,
        sweep_factory: SweepTrainerFactory | None = None,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.checkpoints_dir = checkpoints_dir
        self.keymap_path = keymap_path if keymap_path is not None else default_keymap_path()
        self.stop_timeout_s = stop_timeout_s
        self.exit_signal: int | None = None
        self._signals_installed: list[int] = []
        self._shutting_down = False
        # Read before the screens are built: the main screen's key hints show the user's keys.
        self.user_keymap, self._keymap_problems = load_keymap(self.keymap_path, binding_ids())
        self._keymap_problems += clashes(self.user_keymap)
        self.main_screen = MainScreen(
            self.runs_dir,
            env_id,
            trainer_factory or default_trainer_factory,
            catalogue,
            key_hints=self.key_hints(),
            memory_probe=memory_probe or host_memory_available,
            sweep_factory=sweep_factory,
        )

    # --- composition and start-up -----------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return self.main_screen

    def key_hints(self) -> list[Binding]:
        """The app's shown bindings, each with its first key after the user's keymap."""
        hints = []
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.show and binding.description:
                keys = current_keys(binding.id, self.user_keymap) if binding.id else [binding.key]
                hints.append(binding.with_key(keys[0]))
        return hints

    def on_mount(self) -> None:
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        for problem in self._keymap_problems:
            self.notify(problem, severity="warning", timeout=10)
        self._install_signal_handlers()

    def on_ready(self) -> None:
        if self.checkpoints_dir is not None:
            self.action_open_browser()

    def on_unmount(self) -> None:
        session = self.main_screen.session
        if session is not None:  # leaving without the graceful path: stop at the next chunk
            session.stop()
        loop = asyncio.get_running_loop()
        for signum in self._signals_installed:
            loop.remove_signal_handler(signum)
        self._signals_installed.clear()

    @property
    def installed_signals(self) -> tuple[int, ...]:
        """The termination signals this app handles now (none when not on the main thread)."""
        return tuple(self._signals_installed)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.handle_termination_signal, signum)
                self._signals_installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    # --- requests from pushed screens ---------------------------------------------------------------

    def on_policy_loaded(self, message: PolicyLoaded) -> None:
        """The browser loaded a policy: inspect it (continuing trains on the main screen)."""
        self.push_screen(InspectorScreen(message.policy, message.report, row=message.row, can_continue=True))

    def on_continue_training(self, request: ContinueTraining) -> None:
        if self.main_screen.continue_training(request):
            while self.screen is not self.main_screen and len(self.screen_stack) > 1:
                self.pop_screen()

    def on_use_sweep_config(self, request: UseSweepConfig) -> None:
        """The leaderboard's Enter: that configuration into the form (never while a run is going)."""
        main = self.main_screen
        if main.training:
            self.notify(
                with_keys(
                    "The form is locked while a run or sweep is going: stop it ({key:train.toggle}) first.", self
                ),
                severity="warning",
            )
            return
        while self.screen is not main and len(self.screen_stack) > 1:
            self.pop_screen()
        main.load_config(request.env_id, request.config)
        main.show_tab("tab-config")
        self.notify(with_keys(f"{request.label}: in the form ({{key:train.toggle}} trains it alone)", self), timeout=5)

    def on_open_checkpoint(self, request: OpenCheckpoint) -> None:
        """The leaderboard's inspect key: the browser on that file, which loads it into the inspector."""
        browser = CheckpointBrowserScreen(self.runs_dir, request.path, form_defaults=self.main_screen.form_defaults)
        self.push_screen(browser)

        def load() -> None:
            browser.select_path(request.path)
            browser.action_load()

        self.call_after_refresh(load)

    # --- stopping, quitting, signals ----------------------------------------------------------------

    async def _stop_then_exit(self, return_code: int = 0) -> None:
        finished = await self.main_screen.stop_and_wait(self.stop_timeout_s)
        if not finished:
            self.log.warning("trainer did not stop in time; exiting anyway")
        self.exit(return_code=return_code)

    async def action_quit(self) -> None:
        if self.main_screen.session is None:
            self.exit()
        elif self._shutting_down:  # second ctrl+q: do not wait any longer
            self.exit()
        else:
            self._shutting_down = True
            self.run_worker(self._stop_then_exit(), group="shutdown", exit_on_error=False)

    def handle_termination_signal(self, signum: int) -> None:
        """SIGHUP (SSH dropped) or SIGTERM: final checkpoint, then a clean exit."""
        self.exit_signal = signum
        if self._shutting_down:
            return
        self._shutting_down = True
        self.run_worker(self._stop_then_exit(128 + signum), group="shutdown", exit_on_error=False)

    # --- actions --------------------------------------------------------------------------------------

    def action_toggle_training(self) -> None:
        self.main_screen.toggle_training()

    def action_toggle_pause(self) -> None:
        self.main_screen.toggle_pause()

    def action_checkpoint(self) -> None:
        self.main_screen.request_checkpoint()

    def action_open_browser(self) -> None:
        self.push_screen(
            CheckpointBrowserScreen(self.runs_dir, self.checkpoints_dir, form_defaults=self.main_screen.form_defaults)
        )

    def action_reset_form(self) -> None:
        self.main_screen.reset_form()

    def action_show_tab(self, tab_id: str) -> None:
        if self.screen is self.main_screen:
            self.main_screen.show_tab(tab_id)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys = help_keys(self, self.screen)
        keys.append(("^p", "Command palette (every action)"))
        text = pane_help(self.focused) or self.screen.HELP
        self.push_screen(HelpScreen(text, keys))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from screen_commands(self, screen)
        yield from view_commands(self, screen)
        yield from app_commands(self)
        if screen is self.main_screen:
            yield from main_screen_commands(self.main_screen)


make_app = LeraxApp
"""The app the CLI runs and the tests drive (see :class:`LeraxApp`)."""
