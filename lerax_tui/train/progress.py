"""The headless ``train`` command's progress on stderr.

On a terminal, a ``rich.progress`` bar is redrawn in place (steps, steps/s, ETA from the wall time
per step with evaluations and checkpoint writes in and compile time and pauses out, last return,
loss, epsilon) and lasting lines (checkpoints, evaluations, the end) print above
it. Elsewhere (a pipe, a log file) plain lines: a progress line at most every 2 s and every lasting
line, which scripts and tests read.
"""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from lerax_tui.core.timefmt import EtaClock, format_duration
from lerax_tui.train.events import (
    CheckpointWritten,
    ChunkMetrics,
    Compiling,
    EvalKind,
    Evaluated,
    Event,
    Failed,
    Finished,
)

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

PLAIN_INTERVAL_S = 2.0
"""Without a terminal, progress lines come at most this often (lasting lines always print)."""


class Progress:
    """A listener that reports a run on ``stream`` (stderr by default).

    Args:
        stream: Where to write.
        terminal: Draw a live bar (default: whether ``stream`` is a terminal).
    """

    def __init__(self, stream: IO[str] | None = None, *, terminal: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if terminal is None else terminal
        self.last_print = 0.0
        self.last_return: float | None = None
        self.rate: float | None = None
        self.eta_clock = EtaClock()
        self.compiled = True  # False from Compiling until the first chunk says how long it took
        self.closed = False
        self._bar: RichProgress | None = None  # while the live line is shown (terminal only)
        self._task: TaskID | None = None

    # --- events -------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if isinstance(event, Compiling):
            self._lasting(f"compiling ({event.run_dir})")
            self.compiled = False
        elif isinstance(event, ChunkMetrics):
            self._chunk(event)
        elif isinstance(event, CheckpointWritten):
            self._lasting(f"checkpoint {event.path}")
        elif isinstance(event, Evaluated):
            self._lasting(_evaluation_line(event))
        elif isinstance(event, Failed):
            self._lasting(f"failed: {event.message}")
            self.close()
        elif isinstance(event, Finished):
            self._lasting(f"{'stopped' if event.stopped_early else 'finished'}: {event.run_dir}")
            self.close()

    def _chunk(self, event: ChunkMetrics) -> None:
        if not self.compiled and event.compile_s > 0:
            self._lasting(f"compiled in {event.compile_s:.1f}s")
        self.compiled = True
        for r in event.episode_returns[:1]:
            if len(r):
                self.last_return = float(r[-1])
        # SPS smoothed over chunks (training only); the ETA from the wall time steps really cost,
        # evaluations and checkpoint writes included, compile time and pauses left out.
        self.rate = event.sps if self.rate is None else 0.7 * self.rate + 0.3 * event.sps
        self.eta_clock.add(
            event.step, event.active_s if event.active_s is not None else event.train_s, event.start_step
        )
        eta = format_duration(self.eta_clock.eta(event.step, event.total_steps), placeholder="-")
        last = f"{self.last_return:.1f}" if self.last_return is not None else "-"
        details = f"last return {last}  loss {_fmt_loss(event.loss)}  eps {event.epsilon:.3f}"
        if self.tty:
            self._draw(event, eta, details)
            return
        done = event.step >= event.total_steps
        if done or time.monotonic() - self.last_print >= PLAIN_INTERVAL_S:
            self._write(f"step {event.step:,}/{event.total_steps:,}  sps {event.sps:,.0f}  eta {eta}  {details}")

    # --- output -------------------------------------------------------------------------------

    def _lasting(self, text: str) -> None:
        """A line that stays (above the live bar on a terminal)."""
        if self._bar is not None and not self.closed:
            try:
                self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
                self._bar.refresh()
            except (OSError, ValueError):
                self._gone()
            return
        self._write(text)

    def _draw(self, event: ChunkMetrics, eta: str, details: str) -> None:
        if self.closed:
            return
        try:
            if self._bar is None or self._task is None:
                self._bar, self._task = self._start_bar(event.step, event.total_steps)
            self._bar.update(
                self._task,
                completed=event.step,
                total=event.total_steps,
                sps=f"{event.sps:,.0f}",
                eta=eta,
                details=details,
            )
            self._bar.refresh()
        except (OSError, ValueError):
            self._gone()

    def _start_bar(self, step: int, total: int) -> tuple[RichProgress, TaskID]:
        from rich.console import Console
        from rich.progress import BarColumn, TaskProgressColumn, TextColumn
        from rich.progress import Progress as RichProgress
        from rich.table import Column

        console = Console(file=self.stream, force_terminal=True, highlight=False)
        # No refresh thread and no redirection of stdout/stderr: the runner's thread draws at each
        # chunk, and a terminal that goes away (SIGHUP) fails here, not in a thread of rich's.
        # On a narrow terminal the bar and the details give way first: steps, sps and the ETA stay whole.
        bar = RichProgress(
            BarColumn(bar_width=16),
            TaskProgressColumn(table_column=Column(no_wrap=True, min_width=4)),
            TextColumn(
                "step {task.completed:,.0f}/{task.total:,.0f}  sps {task.fields[sps]}  eta {task.fields[eta]}",
                table_column=Column(no_wrap=True, min_width=56),
            ),
            TextColumn(
                "{task.fields[details]}", style="dim", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)
            ),
            console=console,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = bar.add_task("training", completed=step, total=total, sps="-", eta="-", details="")
        bar.start()
        return bar, task

    def _write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the terminal is gone (SIGHUP): training must go on to its stop
            self.closed = True
        self.last_print = time.monotonic()

    def _gone(self) -> None:
        self.closed = True
        self._bar = None

    def close(self) -> None:
        """End the live bar (it stays on screen as the last line); plain output needs nothing."""
        bar, self._bar = self._bar, None
        if bar is not None and not self.closed:
            try:
                bar.stop()
            except (OSError, ValueError):
                self.closed = True


def _evaluation_line(event: Evaluated) -> str:
    means = ", ".join(f"{float(r.mean()):.1f}" for r in event.returns if len(r))
    if event.which == EvalKind.PERIODIC:
        best = ", ".join("-" if b is None else f"{b:.1f}" for b in event.best or [])
        return f"eval @ {event.step:,}: greedy {means}  (best so far {best})"
    if event.which == EvalKind.BEST:
        steps = ", ".join("-" if s is None else f"{s:,}" for s in event.best_steps or [])
        return f"best policies (steps {steps}): greedy evaluation: {means}"
    return "greedy evaluation: " + means


def _fmt_loss(loss: Any) -> str:
    loss = np.asarray(loss, dtype=float)
    return f"{np.nanmean(loss):.4f}" if np.isfinite(loss).any() else "-"
