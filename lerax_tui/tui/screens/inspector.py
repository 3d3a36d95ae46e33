"""The policy inspector: greedy evaluation with a histogram, an episode watched step by step with the
Q-values beside it, and "continue training" from this checkpoint.

JAX work never runs on the UI thread except one jitted step per frame: the step and Q-value functions
are compiled once in a thread worker before the episode is shown. The workers post their results as
messages. Tests inject a fake evaluator and a fake episode, so they compile nothing. Continuing is a
:class:`~lerax_tui.tui.messages.ContinueTraining` request that the app hands to the main screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import get_current_worker

from lerax_tui.core.checkpoint_index import CheckpointRow
from lerax_tui.core.manifest import Manifest
from lerax_tui.tui.checkpoint_text import format_return
from lerax_tui.tui.keymap import key_label
from lerax_tui.tui.policy_watch import (
    Episode,
    Evaluator,
    PolicyEpisode,
    histogram_text,
    make_evaluator,
    q_bars_text,
    stats_text,
)
from lerax_tui.tui.screens.continue_dialog import ContinueFromWeightsDialog
from lerax_tui.tui.screens.inspector_continue import (
    ContinuePlan,
    UnusableConfig,
    continue_request,
    plan_continue,
    weights_note,
)

if TYPE_CHECKING:
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.core.verification import Report

SPEEDS = (1, 2, 5, 10, 20, 50, 100)  # steps per second while playing
MAX_FRAMES_PER_S = 20  # above this, several steps per frame (one draw each frame)
DEFAULT_EPISODES = 20
EPISODE_COUNTS = (5, 10, 20, 50, 100, 200, 500)


class EvaluationProgress(Message):
    """The evaluation worker's returns so far (``finished`` with the last batch)."""

    def __init__(self, returns: np.ndarray, finished: bool = False) -> None:
        super().__init__()
        self.returns, self.finished = returns, finished


class EpisodeReady(Message):
    """The episode worker compiled the step function: the episode can be shown and played."""

    def __init__(self, episode: Episode) -> None:
        super().__init__()
        self.episode = episode


class WorkerFailed(Message):
    """A worker raised: ``part`` (``"evaluation"`` or ``"episode"``) shows ``message`` instead."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__()
        self.part, self.message = part, message


# --- the screen -----------------------------------------------------------------------------------


class EpisodeView(Static):
    """The episode's picture, drawn to this widget's size: it says when that size changes."""

    class Resized(Message):
        pass

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class InspectorScreen(Screen):
    """Evaluate and watch a loaded policy.

    Args:
        policy: The loaded policy.
        report: Its verification report (manifest, env, hyperparameters).
        row: The browser row it came from (path, run folder), if any.
        env: The environment (default: built from the report with ``make_env``).
        evaluator: ``evaluator(episodes, seed, progress, cancelled) -> returns``; default
            :func:`make_evaluator`.
        episode_factory: ``() -> Episode``; default :class:`PolicyEpisode`.
        episodes: Episodes per evaluation.
        autostart: Evaluate and prepare the episode on mount.
        can_continue: An app with a training form will handle :class:`ContinueTraining` (the main
            app); without one, ``c`` says so instead of asking.
    """

    CSS_PATH = "../checkpoints.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="inspector.back"),
        Binding("space", "play", "Play/pause", id="inspector.play"),
        Binding("n,right", "step", "Step", id="inspector.step"),
        Binding("plus,equals_sign", "speed(1)", "Faster", id="inspector.faster"),
        Binding("minus", "speed(-1)", "Slower", id="inspector.slower"),
        Binding("R", "new_episode", "New episode", id="inspector.new_episode"),
        Binding("e", "evaluate", "Evaluate", id="inspector.evaluate"),
        Binding("left_square_bracket", "episodes(-1)", "Fewer episodes", id="inspector.fewer_episodes", show=False),
        Binding("right_square_bracket", "episodes(1)", "More episodes", id="inspector.more_episodes", show=False),
        Binding("c", "continue_training", "Continue training", id="inspector.continue"),
    ]
    HELP = """\
## Policy inspector

**{key:inspector.play}** plays or pauses the episode, **{key:inspector.step}** steps once, **{key:inspector.faster}**/**{key:inspector.slower}** change the speed,
**{key:inspector.new_episode}** starts a new episode. **{key:inspector.evaluate}** evaluates again (greedy; **{key:inspector.fewer_episodes}**/**{key:inspector.more_episodes}** fewer or more episodes),
**{key:inspector.continue}** continues training from this
checkpoint in a new run folder: exactly when its run holds a resume state for this very step, otherwise
from its weights with a fresh replay buffer and exploration starting at epsilon_end (a dialog asks
first; type another epsilon there). The source run is never written to.
**{key:inspector.back}** goes back to the browser.
"""

    def __init__(
        self,
        policy: MLPQPolicy,
        report: Report,
        *,
        row: CheckpointRow | None = None,
        env: GymnaxEnv | None = None,
        evaluator: Evaluator | None = None,
        episode_factory: Callable[[], Episode] | None = None,
        episodes: int = DEFAULT_EPISODES,
        seed: int = 0,
        autostart: bool = True,
        can_continue: bool = False,
    ):
        super().__init__(id="inspector")
        self.can_continue = can_continue
        self.policy, self.report, self.row = policy, report, row
        self.path = Path(row.path if row is not None else report.path)
        self._env = env
        self._evaluator = evaluator
        self._episode_factory = episode_factory
        self.episodes = episodes
        self.seed = seed
        self.autostart = autostart
        self.episode: Episode | None = None
        self.episode_seed = seed
        self.returns = np.zeros((0,))
        self.evaluated = False  # the evaluation's last batch is in (its caption no longer says running)
        self.playing = False
        self.speed_index = 2
        self._timer: Timer | None = None

    @property
    def manifest(self) -> Manifest:
        return self.report.manifest or Manifest()

    @property
    def env_id(self) -> str | None:
        return self.manifest.env_id or self.report.env_id

    @property
    def env(self) -> GymnaxEnv:
        if self._env is None:
            env_id = self.env_id
            if env_id is None:
                raise ValueError(f"{self.path.name}: the environment is unknown (no manifest, nothing inferred)")
            from lerax_tui.core.env import make_env

            params = self.manifest.env_params_for(env_id)
            defaults = make_env(env_id).param_dict() if params else {}
            self._env = make_env(env_id, **{k: v for k, v in (params or {}).items() if defaults.get(k) != v})
        return self._env

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="inspector-title")
        with Horizontal(id="inspector-body"):
            with Vertical(id="inspector-eval"):
                yield Static("", id="eval-caption")
                yield ProgressBar(total=self.episodes, show_eta=False, id="eval-progress")
                yield Static("", id="eval-stats")
                yield Static("", id="eval-histogram")
            with Vertical(id="inspector-episode"):
                yield EpisodeView(
                    Text("preparing the episode (compiling the step function)…", style="dim"), id="episode-view"
                )
                yield Static("", id="episode-q")
                yield Static("", id="episode-status")
        yield Footer()

    def _title(self) -> Text:
        hp = self.report.hyperparameters or {}
        m = self.manifest
        parts = [self.path.name, self.env_id or "?", "MLPQPolicy " + " ".join(f"{k}={v}" for k, v in hp.items())]
        if isinstance(m.step, int):
            parts.append(f"step {m.step:,}")
        if m.eval_return is not None:  # a best.eqx: its greedy score first
            parts.append(f"best eval {format_return(m.eval_return)}")
        if m.recent_return is not None:
            parts.append(f"recent return {format_return(m.recent_return)}")
        return Text.assemble(("Inspector  ", "bold"), " · ".join(parts))

    def on_mount(self) -> None:
        self.query_one("#inspector-eval").border_title = "Greedy evaluation"
        self.query_one("#inspector-episode").border_title = "Episode"
        self._show_eval()
        self._show_status()
        if self.autostart:
            self.action_evaluate()
            self._prepare_episode()

    # --- evaluation -------------------------------------------------------------------------

    def action_episodes(self, direction: int) -> None:
        """Next smaller/larger episode count; press e to evaluate with it."""
        counts = sorted(set(EPISODE_COUNTS) | {self.episodes})
        i = counts.index(self.episodes) + direction
        self.episodes = counts[max(0, min(len(counts) - 1, i))]
        self._show_eval()
        self.notify(
            f"{self.episodes} episodes per evaluation: press {key_label(self.app, 'inspector.evaluate')} to evaluate",
            timeout=2,
        )

    def action_evaluate(self) -> None:
        self.returns = np.zeros((0,))
        self.evaluated = False
        self._show_eval(running=True)
        self._evaluate(self.episodes, self.seed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="evaluate")
    def _evaluate(self, episodes: int, seed: int) -> None:
        worker = get_current_worker()
        try:
            evaluator = self._evaluator or make_evaluator(self.policy, self.env)
            returns = evaluator(
                episodes,
                seed,
                lambda done, rs: self._post_progress(worker.is_cancelled, rs),
                lambda: worker.is_cancelled,
            )
        except Exception as e:  # shown, never a traceback
            self.post_message(WorkerFailed("evaluation", f"{type(e).__name__}: {e}"))
            return
        if not worker.is_cancelled:
            self.post_message(EvaluationProgress(np.asarray(returns), finished=True))

    def _post_progress(self, cancelled: bool, returns: np.ndarray) -> None:
        if not cancelled:
            self.post_message(EvaluationProgress(np.asarray(returns)))

    def on_evaluation_progress(self, message: EvaluationProgress) -> None:
        self.returns = message.returns
        self.evaluated = message.finished
        self._show_eval(running=not message.finished)

    def on_worker_failed(self, message: WorkerFailed) -> None:
        if message.part == "evaluation":
            self.query_one("#eval-caption", Static).update(Text(f"evaluation failed: {message.message}", style="red"))
        else:
            self._episode_failed(message.message)

    def _show_eval(self, running: bool = False) -> None:
        n = len(self.returns)
        caption = f"{self.episodes} greedy episodes · seed {self.seed}" + (" · running…" if running else "")
        self.query_one("#eval-caption", Static).update(Text(caption, style="dim"))
        self.query_one("#eval-progress", ProgressBar).update(total=self.episodes, progress=n)
        self.query_one("#eval-stats", Static).update(stats_text(self.returns, self.episodes))
        width = max(20, self.query_one("#inspector-eval").content_size.width or 36)
        self.query_one("#eval-histogram", Static).update(histogram_text(self.returns, width=width, bins=10))

    # --- watching an episode ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="episode")
    def _prepare_episode(self) -> None:
        try:
            episode = self._episode_factory() if self._episode_factory else PolicyEpisode(self.policy, self.env)
            episode.reset(self.episode_seed)
            if isinstance(episode, PolicyEpisode):  # compile the step now, off the UI thread
                episode.step()
                episode.reset(self.episode_seed)
        except Exception as e:
            self.post_message(WorkerFailed("episode", f"{type(e).__name__}: {e}"))
            return
        self.post_message(EpisodeReady(episode))

    def on_episode_ready(self, message: EpisodeReady) -> None:
        self.episode = message.episode
        self._show_episode()

    def on_episode_view_resized(self) -> None:
        """The picture's view changed size (the first draw's Q-value bars take lines from it; a
        terminal resize): draw it again at that size, or its bottom line (the axis) is cut off."""
        self._show_episode()

    def _episode_failed(self, message: str) -> None:
        self.query_one("#episode-view", Static).update(Text(f"cannot run an episode: {message}", style="red"))

    def _show_episode(self) -> None:
        ep = self.episode
        if ep is None:
            return
        view = self.query_one("#episode-view", Static)
        size = view.content_size
        try:
            picture = ep.render(max(20, size.width or 60), max(4, size.height or 12))
        except Exception as e:  # a renderer bug must not take the screen down
            picture = Text(f"cannot draw this state: {type(e).__name__}: {e}", style="red")
        with self.app.batch_update():
            view.update(picture)
            q = self.query_one("#episode-q", Static)
            q.update(q_bars_text(ep.q_values, ep.action, ep.action_names(), width=max(30, q.content_size.width or 60)))
            self._show_status()

    def _show_status(self) -> None:
        ep = self.episode
        speed = SPEEDS[self.speed_index]
        if ep is None:
            text = Text("")
        else:
            state = "episode over" if ep.done else ("playing" if self.playing else "paused")
            text = Text.assemble(
                (f" {state} ", "reverse bold" if ep.done else "reverse"),
                f"  step {ep.t}  reward {ep.last_reward:+.2f}  return {ep.total_return:.2f}  ",
                (f"seed {self.episode_seed}  {speed} steps/s", "dim"),
                ("   R: new episode" if ep.done else "", "dim"),
            )
        self.query_one("#episode-status", Static).update(text)

    def action_step(self, steps: int = 1) -> None:
        ep = self.episode
        if ep is None or ep.done:
            return
        try:
            for _ in range(steps):
                ep.step()
                if ep.done:
                    break
        except Exception as e:
            self.playing = False
            self._episode_failed(f"{type(e).__name__}: {e}")
            return
        if ep.done:
            self._set_playing(False)
        self._show_episode()

    def action_play(self) -> None:
        if self.episode is None:
            return
        if self.episode.done:
            self.action_new_episode()
        self._set_playing(not self.playing)
        self._show_status()

    def _set_playing(self, playing: bool) -> None:
        self.playing = playing
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if playing:
            speed = SPEEDS[self.speed_index]
            fps = min(speed, MAX_FRAMES_PER_S)
            per_frame = max(1, round(speed / fps))
            self._timer = self.set_interval(1 / fps, lambda: self.action_step(per_frame))

    def action_speed(self, delta: int) -> None:
        self.speed_index = max(0, min(len(SPEEDS) - 1, self.speed_index + delta))
        if self.playing:
            self._set_playing(True)
        self._show_status()

    def action_new_episode(self) -> None:
        if self.episode is None:
            return
        self.episode_seed += 1
        self.episode.reset(self.episode_seed)
        self._show_episode()

    # --- leaving / continuing ---------------------------------------------------------------

    def action_back(self) -> None:
        self._set_playing(False)
        self.workers.cancel_group(self, "evaluate")
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def continue_plan(self) -> ContinuePlan:
        """What "continue training" will do from this checkpoint (see :func:`plan_continue`)."""
        return plan_continue(self.path, self.report)

    def action_continue_training(self) -> None:
        if not self.can_continue:
            self.notify("continue training needs the main app (no training form here)", severity="warning")
            return
        plan = self.continue_plan()
        try:
            request = continue_request(self.policy, plan)
        except UnusableConfig as e:
            self.notify(f"cannot continue: the checkpoint's configuration is not usable ({e})", severity="error")
            return
        if plan.resume is not None:  # exact: the state carries its own exploration schedule
            self.post_message(request)
            return

        def chosen(epsilon: float | None) -> None:
            if epsilon is not None:
                self.post_message(continue_request(self.policy, plan, epsilon_start=epsilon))

        dialog = ContinueFromWeightsDialog(
            self.path.name, note=weights_note(plan), epsilon_end=request.config.epsilon_end
        )
        self.app.push_screen(dialog, chosen)
