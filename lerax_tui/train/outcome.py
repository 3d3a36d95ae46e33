"""How a run ended, written as ``result.json`` in its folder, and what a reader makes of a folder.

A run's status comes from its files only, so the app's Runs tab and a script agree about runs that
other processes wrote:

- ``running``: a process holds the folder's ``.lock`` (:mod:`lerax_tui.train.runlock`);
- ``finished`` / ``stopped`` / ``failed``: ``result.json`` says so (written atomically when the run
  ends, with the final and best greedy returns per seed; removed when the run is resumed);
- a folder without ``result.json`` (older runs, or a writer that was killed) falls back on its final
  checkpoint's manifest: at ``total_timesteps`` it finished, below it stopped; with no final
  checkpoint at all it is ``interrupted`` (a ``kill -9`` or a power cut: resumable, but nothing says
  how it ended).

Pure Python (no JAX): the app reads hundreds of folders with it.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from lerax_tui.core.atomic import atomic_write_json
from lerax_tui.core.safe_io import load_json
from lerax_tui.train.events import ChunkMetrics, EvalKind, Evaluated, Event, Failed, Finished
from lerax_tui.train.runlock import LOCK_FILE

RESULT_FILE = "result.json"
RESULT_FORMAT = "lerax-tui-result"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, so no run is seen as running
    fcntl = None  # type: ignore[assignment]


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass
class OutcomeRecorder:
    """Follows a run's events and writes ``result.json`` when it ends (:class:`Finished` or
    :class:`Failed`). A failure to write it is swallowed: it must never hide why the run ended.

    Attributes:
        run_dir: The run folder.
        step: The last step reported.
        total_steps: The run's ``total_timesteps``.
        final: Per seed, the mean final greedy return (None until the final evaluation).
        best: Per seed, the mean greedy return of the best policy on the final evaluation's episodes.
        best_steps: Per seed, the step of that best policy.
    """

    run_dir: Path
    step: int = 0
    total_steps: int | None = None
    final: list[float | None] | None = None
    best: list[float | None] | None = None
    best_steps: list[int | None] | None = None
    written: dict[str, Any] | None = field(default=None, repr=False)

    def observe(self, event: Event) -> None:
        if isinstance(event, ChunkMetrics):
            self.step, self.total_steps = int(event.step), int(event.total_steps)
        elif isinstance(event, Evaluated) and event.which == EvalKind.FINAL:
            self.final = _means(event.returns)
        elif isinstance(event, Evaluated) and event.which == EvalKind.BEST:
            self.best = _means(event.returns)
            self.best_steps = list(event.best_steps or [])
        elif isinstance(event, Finished):
            self._write(RunStatus.STOPPED if event.stopped_early else RunStatus.FINISHED)
        elif isinstance(event, Failed):
            self._write(RunStatus.FAILED, error=event.message)

    def _write(self, status: RunStatus, *, error: str | None = None) -> None:
        record: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "status": str(status),
            "step": self.step,
            "total_timesteps": self.total_steps,
            "final_eval_return_per_seed": self.final,
            "best_eval_return_per_seed": self.best,
            "best_steps": self.best_steps,
            "ended": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        if error is not None:
            record["error"] = error[:2000]
        try:
            atomic_write_json(Path(self.run_dir) / RESULT_FILE, record)
            self.written = record
        except OSError:
            pass


def _means(returns: list[Any]) -> list[float | None]:
    out: list[float | None] = []
    for r in returns:
        values = np.asarray(r if r is not None else [], dtype=np.float64)
        out.append(float(values.mean()) if values.size and np.isfinite(values).all() else None)
    return out


def forget_result(run_dir: Path) -> None:
    """A resumed run is no longer ended: drop its ``result.json`` (called holding the lock)."""
    try:
        (Path(run_dir) / RESULT_FILE).unlink()
    except FileNotFoundError:
        pass


def lock_held(run_dir: Path) -> bool:
    """Whether a process (this one included) holds ``run_dir``'s ``.lock`` now.

    Probes with a shared, non-blocking ``flock`` on a read-only descriptor: nothing is created or
    written, and a ``.lock`` file a killed writer left behind reads as not held.
    """
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as e:
        return e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
    finally:
        os.close(fd)
    return False


@dataclass(frozen=True)
class Result:
    """A checked ``result.json``; fields of the wrong type read as missing."""

    status: RunStatus
    step: int | None
    final: tuple[float | None, ...] | None
    best: tuple[float | None, ...] | None
    best_steps: tuple[int | None, ...] | None
    error: str | None
    ended: str | None


def read_result(run_dir: Path) -> Result | None:
    """``result.json`` of ``run_dir`` (bounded read), or None when missing or not a result."""
    try:
        raw = load_json(Path(run_dir) / RESULT_FILE)
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != RESULT_FORMAT:
        return None
    try:
        status = RunStatus(str(raw.get("status")))
    except ValueError:
        return None
    if status in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
        return None
    step = raw.get("step")
    error, ended = raw.get("error"), raw.get("ended")
    return Result(
        status=status,
        step=step if type(step) is int else None,
        final=_numbers(raw.get("final_eval_return_per_seed"), float),
        best=_numbers(raw.get("best_eval_return_per_seed"), float),
        best_steps=_numbers(raw.get("best_steps"), int),
        error=error[:2000] if isinstance(error, str) else None,
        ended=ended[:40] if isinstance(ended, str) else None,
    )


def _numbers(value: Any, kind: type) -> tuple[Any, ...] | None:
    if not isinstance(value, list) or len(value) > 1024:
        return None
    out: list[Any] = []
    for x in value:
        ok = type(x) is int if kind is int else (type(x) in (int, float) and np.isfinite(x))
        out.append(x if ok else None)
    return tuple(out)
