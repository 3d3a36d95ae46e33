"""The host-side runner: drives the jitted DQN chunk by chunk and writes the run folder.

It implements the :class:`~lerax_tui.train.events.Trainer` protocol: ``run()`` blocks (call it from a
worker thread); ``pause``, ``resume``, ``stop`` and ``request_checkpoint`` are thread-safe and take
effect at the next chunk boundary. Chunks are sized to take about 0.1-0.3 s.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lerax_tui.train import lifecycle, runs, schedule
from lerax_tui.train.best import Best, load_best
from lerax_tui.train.checks import check_env, check_policy_fits, check_same_config
from lerax_tui.train.config import ConfigError, DQNConfig
from lerax_tui.train.controls import Controls
from lerax_tui.train.events import (
    ChunkMetrics,
    Compiling,
    EvalKind,
    Evaluated,
    Event,
    Failed,
    Finished,
    Listener,
    Phase,
    PhaseChanged,
    RunResult,
)
from lerax_tui.train.outcome import OutcomeRecorder
from lerax_tui.train.run_writer import RESUME_KIND, RunWriter
from lerax_tui.train.runlock import RunLock
from lerax_tui.train.runner_hooks import LocalDevices
from lerax_tui.train.schedule import max_chunk_iterations

if TYPE_CHECKING:
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.train.dqn import ChunkOutput, DQNState

# Re-exported: tests and benches size chunks with these.
__all__ = ["RESUME_KIND", "Runner", "TrainingError", "check_env", "make_runner", "max_chunk_iterations"]


class TrainingError(RuntimeError):
    """Training stopped on non-finite numbers (the run folder keeps the last good checkpoint)."""


class Runner(Controls, LocalDevices):
    """One training run (or the continuation of one) in its own run folder.

    Args:
        env_id: A supported gymnax id.
        env_params: Overrides of the env's parameters (JSON-able).
        config: The full configuration.
        runs_dir: Where the run folder is created (ignored when resuming).
        listener: Called with every event, from the thread that calls ``run``.
        resume_from: A run folder to continue in place from its newest consistent
            ``checkpoints/resume`` pair (from step 0 when it has none yet); ``config`` may differ
            from the saved one only in ``total_timesteps`` (not below the resume step),
            ``checkpoint_interval``, ``eval_episodes`` and ``eval_interval``.
        init_policy: Start every seed's online and target networks from this policy's weights (a
            new run with a fresh buffer, optimiser and exploration schedule). Its structure must be
            the one ``config`` builds for ``env_id``.
        start_state: A ``resume.eqx`` (of another run) to continue exactly, in a new run folder;
            the same rules as ``resume_from`` apply to ``config``. The source is only read.
        origin: Where this run comes from (``path``, ``step``, ``fingerprint``...), recorded in
            its config.json.

    The run folder is locked (``.lock``) from construction until :meth:`run` returns or
    :meth:`close` is called.

    Raises:
        EnvError, ValueError, ConfigError: Bad input, before anything is written.
        RunLocked: Another process is writing ``resume_from``.
        FileNotFoundError: ``resume_from`` has no config.json.
    """

    def __init__(
        self,
        env_id: str,
        env_params: dict | None,
        config: DQNConfig,
        runs_dir: str | Path,
        listener: Listener | None = None,
        resume_from: str | Path | None = None,
        init_policy: MLPQPolicy | None = None,
        *,
        start_state: str | Path | lifecycle.ResumePoint | None = None,
        origin: dict | None = None,
    ):
        from lerax_tui.train.dqn import check_engine

        if sum(x is not None for x in (resume_from, init_policy, start_state)) > 1:
            raise ValueError(
                "resume_from, start_state and init_policy exclude each other: a resume already has its networks"
            )

        self.env_id = env_id
        self.env_params = dict(env_params or {})
        self.config = config
        self.listener = listener
        self.env = check_env(env_id, self.env_params)
        check_engine(self.env, config)
        self._resume_from = Path(resume_from) if resume_from is not None else None
        self._init_policy = init_policy
        if init_policy is not None:
            check_policy_fits(init_policy, self.env, config)
        # where the state comes from: None for a fresh start (or a resume with no state yet)
        self._state_path: Path | None = None
        self.start_step: int = 0
        self.resume_note: str | None = None
        self._lock = self._open_run_dir(Path(runs_dir), start_state, origin)
        self._init_controls()
        self._outcome = OutcomeRecorder(self.run_dir)  # result.json when the run ends
        self._writer = RunWriter(self.run_dir, self.env, env_id, self.env_params, config, self._emit)
        self._writer.resume_step = self.start_step if self._state_path is not None else None
        self._step, self._compile_s, self._train_s = self.start_step, 0.0, 0.0
        self._recent: list[list[float]] = [[] for _ in range(config.num_seeds)]
        self._best: list[Best | None] = [None] * config.num_seeds  # each seed's best periodic evaluation

    @classmethod
    def from_run_dir(
        cls, run_dir: str | Path, listener: Listener | None = None, *, total_timesteps: int | None = None
    ) -> Runner:
        """Continue the run in ``run_dir`` (optionally to a new ``total_timesteps``)."""
        saved = runs.read_config(run_dir)
        config = DQNConfig.from_dict(saved["config"])
        if total_timesteps is not None:
            config = config.replace(total_timesteps=total_timesteps)
        return cls(
            saved["env_id"],
            saved.get("env_params_overrides") or {},
            config,
            Path(run_dir).parent,
            listener,
            resume_from=run_dir,
        )

    # --- Trainer protocol (pause, resume, stop, request_checkpoint: Controls) ------------------------

    def close(self) -> None:
        """Release the run folder's lock without running (``run`` releases it when it returns)."""
        self._lock.release()

    def run(self) -> RunResult:
        """Train to ``total_timesteps`` (or until stopped), evaluate, and write the final files.

        Returns:
            The result; on non-finite numbers a :class:`Failed` event is emitted and the result's
            ``error`` says why (the last good checkpoint stays in the folder).

        Raises:
            Exception: Anything unexpected, after emitting :class:`Failed`.
        """
        try:
            return self._run()
        except TrainingError as e:
            self._emit(Failed(str(e), self._writer.last_good))
            self._emit(PhaseChanged(Phase.FAILED))
            return RunResult(run_dir=self.run_dir, checkpoints=self._writer.written, error=str(e), **self._timings())
        except OSError as e:  # a full disk, a folder that went away: every file on disk is complete
            where = f" ({e.filename})" if e.filename else ""
            resume_step = self._writer.resume_step
            keep = (
                f"the last resume state is at step {resume_step:,}"
                if resume_step is not None
                else "no resume state was written yet: it restarts from step 0"
            )
            message = f"writing the run folder failed: {e.strerror or e}{where}; {keep} - fix that (free space, permissions) and continue with --resume {self.run_dir}"
            self._emit(Failed(message, self._writer.last_good))
            self._emit(PhaseChanged(Phase.FAILED))
            return RunResult(run_dir=self.run_dir, checkpoints=self._writer.written, error=message, **self._timings())
        except Exception as e:
            self._emit(Failed(f"{type(e).__name__}: {e}", self._writer.last_good))
            self._emit(PhaseChanged(Phase.FAILED))
            raise
        finally:
            self._lock.release()

    # --- internals --------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self._writes_shared:  # result.json is the run's, written once (process 0 of several)
            self._outcome.observe(event)
        if self.listener is not None:
            self.listener(event)

    def _timings(self) -> dict[str, Any]:
        return {"env_steps": self._step, "compile_s": self._compile_s, "train_s": self._train_s}

    def _open_run_dir(
        self, runs_dir: Path, start_state: str | Path | lifecycle.ResumePoint | None, origin: dict | None
    ) -> RunLock:
        """Lock the folder this run writes (a new one unless resuming in place) and find where the
        run starts. The lock is released again if anything here fails."""
        if self._resume_from is not None:
            self.run_dir = self._resume_from
            lock = RunLock.acquire(self.run_dir)
            try:
                self._check_resumable(self.run_dir)
                self._take_resume_point(lifecycle.resume_point(self.run_dir))
                lifecycle.clean_owned(self.run_dir)
                lifecycle.note_resume(self.run_dir, self.config)
            except BaseException:
                lock.release()
                raise
            return lock
        if start_state is not None:
            point = (
                start_state
                if isinstance(start_state, lifecycle.ResumePoint)
                else lifecycle.fork_point(Path(start_state), (origin or {}).get("step"))
            )
            check_same_config((point.entry or {}).get("config") or {}, self.config)
            self._take_resume_point(point)
        record = lifecycle.config_record(
            self.env, self.env_params, self.config, origin, exact=self._state_path is not None
        )
        self.run_dir, lock = lifecycle.create_run_dir(runs_dir, self.env_id, record)
        if self._state_path is not None:  # the curve that led to the state comes along
            try:
                lifecycle.copy_history(self._state_path, self.run_dir, self.start_step)
            except BaseException:
                lock.release()
                raise
        return lock

    def _check_resumable(self, run_dir: Path) -> None:
        saved = runs.read_config(run_dir)
        if saved.get("env_id") != self.env_id:
            raise ConfigError("env_id", f"{self.env_id!r} differs from the run's {saved.get('env_id')!r}")
        check_same_config(saved.get("config") or {}, self.config)

    def _take_resume_point(self, point: lifecycle.ResumePoint) -> None:
        """Start from ``point``; a total below its step is refused (a run cannot go back)."""
        if self.config.total_timesteps < point.step:
            raise ConfigError(
                "total_timesteps",
                f"{self.config.total_timesteps:,} is below the step the run continues from ({point.step:,}): "
                f"a run cannot go back; ask for more than {point.step:,} steps",
            )
        if self.config.total_timesteps == point.step > 0:
            raise ConfigError(
                "total_timesteps",
                f"the run is complete at step {point.step:,}: ask for more than {point.step:,} steps to train it further",
            )
        self._state_path, self.start_step, self.resume_note = point.path, point.step, point.note

    def _initial_state(self) -> DQNState:
        from lerax_tui.core.checkpoint import load_pytree
        from lerax_tui.train import dqn

        if self._state_path is None:  # a fresh start; the initial state follows from the config
            state = dqn.init_state(self.env, self.config)
            if self._init_policy is not None:
                state = dqn.with_q_network(state, self._init_policy.q_network)
            return state
        skeleton = dqn.state_skeleton(self.env, self.config)
        return load_pytree(self._state_path, skeleton, kind=RESUME_KIND)

    def _run(self) -> RunResult:
        from lerax_tui.train import dqn
        from lerax_tui.train.cache import enable_compilation_cache

        config = self.config
        enable_compilation_cache()
        start = time.perf_counter()
        self._emit(PhaseChanged(Phase.COMPILING))
        self._emit(Compiling(self.run_dir))
        state = self._start_state()
        self._step = self.start_step = int(state.step)
        if self._resume_from is not None:
            if self._writes_shared:
                lifecycle.truncate_metrics(self.run_dir, self._step)  # the chunks after it run again
            self._best = load_best(self.run_dir, config.num_seeds)
        max_iterations = max_chunk_iterations(config)
        chunk = dqn.make_chunk_fn(self.env, config, max_iterations, state)
        chunk.compile(state)
        self._compile_s = time.perf_counter() - start
        self._emit(PhaseChanged(Phase.TRAINING))
        self._start_clock()

        n_next = min(schedule.FIRST_CHUNK_ITERATIONS, max_iterations)
        next_checkpoint = schedule.next_checkpoint(config, self._step)
        next_eval = schedule.next_eval(config, self._step)
        stopped = False
        while self._step < config.total_timesteps:
            self._hold_while_paused(lambda phase: self._emit(PhaseChanged(phase)))
            n = schedule.chunk_iterations(config, self._step, n_next, next_checkpoint, next_eval)
            stop, save, n = self._agree(self._stop.is_set(), self._checkpoint_requested.is_set(), n)
            if stop:
                stopped = True
                break
            if save:
                self._checkpoint_requested.clear()
                self._write_checkpoints(state, final=False)
            t0 = time.perf_counter()
            state, out = chunk(state, n)
            out = self._fetch(out)
            dt = time.perf_counter() - t0
            self._train_s += dt
            n_next = self._next_chunk(n, dt, max_iterations)
            self._step = int(out.step)
            eval_returns: list[np.ndarray] | None = None
            due = next_eval is not None and self._step >= next_eval
            if due and np.all(out.finite):
                eval_returns = self._evaluate_periodic(state)
                next_eval = schedule.next_eval(config, self._step)
            self._report_chunk(out, n, dt, time.perf_counter() - start, eval_returns)
            if eval_returns is not None:
                self._emit(
                    Evaluated(
                        eval_returns,
                        which=EvalKind.PERIODIC,
                        step=self._step,
                        best=[b.score if b else None for b in self._best],
                    )
                )
            if not np.all(out.finite):
                bad = [int(i) for i in np.flatnonzero(~np.asarray(out.finite))]
                where = f"seed {bad[0]}" if len(bad) == 1 else f"seeds {bad}"
                last_good = self._writer.last_good
                keep = f"; last good checkpoint: {last_good}" if last_good else "; no checkpoint was written before it"
                raise TrainingError(
                    f"training diverged at step {self._step}: non-finite loss or parameters in {where} "
                    f"(try a lower learning_rate or max_grad_norm){keep}"
                )
            if next_checkpoint is not None and self._step >= next_checkpoint:
                self._write_checkpoints(state, final=False)
                next_checkpoint = schedule.next_checkpoint(config, self._step)

        final = self._write_checkpoints(state, final=True)
        # a stop asked for after the last chunk (a signal during the final writes) skips evaluation too;
        # on several processes only as all of them see it, or one would wait alone in the evaluation's gather
        evaluate = not stopped and not self._stop_now() and config.eval_episodes > 0
        final_returns: list[np.ndarray] = []
        if evaluate:
            self._emit(PhaseChanged(Phase.EVALUATING))
            final_returns = self._evaluate_final(state, [True] * config.num_seeds)
            self._emit(Evaluated(final_returns))
        best_returns: list[np.ndarray] = []
        if evaluate and any(b is not None for b in self._best):
            best_returns = self._evaluate_final(None, [b is not None for b in self._best])
            self._emit(
                Evaluated(best_returns, which=EvalKind.BEST, best_steps=[b.step if b else None for b in self._best])
            )
        self._emit(PhaseChanged(Phase.STOPPED if stopped else Phase.FINISHED))
        self._emit(Finished(self.run_dir, final, stopped_early=stopped))
        return RunResult(
            run_dir=self.run_dir,
            checkpoints=list(self._writer.written),
            eval_returns=final_returns,
            best_eval_returns=best_returns,
            best_checkpoints=[b.path for b in self._best if b is not None],
            best_steps=[b.step for b in self._best if b is not None],
            stopped_early=stopped,
            **self._timings(),
        )

    def _report_chunk(
        self, out: ChunkOutput, n: int, dt: float, wall_s: float, eval_returns: list[np.ndarray] | None = None
    ) -> None:
        from lerax_tui.train.dqn import completed_episodes

        episodes = completed_episodes(out)
        for s, returns in enumerate(episodes.returns):
            self._recent[s] = (self._recent[s] + [float(x) for x in returns])[-20:]
        updates = int(out.updates)
        loss = np.asarray(out.loss_sum, dtype=float) / updates if updates else np.full(self.config.num_seeds, np.nan)
        event = ChunkMetrics(
            step=self._step,
            total_steps=self.config.total_timesteps,
            wall_s=wall_s,
            train_s=self._train_s,
            sps=n * self.config.num_envs * self.config.num_seeds / dt if dt > 0 else 0.0,
            episode_returns=episodes.returns,
            episode_lengths=episodes.lengths,
            episode_steps=episodes.steps,
            loss=loss,
            epsilon=float(out.epsilon),
            eval_returns=eval_returns,
            active_s=self._active_s(),
            start_step=self.start_step,
            compile_s=self._compile_s,
        )
        if self._writes_shared:
            runs.append_metrics(self.run_dir, event.to_json())
        self._emit(event)

    def recent_return(self, seed: int) -> float | None:
        r = self._recent[seed]
        return float(np.mean(r[-10:])) if r else None

    def _write_checkpoints(self, state: DQNState, *, final: bool) -> Path:
        """Every seed's policy (``final`` or ``step-N``) and the full resume state. Returns seed 0's."""
        recent = [self.recent_return(s) for s in range(self.config.num_seeds)]
        return self._writer.write_all(state, self._step, recent, final=final)

    def _evaluate_periodic(self, state: DQNState) -> list[np.ndarray]:
        """Evaluate every seed's current policy greedily; where a seed's mean return is at least its
        best so far (ties go to the later policy), keep it and rewrite its best checkpoint."""
        import jax.random as jr

        from lerax_tui.train.dqn import seed_policy
        from lerax_tui.train.evaluation import evaluate

        config = self.config
        out = []
        for s in range(config.num_seeds):
            policy = seed_policy(state, s, config)
            key = jr.fold_in(jr.fold_in(jr.key(config.seed + s), 0xE7A1), self._step)
            returns = evaluate(policy, self.env, episodes=config.eval_episodes, key=key)
            out.append(returns)
            mean = float(np.mean(returns))
            best = self._best[s]
            if best is not None and not best.beaten_by(mean):
                continue
            name = runs.best_checkpoint_name(seed=s, num_seeds=config.num_seeds)
            extra = {"eval_return": mean, "eval_returns": np.asarray(returns, dtype=float).tolist()}
            path = self._writer.save_policy(policy, s, name, self._step, self.recent_return(s), extra)
            self._best[s] = Best(mean, self._step, policy, path)
        return out


def make_runner(env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path, listener: Listener) -> Runner:
    """A :data:`~lerax_tui.train.events.TrainerFactory` for the app."""
    return Runner(env_id, env_params, config, runs_dir, listener)
