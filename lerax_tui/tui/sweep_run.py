"""A sweep as the views see it: one :class:`MemberRun` per configuration (its return history, its
greedy evaluations, its best checkpoint) and the sweep's progress, fed by the sweep trainer's events
or read back from a sweep folder on disk.

No Textual here: the sweep chart, the leaderboard, the sensitivity plots and the status line only
read it, and it is tested without an app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lerax_tui.train.events import (
    TERMINAL_PHASES,
    ChunkMetrics,
    Compiling,
    EvalKind,
    Evaluated,
    Failed,
    Finished,
    Phase,
)
from lerax_tui.train.records import MetricsRecord
from lerax_tui.train.runs import best_checkpoint_name
from lerax_tui.train.sweep_events import (
    ConfigEvent,
    ProgramStarted,
    StatusChanged,
    SweepEvent,
    SweepFinished,
    SweepStarted,
)
from lerax_tui.train.sweep_member import pooled_returns
from lerax_tui.train.sweep_record import ConfigStatus, SweepRecord, run_dir_name
from lerax_tui.tui.history import ReturnHistory

IDLE = "idle"
SHORT_NAMES = {
    "learning_rate": "lr",
    "width_size": "width",
    "total_timesteps": "steps",
    "exploration_fraction": "expl",
    "target_update_interval": "target",
    "train_frequency": "train_freq",
    "learning_starts": "starts",
    "max_grad_norm": "clip",
    "epsilon_start": "eps0",
    "epsilon_end": "eps1",
    "buffer_size": "buffer",
    "batch_size": "batch",
}
"""Legend and status-line names of long hyperparameters (the leaderboard's columns use the full ones)."""


@dataclass
class MemberRun:
    """One configuration of a sweep.

    Attributes:
        index: Its position in ``sweep.json`` (its colour and marker follow from it).
        overrides: The swept keys' values.
        run_dir: Its run folder (None until the sweep made it).
        eval_mean: The latest periodic greedy evaluation: mean over every seed's episodes.
        eval_std: ... and their standard deviation.
        final_eval: The final policies' greedy return once the run finished: mean over every seed's
            episodes (``sweep.json``'s and ``sweep --json``'s ``eval_return_mean``).
        final_std: ... and their standard deviation (None when an older ``sweep.json`` lacks it).
        best_per_seed: Each seed's best mean greedy return so far (the periodic evaluations').
        best_reevaluated: Its best policies re-evaluated at the end (``sweep.json``'s
            ``best_eval_return_mean``), once it finished.
    """

    index: int
    overrides: dict[str, Any]
    run_dir: Path | None = None
    status: ConfigStatus = ConfigStatus.PENDING
    error: str | None = None
    history: ReturnHistory = field(default_factory=ReturnHistory)
    step: int = 0
    eval_mean: float | None = None
    eval_std: float | None = None
    eval_step: int | None = None
    final_eval: float | None = None
    final_std: float | None = None
    best_per_seed: list[float | None] = field(default_factory=list)
    best_reevaluated: float | None = None

    @property
    def best_eval(self) -> float | None:
        """ "best", as everywhere (``README.md`` "What best means"): the mean over seeds of each
        seed's best policy's greedy return: re-evaluated at the end once finished, until then each
        seed's best periodic evaluation so far."""
        if self.best_reevaluated is not None:
            return self.best_reevaluated
        known = [b for b in self.best_per_seed if b is not None]
        return sum(known) / len(known) if known else None

    @property
    def smoothed_return(self) -> float | None:
        """Mean over seeds of each seed's latest smoothed training return."""
        return self.history.last_smoothed

    def best_checkpoint(self, seeds: int) -> Path | None:
        """The best policy file of its best seed (by the periodic evaluations; seed 0 when unknown),
        ``.eqx`` or the fake trainer's ``.json`` stand-in, whichever exists."""
        if self.run_dir is None:
            return None
        known = [(b, s) for s, b in enumerate(self.best_per_seed) if b is not None]
        seed = max(known)[1] if known else 0
        name = best_checkpoint_name(seed=seed, num_seeds=seeds)
        for suffix in (".eqx", ".json"):
            path = self.run_dir / "checkpoints" / f"{name}{suffix}"
            if path.is_file():
                return path
        return None

    @property
    def shown_eval(self) -> tuple[float | None, float | None]:
        """The leaderboard's greedy evaluation (mean, std): the final one once it finished (the final
        policies, as ``sweep --json`` reports), until then the latest periodic one."""
        if self.final_eval is not None:
            return self.final_eval, self.final_std
        return self.eval_mean, self.eval_std

    @property
    def outcome(self) -> float | None:
        """What the sensitivity picture plots: the final greedy return, else the latest evaluation."""
        return self.final_eval if self.final_eval is not None else self.eval_mean

    def add_evaluation(self, step: int | None, returns_per_seed: Any, *, final: bool = False) -> None:
        pooled = pooled_returns(returns_per_seed)
        if not pooled.size:
            return
        if final:  # pooled over every seed's episodes, as sweep.json's result (config_result)
            self.final_eval, self.final_std = float(pooled.mean()), float(pooled.std())
            return
        self.eval_mean, self.eval_std, self.eval_step = float(pooled.mean()), float(pooled.std()), step
        seeds: list[float | None] = [float(np.mean(r)) if r is not None and len(r) else None for r in returns_per_seed]
        n = max(len(seeds), len(self.best_per_seed))
        before = self.best_per_seed + [None] * (n - len(self.best_per_seed))
        self.best_per_seed = [_higher(b, m) for b, m in zip(before, seeds + [None] * (n - len(seeds)), strict=True)]

    def clear_records(self) -> None:
        """Forget what its ``metrics.jsonl`` said (the file was cut, by a resume: it is read again)."""
        self.history, self.step = ReturnHistory(), 0
        self.eval_mean = self.eval_std = self.eval_step = None
        self.best_per_seed = []

    def add_record(self, record: MetricsRecord) -> None:
        """One ``metrics.jsonl`` line of its run folder (a sweep opened from disk)."""
        self.history.add_record(record)
        self.step = max(self.step, int(record.step))
        if record.eval_returns is not None:
            self.add_evaluation(int(record.step), record.eval_returns)

    def apply(self, event: Any) -> None:
        """One ordinary run event of this configuration."""
        if isinstance(event, ChunkMetrics):
            self.history.add_chunk(event)
            self.step = int(event.step)
            if self.status == ConfigStatus.PENDING:
                self.status = ConfigStatus.RUNNING
            if event.eval_returns is not None:
                self.add_evaluation(int(event.step), event.eval_returns)
        elif isinstance(event, Compiling):
            self.run_dir = Path(event.run_dir)
        elif isinstance(event, Evaluated) and event.which == EvalKind.FINAL:
            self.add_evaluation(event.step, event.returns, final=True)
        elif isinstance(event, Evaluated) and event.which == EvalKind.PERIODIC and event.best:
            self.best_per_seed = list(event.best)
        elif isinstance(event, Finished):
            self.run_dir = Path(event.run_dir)
            self.status = ConfigStatus.STOPPED if event.stopped_early else ConfigStatus.FINISHED
        elif isinstance(event, Failed):
            self.status, self.error = ConfigStatus.FAILED, event.message


class SweepRun:
    """Every configuration of one sweep, and where the sweep as a whole stands.

    Args:
        overrides: Per configuration, the swept keys' values (``SweepSpec.overrides``).
        varying: The swept keys whose value differs between configurations (the legend names only these).
        seeds: Seeds per configuration.
        total_steps: Env steps per seed of each configuration.
        env_id: The sweep's environment.
    """

    def __init__(
        self,
        overrides: list[dict[str, Any]],
        varying: tuple[str, ...],
        *,
        seeds: int = 1,
        total_steps: int = 0,
        env_id: str = "",
        phase: str = IDLE,
    ) -> None:
        self.members = [MemberRun(i, dict(o)) for i, o in enumerate(overrides)]
        self.varying = tuple(varying)
        self.seeds, self.total, self.env_id = seeds, total_steps, env_id
        self.sweep_dir: Path | None = None
        self.reported_phase = phase
        self.stop_requested = False
        self.message = ""
        self.focused = 0

    @classmethod
    def from_record(cls, record: SweepRecord, sweep_dir: Path) -> SweepRun:
        """A sweep read from its folder: statuses and final results from ``sweep.json``; the members'
        curves and evaluations come from their ``metrics.jsonl`` (:meth:`MemberRun.add_record`)."""
        overrides = [dict(c.overrides) for c in record.configs]
        keys = list(record.swept) or sorted({k for o in overrides for k in o})
        varying = tuple(k for k in keys if len({repr(o.get(k)) for o in overrides}) > 1)
        run = cls(
            overrides,
            varying,
            seeds=record.seeds,
            total_steps=int(record.base.get("total_timesteps", 0) or 0),
            env_id=record.env_id,
            phase=Phase.FINISHED,
        )
        run.sweep_dir = Path(sweep_dir)
        for member, entry in zip(run.members, record.configs, strict=True):
            member.run_dir = Path(sweep_dir) / entry.run_dir
        run.take_record(record)
        return run

    def take_record(self, record: SweepRecord, *, running: bool = False) -> bool:
        """Statuses and final results from ``sweep.json`` (read again while another process writes
        it); the phase: ``running`` (its process holds the sweep folder), else finished when every
        configuration ended, stopped when some did not. False when the record is not this sweep's
        (another number of configurations): nothing changes then."""
        if len(record.configs) != len(self.members):
            return False
        for member, entry in zip(self.members, record.configs, strict=True):
            member.status, member.error = entry.status, entry.error
            if entry.result is not None:
                member.final_eval, member.final_std = entry.result.eval_return_mean, entry.result.eval_return_std
                if entry.result.best_eval_return_mean is not None:
                    member.best_reevaluated = entry.result.best_eval_return_mean
            else:  # resumed since (its result is dropped until it ends again): no stale final figures
                member.final_eval = member.final_std = member.best_reevaluated = None
        if running:
            self.reported_phase = Phase.TRAINING
        elif any(m.status in (ConfigStatus.PENDING, ConfigStatus.RUNNING) for m in self.members):
            self.reported_phase = Phase.STOPPED
        else:
            self.reported_phase = Phase.FINISHED
        return True

    # --- what the views read ---------------------------------------------------------------------

    @property
    def phase(self) -> str:
        if self.reported_phase in TERMINAL_PHASES:
            return self.reported_phase
        return "stopping" if self.stop_requested else self.reported_phase

    @property
    def ended(self) -> bool:
        return self.reported_phase in TERMINAL_PHASES

    @property
    def num_configs(self) -> int:
        return len(self.members)

    @property
    def step(self) -> int:
        """Env steps per seed done, summed over configurations (programs run one after another)."""
        return sum(m.step for m in self.members)

    def member_total(self, index: int) -> int:
        """Env steps per seed of configuration ``index``: its own total_timesteps when that is swept."""
        total = self.members[index].overrides.get("total_timesteps")
        return int(total) if isinstance(total, int) and not isinstance(total, bool) else self.total

    @property
    def total_steps(self) -> int:
        """Env steps per seed, summed over configurations (each at its own length)."""
        return sum(self.member_total(i) for i in range(self.num_configs))

    @property
    def longest(self) -> int:
        """The longest configuration's env steps per seed (the curves' x range)."""
        return max((self.member_total(i) for i in range(self.num_configs)), default=self.total)

    def label(self, index: int, keys: tuple[str, ...] | None = None, *, short: bool = False) -> str:
        """``learning_rate=0.001 gamma=0.99`` (``lr=0.001 gamma=0.99`` when ``short``): configuration
        ``index`` by the values that vary."""
        overrides = self.members[index].overrides
        keys = self.varying if keys is None else keys
        names = SHORT_NAMES if short else {}
        return " ".join(f"{names.get(k, k)}={_short(overrides.get(k))}" for k in keys) or f"config {index}"

    def counts(self) -> dict[ConfigStatus, int]:
        out: dict[ConfigStatus, int] = {}
        for m in self.members:
            out[m.status] = out.get(m.status, 0) + 1
        return out

    # --- the user's requests and the trainer's events -------------------------------------------

    def request_stop(self) -> None:
        self.stop_requested = True
        self.message = "stopping: every configuration writes its final checkpoint"

    def note(self, message: str) -> None:
        self.message = message

    def apply(self, event: SweepEvent) -> None:
        if isinstance(event, ConfigEvent):
            if 0 <= event.index < len(self.members):
                self.members[event.index].apply(event.event)
                if isinstance(event.event, ChunkMetrics) and self.reported_phase in (IDLE, Phase.COMPILING):
                    self.reported_phase = Phase.TRAINING
        elif isinstance(event, StatusChanged):
            if 0 <= event.index < len(self.members):
                member = self.members[event.index]
                member.status, member.error = event.status, event.error or member.error
                if event.status == ConfigStatus.FAILED:
                    self.message = (
                        f"{self.label(event.index, short=True)} failed: {event.error or 'diverged'}; the others go on"
                    )
        elif isinstance(event, ProgramStarted):
            if not self.ended:
                self.reported_phase = Phase.COMPILING
            if event.programs > 1:
                self.message = f"program {event.program + 1}/{event.programs}: {len(event.configs)} configurations"
        elif isinstance(event, SweepStarted):
            self.sweep_dir = Path(event.sweep_dir)
            for member in self.members:
                member.run_dir = member.run_dir or self.sweep_dir / run_dir_name(member.index, self.num_configs)
            self.reported_phase = Phase.COMPILING
        elif isinstance(event, SweepFinished):
            self._finish(event)

    def _finish(self, event: SweepFinished) -> None:
        result = event.result
        self.sweep_dir = Path(result.sweep_dir)
        for member, entry in zip(self.members, result.record.configs, strict=False):
            member.status, member.error = entry.status, entry.error or member.error
            if entry.result is not None:
                if entry.result.eval_return_mean is not None:
                    member.final_eval = entry.result.eval_return_mean
                    if entry.result.eval_return_std is not None:
                        member.final_std = entry.result.eval_return_std
                if entry.result.best_eval_return_mean is not None:
                    member.best_reevaluated = entry.result.best_eval_return_mean
        if result.error:
            self.reported_phase, self.message = Phase.FAILED, result.error
        elif result.stopped_early:
            self.reported_phase, self.message = Phase.STOPPED, "sweep stopped: --resume continues it"
        else:
            self.reported_phase, self.message = Phase.FINISHED, "sweep finished"

    def end(self) -> None:
        if not self.ended:
            self.reported_phase = Phase.STOPPED if self.stop_requested else Phase.FINISHED


def _higher(a: float | None, b: float | None) -> float | None:
    return a if b is None else b if a is None else max(a, b)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
