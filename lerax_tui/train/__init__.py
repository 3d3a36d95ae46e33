"""Training: DQN config and presets, the jitted chunked DQN, the host-side runner, evaluation, runs.

Imports are lazy so ``lerax-tui --help`` and the TUI's form never pay for JAX until training starts.
"""

from __future__ import annotations

from typing import Any

from lerax_tui.train.config import ConfigError, DQNConfig, preset

__all__ = ["ConfigError", "DQNConfig", "evaluate", "preset", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from lerax_tui.train.api import train

        return train
    if name == "evaluate":
        from lerax_tui.train.evaluation import evaluate

        return evaluate
    raise AttributeError(name)
