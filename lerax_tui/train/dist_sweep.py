"""One sweep over every device of several processes (``lerax-tui sweep --distributed``).

Each program's flattened agent axis (configurations x seeds) lies on the global one-axis mesh
(``Cluster.mesh``), so each process trains the agents on its own devices with the one-process
program. Around it the processes agree on everything the host decides, as ``train --distributed``
(``train/dist_runner.py``) does:

- Process 0 creates the sweep folder (sweep.json, every member's folder and config.json), or locks
  it on ``--resume``, and tells the others its name; it alone holds the locks and writes sweep.json,
  the members' metrics.jsonl and their resume.eqx (whole, gathered, after every process's policies).
- Each chunk's small report is gathered from every process in one message each (``dist_exchange``,
  with the stop and checkpoint requests and the seconds that size the next chunk), so all of them see
  every agent's episodes and make the same decisions (divergence, evaluation, checkpoints, statuses).
- Each process writes the policy checkpoints of the agents it holds (each member's seed index in
  the name) and evaluates them; the returns are gathered, so every process keeps every best score.

A distributed sweep's folder is the same as a one-process sweep's: it resumes with any process count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from lerax_tui.train import lifecycle, runs
from lerax_tui.train.dist_exchange import ChunkExchange
from lerax_tui.train.dist_runner import place_from_host
from lerax_tui.train.distributed import Cluster, PeerLost
from lerax_tui.train.runlock import LOCK_FILE, RunLock
from lerax_tui.train.sweep_record import read_sweep
from lerax_tui.train.sweep_runner import DONE, SweepRunner

if TYPE_CHECKING:
    from jaxtyping import Array

    from lerax_tui.train.best import Best
    from lerax_tui.train.dqn import ChunkOutput, DQNState
    from lerax_tui.train.sweep_events import SweepListener, SweepResult
    from lerax_tui.train.sweep_record import SweepRecord
    from lerax_tui.train.sweep_runner import Member
    from lerax_tui.train.sweep_spec import SweepSpec

_OPENING = "opening the sweep folder"


def agent_count_problem(
    spec: SweepSpec, num_devices: int, num_processes: int, record: SweepRecord | None = None, sweep_dir=None
) -> str | None:
    """Why a program's agents (configurations x seeds) cannot be spread evenly over the devices,
    naming the seed counts (new sweep) or device counts (resumed sweep) that can; None when all fit.
    A resumed sweep's programs are its unfinished configurations grouped by shape and resume step."""
    where = f"{num_devices} devices ({num_processes} process{'es' if num_processes != 1 else ''})"
    if record is None:
        sizes = sorted({len(g) for g in spec.programs()})
        if all(n * spec.seeds % num_devices == 0 for n in sizes):
            return None
        step = math.lcm(*(num_devices // math.gcd(num_devices, n) for n in sizes))
        fits = ", ".join(str(step * k) for k in range(1, 5))
        bad = next(n for n in sizes if n * spec.seeds % num_devices)
        return (
            f"{bad * spec.seeds} agents ({bad} configuration(s) x {spec.seeds} seed(s)) in one program do not "
            f"divide evenly over {where}: use --seeds {fits}, ... (or a grid whose configurations do)"
        )
    groups: dict[tuple, int] = {}
    for entry in record.configs:
        if entry.status not in DONE:
            point = lifecycle.resume_point(Path(sweep_dir) / entry.run_dir)
            key = (tuple(repr(spec.overrides[entry.index][k]) for k in spec.shape_keys), point.step)
            groups[key] = groups.get(key, 0) + spec.seeds
    bad_sizes = [n for n in groups.values() if n % num_devices]
    if not bad_sizes:
        return None
    whole = math.gcd(*groups.values())
    fits = ", ".join(str(d) for d in range(1, whole + 1) if whole % d == 0)
    return (
        f"the sweep left {bad_sizes[0]} agents in one program (its unfinished configurations at one step), "
        f"which do not divide evenly over {where}: resume it on a total device count of {fits}"
    )


class DistributedSweepRunner(SweepRunner):
    """A :class:`~lerax_tui.train.sweep_runner.SweepRunner` that is one of ``cluster.count``
    processes. Every process constructs it with the same arguments and calls :meth:`run`; every
    program's agent count must be a multiple of the global device count (:func:`agent_count_problem`).

    Raises:
        ValueError: On processes other than 0, when process 0 could not open the sweep folder.
    """

    def __init__(self, cluster: Cluster, env_id: str, spec: SweepSpec, runs_dir, listener=None, **kwargs: Any):
        from jax.sharding import NamedSharding, PartitionSpec

        self.cluster = cluster
        self._exchange = ChunkExchange(cluster)
        self._writes_shared, self._processes = cluster.lead, cluster.count
        self._split = NamedSharding(cluster.mesh, PartitionSpec("seeds"))
        self._replicated = NamedSharding(cluster.mesh, PartitionSpec())
        self._whole: tuple[Any, Any] | None = None
        self._local: tuple[Any, Any] | None = None
        self.agent_range = range(0)
        super().__init__(env_id, spec, runs_dir, listener, **kwargs)

    @classmethod
    def resume_sweep(cls, cluster: Cluster, sweep_dir, listener: SweepListener | None) -> DistributedSweepRunner:
        """Continue ``sweep_dir`` on every process (as :meth:`SweepRunner.from_sweep_dir`)."""
        record = read_sweep(sweep_dir)
        return cls(cluster, record.env_id, record.spec(), None, listener, resume_from=sweep_dir, record=record)

    def run(self) -> SweepResult:
        try:
            result = super().run()
        except PeerLost as e:
            self.result.error = str(e)
            return self.result
        if result.error is None:
            try:  # the folders are complete once every process has written its last files
                self.cluster.barrier("the end of the sweep")
            except PeerLost as e:
                result.error = str(e)
        return result

    # --- the sweep folder: process 0 opens it, the others are told --------------------------------

    def _open_sweep_dir(self, runs_dir, resume_from, record):
        if self.cluster.lead:
            try:
                opened = super()._open_sweep_dir(runs_dir, resume_from, record)
            except Exception as e:
                self.cluster.broadcast_json({"error": " ".join(str(e).split())}, _OPENING)
                raise
            try:
                self.cluster.broadcast_json({"sweep_dir": str(opened[1])}, _OPENING)
            except BaseException:
                for lock in opened[2]:
                    lock.release()
                raise
            return opened
        info = self.cluster.broadcast_json(None, _OPENING)
        if "error" in info:
            raise ValueError(f"process 0 could not open the sweep folder: {info['error']}")
        sweep_dir = Path(info["sweep_dir"])
        record = read_sweep(sweep_dir)  # process 0's, as written (sampled values included)
        self.spec = record.spec()
        return record, sweep_dir, [RunLock(sweep_dir / LOCK_FILE, None)]  # process 0 holds the locks

    def _groups(self) -> list[list[Member]]:
        if self.cluster.lead:  # cleans the members' folders first, then the others read them
            groups = super()._groups()
            self.cluster.barrier("reading the members' folders")
            return groups
        self.cluster.barrier("reading the members' folders")
        return super()._groups()

    def _stop_now(self) -> bool:
        return self._agree(self._stop.is_set(), False, 0)[0]

    # --- the program's state on the global mesh, and this process's agents ------------------------

    def _start_state(self, members: list[Member]) -> DQNState:
        import equinox as eqx
        import jax

        from lerax_tui.train import dqn, sweep_engine

        configs = [m.config for m in members]
        agents = len(members) * self.spec.seeds
        where = self._split.addressable_devices_indices_map((agents,)).values()
        spans = [index[0] for index in where if index is not None]
        self.agent_range = range(min(s.start or 0 for s in spans), max(s.stop or agents for s in spans))
        self._whole = self._local = None
        shapes = eqx.filter_eval_shape(lambda: sweep_engine.init_program(self.env, configs))
        arrays, static = eqx.partition(shapes, lambda x: isinstance(x, jax.ShapeDtypeStruct))
        shardings = dqn.DQNState(
            seeds=jax.tree.map(lambda _: self._split, arrays.seeds), step=cast(Any, self._replicated)
        )
        if all(m.state_path is None for m in members):  # built where it lives: each process its agents

            def build() -> Any:
                return eqx.partition(sweep_engine.init_program(self.env, configs), eqx.is_array)[0]

            placed = jax.jit(build, out_shardings=shardings)()
        else:  # every process reads the members' resume states and keeps its own agents
            placed = place_from_host(eqx.partition(self._initial_state(members), eqx.is_array)[0], shardings)
        return eqx.combine(placed, static)

    def _local_state(self, state: DQNState) -> DQNState:
        """This process's agents (``agent_range``) as a state of their own, numpy leaves."""
        import equinox as eqx
        import jax

        if self._local is not None and self._local[0] is state:
            return self._local[1]

        def part(x: Any) -> Any:
            shards = sorted(x.addressable_shards, key=lambda s: s.index[0].start or 0)
            return np.concatenate([np.asarray(s.data) for s in shards])

        seeds = jax.tree.map(lambda x: part(x) if eqx.is_array(x) else x, state.seeds)
        local = eqx.tree_at(lambda st: st.seeds, state, seeds)
        self._local = (state, local)
        return local

    def _policy(self, state: DQNState, agent: int, config: Any) -> Any:
        """Agent ``agent``'s (this process holds it) policy, JAX arrays as leaves."""
        import equinox as eqx
        import jax
        import jax.numpy as jnp

        from lerax_tui.train.dqn import seed_policy

        policy = seed_policy(self._local_state(state), agent - self.agent_range.start, config)
        return jax.tree.map(lambda x: jnp.asarray(x) if isinstance(x, np.ndarray) else x, policy, is_leaf=eqx.is_array)

    # --- the hooks ------------------------------------------------------------------------------

    def _fetch(self, out: ChunkOutput) -> ChunkOutput:
        self._whole = self._local = None  # the last state's host copies: a new state is coming
        return self._exchange.report(out, self._stop.is_set(), self._checkpoint_requested.is_set())

    def _agree(self, stop: bool, checkpoint: bool, n: int) -> tuple[bool, bool, int]:
        return self._exchange.agree(stop, checkpoint, n)

    def _next_chunk(self, n: int, dt: float, max_iterations: int, target_s: float) -> int:
        return self._exchange.next_chunk(n, max_iterations, target_s)

    def _written(self) -> None:
        super()._written()
        self._exchange.restart_clock()  # checkpoints asked before a chunk are not the chunk's time

    def _write(self, m: Member, state: DQNState, p: int, step: int, *, final: bool) -> Path:
        """This process's seeds of ``m``, then (process 0) ``m``'s whole resume state."""
        import equinox as eqx

        from lerax_tui.train.sweep_engine import member_state

        seeds = self.spec.seeds
        names = [runs.checkpoint_name(None if final else step, seed=s, num_seeds=seeds) for s in range(seeds)]
        for s in range(seeds):
            if p * seeds + s in self.agent_range:
                policy = self._policy(state, p * seeds + s, m.config)
                m.writer.written.append(m.writer.save_policy(policy, s, names[s], step, m.recent_return(s)))
        if self._whole is not None and self._whole[0] is state:  # gathered for an earlier member
            self.cluster.barrier("writing the checkpoints")  # every process's policies come first
        else:
            arrays, static = eqx.partition(state, eqx.is_array)
            whole = self.cluster.gather(arrays, "gathering the resume state")  # after every policy
            self._whole = (state, eqx.combine(whole, static))
        if self._writes_shared:
            m.writer.write_resume(member_state(self._whole[1], p, seeds), step)
        m.writer.last_good = m.run_dir / runs.CHECKPOINTS / f"{names[0]}.eqx"
        return m.writer.last_good

    def _gather_returns(self, mine: dict[int, np.ndarray], count: int, episodes: int, what: str) -> list[np.ndarray]:
        """Every process's returns of the agents it holds (``mine``: position -> returns), as one list."""
        part = np.zeros((count, episodes), np.float32)
        held = np.zeros((count,), bool)
        for i, r in mine.items():
            part[i], held[i] = r, True
        parts, holders = self.cluster.stack(part, what), self.cluster.stack(held, what)
        return [parts[int(np.argmax(holders[:, i])), i] for i in range(count)]

    def _agent_returns(
        self, state: DQNState, agents: Sequence[int], episodes: int, keys: Sequence[Array]
    ) -> list[np.ndarray]:
        from lerax_tui.train import sweep_engine as se

        if episodes <= 0:
            return [np.zeros((0,), np.float32) for _ in agents]
        lo = self.agent_range.start
        mine = [i for i, a in enumerate(agents) if a in self.agent_range]
        got: dict[int, np.ndarray] = {}
        if mine:
            policies = se.agent_policies(self._local_state(state), [agents[i] - lo for i in mine])
            returns = se.evaluate_agents(policies, self.env, episodes=episodes, keys=[keys[i] for i in mine])
            got = dict(zip(mine, returns, strict=True))
        return self._gather_returns(got, len(agents), episodes, "the evaluation")

    def _best_returns(
        self, best: Sequence[Best], agents: Sequence[int], episodes: int, keys: Sequence[Array]
    ) -> list[np.ndarray]:
        from lerax_tui.train import sweep_engine as se

        mine = [i for i, a in enumerate(agents) if a in self.agent_range]
        got: dict[int, np.ndarray] = {}
        if mine:
            policies = se.stack_policies([best[i].policy for i in mine])
            returns = se.evaluate_agents(policies, self.env, episodes=episodes, keys=[keys[i] for i in mine])
            got = dict(zip(mine, returns, strict=True))
        return self._gather_returns(got, len(agents), episodes, "the best policies' evaluation")

    def _keep_best(self, m: Member, state: DQNState, p: int, s: int, returns: Any, step: int) -> None:
        from lerax_tui.train.best import Best, best_path

        seeds, mean = self.spec.seeds, float(np.mean(returns))
        if p * seeds + s not in self.agent_range:  # its holder writes the file; every process keeps the score
            m.best[s] = Best(mean, step, cast(Any, None), best_path(m.run_dir, s, seeds))
            return
        policy = self._policy(state, p * seeds + s, m.config)
        name = runs.best_checkpoint_name(seed=s, num_seeds=seeds)
        extra = {"eval_return": mean, "eval_returns": np.asarray(returns, dtype=float).tolist()}
        path = m.writer.save_policy(policy, s, name, step, m.recent_return(s), extra)
        m.best[s] = Best(mean, step, policy, path)


def distributed_sweep(
    cluster: Cluster, env_id: str, spec: SweepSpec, runs_dir: Path | None, listener: Any, resume: Path | None
) -> DistributedSweepRunner:
    """The CLI's runner for ``sweep --distributed`` (a new sweep in ``runs_dir``, or ``resume``),
    after checking that every program's agents divide over the devices (nothing built before).

    Raises:
        ValueError: a program that does not divide evenly, or process 0 could not open the folder.
    """
    import jax

    record = read_sweep(resume) if resume is not None else None
    problem = agent_count_problem(spec, jax.device_count(), cluster.count, record, resume)
    if problem:
        raise ValueError(problem)
    if resume is not None:
        return DistributedSweepRunner.resume_sweep(cluster, resume, listener)
    return DistributedSweepRunner(cluster, env_id, spec, runs_dir, listener)
