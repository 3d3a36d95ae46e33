"""What the inspector runs and draws, apart from the screen: a greedy episode stepped by functions
jitted once, a batched greedy evaluator, trainer factories for "continue training", and the text
pieces (Q-value bars, return histogram, stats).

Imports JAX only inside functions: building the inspector screen (and its tests with fakes) never
imports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from rich.text import Text

from lerax_tui.train.events import Listener, Trainer, TrainerFactory

if TYPE_CHECKING:  # these import JAX: only their types here
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.train.config import DQNConfig

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

    def __init__(self, policy: MLPQPolicy, env: GymnaxEnv):
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


def make_evaluator(policy: MLPQPolicy, env: GymnaxEnv) -> Evaluator:
    """Greedy returns of N episodes with ``train.evaluation.evaluate`` (vmapped), in ten batches of
    one fixed size (one compile), reporting progress after each batch."""

    def run(episodes: int, seed: int, progress: Progress, cancelled: Callable[[], bool]) -> np.ndarray:
        import jax

        from lerax_tui.train.evaluation import evaluate

        returns: list[float] = []
        batch = max(1, math.ceil(episodes / 10))
        key = jax.random.key(seed)
        while len(returns) < episodes and not cancelled():
            key, sub = jax.random.split(key)
            got = np.asarray(evaluate(policy, env, episodes=batch, key=sub), dtype=np.float64)
            returns.extend(got[: episodes - len(returns)].tolist())
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
    for c, a in zip(counts, edges[:-1], strict=True):
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
        ("mean ", "dim"),
        (f"{returns.mean():.2f}", "bold"),
        ("  std ", "dim"),
        f"{returns.std():.2f}\n",
        ("min  ", "dim"),
        f"{returns.min():.2f}",
        ("  max ", "dim"),
        f"{returns.max():.2f}",
    )


def fork_trainer_factory(state_path: Path, origin: dict) -> TrainerFactory:
    """A trainer factory that continues the training state ``state_path`` (a run's ``resume.eqx``)
    exactly, in a new run folder that records ``origin``; the source run is only read."""

    def factory(env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path, listener: Listener) -> Trainer:
        from lerax_tui.train.lifecycle import fork_point
        from lerax_tui.train.runner import Runner

        point = fork_point(Path(state_path), origin.get("step"))  # checks the bytes and the step
        saved_params = (point.entry or {}).get("env_params")
        params = saved_params if isinstance(saved_params, dict) else env_params
        return Runner(env_id, params, config, runs_dir, listener, start_state=point, origin=origin)

    return factory


def policy_trainer_factory(policy: MLPQPolicy, origin: dict | None = None) -> TrainerFactory:
    """A trainer factory for a new run whose online and target networks start as ``policy``'s
    (every seed); the replay buffer, optimiser and exploration schedule start fresh. The new run
    folder records ``origin`` (the checkpoint's path, step and fingerprint)."""

    def factory(env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path, listener: Listener) -> Trainer:
        from lerax_tui.train.runner import Runner

        return Runner(env_id, env_params, config, runs_dir, listener, init_policy=policy, origin=origin)

    return factory
