"""One training run as the app sees it: the trainer (made in the worker thread), the queue its
listener fills, and how each event moves the status bar. No widgets here."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any, Callable

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import (
    ChunkMetrics,
    CheckpointWritten,
    Compiling,
    Evaluated,
    Failed,
    Finished,
    PhaseChanged,
    Trainer,
)
from lerax_tui.tui.widgets.status_bar import RunStatus

TERMINAL_PHASES = {"finished", "stopped", "failed"}


def default_trainer_factory(env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path, listener: Callable) -> Trainer:
    """The real runner, imported only when a run starts (it imports JAX)."""
    from lerax_tui.train.runner import make_runner

    return make_runner(env_id, env_params, config, runs_dir, listener)


class TrainingSession:
    """Thread-safe glue between a trainer running in a worker thread and the UI thread."""

    def __init__(self, factory: Callable, env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path) -> None:
        self.factory, self.env_id, self.env_params, self.config, self.runs_dir = factory, env_id, env_params, config, runs_dir
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.trainer: Trainer | None = None
        self.stop_requested = False
        self.paused = False
        self.is_cancelled: Callable[[], bool] = lambda: False

    def listener(self, event: Any) -> None:
        """Called by the trainer (worker thread) for every event; never touches widgets."""
        self.events.put(event)
        if self.is_cancelled() and self.trainer is not None and not self.stop_requested:
            # The app is going away without a stop (e.g. an exception): end at this chunk.
            self.stop()

    def run(self) -> Any:
        """Worker thread: build the trainer (may import JAX) and run it to the end."""
        self.trainer = self.factory(self.env_id, self.env_params, self.config, self.runs_dir, self.listener)
        if self.stop_requested:  # stopped while the trainer was being built: free its run folder
            close = getattr(self.trainer, "close", None)
            if callable(close):
                close()
            return None
        return self.trainer.run()

    def stop(self) -> None:
        self.stop_requested = True
        if self.trainer is not None:
            self.trainer.stop()

    def toggle_pause(self) -> bool:
        """Pause or resume; returns whether it is now paused."""
        if self.trainer is None:
            return self.paused
        self.paused = not self.paused
        (self.trainer.pause if self.paused else self.trainer.resume)()
        return self.paused

    def request_checkpoint(self) -> bool:
        if self.trainer is None:
            return False
        self.trainer.request_checkpoint()
        return True

    def drain(self) -> list[Any]:
        events = []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events


def advance_status(status: RunStatus, event: Any, *, episodes: int, last: float | None, best: float | None) -> RunStatus:
    """The status bar after ``event`` (episode figures come from the chart's history)."""
    if isinstance(event, ChunkMetrics):
        eta = None
        if event.train_s > 0 and event.step > 0:
            eta = (event.total_steps - event.step) / (event.step / event.train_s)  # compile excluded
        phase = "training" if status.phase in ("idle", "starting", "compiling") else status.phase
        return status.with_(
            phase=phase, step=int(event.step), total=int(event.total_steps), sps=float(event.sps),
            eta_s=eta, episodes=episodes, last_return=last, best_return=best,
        )
    if isinstance(event, Compiling):
        return status.with_(phase="compiling", run_dir=event.run_dir, message="")
    if isinstance(event, PhaseChanged):
        if status.phase == "stopping" and event.phase not in TERMINAL_PHASES:
            return status
        return status.with_(phase=event.phase)
    if isinstance(event, CheckpointWritten):
        return status.with_(message=f"checkpoint {Path(event.path).name} @ {event.step:,}")
    if isinstance(event, Evaluated):
        import numpy as np

        values = [float(np.mean(r)) for r in event.returns if len(r)]
        mean = sum(values) / len(values) if values else float("nan")
        if event.which == "periodic":
            bests = [b for b in event.best or [] if b is not None]
            best_text = f" (best {sum(bests) / len(bests):,.1f})" if bests else ""
            return status.with_(message=f"eval @ {event.step or 0:,}: greedy {mean:,.1f}{best_text}")
        if event.which == "best":
            before = f"{status.message}; " if status.message.startswith("greedy eval") else ""
            return status.with_(phase="evaluating", message=f"{before}best policies {mean:,.1f}")
        return status.with_(phase="evaluating", message=f"greedy eval return {mean:,.1f}")
    if isinstance(event, Finished):
        return status.with_(phase="stopped" if event.stopped_early else "finished", run_dir=event.run_dir)
    if isinstance(event, Failed):
        return status.with_(phase="failed", message=event.message)
    return status
