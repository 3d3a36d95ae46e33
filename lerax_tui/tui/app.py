"""The lerax-tui Textual app: the main screen, the keys, and the training worker.

``make_app`` is shared by the CLI and the tests (which inject a fake trainer and a fixed catalogue).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker, WorkerState, get_current_worker

from lerax_tui.train.config import ConfigError, DQNConfig, preset
from lerax_tui.train.events import ChunkMetrics, Failed
from lerax_tui.tui.keymap import default_keymap_path, load_keymap
from lerax_tui.tui.screens.browser import CheckpointBrowserScreen
from lerax_tui.tui.screens.help import HelpScreen
from lerax_tui.tui.screens.main import MainScreen
from lerax_tui.tui.training import TERMINAL_PHASES, TrainingSession, advance_status, default_trainer_factory
from lerax_tui.tui.widgets.config_form import ConfigForm, FieldRow
from lerax_tui.tui.widgets.env_picker import EnvPicker
from lerax_tui.tui.widgets.metrics_view import MetricsView
from lerax_tui.tui.widgets.return_chart import ReturnChart
from lerax_tui.tui.widgets.status_bar import RunStatus, StatusBar

DRAIN_HZ = 4


class LeraxApp(App[None], inherit_bindings=False):
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
        trainer_factory: Callable | None = None,
        catalogue: Sequence[Any] | None = None,
        keymap_path: Path | None = None,
        stop_timeout_s: float = 15.0,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.env_id = env_id
        self.checkpoints_dir = checkpoints_dir
        self.trainer_factory = trainer_factory or default_trainer_factory
        self._catalogue = list(catalogue) if catalogue is not None else None
        self.keymap_path = keymap_path if keymap_path is not None else default_keymap_path()
        self.stop_timeout_s = stop_timeout_s
        self.session: TrainingSession | None = None
        self.status = RunStatus()
        self.exit_signal: int | None = None
        self._signals_installed: list[int] = []
        self._shutting_down = False
        self.user_keymap: dict[str, str] = {}
        self.main_screen = MainScreen(self.runs_dir, env_id, preset(env_id))

    # --- composition and start-up -----------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return self.main_screen

    def on_mount(self) -> None:
        keymap, problems = load_keymap(self.keymap_path, binding_ids())
        self.user_keymap = keymap
        if keymap:
            self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, severity="warning", timeout=10)
        self._install_signal_handlers()

    def on_ready(self) -> None:
        """The main screen is composed: fill it and start the timers."""
        if self._catalogue is not None:
            self.main_screen.query_one(EnvPicker).set_catalogue(self._catalogue)
        else:
            self._load_catalogue()
        self.set_interval(1 / DRAIN_HZ, self.drain_events, name="drain-events")
        self.main_screen.query_one("#env-list").focus()
        if self.checkpoints_dir is not None:
            self.action_open_browser()

    def on_unmount(self) -> None:
        if self.session is not None:  # leaving without the graceful path: stop at the next chunk
            self.session.stop()
        loop = asyncio.get_running_loop()
        for signum in self._signals_installed:
            loop.remove_signal_handler(signum)
        self._signals_installed.clear()

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

    @work(thread=True, exit_on_error=False, group="catalogue")
    def _load_catalogue(self) -> list:
        from lerax_tui.core.env import catalogue

        return list(catalogue())

    # --- hooks for the checkpoint browser and the command palette ----------------------------------

    @property
    def form(self) -> ConfigForm:
        return self.main_screen.query_one(ConfigForm)

    @property
    def training(self) -> bool:
        return self.session is not None

    def select_env(self, env_id: str) -> None:
        """Make ``env_id`` the environment of the next run and load its preset into the form."""
        if self.training:
            self.notify("A run is going: stop it (F5) before changing environment.", severity="warning")
            return
        self.load_config_into_form(env_id, preset(env_id))
        self.notify(f"{env_id}: preset loaded into Config (F3)", timeout=3)

    def load_config_into_form(self, env_id: str, config: DQNConfig) -> None:
        """Show ``config`` for ``env_id`` in the form (reset-to-preset still goes to the env's preset)."""
        self.env_id = env_id
        self.main_screen.query_one(EnvPicker).mark_selected(env_id)
        self.form.load(config, preset=preset(env_id))

    def start_training(
        self,
        env_id: str | None = None,
        config: DQNConfig | None = None,
        env_params: dict | None = None,
        trainer_factory: Callable | None = None,
    ) -> bool:
        """Start a run (from the form unless ``config`` is given). False, with a message, if it cannot."""
        if self.training:
            self.notify("A run is already going.", severity="warning")
            return False
        env_id = env_id or self.env_id
        entry = self.main_screen.query_one(EnvPicker).entry(env_id)
        if entry is not None and not entry.supported:
            self._refuse(f"{env_id} cannot be trained here: {entry.reason}")
            return False
        if config is None:
            try:
                config = self.form.config()
            except ConfigError as error:
                self.main_screen.show_tab("tab-config")
                self.form.rows[error.field].editor.focus()
                self._refuse(f"Cannot start: {error}")
                return False
        self.session = TrainingSession(trainer_factory or self.trainer_factory, env_id, env_params or {}, config, self.runs_dir)
        chart = self.main_screen.query_one(ReturnChart)
        chart.reset_live(env_id)
        self.main_screen.query_one(MetricsView).reset()
        self.form.disabled = True
        self._show_status(RunStatus(phase="compiling", total=config.total_timesteps, message="starting (JAX compiles first)"))
        self._train(self.session)
        return True

    def stop_training(self) -> None:
        if self.session is not None and not self.session.stop_requested:
            self.session.stop()
            self._show_status(self.status.with_(phase="stopping", message="stopping: writing the final checkpoint"))

    def _refuse(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)
        self._show_status(self.status.with_(message=message))

    # --- the worker --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="training", name="training")
    def _train(self, session: TrainingSession) -> Any:
        worker = get_current_worker()
        session.is_cancelled = lambda: worker.is_cancelled
        return session.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes (success, failure, cancellation) reach the user."""
        worker = event.worker
        if worker.group == "catalogue":
            try:
                picker = self.main_screen.query_one(EnvPicker)
            except NoMatches:  # the app is closing: nothing to show it on
                return
            if event.state == WorkerState.SUCCESS:
                self._catalogue = worker.result
                picker.set_catalogue(worker.result)
            elif event.state == WorkerState.ERROR:
                picker.set_error(f"{type(worker.error).__name__}: {worker.error}")
            return
        if worker.group != "training" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.drain_events()
        if event.state == WorkerState.ERROR:
            error = worker.error
            message = f"Training failed: {type(error).__name__}: {error}"
            if isinstance(error, (ImportError, ModuleNotFoundError)):
                message += " (is the training runner installed?)"
            self.notify(message, severity="error", timeout=15)
            self._show_status(self.status.with_(phase="failed", message=message))
        elif self.status.phase not in TERMINAL_PHASES:
            stopped = self.session is not None and self.session.stop_requested
            self._show_status(self.status.with_(phase="stopped" if stopped else "finished"))
        self.session = None
        try:
            self.form.disabled = False
        except NoMatches:  # the app is closing and the form is gone
            pass

    def drain_events(self) -> None:
        """Timer (4 Hz): move whatever the trainer reported onto the screen, in one batch."""
        if self.session is None:
            return
        try:
            chart = self.main_screen.query_one(ReturnChart)
            metrics = self.main_screen.query_one(MetricsView)
        except NoMatches:  # the app is closing and its widgets are gone; the run folder has the events
            return
        events = self.session.drain()
        if not events:
            return
        status = self.status
        with self.batch_update():
            for event in events:
                if isinstance(event, ChunkMetrics):
                    chart.live.add_chunk(event)
                    metrics.add_chunk(event)
                if isinstance(event, Failed):
                    self.notify(event.message, severity="error", timeout=15)
                history = chart.live
                status = advance_status(status, event, episodes=history.episodes, last=history.last_smoothed, best=history.best_smoothed)
            chart.mark_dirty()
            metrics.redraw()
            self._show_status(status)

    def _show_status(self, status: RunStatus) -> None:
        self.status = status
        try:
            self.main_screen.query_one(StatusBar).show(status)
        except NoMatches:  # the app is closing (a run ending during teardown): the state is kept
            pass

    # --- stopping, quitting, signals ----------------------------------------------------------------

    async def stop_and_wait(self) -> bool:
        """Stop the run and wait (bounded) for the trainer to write its final checkpoint."""
        if self.session is None:
            return True
        self.stop_training()
        workers = [w for w in self.workers if w.group == "training" and not w.is_finished]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), self.stop_timeout_s)
            return True
        except asyncio.TimeoutError:
            return False

    async def _stop_then_exit(self, return_code: int = 0) -> None:
        finished = await self.stop_and_wait()
        if not finished:
            self.log.warning("trainer did not stop in time; exiting anyway")
        self.exit(return_code=return_code)

    async def action_quit(self) -> None:
        if self.session is None:
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
        if self.session is None:
            self.start_training()
        else:
            self.stop_training()

    def action_toggle_pause(self) -> None:
        if self.session is None or self.session.trainer is None:
            self.notify("Nothing to pause: start a run with F5.", timeout=3)
            return
        paused = self.session.toggle_pause()
        # "paused" itself comes from the trainer once the chunk in flight has ended.
        self._show_status(self.status.with_(phase="pausing" if paused else "training"))

    def action_checkpoint(self) -> None:
        if self.session is None or not self.session.request_checkpoint():
            self.notify("No run is going: nothing to checkpoint.", timeout=3)
        else:
            self.notify("Checkpoint requested: written at the end of this chunk.", timeout=3)

    def action_open_browser(self) -> None:
        self.push_screen(CheckpointBrowserScreen(self.runs_dir, self.checkpoints_dir))

    def action_reset_form(self) -> None:
        if self.training:
            self.notify("The form is locked while a run is going.", severity="warning")
            return
        self.form.reset_to_preset()
        self.notify(f"Config reset to the {self.env_id} preset.", timeout=3)

    def action_show_tab(self, tab_id: str) -> None:
        if self.screen is self.main_screen:
            self.main_screen.show_tab(tab_id)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys = []
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if binding.id and binding.description and not binding.system:  # ours, not each widget's
                keys.append((self.get_key_display(binding), f"{binding.description} (id `{binding.id}`)"))
        keys.append(("ctrl+p", "Command palette (every action)"))
        self.push_screen(HelpScreen(pane_help(self.focused) or getattr(self.screen, "HELP", None), keys))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from self._screen_commands(screen)
        yield SystemCommand("Start / stop training", "F5: train with the form's config, or stop and checkpoint", self.action_toggle_training)
        yield SystemCommand("Pause / resume training", "F6: pause at the next chunk boundary", self.action_toggle_pause)
        yield SystemCommand("Checkpoint now", "ctrl+s: write a checkpoint at the end of this chunk", self.action_checkpoint)
        yield SystemCommand("Open checkpoint browser", "ctrl+o", self.action_open_browser)
        yield SystemCommand("Reset config to preset", "ctrl+r: the selected environment's preset", self.action_reset_form)
        yield SystemCommand("Help", "F1: help for the focused pane and every key", self.action_help)
        for tab, title in (("tab-envs", "Environments"), ("tab-config", "Config"), ("tab-runs", "Past runs")):
            yield SystemCommand(f"Show {title}", f"Switch the side pane to {title}", lambda tab=tab: self.action_show_tab(tab))

    def _screen_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The keyed actions of a pushed screen (checkpoint browser, inspector), with their current keys,
        so the palette reaches everything the screen's keys do."""
        if screen is self.main_screen:
            return
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.id or not binding.description or binding.system or binding.id in seen:
                continue
            if binding.id.split(".")[0] not in ("browser", "inspector"):
                continue
            seen.add(binding.id)
            yield SystemCommand(binding.description, f"{self.get_key_display(binding)} on this screen",
                                lambda action=binding.action, node=active.node: self.run_action(action, node))


def binding_ids() -> set[str]:
    """Every binding id declared by a loaded widget, screen or app class (what a keymap may name)."""
    from textual.dom import DOMNode

    ids: set[str] = set()
    pending = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        ids.update(b.id for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding) and b.id)
    return ids


def pane_help(widget: Widget | None) -> str | None:
    """Help for the focused widget: the nearest ancestor with ``HELP``, plus the field if a form field."""
    node: Any = widget
    field_text = ""
    while node is not None:
        if isinstance(node, FieldRow) and not field_text:
            from lerax_tui.train.config import describe_range

            name = node.field.name
            field_text = f"### `{name}`\n\n{node.field.metadata['help']}. Allowed: `{describe_range(name)}`.\n\n"
        help_text = getattr(type(node), "HELP", None)
        if help_text:
            return help_text + ("\n" + field_text if field_text else "")
        node = node.parent
    return None


def make_app(
    runs_dir: Path,
    env_id: str = "CartPole-v1",
    checkpoints_dir: Path | None = None,
    trainer_factory: Callable | None = None,
    catalogue: Sequence[Any] | None = None,
    **options: Any,
) -> LeraxApp:
    """The app the CLI runs and the tests drive (tests pass a fake trainer factory and catalogue)."""
    return LeraxApp(runs_dir=runs_dir, env_id=env_id, checkpoints_dir=checkpoints_dir, trainer_factory=trainer_factory, catalogue=catalogue, **options)
