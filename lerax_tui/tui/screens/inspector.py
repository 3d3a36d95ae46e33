"""The policy inspector: greedy evaluation with a histogram, an episode watched step by step with the
Q-values beside it, and "continue training" from this checkpoint.

JAX work never runs on the UI thread except one jitted step per frame: the step and Q-value functions
are compiled once in a thread worker before the episode is shown. Tests inject a fake evaluator and a
fake episode, so they compile nothing.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import get_current_worker

from lerax_tui.core.checkpoint_index import CheckpointRow, format_return, resume_file_of, run_dir_of

SPEEDS = (1, 2, 5, 10, 20, 50, 100)  # steps per second while playing
MAX_FRAMES_PER_S = 20  # above this, several steps per frame (one draw each frame)
DEFAULT_EPISODES = 20
EPISODE_COUNTS = (5, 10, 20, 50, 100, 200, 500)

Progress = Callable[[int, np.ndarray], None]
Evaluator = Callable[[int, int, Progress, Callable[[], bool]], np.ndarray]


class Episode(Protocol):
    """One greedy episode, advanced a step at a time (the real one is :class:`PolicyEpisode`)."""

    t: int
    total_return: float
    last_reward: float
    done: bool
    q_values: np.ndarray
    action: int

    def reset(self, seed: int) -> None: ...
    def step(self) -> None: ...
    def render(self, width: int, height: int) -> Text: ...
    def action_names(self) -> list[str]: ...


# --- the real episode and evaluator (JAX) ---------------------------------------------------------


class PolicyEpisode:
    """Steps the policy's greedy episode with two functions jitted once: Q-values of an observation,
    and one environment transition. ``reset`` + one ``step`` compile them (call it off the UI thread)."""

    def __init__(self, policy: Any, env: Any):
        import equinox as eqx

        self.policy, self.env = policy, env
        self._q = eqx.filter_jit(lambda policy, obs: policy.q_values(None, obs)[1])
        self._transition = eqx.filter_jit(lambda env, state, action, key: env.transition(state, action, key=key))
        self._initial = eqx.filter_jit(lambda env, key: env.initial(key=key))
        self.t, self.total_return, self.last_reward, self.done = 0, 0.0, 0.0, False
        self.limit = getattr(env, "max_episode_steps", None) or 10_000

    def reset(self, seed: int) -> None:
        import jax

        key = jax.random.key(seed)
        self._key, reset_key = jax.random.split(key)
        self.state = self._initial(self.env, reset_key)
        self.t, self.total_return, self.last_reward, self.done = 0, 0.0, 0.0, False
        self._observe()

    def _observe(self) -> None:
        self.q_values = np.asarray(self._q(self.policy, self.state.observation), dtype=np.float64)
        self.action = int(np.argmax(self.q_values))

    def step(self) -> None:
        import jax

        if self.done:
            return
        self._key, step_key = jax.random.split(self._key)
        self.state = self._transition(self.env, self.state, self.action, step_key)
        self.t += 1
        self.last_reward = float(self.state.reward)
        self.total_return += self.last_reward
        self.done = bool(self.state.terminal) or bool(self.state.truncated) or self.t >= self.limit
        self._observe()

    def render(self, width: int, height: int) -> Text:
        import jax

        env_state = jax.tree.map(np.asarray, self.state.env_state)
        observation = np.asarray(self.state.observation)
        try:
            from lerax_tui.render import render_state

            return render_state(self.env.env_id, env_state, observation, width=width, height=height, env=self.env)
        except ImportError:
            return observation_text(observation, width=width, height=height)

    def action_names(self) -> list[str]:
        n = len(self.q_values)
        try:
            from lerax_tui.render import action_names

            return list(action_names(self.env.env_id, n))
        except ImportError:
            return [str(i) for i in range(n)]


def make_evaluator(policy: Any, env: Any) -> Evaluator:
    """Greedy returns of N episodes in batches of a fixed size (one compile), reporting each batch.

    Uses ``lerax_tui.train.evaluate`` (vmapped episodes); without it, a Python loop over
    :class:`PolicyEpisode`.
    """

    def run(episodes: int, seed: int, progress: Progress, cancelled: Callable[[], bool]) -> np.ndarray:
        import jax

        try:
            from lerax_tui.train.evaluate import evaluate
        except ImportError:
            evaluate = None
        returns: list[float] = []
        if evaluate is not None:
            batch = max(1, math.ceil(episodes / 10))
            key = jax.random.key(seed)
            while len(returns) < episodes and not cancelled():
                key, sub = jax.random.split(key)
                got = np.asarray(evaluate(policy, env, episodes=batch, key=sub), dtype=np.float64)
                returns.extend(got[: episodes - len(returns)].tolist())
                progress(len(returns), np.asarray(returns))
            return np.asarray(returns)
        episode = PolicyEpisode(policy, env)
        for i in range(episodes):
            if cancelled():
                break
            episode.reset(seed + i)
            while not episode.done and not cancelled():
                episode.step()
            returns.append(episode.total_return)
            progress(len(returns), np.asarray(returns))
        return np.asarray(returns)

    return run


# --- text pieces ----------------------------------------------------------------------------------


def observation_text(observation: Any, *, width: int, height: int) -> Text:
    """A generic view: the observation vector's values, one per line, with a bar each."""
    flat = np.asarray(observation, dtype=np.float64).ravel()
    scale = float(np.max(np.abs(flat))) if flat.size else 1.0
    scale = scale if scale > 0 and np.isfinite(scale) else 1.0
    bar = max(4, width - 16)
    out = Text()
    for i, v in enumerate(flat[: max(1, height)]):
        n = int(round(abs(v) / scale * bar)) if np.isfinite(v) else 0
        out.append(f"[{i:>2}] {v:+9.3f} ", style="dim")
        out.append("█" * n + "\n", style="cyan" if v >= 0 else "magenta")
    return out


def q_bars_text(q: np.ndarray, chosen: int, names: list[str], *, width: int) -> Text:
    try:
        from lerax_tui.render import q_value_bars

        return q_value_bars(q, chosen, width=width, action_names=names)
    except ImportError:
        pass
    q = np.asarray(q, dtype=np.float64)
    lo, hi = float(q.min()), float(q.max())
    span = hi - lo if hi > lo else 1.0
    label_w = max((len(n) for n in names), default=1)
    bar = max(4, width - label_w - 14)
    out = Text()
    for i, v in enumerate(q):
        mark = "▶" if i == chosen else " "
        n = 1 + int(round((v - lo) / span * (bar - 1)))
        out.append(f"{mark} {names[i] if i < len(names) else i:<{label_w}} ", style="bold" if i == chosen else "")
        out.append("█" * n, style="green" if i == chosen else "blue")
        out.append(f" {v:+.3f}\n")
    return out


def histogram_text(returns: np.ndarray, *, width: int, bins: int = 8) -> Text:
    """Returns as a horizontal histogram: one line per bin, ``[lo, hi)  ████ count``."""
    returns = np.asarray(returns, dtype=np.float64)
    out = Text()
    if returns.size == 0:
        return Text("no episodes yet", style="dim")
    lo, hi = float(returns.min()), float(returns.max())
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    bins = max(1, min(bins, returns.size))
    counts, edges = np.histogram(returns, bins=bins, range=(lo, hi))
    bar = max(4, width - 20)
    top = max(1, int(counts.max()))
    for c, a in zip(counts, edges[:-1]):
        out.append(f"{a:>9.1f} ", style="dim")
        out.append("█" * int(round(c / top * bar)) or ("▏" if c else ""), style="cyan")
        out.append(f" {c}\n")
    return out


def stats_text(returns: np.ndarray, episodes: int) -> Text:
    returns = np.asarray(returns, dtype=np.float64)
    if returns.size == 0:
        return Text(f"0/{episodes} episodes", style="dim")
    return Text.assemble(
        (f"{returns.size}/{episodes} episodes\n", "dim"),
        ("mean ", "dim"), (f"{returns.mean():.2f}", "bold"), ("  std ", "dim"), f"{returns.std():.2f}\n",
        ("min  ", "dim"), f"{returns.min():.2f}", ("  max ", "dim"), f"{returns.max():.2f}",
    )


# --- the screen -----------------------------------------------------------------------------------


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

**space** plays or pauses the episode, **n** or **→** steps once, **+**/**-** change the speed,
**R** starts a new episode. **e** evaluates again (greedy; **[**/**]** fewer or more episodes),
**c** continues training from this
checkpoint (exactly when the run folder has `resume.eqx`, otherwise with a fresh replay buffer).
**Escape** goes back to the browser.
"""

    def __init__(
        self,
        policy: Any,
        report: Any,
        *,
        row: CheckpointRow | None = None,
        env: Any = None,
        evaluator: Evaluator | None = None,
        episode_factory: Callable[[], Episode] | None = None,
        episodes: int = DEFAULT_EPISODES,
        seed: int = 0,
        autostart: bool = True,
    ):
        super().__init__(id="inspector")
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
        self.playing = False
        self.speed_index = 2
        self._timer = None

    @property
    def env_id(self) -> str | None:
        m = getattr(self.report, "manifest", None) or {}
        return m.get("env_id") or getattr(self.report, "env_id", None)

    @property
    def env(self) -> Any:
        if self._env is None:
            from lerax_tui.core.env import make_env

            m = getattr(self.report, "manifest", None) or {}
            params = m.get("env_params") if m.get("env_id") == self.env_id else None
            defaults = make_env(self.env_id).param_dict() if params else {}
            self._env = make_env(self.env_id, **{k: v for k, v in (params or {}).items() if defaults.get(k) != v})
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
                yield Static(Text("preparing the episode (compiling the step function)…", style="dim"), id="episode-view")
                yield Static("", id="episode-q")
                yield Static("", id="episode-status")
        yield Footer()

    def _title(self) -> Text:
        hp = getattr(self.report, "hyperparameters", None) or {}
        m = getattr(self.report, "manifest", None) or {}
        parts = [self.path.name, self.env_id or "?", "MLPQPolicy " + " ".join(f"{k}={v}" for k, v in hp.items())]
        if isinstance(m.get("step"), int):
            parts.append(f"step {m['step']:,}")
        if m.get("recent_return") is not None:
            parts.append(f"recent return {format_return(m.get('recent_return'))}")
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
        self.notify(f"{self.episodes} episodes per evaluation: press e to evaluate", timeout=2)

    def action_evaluate(self) -> None:
        self.returns = np.zeros((0,))
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
                lambda done, rs: self.app.call_from_thread(self._eval_progress, np.asarray(rs)),
                lambda: worker.is_cancelled,
            )
        except Exception as e:  # shown, never a traceback
            self.app.call_from_thread(self._eval_failed, f"{type(e).__name__}: {e}")
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._eval_progress, np.asarray(returns), True)

    def _eval_progress(self, returns: np.ndarray, finished: bool = False) -> None:
        self.returns = returns
        self._show_eval(running=not finished)

    def _eval_failed(self, message: str) -> None:
        self.query_one("#eval-caption", Static).update(Text(f"evaluation failed: {message}", style="red"))

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
            self.app.call_from_thread(self._episode_failed, f"{type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._episode_ready, episode)

    def _episode_ready(self, episode: Episode) -> None:
        self.episode = episode
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

    def continue_plan(self) -> dict[str, Any]:
        """What "continue training" will do: env, the config for the form, and exact resume or not.

        A run stopped early continues to its own ``total_timesteps``; a finished one trains as many
        steps again.
        """
        m = getattr(self.report, "manifest", None) or {}
        config = dict(m.get("config") or {})
        hp = getattr(self.report, "hyperparameters", None) or {}
        config.update({k: v for k, v in hp.items() if k in ("width_size", "depth") and v is not None})
        step = m.get("step") if isinstance(m.get("step"), int) else 0
        total = config.get("total_timesteps")
        if isinstance(total, int) and step >= total:
            config["total_timesteps"] = step + total
        resume = resume_file_of(self.path)
        return {
            "env_id": self.env_id,
            "config": config,
            "env_params": {},
            "run_dir": run_dir_of(self.path) if resume else None,
            "resume": resume,
            "step": step,
        }

    def action_continue_training(self) -> None:
        plan = self.continue_plan()
        load = getattr(self.app, "load_config_into_form", None)
        start = getattr(self.app, "start_training", None)
        if not callable(load) or not callable(start):
            self.notify("continue training needs the main app (no training form here)", severity="warning")
            return
        from lerax_tui.train.config import ConfigError, DQNConfig, FIELD_NAMES, preset

        try:
            base = preset(plan["env_id"]).to_dict()
            config = DQNConfig.from_dict({**base, **{k: v for k, v in plan["config"].items() if k in FIELD_NAMES}})
        except (ConfigError, KeyError, TypeError, ValueError) as e:
            self.notify(f"cannot continue: the checkpoint's configuration is not usable ({e})", severity="error")
            return
        if plan["resume"] is not None:
            factory = resume_trainer_factory(plan["run_dir"])
            message = f"resuming exactly from {plan['run_dir'].name}/checkpoints/resume.eqx (step {plan['step']:,} → {config.total_timesteps:,})"
            severity = "information"
        else:
            factory = policy_trainer_factory(self.policy)
            message = "no resume.eqx in the run folder: training starts from this policy's weights with a fresh replay buffer (a new run folder)"
            severity = "warning"
        try:
            load(plan["env_id"], config)
            started = start(**_accepted(start, env_id=plan["env_id"], config=config, trainer_factory=factory))
        except Exception as e:
            self.notify(f"could not continue training: {type(e).__name__}: {e}", severity="error")
            return
        if started is False:
            return  # the app said why
        self.notify(message, title="continue training", severity=severity, timeout=8)
        main = getattr(self.app, "main_screen", None)
        while main is not None and self.app.screen is not main and len(self.app.screen_stack) > 1:
            self.app.pop_screen()


def resume_trainer_factory(run_dir: Path) -> Callable:
    """A trainer factory that continues ``run_dir`` exactly (its saved config; only the length may
    change)."""

    def factory(env_id: str, env_params: dict, config: Any, runs_dir: Path, listener: Callable) -> Any:
        from lerax_tui.train.runner import Runner

        return Runner.from_run_dir(run_dir, listener, total_timesteps=config.total_timesteps)

    return factory


def policy_trainer_factory(policy: Any) -> Callable:
    """A trainer factory for a new run whose online and target networks start as ``policy``'s
    (every seed); the replay buffer, optimiser and exploration schedule start fresh."""

    def factory(env_id: str, env_params: dict, config: Any, runs_dir: Path, listener: Callable) -> Any:
        import equinox as eqx
        import jax
        import jax.numpy as jnp

        from lerax_tui.train.runner import Runner

        class FromPolicy(Runner):
            def _initial_state(self):
                state = super()._initial_state()

                def put(stacked):
                    return jax.tree.map(
                        lambda s, p: jnp.broadcast_to(jnp.asarray(p, s.dtype), s.shape) if eqx.is_array(s) else s,
                        stacked,
                        policy.q_network,
                    )

                seeds = state.seeds
                return eqx.tree_at(
                    lambda st: (st.seeds.online.q_network, st.seeds.target.q_network),
                    state,
                    (put(seeds.online.q_network), put(seeds.target.q_network)),
                )

        return FromPolicy(env_id, env_params, config, runs_dir, listener)

    return factory


def _accepted(fn: Callable, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments ``fn`` accepts (the app's hook may take fewer)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}
