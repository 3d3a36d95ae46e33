"""A sweep program's greedy evaluations: every due agent in one batched call per episode count, on
the same episodes as each member's plain run (:mod:`lerax_tui.train.sweep_engine`'s keys), through
the device hooks (:class:`~lerax_tui.train.sweep_hooks.SweepDevices`: ``_agent_returns``,
``_best_returns``, ``_keep_best``), so a distributed sweep evaluates the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lerax_tui.train import sweep_engine as se
from lerax_tui.train.events import EvalKind, Evaluated, Phase, PhaseChanged

if TYPE_CHECKING:
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.train.best import Best
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.dqn import DQNState
    from lerax_tui.train.sweep_member import Member


class SweepEvaluations:
    """Mixin of the sweep runner: periodic and final evaluations of a program's members."""

    spec: Any
    _base_keys: np.ndarray  # the running program's agents' PRNG key data (sweep_engine.base_keys)

    if TYPE_CHECKING:  # the device hooks (SweepDevices, after this class in the runner's bases)

        def _agent_returns(
            self, state: DQNState, agents: Sequence[int], episodes: int, keys: Any
        ) -> list[np.ndarray]: ...

        def _best_returns(
            self, best: Sequence[Best], agents: Sequence[int], episodes: int, keys: Any
        ) -> list[np.ndarray]: ...

        def _keep_best(self, m: Member, state: DQNState, p: int, s: int, returns: Any, step: int) -> None: ...

    def _evaluate_periodic(self, due: list[tuple[int, Member]], state: DQNState, step: int) -> dict[int, list]:
        """Greedy evaluation of every seed of the ``due`` members (``(position in the program,
        member)``) in one batched call per episode count; each seed's best is kept as in a plain run
        (ties go to the later policy). Returns each member's returns per seed, by configuration index."""
        seeds, out = self.spec.seeds, {}
        keys = se.periodic_keys(self._base_keys, step) if due else self._base_keys
        for episodes in sorted({m.config.eval_episodes for _, m in due}):
            group = [(p, m) for p, m in due if m.config.eval_episodes == episodes]
            agents = [p * seeds + s for p, _ in group for s in range(seeds)]
            returns = self._agent_returns(state, agents, episodes, keys[agents])
            for g, (p, m) in enumerate(group):
                mine = returns[g * seeds : (g + 1) * seeds]
                out[m.index] = mine
                for s, r in enumerate(mine):
                    best = m.best[s]
                    if best is None or best.beaten_by(float(np.mean(r))):
                        self._keep_best(m, state, p, s, r, step)
        return out

    def _evaluate_final(self, live: list[tuple[int, Member]], state: DQNState) -> tuple[dict, dict]:
        """The final greedy evaluation of the ``live`` members' final policies and of their seeds'
        best ones (on the same episodes, as a plain run does), each member told EVALUATING first and
        then its Evaluated events. Returns the final and the best returns per seed, by configuration
        index (empty lists where none)."""
        seeds = self.spec.seeds
        final: dict[int, list] = {m.index: [] for _, m in live}
        best: dict[int, list] = {m.index: [] for _, m in live}
        keys = se.final_keys(self._base_keys) if live else self._base_keys
        for episodes in sorted({m.config.eval_episodes for _, m in live} - {0}):
            group = [(p, m) for p, m in live if m.config.eval_episodes == episodes]
            for _, m in group:
                m.emit(PhaseChanged(Phase.EVALUATING))
            agents = [p * seeds + s for p, _ in group for s in range(seeds)]
            got = self._agent_returns(state, agents, episodes, keys[agents])
            for g, (_, m) in enumerate(group):
                final[m.index] = got[g * seeds : (g + 1) * seeds]
            with_best = [(p, m) for p, m in group if all(b is not None for b in m.best)]
            if with_best:
                policies: list[Best] = [b for _, m in with_best for b in m.best if b is not None]
                agents = [p * seeds + s for p, _ in with_best for s in range(seeds)]
                got = self._best_returns(policies, agents, episodes, keys[agents])
                for g, (_, m) in enumerate(with_best):
                    best[m.index] = got[g * seeds : (g + 1) * seeds]
        for _, m in live:
            if final[m.index]:
                m.emit(Evaluated(final[m.index]))
            if best[m.index]:
                m.emit(
                    Evaluated(best[m.index], which=EvalKind.BEST, best_steps=[b.step if b else None for b in m.best])
                )
        return final, best


def compile_ahead(env: GymnaxEnv, online: Any, configs: list[DQNConfig], base: np.ndarray) -> threading.Thread:
    """Start compiling, on a thread, the evaluation of all of a program's agents (``online``: their
    stacked policies) for each of its configurations' episode counts: what its periodic, final and
    best evaluations run. Join the thread before evaluating. A failure here only means the first
    evaluation compiles it (and raises there, if it must)."""
    policies = se.take_agents(online, range(len(base)))

    def run() -> None:
        for episodes in sorted({c.eval_episodes for c in configs} - {0}):
            try:
                se.compile_evaluation(policies, env, episodes=episodes, keys=base)
            except Exception:  # noqa: BLE001, S112
                continue

    thread = threading.Thread(target=run, name="sweep-eval-compile", daemon=True)
    thread.start()
    return thread
