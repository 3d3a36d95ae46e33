"""The controls every trainer shares (a run's :class:`~lerax_tui.train.runner.Runner` and a sweep's
:class:`~lerax_tui.train.sweep_runner.SweepRunner`): pause, resume, stop and checkpoint requests,
thread-safe and taken at the next chunk boundary, and the ETA's clock (active seconds since training
started, pauses left out: what :class:`~lerax_tui.core.timefmt.EtaClock` reads from a chunk's report).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lerax_tui.train.events import Phase


class Controls:
    """Mixin: call :meth:`_init_controls` in ``__init__`` and :meth:`_start_clock` once compiled."""

    _active_start: float = 0.0
    _paused_s: float = 0.0

    def _init_controls(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._checkpoint_requested = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def request_checkpoint(self) -> None:
        self._checkpoint_requested.set()

    def _start_clock(self) -> None:
        """Training starts now (after compiling): the ETA's clock starts at zero."""
        self._active_start, self._paused_s = time.perf_counter(), 0.0

    def _active_s(self) -> float:
        """Seconds since :meth:`_start_clock`, pauses left out."""
        return time.perf_counter() - self._active_start - self._paused_s

    def _hold_while_paused(self, phase: Callable[[Phase], None]) -> None:
        """While paused: report PAUSED, wait for resume (or stop) with the clock held, then report
        TRAINING again unless stopped. Returns at once when not paused."""
        if self._running.is_set():
            return
        phase(Phase.PAUSED)
        paused = time.perf_counter()
        self._running.wait()
        self._paused_s += time.perf_counter() - paused
        if not self._stop.is_set():
            phase(Phase.TRAINING)
