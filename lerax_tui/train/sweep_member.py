"""One configuration of a sweep while its program runs: its run folder's writers (checkpoints,
``metrics.jsonl``, ``result.json``), its seeds' recent returns and best policies, and what it reports
after each chunk (the events a plain run of it emits).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from lerax_tui.train import runs
from lerax_tui.train.best import Best
from lerax_tui.train.events import ChunkMetrics, Event
from lerax_tui.train.outcome import OutcomeRecorder
from lerax_tui.train.run_writer import RunWriter
from lerax_tui.train.sweep_record import ConfigResult

if TYPE_CHECKING:
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.train.config import DQNConfig

SYNC_S = 5.0
"""A sweep's metrics lines are fsynced at least this often (and before every resume state)."""


class MetricsLog:
    """A run's ``metrics.jsonl`` kept open for appending: each line is written and flushed at once
    (a reader, or a killed process, loses none), and fsynced in batches - at least every
    :data:`SYNC_S` seconds and by :meth:`sync` before the run's ``resume.eqx`` is replaced. So an OS
    crash loses at most the lines after the last resume state, which a resume truncates and trains
    again anyway (one fsync per file per chunk was most of a sweep's host time per chunk)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / runs.METRICS_FILE
        self._file: IO[str] | None = None
        self._synced = time.monotonic()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, allow_nan=False) + "\n"
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._file.write(line)
        self._file.flush()
        if time.monotonic() - self._synced >= SYNC_S:
            self.sync()

    def sync(self) -> None:
        """Every line appended so far is on disk when this returns."""
        if self._file is not None:
            os.fsync(self._file.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        if self._file is not None:
            try:
                self.sync()
            finally:
                self._file.close()
                self._file = None


@dataclass(eq=False)
class Member:
    """One configuration while its program runs.

    Attributes:
        emit: Reports one of its run events (to ``result.json``'s recorder, then the listener).
        start_step: The step its program starts at (a resume's).
        state_path: Its ``resume.eqx`` when resuming (None: from step 0).
        best: Per seed, the best periodic evaluation so far.
        recent: Per seed, the latest training episode returns.
        failed: Its numbers went non-finite: it reports nothing more.
    """

    index: int
    config: DQNConfig
    run_dir: Path
    writer: RunWriter
    emit: Callable[[Event], None]
    metrics: MetricsLog
    start_step: int = 0
    state_path: Path | None = None
    best: list[Best | None] = field(default_factory=list)
    recent: list[list[float]] = field(default_factory=list)
    failed: bool = False

    @classmethod
    def open(
        cls,
        index: int,
        config: DQNConfig,
        run_dir: Path,
        env: GymnaxEnv,
        env_id: str,
        emit: Callable[[Any], None],
        *,
        writes_result: bool = True,
    ) -> Member:
        """A member writing ``run_dir``; ``emit`` gets its events after ``result.json``'s recorder
        (``writes_result``: this process writes the run's shared files, as one of a distributed sweep's)."""
        outcome = OutcomeRecorder(run_dir)

        def report(event: Event) -> None:
            if writes_result:
                outcome.observe(event)
            emit(event)

        writer = RunWriter(run_dir, env, env_id, {}, config, report)
        member = cls(index, config, run_dir, writer, report, MetricsLog(run_dir))
        member.recent = [[] for _ in range(config.num_seeds)]
        member.best = [None] * config.num_seeds
        return member

    def recent_return(self, seed: int) -> float | None:
        r = self.recent[seed]
        return float(np.mean(r[-10:])) if r else None

    def recent_returns(self) -> list[float | None]:
        return [self.recent_return(s) for s in range(self.config.num_seeds)]

    def report_chunk(
        self, episodes: Any, loss: np.ndarray, eval_returns: list | None, *, write: bool = True, **timing: Any
    ) -> None:
        """Its ChunkMetrics (``episodes``: its seeds' completed episodes), appended to its
        ``metrics.jsonl`` (``write``: by the process that writes the run's shared files) and
        emitted; ``timing``: step, wall_s, train_s, sps, active_s, start_step, compile_s."""
        for s, r in enumerate(episodes.returns):
            self.recent[s] = (self.recent[s] + [float(x) for x in r])[-20:]
        event = ChunkMetrics(
            total_steps=self.config.total_timesteps,
            episode_returns=episodes.returns,
            episode_lengths=episodes.lengths,
            episode_steps=episodes.steps,
            loss=loss,
            epsilon=epsilon_host(self.config, int(timing["step"])),
            eval_returns=eval_returns,
            **timing,
        )
        if write:
            self.metrics.append(event.to_json())
        self.emit(event)

    def divergence(self, finite: np.ndarray, step: int) -> str:
        """The failure message when its seeds ``~finite`` went non-finite at ``step``."""
        bad = [int(i) for i in np.flatnonzero(~finite)]
        where = f"seed {bad[0]}" if len(bad) == 1 else f"seeds {bad}"
        last = self.writer.last_good
        keep = f"; last good checkpoint: {last}" if last else "; no checkpoint was written before it"
        return (
            f"training diverged at step {step}: non-finite loss or parameters in {where} "
            f"(try a lower learning_rate or max_grad_norm){keep}"
        )


def epsilon_host(config: DQNConfig, step: int) -> float:
    """The exploration schedule (``dqn.epsilon_at``) in plain Python, for each member's report."""
    decay = config.exploration_fraction * config.total_timesteps
    if decay <= 0:
        return config.epsilon_end
    return config.epsilon_start + (config.epsilon_end - config.epsilon_start) * min(step / decay, 1.0)


def pooled_returns(returns_per_seed: Any) -> np.ndarray:
    """Every seed's episode returns in one flat array (seeds without any, or None, add nothing)."""
    arrays = [np.asarray(r, dtype=float).ravel() for r in returns_per_seed or [] if r is not None and len(r)]
    return np.concatenate(arrays) if arrays else np.empty(0)


def config_result(final: list, best: list) -> ConfigResult:
    """``sweep.json``'s result of a configuration from its seeds' final and best greedy returns."""
    pooled, pooled_best = pooled_returns(final), pooled_returns(best)
    return ConfigResult(
        eval_return_mean=float(pooled.mean()) if pooled.size else None,
        eval_return_per_seed=[float(np.mean(r)) for r in final if len(r)],
        best_eval_return_mean=float(pooled_best.mean()) if pooled_best.size else None,
        eval_return_std=float(pooled.std()) if pooled.size else None,
    )
