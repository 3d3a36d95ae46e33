"""The host side of a sweep: every configuration x seed trained in as few compiled programs as the
shapes allow, each configuration writing its own ordinary run folder.

Programmatic use (the app runs it in a thread worker, like :class:`~lerax_tui.train.runner.Runner`)::

    from lerax_tui.train.sweep_spec import build_spec, parse_field
    from lerax_tui.train.sweep_runner import SweepRunner

    spec = build_spec(preset("CartPole-v1"), {"learning_rate": parse_field("learning_rate", "1e-3,3e-3")}, seeds=4)
    runner = SweepRunner("CartPole-v1", spec, runs_dir, listener)  # or SweepRunner.from_sweep_dir(path, listener)
    result = runner.run()  # blocks; pause/resume/stop/request_checkpoint are thread-safe

``listener`` receives :mod:`~lerax_tui.train.sweep_events` events; the per-configuration ones are
the plain runner's events wrapped in ``ConfigEvent(index, event)``. Programs run one after another
(one per distinct value of the shape keys, and per start step when resuming); within a program
the configurations advance together chunk by chunk. A configuration whose numbers go non-finite
stops alone (``failed`` in ``sweep.json`` with the message; its agents keep computing, unread, to
the program's end) while the others go on. A stop writes every running member's final and resume
checkpoints; ``SweepRunner.from_sweep_dir`` continues it (members finished or failed stay so).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from lerax_tui.train import lifecycle, runs, schedule
from lerax_tui.train.best import load_best
from lerax_tui.train.checks import check_env
from lerax_tui.train.events import ChunkMetrics, EvalKind, Evaluated, Failed, Finished, Phase, PhaseChanged
from lerax_tui.train.run_writer import RunWriter
from lerax_tui.train.sweep_events import (
    ConfigEvent,
    ProgramStarted,
    StatusChanged,
    SweepFinished,
    SweepListener,
    SweepResult,
    SweepStarted,
)
from lerax_tui.train.sweep_hooks import SweepDevices
from lerax_tui.train.sweep_record import ConfigResult, ConfigStatus, SweepRecord, read_sweep, write_sweep
from lerax_tui.train.sweep_spec import SweepSpec

if TYPE_CHECKING:
    from lerax_tui.train.best import Best
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.dqn import DQNState

DONE = (ConfigStatus.FINISHED, ConfigStatus.FAILED)
"""Statuses a resumed sweep leaves alone."""


@dataclass
class Member:
    """One configuration while its program runs."""

    index: int
    config: DQNConfig
    run_dir: Path
    writer: RunWriter
    start_step: int = 0
    state_path: Path | None = None
    best: list[Best | None] = field(default_factory=list)
    recent: list[list[float]] = field(default_factory=list)
    failed: bool = False

    def recent_return(self, seed: int) -> float | None:
        r = self.recent[seed]
        return float(np.mean(r[-10:])) if r else None


def epsilon_host(config: DQNConfig, step: int) -> float:
    """The exploration schedule (``dqn.epsilon_at``) in plain Python, for each member's report."""
    decay = config.exploration_fraction * config.total_timesteps
    if decay <= 0:
        return config.epsilon_end
    return config.epsilon_start + (config.epsilon_end - config.epsilon_start) * min(step / decay, 1.0)


class SweepRunner(SweepDevices):
    """One sweep in its folder (a new one, or ``from_sweep_dir`` to continue one). See the module
    docstring. Bad input raises before any folder is made (EnvError/ConfigError/ValueError);
    a member held by another process raises RunLocked."""

    def __init__(
        self,
        env_id: str,
        spec: SweepSpec,
        runs_dir: str | Path | None,
        listener: SweepListener | None = None,
        *,
        resume_from: str | Path | None = None,
        record: SweepRecord | None = None,
    ):
        from lerax_tui.train.memory import check_engine, memory_available

        self.env_id, self.spec, self.listener = env_id, spec, listener
        self.env = check_env(env_id, {})
        for config in spec.configs():
            check_engine(self.env, config, available=1 << 62)  # per-run rules; memory below, per program
        spec.check_memory(tuple(self.env.observation_space.shape or ()), memory_available(), self._processes)
        self.record, self.sweep_dir, self._locks = self._open_sweep_dir(runs_dir, resume_from, record)
        self.run_dir = self.sweep_dir  # the Trainer protocol's name for the folder it writes
        self._stop, self._running, self._checkpoint = threading.Event(), threading.Event(), threading.Event()
        self._running.set()
        self.result = SweepResult(self.sweep_dir, self.record)

    @classmethod
    def from_sweep_dir(cls, sweep_dir: str | Path, listener: SweepListener | None = None) -> SweepRunner:
        """Continue the sweep in ``sweep_dir``.

        Raises:
            OSError, ValueError: no readable ``sweep.json`` (SweepFileError names the field), or a
                configuration in it that is no longer valid (ConfigError).
        """
        record = read_sweep(sweep_dir)
        return cls(record.env_id, record.spec(), None, listener, resume_from=sweep_dir, record=record)

    # --- Trainer-like controls (thread-safe, effective at the next chunk boundary) ----------------

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def request_checkpoint(self) -> None:
        self._checkpoint.set()

    def close(self) -> None:
        """Release the locks without running (``run`` releases them when it returns)."""
        for lock in self._locks:
            lock.release()

    # --- running ----------------------------------------------------------------------------------

    def run(self) -> SweepResult:
        """Train every configuration not finished or failed yet, program after program."""
        from lerax_tui.train.cache import enable_compilation_cache

        start = time.perf_counter()
        try:
            enable_compilation_cache()
            groups = self._groups()
            self.result.programs = 0
            self._emit(
                SweepStarted(self.sweep_dir, self.spec.num_configs, self.spec.seeds, len(groups), self.spec.summary())
            )
            for p, members in enumerate(groups):
                if self._stop_now():
                    self.result.stopped_early = True
                    break
                self._emit(ProgramStarted(p, len(groups), [m.index for m in members], members[0].start_step))
                self._run_program(members)
                self.result.programs += 1
        except OSError as e:
            where = f" ({e.filename})" if e.filename else ""
            self.result.error = (
                f"writing the sweep folder failed: {e.strerror or e}{where}; fix that (free space, permissions) "
                f"and continue with: lerax-tui sweep {self.env_id} --resume {self.sweep_dir}"
            )
        finally:
            self.result.wall_s = time.perf_counter() - start
            self.close()
        self._emit(SweepFinished(self.result))
        return self.result

    def _emit(self, event: Any) -> None:
        if self.listener is not None:
            self.listener(event)

    def _set_status(self, m: Member, status: ConfigStatus, error: str | None = None, result=None) -> None:
        self.record.update(m.index, status=status, error=error, result=result)
        if self._writes_shared:
            write_sweep(self.sweep_dir, self.record)
        self._emit(StatusChanged(m.index, status, error))

    def _groups(self) -> list[list[Member]]:
        """The members still to train, grouped by program: same shape keys and same start step."""
        groups: dict[tuple, list[Member]] = {}
        for entry in self.record.configs:
            if entry.status in DONE:
                continue
            config = self.spec.config(entry.index)
            run_dir = self.sweep_dir / entry.run_dir
            point = lifecycle.resume_point(run_dir)
            if self._writes_shared:
                lifecycle.clean_owned(run_dir)
                lifecycle.truncate_metrics(run_dir, point.step)
            index = entry.index

            def emit(event: Any, index: int = index) -> None:
                self._emit(ConfigEvent(index, event))

            writer = RunWriter(run_dir, self.env, self.env_id, {}, config, emit)
            writer.resume_step = point.step if point.path is not None else None
            member = Member(index, config, run_dir, writer, point.step, point.path)
            member.best = load_best(run_dir, config.num_seeds) if point.path is not None else [None] * config.num_seeds
            member.recent = [[] for _ in range(config.num_seeds)]
            key = (tuple(repr(self.spec.overrides[index][k]) for k in self.spec.shape_keys), point.step)
            groups.setdefault(key, []).append(member)
        return list(groups.values())

    def _run_program(self, members: list[Member]) -> None:
        from lerax_tui.train import dqn, sweep_engine

        seeds = self.spec.seeds
        configs = [m.config for m in members]
        config = sweep_engine.program_config(configs)
        t0 = time.perf_counter()
        for m in members:
            self._set_status(m, ConfigStatus.RUNNING)
            self._emit(ConfigEvent(m.index, PhaseChanged(Phase.COMPILING)))
        state = self._start_state(members)
        step = int(state.step)
        max_iterations = schedule.max_chunk_iterations(config)
        chunk = dqn.make_chunk_fn(self.env, config, max_iterations, state, sweep_engine.program_hyper(configs))
        chunk.compile(state)
        self.result.compile_s += time.perf_counter() - t0
        for m in members:
            self._emit(ConfigEvent(m.index, PhaseChanged(Phase.TRAINING)))
        train_s = 0.0
        n_next = min(schedule.FIRST_CHUNK_ITERATIONS, max_iterations)
        stopped = False
        while step < config.total_timesteps:
            active = [m for m in members if not m.failed]
            if not active:
                break
            if not self._running.is_set():
                for m in active:
                    self._emit(ConfigEvent(m.index, PhaseChanged(Phase.PAUSED)))
                self._running.wait()
                for m in active if not self._stop.is_set() else []:
                    self._emit(ConfigEvent(m.index, PhaseChanged(Phase.TRAINING)))
            due = [schedule.next_eval(m.config, step) for m in active]
            due += [schedule.next_checkpoint(m.config, step) for m in active]
            n = schedule.chunk_iterations(config, step, n_next, *due)
            stop, checkpoint, n = self._agree(self._stop.is_set(), self._checkpoint.is_set(), n)
            if stop:
                stopped = True
                break
            if checkpoint:
                self._checkpoint.clear()
                for p, m in enumerate(members):
                    if not m.failed:
                        self._write(m, state, p, step, final=False)
            t1 = time.perf_counter()
            state, out = chunk(state, n)
            out = self._fetch(out)
            dt = time.perf_counter() - t1
            train_s += dt
            self.result.train_s += dt
            n_next = schedule.next_chunk_iterations(n, dt, max_iterations)
            before, step = step, int(out.step)
            self.result.agent_steps += (step - before) * seeds * len(active)
            self._after_chunk(members, state, out, n, dt, before, step, time.perf_counter() - t0, train_s)
        self._finish_program(members, state, step, stopped or self._stop_now())

    def _after_chunk(self, members, state, out, n: int, dt: float, before: int, step: int, wall_s, train_s) -> None:
        from lerax_tui.train.dqn import completed_episodes

        seeds = self.spec.seeds
        finite = np.asarray(out.finite)
        updates = np.broadcast_to(np.asarray(out.updates), finite.shape)
        evaluate = [
            (p, m)
            for p, m in enumerate(members)
            if not m.failed
            and np.all(finite[p * seeds : (p + 1) * seeds])
            and (due := schedule.next_eval(m.config, before)) is not None
            and step >= due
        ]
        returns = self._evaluate_periodic(evaluate, state, step)
        for p, m in enumerate(members):
            if m.failed:
                continue
            sl = slice(p * seeds, (p + 1) * seeds)
            part: Any = SimpleNamespace(  # the member's slice of what completed_episodes reads
                episode_return=np.asarray(out.episode_return)[:, sl],
                episode_length=np.asarray(out.episode_length)[:, sl],
                episode_done=np.asarray(out.episode_done)[:, sl],
                episode_step=out.episode_step,
            )
            episodes = completed_episodes(part)
            for s, r in enumerate(episodes.returns):
                m.recent[s] = (m.recent[s] + [float(x) for x in r])[-20:]
            with np.errstate(invalid="ignore", divide="ignore"):
                loss = np.where(updates[sl] > 0, np.asarray(out.loss_sum, float)[sl] / updates[sl], np.nan)
            event = ChunkMetrics(
                step=step,
                total_steps=m.config.total_timesteps,
                wall_s=wall_s,
                train_s=train_s,
                sps=n * m.config.num_envs * seeds / dt if dt > 0 else 0.0,
                episode_returns=episodes.returns,
                episode_lengths=episodes.lengths,
                episode_steps=episodes.steps,
                loss=loss,
                epsilon=epsilon_host(m.config, step),
                eval_returns=returns.get(m.index),
            )
            if self._writes_shared:
                runs.append_metrics(m.run_dir, event.to_json())
            self._emit(ConfigEvent(m.index, event))
            if m.index in returns:
                best = [b.score if b else None for b in m.best]
                self._emit(
                    ConfigEvent(m.index, Evaluated(returns[m.index], which=EvalKind.PERIODIC, step=step, best=best))
                )
            if not np.all(finite[sl]):
                self._fail(m, finite[sl], step)
                continue
            next_checkpoint = schedule.next_checkpoint(m.config, before)
            if next_checkpoint is not None and step >= next_checkpoint:
                self._write(m, state, p, step, final=False)

    def _fail(self, m: Member, finite: np.ndarray, step: int) -> None:
        bad = [int(i) for i in np.flatnonzero(~finite)]
        where = f"seed {bad[0]}" if len(bad) == 1 else f"seeds {bad}"
        last = m.writer.last_good
        keep = f"; last good checkpoint: {last}" if last else "; no checkpoint was written before it"
        message = (
            f"training diverged at step {step}: non-finite loss or parameters in {where} "
            f"(try a lower learning_rate or max_grad_norm){keep}"
        )
        m.failed = True
        self._emit(ConfigEvent(m.index, Failed(message, last)))
        self._emit(ConfigEvent(m.index, PhaseChanged(Phase.FAILED)))
        self._set_status(m, ConfigStatus.FAILED, message)

    def _evaluate_periodic(self, due: list[tuple[int, Member]], state: DQNState, step: int) -> dict[int, list]:
        """Greedy evaluation of every seed of the ``due`` members in one batched call per episode
        count; each seed's best is kept as in a plain run (ties go to the later policy)."""
        from lerax_tui.train import sweep_engine as se

        seeds, out = self.spec.seeds, {}
        for episodes in sorted({m.config.eval_episodes for _, m in due}):
            group = [(p, m) for p, m in due if m.config.eval_episodes == episodes]
            agents = [p * seeds + s for p, _ in group for s in range(seeds)]
            keys = [se.periodic_key(m.config, s, step) for _, m in group for s in range(seeds)]
            returns = self._agent_returns(state, agents, episodes, keys)
            for g, (p, m) in enumerate(group):
                mine = returns[g * seeds : (g + 1) * seeds]
                out[m.index] = mine
                for s, r in enumerate(mine):
                    best = m.best[s]
                    if best is None or best.beaten_by(float(np.mean(r))):
                        self._keep_best(m, state, p, s, r, step)
        return out

    def _finish_program(self, members: list[Member], state: DQNState, step: int, stopped: bool) -> None:
        """Final checkpoints of every member still running; unless stopped, the final and best
        policies' greedy evaluation (batched), results and statuses."""
        from lerax_tui.train import sweep_engine as se

        seeds = self.spec.seeds
        live = [(p, m) for p, m in enumerate(members) if not m.failed]
        finals = {m.index: self._write(m, state, p, step, final=True) for p, m in live}
        if stopped:
            for _, m in live:
                self._emit(ConfigEvent(m.index, PhaseChanged(Phase.STOPPED)))
                self._emit(ConfigEvent(m.index, Finished(m.run_dir, finals[m.index], stopped_early=True)))
                self._set_status(m, ConfigStatus.STOPPED)
            self.result.stopped_early = True
            return
        final_returns: dict[int, list] = {m.index: [] for _, m in live}
        best_returns: dict[int, list] = {m.index: [] for _, m in live}
        for episodes in sorted({m.config.eval_episodes for _, m in live} - {0}):
            group = [(p, m) for p, m in live if m.config.eval_episodes == episodes]
            for _, m in group:
                self._emit(ConfigEvent(m.index, PhaseChanged(Phase.EVALUATING)))
            agents = [p * seeds + s for p, _ in group for s in range(seeds)]
            keys = [se.final_key(m.config, s) for _, m in group for s in range(seeds)]
            got = self._agent_returns(state, agents, episodes, keys)
            for g, (_, m) in enumerate(group):
                final_returns[m.index] = got[g * seeds : (g + 1) * seeds]
            with_best = [(p, m) for p, m in group if all(b is not None for b in m.best)]
            if with_best:
                best: list[Best] = [b for _, m in with_best for b in m.best if b is not None]
                agents = [p * seeds + s for p, _ in with_best for s in range(seeds)]
                keys = [se.final_key(m.config, s) for _, m in with_best for s in range(seeds)]
                got = self._best_returns(best, agents, episodes, keys)
                for g, (_, m) in enumerate(with_best):
                    best_returns[m.index] = got[g * seeds : (g + 1) * seeds]
        for _, m in live:
            if final_returns[m.index]:
                self._emit(ConfigEvent(m.index, Evaluated(final_returns[m.index])))
            if best_returns[m.index]:
                steps = [b.step if b else None for b in m.best]
                self._emit(
                    ConfigEvent(m.index, Evaluated(best_returns[m.index], which=EvalKind.BEST, best_steps=steps))
                )
            self._emit(ConfigEvent(m.index, PhaseChanged(Phase.FINISHED)))
            self._emit(ConfigEvent(m.index, Finished(m.run_dir, finals[m.index])))
            self._set_status(m, ConfigStatus.FINISHED, result=_result(final_returns[m.index], best_returns[m.index]))


def _mean(returns: list) -> float | None:
    joined = np.concatenate([np.asarray(r, float) for r in returns]) if returns else np.zeros(0)
    return float(joined.mean()) if joined.size else None


def _result(final: list, best: list) -> ConfigResult:
    return ConfigResult(
        eval_return_mean=_mean(final),
        eval_return_per_seed=[float(np.mean(r)) for r in final if len(r)],
        best_eval_return_mean=_mean(best),
    )
