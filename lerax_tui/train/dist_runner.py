"""One run over every device of several processes (``lerax-tui train --distributed``).

The seed axis of the state lies on a global one-axis mesh (``jax.devices()``, every process's), so
each process trains the seeds on its own devices; the jitted chunk is the one-process program.
Around it, the processes agree on everything the host decides:

- Process 0 creates (or, resuming, locks and checks) the run folder and tells the others its name;
  it alone holds the folder's ``.lock`` and writes config.json, metrics.jsonl and resume.eqx.
- Each chunk's small report is gathered from every process in one message each (``dist_exchange``),
  so all of them see every seed's episodes and make the same decisions (divergence, evaluation,
  checkpoints); process 0 appends it. The messages also carry each process's stop and checkpoint
  requests (any process's signal stops all of them at the same chunk boundary) and its seconds, from
  which every process sizes the next chunk alike (at least ``DIST_CHUNK_S``).
- Each process writes the policy checkpoints of its own seeds (global seed index in the name); the
  resume state is gathered and written whole by process 0, after every policy of that step, so a
  distributed run's folder is the same as a one-process run's (it resumes with any process count).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from lerax_tui.train import lifecycle, runs
from lerax_tui.train.best import Best, best_path
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.dist_exchange import ChunkExchange
from lerax_tui.train.distributed import Cluster, PeerLost
from lerax_tui.train.events import Listener, RunResult
from lerax_tui.train.runlock import LOCK_FILE, RunLock
from lerax_tui.train.runner import Runner
from lerax_tui.train.schedule import TARGET_CHUNK_S

if TYPE_CHECKING:
    from lerax_tui.train.dqn import ChunkOutput, DQNState

_OPENING = "opening the run folder"


def place_from_host(state: Any, shardings: Any) -> Any:
    """Every process holds the whole ``state`` (read from the shared resume files); each array goes on
    the global mesh by ``shardings`` with every process keeping only its own part."""
    import jax

    return jax.tree.map(
        lambda x, s: jax.make_array_from_callback(x.shape, s, lambda index: np.asarray(x[index])),
        state,
        shardings,
    )


class DistributedRunner(Runner):
    """A :class:`~lerax_tui.train.runner.Runner` that is one of ``cluster.count`` processes.

    Every process constructs it with the same arguments (a new run, or ``resume_from``) and calls
    :meth:`run`. ``num_seeds`` must be a multiple of the global device count.

    Raises:
        ValueError: On processes other than 0, when process 0 could not open the run folder
            (its message); ResumeStateError when that was a damaged resume state.
    """

    def __init__(
        self,
        cluster: Cluster,
        env_id: str,
        env_params: dict | None,
        config: DQNConfig,
        runs_dir: str | Path,
        listener: Listener | None = None,
        resume_from: str | Path | None = None,
    ):
        from jax.sharding import NamedSharding, PartitionSpec

        self.cluster = cluster
        self._exchange = ChunkExchange(cluster)
        self._writes_shared = cluster.lead
        mesh = cluster.mesh
        self._split = NamedSharding(mesh, PartitionSpec("seeds"))
        self._replicated = NamedSharding(mesh, PartitionSpec())
        where = self._split.addressable_devices_indices_map((config.num_seeds,)).values()
        spans = [index[0] for index in where if index is not None]
        self.seed_range = range(min(s.start or 0 for s in spans), max(s.stop or config.num_seeds for s in spans))
        super().__init__(env_id, env_params, config, runs_dir, listener, resume_from)

    @classmethod
    def resume_run(
        cls, cluster: Cluster, run_dir: str | Path, listener: Listener | None, *, total_timesteps: int | None
    ) -> DistributedRunner:
        """Continue ``run_dir`` on every process (as :meth:`Runner.from_run_dir`)."""
        saved = runs.read_config(run_dir)
        config = DQNConfig.from_dict(saved["config"])
        if total_timesteps is not None:
            config = config.replace(total_timesteps=total_timesteps)
        env_params = saved.get("env_params_overrides") or {}
        return cls(cluster, saved["env_id"], env_params, config, Path(run_dir).parent, listener, run_dir)

    def run(self) -> RunResult:
        try:
            result = super().run()
        except PeerLost as e:
            return RunResult(run_dir=self.run_dir, checkpoints=self._writer.written, error=str(e), **self._timings())
        if result.error is None:
            try:  # the folder is complete once every process has written its last files
                self.cluster.barrier("the end of training")
            except PeerLost as e:
                result.error = str(e)
        return result

    # --- the run folder: process 0 opens it, the others are told --------------------------------

    def _open_run_dir(
        self, runs_dir: Path, start_state: str | Path | lifecycle.ResumePoint | None, origin: dict | None
    ) -> RunLock:
        if self.cluster.lead:
            try:
                lock = super()._open_run_dir(runs_dir, start_state, origin)
            except Exception as e:
                kind = "resume" if isinstance(e, lifecycle.ResumeStateError) else "usage"
                self.cluster.broadcast_json({"error": " ".join(str(e).split()), "kind": kind}, _OPENING)
                raise
            state = str(self._state_path) if self._state_path is not None else None
            opened = {"run_dir": str(self.run_dir), "state": state, "step": self.start_step, "note": self.resume_note}
            try:
                self.cluster.broadcast_json(opened, _OPENING)
            except BaseException:
                lock.release()
                raise
            return lock
        info = self.cluster.broadcast_json(None, _OPENING)
        if "error" in info:
            message = f"process 0 could not open the run folder: {info['error']}"
            raise lifecycle.ResumeStateError(message) if info.get("kind") == "resume" else ValueError(message)
        self.run_dir = Path(info["run_dir"])
        self._state_path = Path(info["state"]) if info["state"] is not None else None
        self.start_step, self.resume_note = int(info["step"]), info["note"]
        return RunLock(self.run_dir / LOCK_FILE, None)  # process 0 holds the folder's lock

    # --- placing the state on the global mesh, and reading this process's part back --------------

    def _start_state(self) -> DQNState:
        import equinox as eqx
        import jax

        from lerax_tui.train import dqn

        skeleton = dqn.state_skeleton(self.env, self.config)  # its array leaves are ShapeDtypeStructs
        arrays, static = eqx.partition(skeleton, lambda x: isinstance(x, jax.ShapeDtypeStruct))
        shardings = dqn.DQNState(
            seeds=jax.tree.map(lambda _: self._split, arrays.seeds), step=cast(Any, self._replicated)
        )
        if self._state_path is None:  # built where it lives: each process computes its own seeds

            def build() -> Any:
                return eqx.partition(dqn.init_state(self.env, self.config), eqx.is_array)[0]

            placed = jax.jit(build, out_shardings=shardings)()
        else:  # every process reads the shared resume.eqx and keeps its own seeds
            placed = place_from_host(eqx.partition(self._initial_state(), eqx.is_array)[0], shardings)
        return eqx.combine(placed, static)

    def _local_state(self, state: DQNState) -> DQNState:
        """This process's seeds (``seed_range``) as a state of their own (numpy leaves: slicing
        them compiles nothing)."""
        import equinox as eqx
        import jax

        def part(x: Any) -> Any:
            shards = sorted(x.addressable_shards, key=lambda s: s.index[0].start or 0)
            return np.concatenate([np.asarray(s.data) for s in shards])

        seeds = jax.tree.map(lambda x: part(x) if eqx.is_array(x) else x, state.seeds)
        return eqx.tree_at(lambda st: st.seeds, state, seeds)

    def _policy(self, local: DQNState, seed: int) -> Any:
        """Global seed ``seed``'s policy from :meth:`_local_state`, with JAX arrays as leaves."""
        import equinox as eqx
        import jax
        import jax.numpy as jnp

        from lerax_tui.train.dqn import seed_policy

        policy = seed_policy(local, seed - self.seed_range.start, self.config)
        return jax.tree.map(lambda x: jnp.asarray(x) if isinstance(x, np.ndarray) else x, policy, is_leaf=eqx.is_array)

    # --- the hooks ------------------------------------------------------------------------------

    def _fetch(self, out: ChunkOutput) -> ChunkOutput:
        return self._exchange.report(out, self._stop.is_set(), self._checkpoint_requested.is_set())

    def _agree(self, stop: bool, checkpoint: bool, n: int) -> tuple[bool, bool, int]:
        return self._exchange.agree(stop, checkpoint, n)

    def _stop_now(self) -> bool:
        # after a chunk: the stops its messages carried, the same on every process (a stop asked later
        # is nobody's yet); before the first chunk: asked of every process
        return self._agree(self._stop.is_set(), False, 0)[0]

    def _next_chunk(self, n: int, dt: float, max_iterations: int, target_s: float = TARGET_CHUNK_S) -> int:
        return self._exchange.next_chunk(n, max_iterations, target_s)

    def _write_checkpoints(self, state: DQNState, *, final: bool) -> Path:
        """This process's seeds' policies, then (process 0) the whole resume state."""
        import equinox as eqx

        config, local, first = self.config, self._local_state(state), None
        for s in self.seed_range:
            name = runs.checkpoint_name(None if final else self._step, seed=s, num_seeds=config.num_seeds)
            policy = self._policy(local, s)
            path = self._writer.save_policy(policy, s, name, self._step, self.recent_return(s))
            self._writer.written.append(path)
            first = first or path
        arrays, static = eqx.partition(state, eqx.is_array)
        whole = self.cluster.gather(arrays, "gathering the resume state")  # after every process's policies
        if self.cluster.lead:
            self._writer.write_resume(eqx.combine(whole, static), self._step)
        assert first is not None
        self._writer.last_good = first
        self._exchange.restart_clock()  # a checkpoint asked before a chunk is not the chunk's time
        return first

    def _evaluate_periodic(self, state: DQNState) -> list[np.ndarray]:
        import jax.random as jr

        from lerax_tui.train.evaluation import evaluate

        config, local, lo = self.config, self._local_state(state), self.seed_range.start
        mine = np.zeros((len(self.seed_range), config.eval_episodes), np.float32)
        policies = {}
        for s in self.seed_range:
            policies[s] = self._policy(local, s)
            key = jr.fold_in(jr.fold_in(jr.key(config.seed + s), 0xE7A1), self._step)
            mine[s - lo] = evaluate(policies[s], self.env, episodes=config.eval_episodes, key=key)
        returns = self.cluster.gather(mine, "the periodic evaluation")
        for s in range(config.num_seeds):  # every process keeps every seed's best score
            mean, best = float(np.mean(returns[s])), self._best[s]
            if best is not None and not best.beaten_by(mean):
                continue
            if s in policies:
                name = runs.best_checkpoint_name(seed=s, num_seeds=config.num_seeds)
                extra = {"eval_return": mean, "eval_returns": returns[s].astype(float).tolist()}
                path = self._writer.save_policy(policies[s], s, name, self._step, self.recent_return(s), extra)
                self._best[s] = Best(mean, self._step, policies[s], path)
            else:  # another process holds its policy and writes its file
                self._best[s] = Best(mean, self._step, cast(Any, None), best_path(self.run_dir, s, config.num_seeds))
        return [returns[s] for s in range(config.num_seeds)]

    def _evaluate_final(self, state: DQNState | None, which: list[bool]) -> list[np.ndarray]:

        from lerax_tui.train.evaluation import evaluate_final

        config, lo = self.config, self.seed_range.start
        local = self._local_state(state) if state is not None else None
        policies: list[Any] = [None] * config.num_seeds
        for s in self.seed_range:
            if which[s]:
                best = self._best[s]
                policies[s] = self._policy(local, s) if local is not None else best and best.policy
        mine = np.full((len(self.seed_range), config.eval_episodes), np.nan, np.float32)
        for s, returns in enumerate(evaluate_final(policies, self.env, config)):
            if s in self.seed_range and len(returns):
                mine[s - lo] = returns
        gathered = self.cluster.gather(mine, "the final evaluation")
        return [gathered[s] if which[s] else np.zeros((0,), np.float32) for s in range(config.num_seeds)]
