"""The main screen: environments / config / past runs on the left, the charts on the right, and the
training workflow they show.

The screen owns the run: it starts the training worker, drains the trainer's events into its
:class:`LiveRun` four times a second, and hands that model down to the chart, the status bar and the
sparklines, which only read it. Children talk up with messages (``EnvPicker.Selected``,
``RunsList.OverlaysChanged``); the app hands requests from other screens down (``continue_training``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from lerax_tui.core.env_catalogue import EnvInfo, env_info
from lerax_tui.train.config import ConfigError, DQNConfig, preset
from lerax_tui.train.events import Failed, RunResult, TrainerFactory
from lerax_tui.train.memory import host_memory_available
from lerax_tui.tui.keymap import with_keys
from lerax_tui.tui.live_run import LiveRun
from lerax_tui.tui.messages import ContinueTraining
from lerax_tui.tui.run_commands import RunCommands
from lerax_tui.tui.screens.dialogs import ConfirmDialog
from lerax_tui.tui.screens.main_sweeps import SweepActions
from lerax_tui.tui.sweep_form import status_text
from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_session import SweepSession, SweepTrainerFactory, default_sweep_factory
from lerax_tui.tui.training import TrainingSession
from lerax_tui.tui.widgets.config_form import ConfigForm
from lerax_tui.tui.widgets.env_picker import EnvPicker
from lerax_tui.tui.widgets.key_hints import KeyHints
from lerax_tui.tui.widgets.metrics_view import MetricsView
from lerax_tui.tui.widgets.return_chart import Overlay, ReturnChart
from lerax_tui.tui.widgets.runs_list import RunsList
from lerax_tui.tui.widgets.status_bar import StatusBar
from lerax_tui.tui.widgets.system_pane import SystemPane

NARROW_BELOW = 100  # columns: the sidebar shrinks and labels shorten
SHORT_BELOW = 30  # rows: the loss/epsilon view shrinks to one line each
DRAIN_HZ = 4


class MainScreen(SweepActions):
    """Pick an environment, edit its config, train, and watch the run.

    Its own key: the system pane (CPU, memory, device memory), hidden until asked for.

    Args:
        runs_dir: Where run folders are written (and past runs listed).
        env_id: The environment selected at start.
        trainer_factory: Makes the trainer of each run (tests inject a fake: no JAX).
        catalogue: The environments to offer; ``None`` lists gymnax's in a thread worker.
        key_hints: The app's keys to show on the bottom line (with the user's keymap applied).
        memory_probe: Bytes free for replay buffers, asked in a thread worker at start and after each run
            (the app passes :func:`~lerax_tui.train.memory.memory_available_now`; the default reads the
            host's without JAX).
        sweep_factory: Makes the sweep trainer when the form holds swept fields (tests inject a fake).
    """

    BINDINGS = [Binding("f7", "toggle_system", "System pane", id="view.system")]  # sweep keys: SweepActions
    COMMANDS = {RunCommands}  # tick / open / compare / export past runs from the palette

    def __init__(
        self,
        runs_dir: Path,
        env_id: str,
        trainer_factory: TrainerFactory,
        catalogue: Sequence[EnvInfo] | None = None,
        *,
        key_hints: Sequence[Binding] = (),
        memory_probe: Callable[[], int | None] = host_memory_available,
        sweep_factory: SweepTrainerFactory | None = None,
    ) -> None:
        super().__init__(id="main")
        self.memory_probe = memory_probe
        self.memory_available: int | None = None
        self._refusal: str | None = None  # the "Cannot start" line the status bar shows, while it holds
        self.sweep_factory = sweep_factory or default_sweep_factory
        self.last_sweep: tuple[SweepRun, DQNConfig, SweepSession | None] | None = None  # what ctrl+t shows
        self.key_hints = list(key_hints)
        self.runs_dir, self.env_id, self.trainer_factory = runs_dir, env_id, trainer_factory
        self._catalogue = list(catalogue) if catalogue is not None else None
        self.session: TrainingSession | SweepSession | None = None
        self.run = LiveRun()

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with TabbedContent(id="sidebar", initial="tab-envs"):
                with TabPane("Env", id="tab-envs"):
                    yield EnvPicker(self.env_id, id="env-picker")
                with TabPane("Config", id="tab-config"):
                    yield ConfigForm(preset(self.env_id), env_id=self.env_id, id="config-form")
                with TabPane("Runs", id="tab-runs"):
                    yield RunsList(self.runs_dir, id="runs-list")
            with Vertical(id="plots"):
                yield ReturnChart(id="chart")
                yield MetricsView(id="metrics")
                yield SystemPane(id="system")
        yield StatusBar(id="status")
        yield KeyHints(self.key_hints, id="key-hints")

    def on_mount(self) -> None:
        if self._catalogue is not None:
            self.query_one(EnvPicker).set_catalogue(self._catalogue)
        else:
            self._load_catalogue()
        self.set_interval(1 / DRAIN_HZ, self.drain_events, name="drain-events")
        self.query_one("#env-list").focus()
        self._engine_context()
        self._probe_memory()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        self.set_class(self.size.height < SHORT_BELOW, "-short")

    def _keys(self, text: str) -> str:
        return with_keys(text, self.app)

    def action_toggle_system(self) -> None:
        pane = self.query_one(SystemPane)
        pane.display = not pane.display
        if pane.display:
            pane.sample_now()

    def show_tab(self, tab_id: str) -> None:
        pane = self.query_one(f"#{tab_id}", TabPane)
        focusable = [w for w in pane.query("*") if w.focusable]
        if not focusable:
            # A pane with nothing to focus (the form locked while training): let go of the focus first, or
            # Textual hands it to the next focusable widget in the old pane, which switches the tab back.
            self.set_focus(None)
        self.query_one("#sidebar", TabbedContent).active = tab_id
        if focusable:
            focusable[0].focus()

    @work(thread=True, exit_on_error=False, group="memory")
    def _probe_memory(self) -> int | None:
        return self.memory_probe()

    def _engine_context(self) -> None:
        """Hand the form what the engine's checks need for the selected env (its observation shape) and the
        memory the probe found."""
        info = env_info(self.env_id)
        try:
            form = self.form
        except NoMatches:  # the app is closing (the probe answered during teardown): nothing to check
            return
        form.set_engine_context(info.observation_shape if info else None, self.memory_available)

    @work(thread=True, exit_on_error=False, group="catalogue")
    def _load_catalogue(self) -> list[EnvInfo]:
        from lerax_tui.core.env import catalogue

        return list(catalogue())

    # --- the form ----------------------------------------------------------------------------------

    @property
    def form(self) -> ConfigForm:
        return self.query_one(ConfigForm)

    @property
    def training(self) -> bool:
        return self.session is not None

    def form_defaults(self) -> tuple[str, dict]:
        """The env and policy hyperparameters of the form, for prefilling a checkpoint's parameters.

        Raises:
            ConfigError: when the form holds an invalid value.
        """
        return self.env_id, dict(self.form.config().policy_kwargs)

    def select_env(self, env_id: str) -> None:
        """Make ``env_id`` the environment of the next run and load its preset into the form, after
        asking when that would discard edits made in the form."""
        if self.training:
            self.notify(
                self._keys("A run is going: stop it ({key:train.toggle}) before changing environment."),
                severity="warning",
            )
            return
        edited = self.form.edited_fields()
        if not edited:
            self._load_preset(env_id)
            return
        shown = ", ".join(edited[:4]) + (f" and {len(edited) - 4} more" if len(edited) > 4 else "")
        question = ConfirmDialog(
            "Discard your edits?",
            f"Loading the {env_id} preset replaces what you changed in Config: {shown}.",
            yes="Discard",
            no="Keep editing",
        )
        self.app.push_screen(question, lambda discard: self._load_preset(env_id) if discard else self._kept())

    def _load_preset(self, env_id: str) -> None:
        self.load_config(env_id, preset(env_id))
        self.notify(self._keys(f"{env_id}: preset loaded into Config ({{key:app.tab_config}})"), timeout=3)

    def _kept(self) -> None:
        self.query_one(EnvPicker).mark_selected(self.env_id)  # the list marks the env the form is for
        self.notify(f"Kept your edits; {self.env_id} is still selected.", timeout=3)

    def load_config(self, env_id: str, config: DQNConfig) -> None:
        """Show ``config`` for ``env_id`` in the form (reset-to-preset still goes to the env's preset)."""
        self.env_id = env_id
        self.query_one(EnvPicker).mark_selected(env_id)
        self.form.load(config, preset=preset(env_id), env_id=env_id)
        self._engine_context()

    def reset_form(self) -> None:
        if self.training:
            self.notify("The form is locked while a run is going.", severity="warning")
            return
        self.form.reset_to_preset()
        self.notify(f"Config reset to the {self.env_id} preset.", timeout=3)

    @on(EnvPicker.Selected)
    def _env_selected(self, event: EnvPicker.Selected) -> None:
        self.select_env(event.env.env_id)

    @on(ConfigForm.Changed)
    def _form_changed(self, event: ConfigForm.Changed) -> None:
        """The status line follows the form: a "Cannot start" line shows the next problem (or goes once
        fixed), and before F5 the line says what the form's swept fields add up to."""
        if self.training:
            return
        if self._refusal is not None and self.run.message == self._refusal:
            self._refusal = f"Cannot start: {event.error}" if event.error else None
            self.run.note(self._refusal or "")
        if self._refusal is None:
            spec = self.form.sweep
            if spec is not None:
                self.run.note(status_text(spec))
            elif self.run.message.startswith("sweep: "):
                self.run.note("")
        self._show_status()

    @on(RunsList.OverlaysChanged)
    def _overlays_changed(self, event: RunsList.OverlaysChanged) -> None:
        chart = self.query_one(ReturnChart)
        chart.set_overlays({name: Overlay(name, history) for name, history in event.overlays.items()})

    # --- the run -----------------------------------------------------------------------------------

    def start_training(
        self,
        env_id: str | None = None,
        config: DQNConfig | None = None,
        trainer_factory: TrainerFactory | None = None,
    ) -> bool:
        """Start a run (from the form unless ``config`` is given). False, with a message, if it cannot."""
        if self.training:
            self.notify("A run is already going.", severity="warning")
            return False
        env_id = env_id or self.env_id
        entry = self.query_one(EnvPicker).entry(env_id)
        if entry is not None and not entry.supported:
            self._refuse(f"{env_id} cannot be trained here: {entry.reason}")
            return False
        if config is None:
            try:
                config = self.form.config()
            except ConfigError as error:
                self.show_tab("tab-config")
                self.form.rows[error.field].editor.focus()
                self._refuse(f"Cannot start: {error}")
                self._refusal = self.run.message
                return False
            if self.form.sweep is not None:
                return self.start_sweep(env_id, self.form.sweep)
        session = TrainingSession(trainer_factory or self.trainer_factory, env_id, {}, config, self.runs_dir)
        self._begin(
            session, LiveRun(env_id, config.total_timesteps, phase="compiling", message="starting (JAX compiles first)")
        )
        return True

    def _begin(self, session: TrainingSession | SweepSession, run: LiveRun) -> None:
        """Show ``run`` (the model the views read) and run ``session`` in the training worker."""
        self.session, self.run = session, run
        self.form.disabled = True
        self.query_one(ReturnChart).show_run(self.run)
        self.query_one(MetricsView).show(self.run)
        self._show_status()
        self._train(session)

    def continue_training(self, request: ContinueTraining) -> bool:
        """A run from a checkpoint (the inspector's request): its config in the form, then started."""
        if self.training:
            self.notify(
                self._keys("A run is already going: stop it ({key:train.toggle}) before continuing from a checkpoint."),
                severity="warning",
            )
            return False
        self.load_config(request.env_id, request.config)
        started = self.start_training(request.env_id, request.config, trainer_factory=request.trainer_factory)
        if started and request.note:
            self.notify(request.note, title="continue training", severity=request.severity, timeout=8)
        return started

    def stop_training(self) -> None:
        if self.session is not None and not self.session.stop_requested:
            self.session.stop()
            self.run.request_stop()
            self._show_status()

    def toggle_training(self) -> None:
        if self.session is None:
            self.start_training()
        else:
            self.stop_training()

    def toggle_pause(self) -> None:
        if self.session is None or self.session.trainer is None:
            self.notify(self._keys("Nothing to pause: start a run with {key:train.toggle}."), timeout=3)
            return
        # "paused" itself comes from the trainer once the chunk in flight has ended.
        self.run.request_pause(self.session.toggle_pause())
        self._show_status()

    def request_checkpoint(self) -> None:
        if self.session is None or not self.session.request_checkpoint():
            self.notify("No run is going: nothing to checkpoint.", timeout=3)
        else:
            self.notify("Checkpoint requested: written at the end of this chunk.", timeout=3)

    async def stop_and_wait(self, timeout_s: float) -> bool:
        """Stop the run and wait (at most ``timeout_s``) for the trainer to write its final checkpoint."""
        if self.session is None:
            return True
        self.stop_training()
        workers = [w for w in self.workers if w.group == "training" and not w.is_finished]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), timeout_s)
            return True
        except TimeoutError:
            return False

    def _refuse(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)
        self.run.note(message)
        self._show_status()

    @work(thread=True, exclusive=True, exit_on_error=False, group="training", name="training")
    def _train(self, session: TrainingSession | SweepSession) -> RunResult | None:
        worker = get_current_worker()
        session.is_cancelled = lambda: worker.is_cancelled
        return session.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes (success, failure, cancellation) reach the user."""
        worker = event.worker
        if worker.group == "catalogue":
            self._catalogue_loaded(event)
            return
        if worker.group == "memory":
            if event.state == WorkerState.SUCCESS:
                self.memory_available = worker.result
                self._engine_context()
            return
        if worker.group != "training" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self.drain_events()
        if event.state == WorkerState.ERROR and not self.run.ended:  # a Failed event already said why
            error = worker.error
            message = f"Training failed: {type(error).__name__}: {error}"
            if isinstance(error, ImportError):
                message += " (is the training runner installed?)"
            self.notify(message, severity="error", timeout=15)
            self.run.fail(message)
        self.run.end()
        if isinstance(self.session, SweepSession):
            self.session.finish(self.run.message if self.run.phase == "failed" else None)
        self.session = None
        self._show_status()
        self._probe_memory()  # the run started the device: the form can now check against its memory
        try:
            self.form.disabled = False
        except NoMatches:  # the app is closing and the form is gone
            pass

    def _catalogue_loaded(self, event: Worker.StateChanged) -> None:
        try:
            picker = self.query_one(EnvPicker)
        except NoMatches:  # the app is closing: nothing to show it on
            return
        if event.state == WorkerState.SUCCESS:
            self._catalogue = list(event.worker.result or [])
            picker.set_catalogue(self._catalogue)
        elif event.state == WorkerState.ERROR:
            picker.set_error(f"{type(event.worker.error).__name__}: {event.worker.error}")

    def drain_events(self) -> None:
        """Timer (4 Hz): move whatever the trainer reported into the run, then redraw its views once."""
        if self.session is None:
            return
        events = self.session.drain()
        if not events:
            return
        for event in events:
            self.run.apply(event)
            if isinstance(event, Failed):
                self.notify(event.message, severity="error", timeout=15)
        try:
            chart = self.query_one(ReturnChart)
            metrics = self.query_one(MetricsView)
        except NoMatches:  # the app is closing and its widgets are gone; the run folder has the events
            return
        with self.app.batch_update():
            chart.mark_dirty()
            metrics.show(self.run)
            self._show_status()

    def _show_status(self) -> None:
        try:
            self.query_one(StatusBar).show(self.run)
        except NoMatches:  # the app is closing (a run ending during teardown): the run keeps the state
            pass
