"""One training run's thread glue: the trainer (made in the worker thread) and the queue its listener
fills, which the main screen drains a few times a second into its :class:`~lerax_tui.tui.live_run.LiveRun`.
No widgets here."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import Event, Listener, RunResult, Trainer, TrainerFactory


def default_trainer_factory(
    env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path, listener: Listener
) -> Trainer:
    """The real runner, imported only when a run starts (it imports JAX)."""
    from lerax_tui.train.runner import make_runner

    return make_runner(env_id, env_params, config, runs_dir, listener)


class Controls(Protocol):
    """What a session drives: a trainer's or a sweep trainer's thread-safe controls."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    def request_checkpoint(self) -> None: ...


T = TypeVar("T", bound=Controls)


class WorkerSession(Generic[T]):
    """Thread-safe glue between something that trains in a worker thread (a run, a sweep) and the
    UI thread: stop, pause, checkpoint and cancellation, the same for both."""

    def __init__(self) -> None:
        self.trainer: T | None = None
        self.stop_requested = False
        self.paused = False
        self.is_cancelled: Callable[[], bool] = lambda: False

    def _stop_if_cancelled(self) -> None:
        """From the listener (worker thread): the app is going away without a stop (e.g. an
        exception), so end at this chunk."""
        if self.is_cancelled() and self.trainer is not None and not self.stop_requested:
            self.stop()

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


class TrainingSession(WorkerSession[Trainer]):
    """One run's session: its trainer fills the queue the main screen drains."""

    def __init__(
        self, factory: TrainerFactory, env_id: str, env_params: dict, config: DQNConfig, runs_dir: Path
    ) -> None:
        super().__init__()
        self.factory, self.env_id, self.env_params, self.config, self.runs_dir = (
            factory,
            env_id,
            env_params,
            config,
            runs_dir,
        )
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def listener(self, event: Event) -> None:
        """Called by the trainer (worker thread) for every event; never touches widgets."""
        self.events.put(event)
        self._stop_if_cancelled()

    def run(self) -> RunResult | None:
        """Worker thread: build the trainer (may import JAX) and run it to the end."""
        self.trainer = self.factory(self.env_id, self.env_params, self.config, self.runs_dir, self.listener)
        if self.stop_requested:  # stopped while the trainer was being built: free its run folder
            close = getattr(self.trainer, "close", None)
            if callable(close):
                close()
            return None
        return self.trainer.run()

    def drain(self) -> list[Event]:
        events: list[Event] = []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events
