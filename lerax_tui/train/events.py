"""What a training run tells its listeners, and the interface every trainer offers.

This module imports neither JAX nor Textual: the TUI and its tests build on it with a fake trainer,
and the real runner (``lerax_tui.train.runner``) implements the same interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from lerax_tui.train.config import DQNConfig


class Phase(StrEnum):
    """What a run is doing, as :class:`PhaseChanged` reports it (members compare equal to their
    strings, so listeners written against the bare strings keep working)."""

    COMPILING = "compiling"
    TRAINING = "training"
    PAUSED = "paused"
    EVALUATING = "evaluating"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"


TERMINAL_PHASES = frozenset({Phase.FINISHED, Phase.FAILED, Phase.STOPPED})
"""Phases after which a run emits nothing more but its :class:`Finished` or :class:`Failed`."""


class EvalKind(StrEnum):
    """Which policies an :class:`Evaluated` event is about."""

    PERIODIC = "periodic"
    """During training, every ``eval_interval`` steps."""
    FINAL = "final"
    """The final policies, at the end."""
    BEST = "best"
    """Each seed's best policy from the periodic evaluations, re-evaluated at the end."""


@dataclass(frozen=True)
class Compiling:
    """JIT compilation started (the UI shows "compiling"; ETA excludes it)."""

    run_dir: Path


@dataclass(frozen=True)
class ChunkMetrics:
    """One chunk of training, for all seeds.

    Attributes:
        step: environment steps done per seed at the end of the chunk.
        total_steps: environment steps each seed will do in the whole run.
        wall_s: seconds since training started (compile included).
        train_s: seconds spent training, compile excluded (for SPS and ETA).
        sps: environment steps per second over this chunk, all seeds together.
        episode_returns: one float array per seed: returns of episodes completed in the chunk.
        episode_lengths: one int array per seed, aligned with ``episode_returns``.
        episode_steps: one int array per seed: the env step (per seed) at which each episode ended.
        loss: mean TD loss per seed over the chunk (NaN before learning starts).
        epsilon: exploration epsilon at the end of the chunk.
        eval_returns: when a periodic evaluation (``eval_interval``) ran after this chunk, one
            array of greedy episode returns per seed; otherwise None.
        active_s: seconds since training started (after compiling), pauses left out, evaluations
            and checkpoint writes in: what the ETA divides by (None: use ``train_s``).
        start_step: the step this process started training at (a resumed run's resume step), which
            ``active_s`` counts from.
        compile_s: seconds the program took to build and compile before training started.
    """

    step: int
    total_steps: int
    wall_s: float
    train_s: float
    sps: float
    episode_returns: list[np.ndarray]
    episode_lengths: list[np.ndarray]
    episode_steps: list[np.ndarray]
    loss: np.ndarray
    epsilon: float
    eval_returns: list[np.ndarray] | None = None
    active_s: float | None = None
    start_step: int = 0
    compile_s: float = 0.0

    @property
    def num_seeds(self) -> int:
        return len(self.episode_returns)

    def to_json(self) -> dict[str, Any]:
        """The ``metrics.jsonl`` object for this chunk (lists per seed; ``eval_returns`` only after
        a periodic evaluation)."""
        record: dict[str, Any] = {
            "step": int(self.step),
            "wall_s": round(float(self.wall_s), 4),
            "train_s": round(float(self.train_s), 4),
            "sps": round(float(self.sps), 1),
            "episode_returns": [np.asarray(r, dtype=float).tolist() for r in self.episode_returns],
            "episode_lengths": [np.asarray(r, dtype=int).tolist() for r in self.episode_lengths],
            "episode_steps": [np.asarray(r, dtype=int).tolist() for r in self.episode_steps],
            "loss": [None if not np.isfinite(x) else float(x) for x in np.asarray(self.loss, dtype=float)],
            "epsilon": float(self.epsilon),
        }
        if self.eval_returns is not None:
            record["eval_returns"] = [np.asarray(r, dtype=float).tolist() for r in self.eval_returns]
        return record


@dataclass(frozen=True)
class CheckpointWritten:
    """A policy file (and its manifest) was written at env step ``step``."""

    path: Path
    step: int


@dataclass(frozen=True)
class Evaluated:
    """Greedy evaluation: one array of episode returns per seed.

    Attributes:
        returns: Per seed, the returns of ``eval_episodes`` greedy episodes.
        which: See :class:`EvalKind` (the best policies are re-evaluated on the final evaluation's
            episodes).
        step: The env step (per seed) of the evaluated policies; for ``"best"``, ``best_steps``
            gives each seed's.
        best: For ``"periodic"``: each seed's best mean return so far (this evaluation included).
        best_steps: For ``"best"``: the step of each seed's best policy.
    """

    returns: list[np.ndarray]
    which: EvalKind = EvalKind.FINAL
    step: int | None = None
    best: list[float | None] | None = None
    best_steps: list[int | None] | None = None


@dataclass(frozen=True)
class Finished:
    """The run ended normally or on a stop; ``checkpoint`` is seed 0's final policy."""

    run_dir: Path
    checkpoint: Path | None
    stopped_early: bool = False


@dataclass(frozen=True)
class Failed:
    """The run stopped on an error; ``checkpoint`` is the last good one, if any."""

    message: str
    checkpoint: Path | None = None


@dataclass(frozen=True)
class PhaseChanged:
    """The run entered ``phase``."""

    phase: Phase


Event = Compiling | ChunkMetrics | CheckpointWritten | Evaluated | Finished | Failed | PhaseChanged
Listener = Callable[[Event], None]


@dataclass
class RunResult:
    run_dir: Path
    checkpoints: list[Path] = field(default_factory=list)
    env_steps: int = 0
    compile_s: float = 0.0
    train_s: float = 0.0
    eval_returns: list[np.ndarray] = field(default_factory=list)
    # each seed's best policy (eval_interval), re-evaluated on the final evaluation's episodes
    best_eval_returns: list[np.ndarray] = field(default_factory=list)
    best_checkpoints: list[Path] = field(default_factory=list)
    best_steps: list[int] = field(default_factory=list)
    stopped_early: bool = False
    error: str | None = None  # set when training stopped on non-finite numbers (see Failed)


class Trainer(Protocol):
    """What the TUI and the CLI drive. ``run`` blocks (call it from a worker thread); the other
    methods are thread-safe and take effect at the next chunk boundary."""

    run_dir: Path

    def run(self) -> RunResult: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    def request_checkpoint(self) -> None: ...


# A factory the app calls to make a trainer: (env_id, env_params, config, runs_dir, listener) -> Trainer
TrainerFactory = Callable[[str, dict, "DQNConfig", Path, Listener], Trainer]
