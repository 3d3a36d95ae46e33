"""One sweep's thread glue, shaped like :class:`~lerax_tui.tui.training.TrainingSession` so the main
screen's start/stop/pause/checkpoint/quit paths drive a sweep unchanged: the sweep trainer (made in
the worker thread) fills a queue; :meth:`SweepSession.pump` moves its events into the
:class:`~lerax_tui.tui.sweep_run.SweepRun` the sweep views read, and :meth:`SweepSession.drain`
hands the sweep's own phase events on to the main screen's status line. No widgets here.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from lerax_tui.train.events import ChunkMetrics, Compiling, Event, Failed, Finished, Phase, PhaseChanged
from lerax_tui.train.sweep_events import (
    ConfigEvent,
    ProgramStarted,
    SweepEvent,
    SweepFinished,
    SweepListener,
    SweepStarted,
)
from lerax_tui.train.sweep_spec import SweepSpec
from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.training import WorkerSession


class SweepTrainer(Protocol):
    """What the app drives (``train.sweep_runner.SweepRunner``): ``run`` blocks in a worker thread;
    the rest are thread-safe and take effect between chunks."""

    def run(self) -> Any: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    def request_checkpoint(self) -> None: ...


SweepTrainerFactory = Callable[[str, SweepSpec, Path, SweepListener], SweepTrainer]
"""(env_id, spec, runs_dir, listener) -> a sweep trainer (tests inject a fake: no JAX)."""


class SweepEngineMissing(RuntimeError):
    """This build has no sweep engine (``lerax_tui.train.sweep_runner``)."""


def default_sweep_factory(env_id: str, spec: SweepSpec, runs_dir: Path, listener: SweepListener) -> SweepTrainer:
    """The real sweep engine, imported only when a sweep starts (it imports JAX)."""
    try:
        from lerax_tui.train.sweep_runner import SweepRunner
    except ImportError as error:
        raise SweepEngineMissing(
            "this build has no sweep engine yet (lerax_tui.train.sweep_runner): run the configurations one by one"
        ) from error
    return SweepRunner(env_id, spec, runs_dir, listener)


class SweepSession(WorkerSession[SweepTrainer]):
    """Thread-safe glue between a sweep trainer in a worker thread and the UI thread."""

    def __init__(self, factory: SweepTrainerFactory, env_id: str, spec: SweepSpec, runs_dir: Path) -> None:
        super().__init__()
        self.factory, self.env_id, self.spec, self.runs_dir = factory, env_id, spec, runs_dir
        self.sweep = SweepRun(
            [dict(o) for o in spec.overrides],
            spec.varying_keys,
            seeds=spec.seeds,
            total_steps=spec.base.total_timesteps,
            env_id=env_id,
            phase="compiling",
        )
        self.events: queue.SimpleQueue[SweepEvent] = queue.SimpleQueue()
        self.version = 0  # bumped whenever the model changed: the sweep views redraw then
        self._for_run: list[Event] = []

    def listener(self, event: SweepEvent) -> None:
        """Called by the sweep trainer (worker thread) for every event; never touches widgets."""
        self.events.put(event)
        self._stop_if_cancelled()

    def run(self) -> Any:
        """Worker thread: build the sweep trainer (imports JAX) and run it to the end."""
        self.trainer = self.factory(self.env_id, self.spec, self.runs_dir, self.listener)
        if self.stop_requested:
            return None
        return self.trainer.run()

    def stop(self) -> None:
        self.sweep.request_stop()
        self.version += 1
        super().stop()

    def pump(self) -> bool:
        """UI thread: apply what the trainer reported to the model; whether anything came."""
        came = False
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            came = True
            self.sweep.apply(event)
            self._for_run.extend(_for_status_line(event, self.sweep))
        if came:
            self.version += 1
        return came

    def finish(self, error: str | None = None) -> None:
        """The worker ended (``error``: it raised): the model ends too, whatever the trainer said."""
        self.pump()
        if error is not None and not self.sweep.ended:
            self.sweep.reported_phase, self.sweep.message = Phase.FAILED, error
        self.sweep.end()
        self.version += 1

    def drain(self) -> list[Event]:
        """The main screen's drain: the model takes every event; the sweep's own phase, end and
        failure go on to the main screen's run (its status line)."""
        self.pump()
        out, self._for_run = self._for_run, []
        return out


def _for_status_line(event: SweepEvent, sweep: SweepRun) -> list[Event]:
    """The sweep's own progress as the plain run events the main screen's status line reads."""
    if isinstance(event, SweepStarted):
        return [Compiling(Path(event.sweep_dir))]
    if isinstance(event, ProgramStarted):
        return [PhaseChanged(Phase.COMPILING)]
    if isinstance(event, ConfigEvent) and isinstance(event.event, ChunkMetrics):
        return [PhaseChanged(Phase.TRAINING)]
    if isinstance(event, SweepFinished):
        result = event.result
        if result.error:
            return [Failed(result.error)]
        return [Finished(Path(result.sweep_dir), None, stopped_early=result.stopped_early)]
    return []
