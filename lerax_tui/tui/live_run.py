"""The run being trained, as the views see it: one plain model that the main screen feeds with the
trainer's events and the user's requests, and that the chart, the status bar and the loss/epsilon
sparklines only read.

No Textual here: a view never owns data another view needs (the status bar used to read its
episode figures out of the chart), and the model is tested without an app.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lerax_tui.core.timefmt import EtaClock
from lerax_tui.train.events import (
    TERMINAL_PHASES,
    CheckpointWritten,
    ChunkMetrics,
    Compiling,
    EvalKind,
    Evaluated,
    Event,
    Failed,
    Finished,
    Phase,
    PhaseChanged,
)
from lerax_tui.tui.history import ReturnHistory, ScalarSeries

IDLE = "idle"  # before any run (the trainer's phases are train.events.Phase; stopping/pausing are requests)


class LiveRun:
    """One run's history, progress and phase.

    The phase shown is what the trainer last reported, overridden only while a request of the user
    waits for its answer: ``"stopping"`` after a stop (until the run ends), ``"pausing"`` after a
    pause (until the trainer reports ``"paused"``), ``"training"`` after a resume (until it reports
    training again).

    Args:
        label: The chart's name for this run (its environment).
        total_steps: Env steps per seed the run will do (0: not started).
        phase: Where the run starts: ``"idle"`` before any run; a run just started compiles first.
        message: The status bar's note.
    """

    def __init__(self, label: str = "this run", total_steps: int = 0, *, phase: str = IDLE, message: str = "") -> None:
        self.label = label
        self.history = ReturnHistory()
        self.loss = ScalarSeries()
        self.epsilon = ScalarSeries()
        self.reported_phase = phase
        self.stop_requested = False
        self.pause_requested = False
        self.step = 0
        self.total = total_steps
        self.sps = 0.0
        self.eta_s: float | None = None
        self.eta_clock = EtaClock()
        self.compile_s: float | None = None  # once training started
        self.compile_started: float | None = None  # time.monotonic() when compiling started
        self.created = time.monotonic()  # a run made to start waits for JAX and its trainer first
        self.run_dir: Path | None = None
        self.message = message

    # --- what the views read ---------------------------------------------------------------------

    @property
    def phase(self) -> str:
        reported = self.reported_phase
        if reported in TERMINAL_PHASES:
            return reported
        if self.stop_requested:
            return "stopping"
        if self.pause_requested and reported == Phase.TRAINING:
            return "pausing"
        if not self.pause_requested and reported == Phase.PAUSED:
            return Phase.TRAINING  # resumed: the trainer says so at its next chunk
        return reported

    @property
    def ended(self) -> bool:
        return self.reported_phase in TERMINAL_PHASES

    @property
    def episodes(self) -> int:
        return self.history.episodes

    @property
    def last_return(self) -> float | None:
        """Mean over seeds of each seed's latest smoothed return."""
        return self.history.last_smoothed

    @property
    def best_return(self) -> float | None:
        """Best smoothed return any seed has reached."""
        return self.history.best_smoothed

    # --- the user's requests ---------------------------------------------------------------------

    def request_stop(self) -> None:
        self.stop_requested = True
        self.message = "stopping: writing the final checkpoint"

    def request_pause(self, paused: bool) -> None:
        self.pause_requested = paused

    def note(self, message: str) -> None:
        """A line for the status bar that no event carries (e.g. why a run could not start)."""
        self.message = message

    # --- what the trainer and its worker report --------------------------------------------------

    def apply(self, event: Event) -> None:
        """Take one trainer event into the model; each event changes it in one place."""
        if isinstance(event, ChunkMetrics):
            self._add_chunk(event)
        elif isinstance(event, Compiling):
            self.reported_phase, self.run_dir, self.message = Phase.COMPILING, event.run_dir, ""
            self.compile_started, self.compile_s = time.monotonic(), None
        elif isinstance(event, PhaseChanged):
            if not self.ended:
                self.reported_phase = event.phase
        elif isinstance(event, CheckpointWritten):
            self.message = f"checkpoint {Path(event.path).name} @ {event.step:,}"
        elif isinstance(event, Evaluated):
            self._add_evaluation(event)
        elif isinstance(event, Finished):
            self.reported_phase = Phase.STOPPED if event.stopped_early else Phase.FINISHED
            self.run_dir = event.run_dir
        elif isinstance(event, Failed):
            self.fail(event.message)

    def fail(self, message: str) -> None:
        """The run ended on an error (a ``Failed`` event, or the worker raised)."""
        self.reported_phase, self.message = Phase.FAILED, message

    def end(self) -> None:
        """The worker returned without the trainer reporting an end (e.g. stopped while it was built)."""
        if not self.ended:
            self.reported_phase = Phase.STOPPED if self.stop_requested else Phase.FINISHED

    def _add_chunk(self, chunk: ChunkMetrics) -> None:
        self.history.add_chunk(chunk)
        loss = np.asarray(chunk.loss, dtype=float)
        finite = loss[np.isfinite(loss)]
        self.loss.append(chunk.step, float(finite.mean()) if finite.size else None)
        self.epsilon.append(chunk.step, chunk.epsilon)
        if self.reported_phase in (IDLE, Phase.COMPILING):
            self.reported_phase = Phase.TRAINING
        self.step, self.total, self.sps = int(chunk.step), int(chunk.total_steps), float(chunk.sps)
        if chunk.compile_s > 0:
            self.compile_s = chunk.compile_s
        active_s = chunk.active_s if chunk.active_s is not None else chunk.train_s
        self.eta_clock.add(self.step, active_s, chunk.start_step)
        self.eta_s = self.eta_clock.eta(self.step, self.total)

    def compiling_for(self, now: float | None = None) -> float | None:
        """Seconds spent compiling so far, while the run compiles (None otherwise)."""
        if self.reported_phase != Phase.COMPILING or self.compile_started is None:
            return None
        return (time.monotonic() if now is None else now) - self.compile_started

    def starting_for(self, now: float | None = None) -> float | None:
        """Seconds since the run was asked for, while its trainer is still being built (JAX loading,
        the environment checked) before compiling starts; None otherwise."""
        if self.reported_phase != Phase.COMPILING or self.compile_started is not None or self.run_dir is not None:
            return None
        return (time.monotonic() if now is None else now) - self.created

    def _add_evaluation(self, event: Evaluated) -> None:
        """Greedy evaluations: the message only (the chart's marks come with the chunk's ``eval_returns``)."""
        values = [float(np.mean(r)) for r in event.returns if len(r)]
        mean = sum(values) / len(values) if values else float("nan")
        if event.which == EvalKind.PERIODIC:
            bests = [b for b in event.best or [] if b is not None]
            best_text = f" (best {sum(bests) / len(bests):,.1f})" if bests else ""
            self.message = f"eval @ {event.step or 0:,}: greedy {mean:,.1f}{best_text}"
            return
        if not self.ended:
            self.reported_phase = Phase.EVALUATING
        if event.which == EvalKind.BEST:
            before = f"{self.message}; " if self.message.startswith("greedy eval") else ""
            self.message = f"{before}best policies {mean:,.1f}"
        else:
            self.message = f"greedy eval return {mean:,.1f}"
