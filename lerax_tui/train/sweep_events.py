"""What a sweep tells its listener (no JAX, no Textual: the app imports it for a worker).

A sweep's listener gets :class:`SweepStarted`, then per program :class:`ProgramStarted`, and for each
configuration its ordinary run events wrapped in :class:`ConfigEvent` (``index`` names the
configuration: ``ChunkMetrics`` with its seeds' episodes, ``Evaluated``, ``CheckpointWritten``,
``PhaseChanged``, ``Finished`` or ``Failed``, exactly as a :class:`~lerax_tui.train.runner.Runner`
of that configuration would emit them), :class:`StatusChanged` whenever ``sweep.json`` records a
new status, and last :class:`SweepFinished` with the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerax_tui.train.events import Event
from lerax_tui.train.sweep_record import ConfigStatus, SweepRecord


@dataclass(frozen=True)
class SweepStarted:
    """The sweep folder exists (or was reopened) and training is about to start."""

    sweep_dir: Path
    num_configs: int
    seeds: int
    programs: int
    summary: str


@dataclass(frozen=True)
class ProgramStarted:
    """Program ``program`` (0-based, of ``programs``) compiles, then trains ``configs`` together
    from env step ``step``."""

    program: int
    programs: int
    configs: list[int]
    step: int


@dataclass(frozen=True)
class ConfigEvent:
    """Configuration ``index``'s own run event (what a plain run of it would emit)."""

    index: int
    event: Event


@dataclass(frozen=True)
class StatusChanged:
    """Configuration ``index`` is now ``status`` in ``sweep.json`` (``error`` when failed)."""

    index: int
    status: ConfigStatus
    error: str | None = None


@dataclass
class SweepResult:
    """What a finished (or stopped) sweep leaves.

    Attributes:
        sweep_dir: The sweep folder.
        record: ``sweep.json`` as last written (statuses and results per configuration).
        programs: Compiled programs this session ran.
        compile_s: Seconds compiling, all programs.
        train_s: Seconds in the jitted chunks, all programs.
        agent_steps: Environment steps trained this session, summed over every agent.
        stopped_early: A stop (signal, ``stop()``) ended it before every configuration was done.
        error: Why the sweep as a whole failed (a file system problem), or None.
    """

    sweep_dir: Path
    record: SweepRecord
    programs: int = 0
    compile_s: float = 0.0
    train_s: float = 0.0
    agent_steps: int = 0
    stopped_early: bool = False
    error: str | None = None
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def ranking(self) -> list[int]:
        """Configuration indices, best mean final greedy return first (those without one last)."""

        def score(i: int) -> float:
            result = self.record.configs[i].result
            mean = None if result is None else result.eval_return_mean
            return -math.inf if mean is None else mean

        return sorted(range(len(self.record.configs)), key=lambda i: (-score(i), i))


@dataclass(frozen=True)
class SweepFinished:
    """The sweep returned (finished, stopped or failed): the last event."""

    result: SweepResult


SweepEvent = SweepStarted | ProgramStarted | ConfigEvent | StatusChanged | SweepFinished
SweepListener = Callable[[SweepEvent], None]
