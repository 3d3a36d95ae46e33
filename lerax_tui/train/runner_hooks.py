"""What the runner does differently on one process and on several (``train/dist_runner.py``):
placing the state on devices, fetching a chunk's report, agreeing on stops, the final evaluations.

:class:`LocalDevices` is the one-process behaviour, a base of :class:`~lerax_tui.train.runner.Runner`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lerax_tui.train.schedule import TARGET_CHUNK_S, next_chunk_iterations

if TYPE_CHECKING:
    import threading

    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.core.policy import AbstractQPolicy
    from lerax_tui.train.best import Best
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.dqn import ChunkOutput, DQNState


class LocalDevices:
    """Every seed on this process's devices (split over them when the count divides)."""

    config: DQNConfig
    env: GymnaxEnv
    _best: list[Best | None]
    _stop: threading.Event
    _writes_shared = True
    """Whether this process writes the run's shared files (config.json, metrics.jsonl, resume.eqx)."""

    def _initial_state(self) -> DQNState:
        raise NotImplementedError

    def _start_state(self) -> DQNState:
        """The state training starts from, placed on the devices."""
        from lerax_tui.train import dqn

        return dqn.shard_seeds(self._initial_state())

    def _fetch(self, out: ChunkOutput) -> ChunkOutput:
        """A chunk's report as host numpy arrays (every seed's)."""
        import jax

        return jax.device_get(out)

    def _agree(self, stop: bool, checkpoint: bool, n: int) -> tuple[bool, bool, int]:
        """Whether to stop, whether to write checkpoints, and the next chunk's iterations, as every
        process sees them (one process: as asked)."""
        return stop, checkpoint, n

    def _stop_now(self) -> bool:
        """Whether a stop was asked, as every process sees it (one process: its own flag)."""
        return self._stop.is_set()

    def _next_chunk(self, n: int, dt: float, max_iterations: int, target_s: float = TARGET_CHUNK_S) -> int:
        """The next chunk's iterations after ``n`` took ``dt`` s (several processes: sized alike on all)."""
        return next_chunk_iterations(n, dt, max_iterations, target_s)

    def _evaluate_final(self, state: DQNState | None, which: list[bool]) -> list[np.ndarray]:
        """Each seed's final (``state``'s) or best policy (``state`` None) on its final-evaluation
        episodes; a seed not in ``which`` gets none."""
        from lerax_tui.train import dqn
        from lerax_tui.train.evaluation import evaluate_final

        n = self.config.num_seeds
        policies: list[AbstractQPolicy | None]
        if state is not None:
            policies = [dqn.seed_policy(state, s, self.config) if which[s] else None for s in range(n)]
        else:
            policies = [b.policy if b else None for b in self._best]
        return evaluate_final(policies, self.env, self.config)
