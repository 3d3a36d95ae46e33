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


_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def histogram_bins(returns: np.ndarray, max_bins: int) -> tuple[np.ndarray, bool]:
    """Bin edges on round numbers (a step of 1, 2, 2.5 or 5 times a power of ten) covering the
    returns in at most ``max_bins`` bins, and whether each bin holds one whole number.

    Equal returns make one bin (``[v, v]``); whole-number returns get whole-number steps, so 20
    returns of 500 never spread over ten bins of width 0.1.
    """
    returns = np.asarray(returns, dtype=np.float64)
    lo, hi = float(returns.min()), float(returns.max())
    if hi == lo:
        return np.array([lo, hi]), bool(lo == round(lo))
    whole = bool(np.all(returns == np.round(returns)))
    max_bins = max(1, int(max_bins))
    raw = (hi - lo) / max_bins
    power = 10.0 ** math.floor(math.log10(raw))
    candidates = [m * power * k for k in (1.0, 10.0, 100.0) for m in _NICE_STEPS]
    for step in sorted(candidates):
        if step < raw * (1 - 1e-9) or (whole and (step < 1 or step != round(step))):
            continue
        start = math.floor(lo / step) * step
        count = max(1, math.ceil((hi - start) / step - 1e-9))  # the last bin holds its top edge
        if count <= max_bins or step == candidates[-1]:
            break
    if whole and step == 1 and hi - lo + 1 <= max_bins:
        return np.arange(lo, hi + 2), True  # one bar per whole number
    if start + step * count < hi:  # rounding: never leave the top return out
        count += 1
    return start + step * np.arange(count + 1), False


def histogram_text(returns: np.ndarray, *, width: int, bins: int = 8) -> Text:
    """Returns as a horizontal histogram: one line per bin (``lo–hi  ████ count``), on round bin
    edges (:func:`histogram_bins`); equal returns are one bar labelled with their value."""
    returns = np.asarray(returns, dtype=np.float64)
    out = Text()
    if returns.size == 0:
        return Text("no episodes yet", style="dim")
    edges, single = histogram_bins(returns, bins)
    if len(edges) == 2 and edges[0] == edges[1]:
        labels, counts = [_number(edges[0], 0 if single else 2)], np.array([returns.size])
    else:
        step = float(edges[1] - edges[0])
        power = math.floor(math.log10(step))
        decimals = max(0, -power + (1 if round(step / 10**power, 1) == 2.5 else 0))
        index = np.clip(np.searchsorted(edges, returns, side="right") - 1, 0, len(edges) - 2)
        counts = np.bincount(index, minlength=len(edges) - 1)
        if single:
            labels = [_number(a, 0) for a in edges[:-1]]
        else:
            dash = " – " if edges[0] < 0 else "–"  # "-1.0 – -0.5", never "-1.0–-0.5"
            labels = [
                f"{_number(a, decimals)}{dash}{_number(b, decimals)}"
                for a, b in zip(edges[:-1], edges[1:], strict=True)
            ]
    label_w = max(len(label) for label in labels)
    count_w = len(str(int(counts.max())))
    bar = max(4, width - label_w - count_w - 3)
    top = max(1, int(counts.max()))
    for c, label in zip(counts, labels, strict=True):
        out.append(f"{label:>{label_w}} ", style="dim")
        drawn = "█" * int(round(c / top * bar)) or ("▏" if c else "")
        out.append(drawn, style="cyan")
        out.append(f"{' ' * (bar - len(drawn))} {c:>{count_w}}\n")
    return out


def _number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.lstrip("-") if text.strip("-0.,") == "" else text  # never "-0.0"


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
