"""The public training entry point: ``from lerax_tui.train import DQNConfig, train, evaluate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lerax_tui.train.config import DQNConfig, coerce, preset
from lerax_tui.train.events import Listener, RunResult


def train(
    env_id: str,
    config: DQNConfig | None = None,
    *,
    runs_dir: str | Path = "runs",
    listener: Listener | None = None,
    env_params: dict[str, Any] | None = None,
    **overrides: Any,
) -> RunResult:
    """Train a DQN on ``env_id`` and write a run folder.

    Args:
        env_id: A supported gymnax id, e.g. ``"CartPole-v1"``.
        config: The configuration; the env family's preset when None.
        runs_dir: Where the run folder is created.
        listener: Called with every training event (see ``lerax_tui.train.events``).
        env_params: Overrides of the environment's parameters.
        **overrides: Hyperparameters replacing those of ``config`` (e.g. ``total_timesteps=10_000``).

    Returns:
        The run's result: folder, checkpoints, timings and greedy evaluation returns per seed.

    Raises:
        ConfigError: An unknown or invalid hyperparameter.
        EnvError: An unknown environment; ValueError for an unsupported one.
    """
    from lerax_tui.train.runner import Runner

    config = config if config is not None else preset(env_id)
    if overrides:
        config = config.replace(**{k: coerce(k, v) for k, v in overrides.items()})
    return Runner(env_id, env_params or {}, config, Path(runs_dir), listener).run()
