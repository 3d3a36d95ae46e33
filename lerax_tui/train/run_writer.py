"""What a run writes into ``checkpoints/``: each seed's policy with its manifest, and the resume state.

Every file goes through ``core.checkpoint`` (atomic, with its manifest beside it); the runner decides
when, this module what and where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerax_tui.train import runs
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import CheckpointWritten, Event

if TYPE_CHECKING:
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.train.dqn import DQNState

RESUME_KIND = "dqn-train-state"
"""The ``kind`` in ``resume.json``: a full training state, not a policy."""


@dataclass
class RunWriter:
    """Writes a run's checkpoints into ``run_dir/checkpoints`` and tells ``emit`` about each policy.

    Attributes:
        written: Every policy file written, in order.
        last_good: Seed 0's policy of the latest full set (what a failure message points to).
        resume_step: The step of the latest ``resume.eqx`` this run wrote (None: none yet).
    """

    run_dir: Path
    env: GymnaxEnv
    env_id: str
    env_params: dict[str, Any]
    config: DQNConfig
    emit: Callable[[Event], None]
    written: list[Path] = field(default_factory=list)
    last_good: Path | None = None
    resume_step: int | None = None

    def write_all(self, state: DQNState, step: int, recent_returns: list[float | None], *, final: bool) -> Path:
        """Every seed's policy (``final`` or ``step-N``) and the full resume state. Returns seed 0's."""
        from lerax_tui.train.dqn import seed_policy

        config = self.config
        first = None
        for s in range(config.num_seeds):
            name = runs.checkpoint_name(None if final else step, seed=s, num_seeds=config.num_seeds)
            path = self.save_policy(seed_policy(state, s, config), s, name, step, recent_returns[s])
            self.written.append(path)
            first = first or path
        self.write_resume(state, step)
        assert first is not None  # num_seeds >= 1
        self.last_good = first
        return first

    def write_resume(self, state: DQNState, step: int) -> None:
        """The full training state as ``checkpoints/resume.eqx`` (every seed's, at ``step``)."""
        from lerax_tui.core.checkpoint import save_pytree

        save_pytree(
            state,
            self.run_dir / runs.CHECKPOINTS / runs.RESUME_NAME,
            kind=RESUME_KIND,
            manifest_extra={
                "env_id": self.env_id,
                "env_params": self.env_params,
                "config": self.config.to_dict(),
                "step": step,
            },
        )
        self.resume_step = step

    def save_policy(
        self,
        policy: MLPQPolicy,
        seed: int,
        name: str,
        step: int,
        recent_return: float | None,
        extra: dict[str, Any] | None = None,
    ) -> Path:
        """Seed ``seed``'s ``policy`` as ``checkpoints/NAME.eqx`` with its manifest (at ``step``)."""
        from lerax_tui.core.checkpoint import save_checkpoint

        config = self.config
        path = save_checkpoint(
            policy,
            self.run_dir / runs.CHECKPOINTS / name,
            env=self.env,
            config=config.to_dict(),
            step=step,
            recent_return=recent_return,
            extra={"seed": config.seed + seed, "seed_index": seed, "run_dir": str(self.run_dir), **(extra or {})},
        )
        self.emit(CheckpointWritten(path, step))
        return path
