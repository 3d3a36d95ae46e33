"""A deterministic stand-in for the real runner: no JAX, returns that rise along a fixed curve.

UI tests, snapshot tests and the screenshot script drive the app with it. It honours the
``Trainer`` protocol (pause/resume/stop/request_checkpoint take effect between chunks) and writes a
run folder like the real one (``config.json``, ``metrics.jsonl``, ``checkpoints/final.json``), with a
JSON stand-in where the real runner writes an ``.eqx``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lerax_tui.core.env_catalogue import EnvInfo
from lerax_tui.train.events import (
    CheckpointWritten,
    ChunkMetrics,
    Compiling,
    Evaluated,
    Finished,
    PhaseChanged,
    RunResult,
)
from lerax_tui.train.outcome import OutcomeRecorder
from lerax_tui.train.runlock import RunLock


class FakeControls:
    """The controls both fakes (a run's, a sweep's) share: each call is recorded in ``calls`` and
    takes effect between chunks, as the real ones do."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._checkpoint_requested = threading.Event()
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")
        self._running.clear()

    def resume(self) -> None:
        self.calls.append("resume")
        self._running.set()

    def stop(self) -> None:
        self.calls.append("stop")
        self._stop.set()
        self._running.set()

    def request_checkpoint(self) -> None:
        self.calls.append("checkpoint")
        self._checkpoint_requested.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


class FakeTrainer(FakeControls):
    def __init__(
        self,
        env_id: str,
        env_params: dict,
        config: Any,
        runs_dir: Path,
        listener: Any,
        *,
        chunk_steps: int = 1_000,
        chunk_delay: float = 0.0,
        compile_delay: float = 0.0,
        run_name: str | None = None,
        fail_at_step: int | None = None,
    ) -> None:
        self.env_id, self.env_params, self.config, self.listener = env_id, env_params, config, listener
        self.chunk_steps, self.chunk_delay, self.compile_delay = chunk_steps, chunk_delay, compile_delay
        self.fail_at_step = fail_at_step
        name = run_name or f"{env_id}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
        self.run_dir = Path(runs_dir) / name
        super().__init__()
        self.final_checkpoint: Path | None = None
        self.checkpoints: list[Path] = []

    def run(self) -> RunResult:
        cfg = self.config
        (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        # like the real runner: the folder is locked while it is written, and result.json says how it ended
        lock = RunLock.acquire(self.run_dir)
        recorder = OutcomeRecorder(self.run_dir)

        def emit(event: Any) -> None:
            recorder.observe(event)
            self.listener(event)

        try:
            return self._run(cfg, emit)
        finally:
            lock.release()

    def _run(self, cfg: Any, emit: Any) -> RunResult:
        seeds = int(getattr(cfg, "num_seeds", 1))
        total = int(getattr(cfg, "total_timesteps", 50_000))
        (self.run_dir / "config.json").write_text(
            json.dumps({"env_id": self.env_id, "env_params": self.env_params, "config": cfg.to_dict(), "fake": True})
        )
        emit(PhaseChanged("compiling"))
        emit(Compiling(self.run_dir))
        self._stop.wait(self.compile_delay)
        emit(PhaseChanged("training"))
        step, train_s = 0, 0.0
        best: list[float] = []
        rng = np.random.default_rng(cfg.seed)
        metrics = (self.run_dir / "metrics.jsonl").open("a")
        try:
            while step < total and not self._stop.is_set():
                if not self._running.is_set():
                    emit(PhaseChanged("paused"))
                    self._running.wait()
                    if self._stop.is_set():
                        break
                    emit(PhaseChanged("training"))
                start = min(step, total)
                step = min(step + self.chunk_steps, total)
                if self.fail_at_step is not None and step >= self.fail_at_step:
                    raise RuntimeError(f"fake failure at step {step}")
                chunk = _fake_chunk(rng, start, step, total, seeds, cfg)
                train_s += 0.1
                evaluation = _fake_evaluation(start, step, total, seeds, cfg)
                chunk = ChunkMetrics(
                    **{
                        **chunk.__dict__,
                        "train_s": train_s,
                        "wall_s": train_s + 0.5,
                        "active_s": train_s,
                        "compile_s": 0.5,
                        "eval_returns": evaluation,
                    }
                )
                metrics.write(json.dumps(chunk.to_json()) + "\n")
                metrics.flush()
                emit(chunk)
                if evaluation is not None:
                    best = (
                        [max(b, float(r.mean())) for b, r in zip(best, evaluation, strict=True)]
                        if best
                        else [float(r.mean()) for r in evaluation]
                    )
                    emit(Evaluated(evaluation, which="periodic", step=step, best=best))
                if self._checkpoint_requested.is_set():
                    self._checkpoint_requested.clear()
                    self.checkpoints.append(self._write_checkpoint(f"step-{step:09d}", step))
                    emit(CheckpointWritten(self.checkpoints[-1], step))
                if self.chunk_delay:
                    self._stop.wait(self.chunk_delay)
        finally:
            metrics.close()
        self.final_checkpoint = self._write_checkpoint("final", step)
        emit(CheckpointWritten(self.final_checkpoint, step))
        stopped = self._stop.is_set()
        if not stopped:
            emit(PhaseChanged("evaluating"))
            emit(Evaluated([np.full(3, 200.0) for _ in range(seeds)]))
        emit(PhaseChanged("stopped" if stopped else "finished"))
        emit(Finished(self.run_dir, self.final_checkpoint, stopped_early=stopped))
        return RunResult(
            self.run_dir, checkpoints=[*self.checkpoints, self.final_checkpoint], env_steps=step, stopped_early=stopped
        )

    def _write_checkpoint(self, name: str, step: int) -> Path:
        path = self.run_dir / "checkpoints" / f"{name}.json"
        path.write_text(json.dumps({"fake": True, "step": step, "time": time.time()}))
        return path


def _fake_chunk(rng: np.random.Generator, start: int, end: int, total: int, seeds: int, cfg: Any) -> ChunkMetrics:
    """Episodes of ~25 steps early and up to 500 late; return rises like 1 - exp(-4 progress)."""
    returns, lengths, steps = [], [], []
    for seed in range(seeds):
        at = start
        r_seed, l_seed, s_seed = [], [], []
        while True:
            progress = at / max(total, 1)
            mean = 20 + 400 * (1 - np.exp(-4 * progress)) * (0.75 + 0.25 * seed / max(seeds - 1, 1))
            length = int(max(8, mean + rng.normal(0, 0.2 * mean)))
            if at + length > end:
                break
            at += length
            r_seed.append(float(min(length, 500)))
            l_seed.append(length)
            s_seed.append(at)
        returns.append(np.array(r_seed))
        lengths.append(np.array(l_seed, dtype=int))
        steps.append(np.array(s_seed, dtype=int))
    learning = end > cfg.learning_starts
    loss = np.array([0.5 * np.exp(-3 * end / total) + 0.01 * s if learning else np.nan for s in range(seeds)])
    decay_end = cfg.exploration_fraction * total
    eps = (
        cfg.epsilon_end
        if end >= decay_end
        else cfg.epsilon_start + (cfg.epsilon_end - cfg.epsilon_start) * end / decay_end
    )
    return ChunkMetrics(
        step=end,
        total_steps=total,
        wall_s=0.0,
        train_s=0.0,
        sps=25_000.0 * seeds,
        episode_returns=returns,
        episode_lengths=lengths,
        episode_steps=steps,
        loss=loss,
        epsilon=float(eps),
    )


def _fake_evaluation(start: int, end: int, total: int, seeds: int, cfg: Any) -> list[np.ndarray] | None:
    """Greedy returns when the chunk crosses a multiple of ``eval_interval`` or ends the run:
    a little above the training curve (no exploration), 3 episodes a seed."""
    interval = int(getattr(cfg, "eval_interval", 0) or 0)
    if interval <= 0 or not (end // interval > start // interval or end >= total):
        return None
    progress = end / max(total, 1)
    return [
        np.full(3, min(500.0, 40 + 460 * (1 - np.exp(-4 * progress)) * (0.8 + 0.2 * seed / max(seeds - 1, 1))))
        for seed in range(seeds)
    ]


@dataclass
class FakeFactory:
    """A ``TrainerFactory`` that makes :class:`FakeTrainer` and remembers every one it made."""

    options: dict = field(default_factory=dict)
    made: list[FakeTrainer] = field(default_factory=list)

    def __call__(self, env_id, env_params, config, runs_dir, listener) -> FakeTrainer:
        trainer = FakeTrainer(env_id, env_params, config, runs_dir, listener, **self.options)
        self.made.append(trainer)
        return trainer

    @property
    def last(self) -> FakeTrainer:
        return self.made[-1]


_BOX = "continuous action space (Box(1,)): an MLPQPolicy needs Discrete actions"
FAKE_CATALOGUE: tuple[EnvInfo, ...] = (
    EnvInfo("CartPole-v1", "cartpole", (4,), "Discrete(2)", 2, True, None, 500),
    EnvInfo("Pendulum-v1", "classic", (3,), "Box(1,)", None, False, _BOX, 200),
    EnvInfo("Acrobot-v1", "acrobot", (6,), "Discrete(3)", 3, True, None, 500),
    EnvInfo("MountainCar-v0", "mountaincar", (2,), "Discrete(3)", 3, True, None, 200),
    EnvInfo("Breakout-MinAtar", "minatar", (10, 10, 4), "Discrete(3)", 3, True, None, 1000),
    EnvInfo("Catch-bsuite", "bsuite", (10, 5), "Discrete(3)", 3, True, None, 1000),
    EnvInfo(
        "MNISTBandit-bsuite",
        "bsuite",
        None,
        "?",
        None,
        False,
        "its constructor downloads the MNIST dataset, which cannot happen offline",
        None,
    ),
)
