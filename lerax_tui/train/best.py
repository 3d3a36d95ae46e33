"""Each seed's best policy from the periodic greedy evaluations (``eval_interval``), kept as
``best.eqx`` (``seed-K-best.eqx`` with several seeds) and re-evaluated at the end of the run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lerax_tui.train import runs

if TYPE_CHECKING:  # the policy module imports JAX; this one is imported before training starts
    from lerax_tui.core.policy import MLPQPolicy


@dataclass(frozen=True)
class Best:
    """One seed's best policy so far.

    Attributes:
        score: Its mean greedy return at that evaluation.
        step: The env step (per seed) it was evaluated at.
        policy: The policy itself (re-evaluated at the end on the final evaluation's episodes).
        path: Its checkpoint file.
    """

    score: float
    step: int
    policy: MLPQPolicy
    path: Path

    def beaten_by(self, score: float) -> bool:
        """Whether a new evaluation's mean replaces this one (ties go to the later policy)."""
        return score >= self.score


def best_path(run_dir: Path, seed: int, num_seeds: int) -> Path:
    """Seed ``seed``'s best checkpoint file in ``run_dir``."""
    return run_dir / runs.CHECKPOINTS / f"{runs.best_checkpoint_name(seed=seed, num_seeds=num_seeds)}.eqx"


def load_best(run_dir: Path, num_seeds: int) -> list[Best | None]:
    """On resume: each seed's best policy and score from its best checkpoint, where one was written
    and still reads back (verified against its manifest; otherwise the next periodic evaluation starts
    afresh)."""
    from lerax_tui.core.verification import load_checkpoint

    out: list[Best | None] = []
    for s in range(num_seeds):
        path = best_path(run_dir, s, num_seeds)
        try:
            policy, report = load_checkpoint(path)
        except (OSError, ValueError):  # CheckpointError is a ValueError
            out.append(None)
            continue
        manifest = report.manifest
        score, step = (manifest.eval_return, manifest.step) if manifest is not None else (None, None)
        out.append(Best(score, step, policy, path) if score is not None and step is not None else None)
    return out
