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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lerax_tui.train import lifecycle, schedule
from lerax_tui.train.best import load_best
from lerax_tui.train.checks import check_env
from lerax_tui.train.controls import Controls
from lerax_tui.train.episodes import Episodes
from lerax_tui.train.events import EvalKind, Evaluated, Failed, Finished, Phase, PhaseChanged
from lerax_tui.train.outcome import forget_result
from lerax_tui.train.sweep_evals import SweepEvaluations, compile_ahead
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
from lerax_tui.train.sweep_member import Member, config_result, epsilon_host
from lerax_tui.train.sweep_record import ConfigStatus, SweepRecord, read_sweep, write_sweep
from lerax_tui.train.sweep_spec import SweepSpec

if TYPE_CHECKING:
    from lerax_tui.train.dqn import DQNState

__all__ = ["DONE", "SWEEP_CHUNK_S", "Member", "SweepRunner", "epsilon_host"]

DONE = (ConfigStatus.FINISHED, ConfigStatus.FAILED)
"""Statuses a resumed sweep leaves alone."""

SWEEP_CHUNK_S = 0.5
"""A sweep's chunks aim at this many seconds (a run's: ``schedule.TARGET_CHUNK_S``): each chunk
boundary reports every member (a metrics line and events each), so longer chunks keep that host
work small next to training; pause and stop still answer within about half a second."""


class SweepRunner(Controls, SweepEvaluations, SweepDevices):
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
        self._init_controls()
        self._base_keys = np.zeros((0, 2), np.uint32)
        self._warm: threading.Thread | None = None  # the program's evaluation, compiling ahead
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

    # --- Trainer-like controls: pause, resume, stop, request_checkpoint (Controls) ----------------

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
                try:
                    self._run_program(members)
                finally:
                    self._warmed()  # never leave a compile running on its thread
                    for m in members:
                        m.metrics.close()
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

    def _warmed(self) -> None:
        """Wait for the evaluation compiling ahead (before evaluating: it is not compiled twice)."""
        if self._warm is not None:
            self._warm.join()
            self._warm = None

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
                forget_result(run_dir)  # running again: a kill from here on must not read as its old end
            index = entry.index

            def emit(event: Any, index: int = index) -> None:
                self._emit(ConfigEvent(index, event))

            member = Member.open(index, config, run_dir, self.env, self.env_id, emit, writes_result=self._writes_shared)
            member.writer.resume_step = point.step if point.path is not None else None
            member.start_step, member.state_path = point.step, point.path
            if point.path is not None:
                member.best = load_best(run_dir, config.num_seeds)
            key = (tuple(repr(self.spec.overrides[index][k]) for k in self.spec.shape_keys), point.step)
            groups.setdefault(key, []).append(member)
        return list(groups.values())

    def _run_program(self, members: list[Member]) -> None:
        from lerax_tui.train import sweep_engine

        seeds = self.spec.seeds
        configs = [m.config for m in members]
        config = sweep_engine.program_config(configs)
        t0 = time.perf_counter()
        for m in members:
            self._set_status(m, ConfigStatus.RUNNING)
            m.emit(PhaseChanged(Phase.COMPILING))
        max_iterations = schedule.max_chunk_iterations(config)
        hyper = sweep_engine.program_hyper(configs)
        make_state = partial(self._start_state, members)
        # one process: the chunk compiles while the state is built (several: each builds its own layout)
        ahead = self._processes == 1
        state, chunk = sweep_engine.build_program(self.env, config, max_iterations, hyper, make_state, ahead=ahead)
        step = start_step = int(state.step)
        self._base_keys = sweep_engine.base_keys(configs, seeds)
        if ahead:
            self._warm = compile_ahead(self.env, self._host_online(state), configs, self._base_keys)
        compile_s = time.perf_counter() - t0
        self.result.compile_s += compile_s
        for m in members:
            m.emit(PhaseChanged(Phase.TRAINING))
        self._start_clock()
        train_s = 0.0
        n_next = min(schedule.FIRST_CHUNK_ITERATIONS, max_iterations)
        stopped = False
        while step < config.total_timesteps:
            active = [m for m in members if not m.failed]
            if not active:
                break
            self._hold_while_paused(partial(_tell_all, active))
            due = [schedule.next_eval(m.config, step) for m in active]
            due += [schedule.next_checkpoint(m.config, step) for m in active]
            n = schedule.chunk_iterations(config, step, n_next, *due)
            stop, checkpoint, n = self._agree(self._stop.is_set(), self._checkpoint_requested.is_set(), n)
            if stop:
                stopped = True
                break
            if checkpoint:
                self._checkpoint_requested.clear()
                self._write_all(members, state, step, final=False)
            t1 = time.perf_counter()
            state, out = chunk(state, n)
            out = self._fetch(out)
            dt = time.perf_counter() - t1
            train_s += dt
            self.result.train_s += dt
            n_next = self._next_chunk(n, dt, max_iterations, SWEEP_CHUNK_S)
            before, step = step, int(out.step)
            self.result.agent_steps += (step - before) * seeds * len(active)
            timing = {
                "step": step,
                "wall_s": time.perf_counter() - t0,
                "train_s": train_s,
                "sps": n * config.num_envs * seeds / dt if dt > 0 else 0.0,  # one member's: its seeds'
                "active_s": 0.0,
                "start_step": start_step,
                "compile_s": compile_s,
            }
            self._after_chunk(members, state, out, before, timing)
        self._finish_program(members, state, step, stopped or self._stop_now())

    def _after_chunk(self, members: list[Member], state: DQNState, out: Any, before: int, timing: dict) -> None:
        """Every member's report of the chunk from ``before`` to ``timing['step']``: periodic
        evaluations that fell due (batched), metrics and events, divergence, due checkpoints."""
        from lerax_tui.train.dqn import completed_episodes

        seeds, step = self.spec.seeds, timing["step"]
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
        if evaluate:
            self._warmed()
        returns = self._evaluate_periodic(evaluate, state, step) if evaluate else {}
        episodes = completed_episodes(out)  # every agent's, sliced per member below
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = np.where(updates > 0, np.asarray(out.loss_sum, float) / np.maximum(updates, 1), np.nan)
        timing["active_s"] = self._active_s()  # evaluations and best checkpoints count, as in a run
        writes = []
        for p, m in enumerate(members):
            if m.failed:
                continue
            sl = slice(p * seeds, (p + 1) * seeds)
            mine = Episodes(episodes.returns[sl], episodes.lengths[sl], episodes.steps[sl])
            m.report_chunk(mine, loss[sl], returns.get(m.index), write=self._writes_shared, **timing)
            if m.index in returns:
                best = [b.score if b else None for b in m.best]
                m.emit(Evaluated(returns[m.index], which=EvalKind.PERIODIC, step=step, best=best))
            if not np.all(finite[sl]):
                self._fail(m, m.divergence(finite[sl], step))
                continue
            next_checkpoint = schedule.next_checkpoint(m.config, before)
            if next_checkpoint is not None and step >= next_checkpoint:
                writes.append(m)
        if writes:
            self._write_all(members, state, step, final=False, only=writes)

    def _fail(self, m: Member, message: str) -> None:
        m.failed = True
        m.emit(Failed(message, m.writer.last_good))
        m.emit(PhaseChanged(Phase.FAILED))
        self._set_status(m, ConfigStatus.FAILED, message)

    def _write_all(
        self, members: list[Member], state: DQNState, step: int, *, final: bool, only: list[Member] | None = None
    ) -> dict[int, Path]:
        """Checkpoints of the program's ``members`` not failed (or of ``only`` those): each one's
        metrics lines are on disk before its resume state is replaced. Returns seed 0's policy by
        configuration index."""
        out = {}
        for p, m in enumerate(members):
            if m.failed or (only is not None and m not in only):
                continue
            m.metrics.sync()
            out[m.index] = self._write(m, state, p, step, final=final)
        self._written()
        return out

    def _finish_program(self, members: list[Member], state: DQNState, step: int, stopped: bool) -> None:
        """Final checkpoints of every member still running; unless stopped, the final and best
        policies' greedy evaluation (batched), results and statuses."""
        live = [(p, m) for p, m in enumerate(members) if not m.failed]
        finals = self._write_all(members, state, step, final=True)
        if stopped:
            for _, m in live:
                m.emit(PhaseChanged(Phase.STOPPED))
                m.emit(Finished(m.run_dir, finals[m.index], stopped_early=True))
                self._set_status(m, ConfigStatus.STOPPED)
            self.result.stopped_early = True
            return
        self._warmed()
        final, best = self._evaluate_final(live, state)
        for _, m in live:
            m.emit(PhaseChanged(Phase.FINISHED))
            m.emit(Finished(m.run_dir, finals[m.index]))
            self._set_status(m, ConfigStatus.FINISHED, result=config_result(final[m.index], best[m.index]))


def _tell_all(members: list[Member], phase: Phase) -> None:
    for m in members:
        m.emit(PhaseChanged(phase))
