"""What a sweep does differently on one process and on several (``train/dist_sweep.py``): opening
the sweep folder, placing a program's state on the devices, fetching a chunk's report, agreeing on
stops, writing a member's checkpoints, evaluating agents and keeping their best policies.

:class:`SweepDevices` is the one-process behaviour, a base of
:class:`~lerax_tui.train.sweep_runner.SweepRunner` (as ``runner_hooks.LocalDevices`` is of ``Runner``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.train.best import Best
    from lerax_tui.train.dqn import ChunkOutput, DQNState
    from lerax_tui.train.runlock import RunLock
    from lerax_tui.train.sweep_member import Member
    from lerax_tui.train.sweep_record import SweepRecord
    from lerax_tui.train.sweep_spec import SweepSpec


class SweepDevices:
    """Every agent on this process's devices (split over them when the count divides)."""

    env: GymnaxEnv
    env_id: str
    spec: SweepSpec
    _stop: threading.Event
    _writes_shared = True
    """Whether this process writes the sweep's shared files (sweep.json, each member's metrics.jsonl
    and resume.eqx) and cleans the members' folders on resume."""
    _processes = 1
    """How many processes share the agents (the memory check asks each host for its share)."""
    _host_state: tuple[Any, Any] | None = None
    """(state, its host copy) while a round of checkpoints is written from it."""
    _online: tuple[Any, Any] | None = None
    """(state, a host copy of its online policies) of the latest evaluation."""

    def _open_sweep_dir(
        self, runs_dir: str | Path | None, resume_from: str | Path | None, record: SweepRecord | None
    ) -> tuple[SweepRecord, Path, list[RunLock]]:
        """The sweep's record and folder (created for a new sweep) with every lock taken."""
        from lerax_tui.train.sweep_folder import create_sweep_dir, lock_all
        from lerax_tui.train.sweep_record import new_record

        if resume_from is None:
            record = new_record(self.spec, self.env_id)
            sweep_dir = create_sweep_dir(Path(runs_dir or "runs"), self.env, self.spec, record)
        else:
            assert record is not None
            sweep_dir = Path(resume_from)
        return record, sweep_dir, lock_all(sweep_dir, record)

    def _stop_now(self) -> bool:
        """Whether a stop was asked (on several processes: by any of them, as all of them see it)."""
        return self._stop.is_set()

    def _initial_state(self, members: list[Member]) -> DQNState:
        """A program's state: fresh, or its members' resume states joined (host arrays)."""
        from lerax_tui.core.checkpoint import load_pytree
        from lerax_tui.train import dqn, sweep_engine
        from lerax_tui.train.run_writer import RESUME_KIND

        if all(m.state_path is None for m in members):
            return sweep_engine.init_program(self.env, [m.config for m in members])
        states = []
        for m in members:
            if m.state_path is None:  # only at step 0, where the initial state is the config's
                states.append(dqn.init_state(self.env, m.config))
            else:
                skeleton = dqn.state_skeleton(self.env, m.config)
                states.append(load_pytree(m.state_path, skeleton, kind=RESUME_KIND))
        return sweep_engine.join_states(states)

    def _start_state(self, members: list[Member]) -> DQNState:
        """The state a program trains from, placed on the devices."""
        from lerax_tui.train import dqn

        return dqn.shard_seeds(self._initial_state(members))

    def _fetch(self, out: ChunkOutput) -> ChunkOutput:
        """A chunk's report as host numpy arrays (every agent's)."""
        import jax

        return jax.device_get(out)

    def _agree(self, stop: bool, checkpoint: bool, n: int) -> tuple[bool, bool, int]:
        """Whether to stop, whether to write checkpoints, and the next chunk's iterations, as every
        process sees them (one process: as asked)."""
        return stop, checkpoint, n

    def _next_chunk(self, n: int, dt: float, max_iterations: int, target_s: float) -> int:
        """The next chunk's iterations after ``n`` took ``dt`` s (several processes: sized alike on all)."""
        from lerax_tui.train.schedule import next_chunk_iterations

        return next_chunk_iterations(n, dt, max_iterations, target_s)

    def _write(self, m: Member, state: DQNState, p: int, step: int, *, final: bool) -> Path:
        """Member ``m``'s (the program's ``p``-th) policies and resume state, from one host copy of
        ``state`` shared by every member written from it (slicing numpy compiles nothing; slicing
        device arrays compiled and dispatched an op per leaf). Returns seed 0's policy."""
        from lerax_tui.train.sweep_engine import member_state

        if self._host_state is None or self._host_state[0] is not state:
            self._host_state = (state, host_copy(state))
        mine = member_state(self._host_state[1], p, self.spec.seeds)
        return m.writer.write_all(mine, step, m.recent_returns(), final=final)

    def _written(self) -> None:
        """The checkpoints of every member due are written: the state's host copy is dropped."""
        self._host_state = None

    def _host_online(self, state: DQNState) -> MLPQPolicy:
        """Every agent's online policy, stacked: a host copy of ``state``'s, made once per state."""
        if self._online is None or self._online[0] is not state:
            self._online = (state, host_copy(state.seeds.online))
        return self._online[1]

    def _agent_returns(self, state: DQNState, agents: Sequence[int], episodes: int, keys: Any) -> list[np.ndarray]:
        """Greedy returns of the program's ``agents`` (online policies), one batched call; ``keys``:
        each agent's raw key data (``sweep_engine.periodic_keys``/``final_keys`` rows)."""
        from lerax_tui.train import sweep_engine as se

        policies = se.take_agents(self._host_online(state), agents)
        return se.evaluate_agents(policies, self.env, episodes=episodes, keys=keys)

    def _best_returns(self, best: Sequence[Best], agents: Sequence[int], episodes: int, keys: Any) -> list[np.ndarray]:
        """Greedy returns of the best policies ``best`` (of the program's ``agents``)."""
        from lerax_tui.train import sweep_engine as se

        policies = se.stack_policies([b.policy for b in best])
        return se.evaluate_agents(policies, self.env, episodes=episodes, keys=keys)

    def _keep_best(self, m: Member, state: DQNState, p: int, s: int, returns: Any, step: int) -> None:
        """Seed ``s`` of member ``m`` (the program's ``p``-th) scored its best: write it, keep it."""
        from lerax_tui.train import runs
        from lerax_tui.train.best import Best

        seeds, mean = self.spec.seeds, float(np.mean(returns))
        policy = agent_policy(self._host_online(state), p * seeds + s, m.config.epsilon)
        name = runs.best_checkpoint_name(seed=s, num_seeds=seeds)
        extra = {"eval_return": mean, "eval_returns": np.asarray(returns, dtype=float).tolist()}
        path = m.writer.save_policy(policy, s, name, step, m.recent_return(s), extra)
        m.best[s] = Best(mean, step, policy, path)


def host_copy(tree: Any) -> Any:
    """``tree``'s arrays as host numpy copies (never views of device buffers the next chunk donates)."""
    import equinox as eqx
    import jax

    return jax.tree.map(lambda x: np.array(x) if eqx.is_array(x) else x, jax.device_get(tree))


def agent_policy(online: MLPQPolicy, agent: int, epsilon: float) -> MLPQPolicy:
    """Agent ``agent``'s policy of the stacked ``online`` ones, with its configuration's epsilon as a
    float (as a plain run saves it)."""
    import equinox as eqx
    import jax

    policy = jax.tree.map(lambda x: x[agent] if eqx.is_array(x) else x, online)
    return eqx.tree_at(lambda p: p.epsilon, policy, float(epsilon))
