"""A deterministic stand-in for the sweep engine: no JAX, every configuration's return rises along
the fake trainer's curve, scaled by a factor fixed per configuration (so they rank differently).

It writes a sweep folder like the real one (``sweep.json`` and one run folder per configuration with
``config.json``, ``metrics.jsonl`` and JSON stand-ins for checkpoints) and reports through
:mod:`lerax_tui.train.sweep_events`, the members' chunks interleaved as one program's would be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lerax_tui.train.events import (
    CheckpointWritten,
    ChunkMetrics,
    Compiling,
    EvalKind,
    Evaluated,
    Finished,
)
from lerax_tui.train.sweep_events import (
    ConfigEvent,
    ProgramStarted,
    StatusChanged,
    SweepFinished,
    SweepListener,
    SweepResult,
    SweepStarted,
)
from lerax_tui.train.sweep_record import ConfigResult, ConfigStatus, new_record, write_sweep
from lerax_tui.train.sweep_spec import SweepSpec
from support.fake import FakeControls, _fake_chunk, _fake_evaluation


def factor(index: int, num_configs: int) -> float:
    """How well configuration ``index`` learns: a fixed zigzag in (0.3, 1], so neither the first nor
    the last configuration is the best."""
    return 0.3 + 0.7 * (((index * 5) % max(num_configs, 1)) + 1) / max(num_configs, 1)


class FakeSweepTrainer(FakeControls):
    def __init__(
        self,
        env_id: str,
        spec: SweepSpec,
        runs_dir: Path,
        listener: SweepListener,
        *,
        chunk_steps: int = 1_000,
        chunk_delay: float = 0.0,
        name: str = "sweep-test",
        fail_index: int | None = None,
    ) -> None:
        self.env_id, self.spec, self.listener = env_id, spec, listener
        self.chunk_steps, self.chunk_delay, self.fail_index = chunk_steps, chunk_delay, fail_index
        self.sweep_dir = Path(runs_dir) / name
        super().__init__()

    def run(self) -> SweepResult:
        spec, n = self.spec, self.spec.num_configs
        record = new_record(spec, self.env_id, created="2026-01-01T00:00:00+00:00")
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        write_sweep(self.sweep_dir, record)
        self.listener(SweepStarted(self.sweep_dir, n, spec.seeds, 1, spec.summary()))
        configs = spec.configs()
        dirs = [self.sweep_dir / e.run_dir for e in record.configs]
        for i, (cfg, run_dir) in enumerate(zip(configs, dirs, strict=True)):
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps({"env_id": self.env_id, "config": cfg.to_dict()}))
            self.listener(ConfigEvent(i, Compiling(run_dir)))
        self.listener(ProgramStarted(0, 1, list(range(n)), 0))
        total, seeds = spec.base.total_timesteps, spec.seeds
        rngs = [np.random.default_rng(i) for i in range(n)]
        best: list[list[float]] = [[] for _ in range(n)]
        alive = set(range(n))
        step = 0
        for i in alive:
            record.update(i, status=ConfigStatus.RUNNING)
            self.listener(StatusChanged(i, ConfigStatus.RUNNING))
        write_sweep(self.sweep_dir, record)
        while step < total and not self._stop.is_set():
            if not self._running.is_set():
                self._running.wait()
            start, step = step, min(step + self.chunk_steps, total)
            for i in sorted(alive):
                if i == self.fail_index and step > total // 2:
                    alive.discard(i)
                    record.update(i, status=ConfigStatus.FAILED, error=f"non-finite loss (NaN) at step {step}")
                    write_sweep(self.sweep_dir, record)
                    self.listener(StatusChanged(i, ConfigStatus.FAILED, record.configs[i].error))
                    continue
                self._chunk(i, configs[i], dirs[i], rngs[i], start, step, total, seeds, best[i])
            if self.chunk_delay:
                self._stop.wait(self.chunk_delay)
        stopped = self._stop.is_set()
        for i in sorted(alive):
            # 3 episodes a seed spread by +-1 around a value of its own (not the last periodic one)
            final = [_scaled(200.0, i, n) + np.array([-1.0, 0.0, 1.0]) for _ in range(seeds)]
            self.listener(ConfigEvent(i, Evaluated(final, which=EvalKind.FINAL, step=step)))
            status = ConfigStatus.STOPPED if stopped else ConfigStatus.FINISHED
            pooled = np.concatenate(final)
            result = ConfigResult(
                eval_return_mean=float(pooled.mean()),
                eval_return_per_seed=[float(f.mean()) for f in final],
                best_eval_return_mean=float(np.mean(best[i])) if best[i] else None,
                eval_return_std=float(pooled.std()),
            )
            record.update(i, status=status, result=result)
            self.listener(ConfigEvent(i, Finished(dirs[i], dirs[i] / "checkpoints" / "final.json", stopped)))
            self.listener(StatusChanged(i, status))
        write_sweep(self.sweep_dir, record)
        result = SweepResult(self.sweep_dir, record, programs=1, stopped_early=stopped)
        self.listener(SweepFinished(result))
        return result

    def _chunk(self, i, cfg, run_dir, rng, start, step, total, seeds, best) -> None:
        n = self.spec.num_configs
        chunk = _fake_chunk(rng, start, step, total, seeds, cfg)
        returns = [np.round(r * factor(i, n), 1) for r in chunk.episode_returns]
        evaluation = _fake_evaluation(start, step, total, seeds, cfg)
        if evaluation is not None:
            evaluation = [np.round(e * factor(i, n), 1) for e in evaluation]
        chunk = ChunkMetrics(
            **{**chunk.__dict__, "episode_returns": returns, "train_s": step / 10_000, "eval_returns": evaluation}
        )
        with (run_dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(chunk.to_json()) + "\n")
        self.listener(ConfigEvent(i, chunk))
        if evaluation is not None:
            means = [float(e.mean()) for e in evaluation]
            best[:] = [max(b, m) for b, m in zip(best, means, strict=True)] if best else means
            name = "best" if seeds == 1 else f"seed-{int(np.argmax(best))}-best"
            path = run_dir / "checkpoints" / f"{name}.json"
            path.write_text(json.dumps({"fake": True, "step": step}))
            self.listener(ConfigEvent(i, Evaluated(evaluation, which=EvalKind.PERIODIC, step=step, best=list(best))))
            self.listener(ConfigEvent(i, CheckpointWritten(path, step)))


def _scaled(value: float, index: int, n: int) -> float:
    return round(value * factor(index, n), 1)


@dataclass
class FakeSweepFactory:
    """A ``SweepTrainerFactory`` that makes :class:`FakeSweepTrainer` and remembers each one."""

    options: dict = field(default_factory=dict)
    made: list[FakeSweepTrainer] = field(default_factory=list)

    def __call__(self, env_id, spec, runs_dir, listener) -> FakeSweepTrainer:
        trainer = FakeSweepTrainer(env_id, spec, runs_dir, listener, **self.options)
        self.made.append(trainer)
        return trainer

    @property
    def last(self) -> FakeSweepTrainer:
        return self.made[-1]
