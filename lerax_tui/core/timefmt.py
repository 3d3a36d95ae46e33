"""Durations as people read them, and the one ETA formula (no JAX; the CLI and the TUI share them)."""

from __future__ import annotations

import bisect
import math


def format_duration(seconds: float | None, *, placeholder: str = "–") -> str:
    """``1:02:03`` from one hour up, ``2:03`` below; ``placeholder`` when unknown (None, NaN, inf).

    Negative values read as 0; fractions round to the nearest second.
    """
    if seconds is None or not math.isfinite(seconds):
        return placeholder
    whole = round(max(0.0, seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def eta_seconds(step: int, total_steps: int, steps_per_s: float | None) -> float | None:
    """Seconds left at ``steps_per_s`` (per seed, compile time excluded), or None before a rate is
    known. 0 once ``step`` reaches ``total_steps``."""
    if step >= total_steps:
        return 0.0
    if steps_per_s is None or not math.isfinite(steps_per_s) or steps_per_s <= 0:
        return None
    return (total_steps - step) / steps_per_s


class EtaClock:
    """Seconds left, from the wall time each step has really cost since training started.

    It reads what a chunk reports: the env step and ``active_s``, the seconds since training started
    with compiling and pauses left out but evaluations and checkpoint writes in (they are part of
    what the rest of the run will cost). The rate is measured over the most recent half of the active
    time, so a change of pace (learning starting after ``learning_starts``) shows within a while and
    periodic evaluations still average out. A resumed run starts the clock at its resume step: the
    step count and the timer restart together.
    """

    def __init__(self) -> None:
        self._times: list[float] = []
        self._steps: list[int] = []

    def add(self, step: int, active_s: float, start_step: int = 0) -> None:
        """One chunk's reading; a step or time going back (a new or resumed run) restarts the clock."""
        if self._times and (active_s < self._times[-1] or step < self._steps[-1]):
            self._times.clear()
            self._steps.clear()
        if not self._times:
            self._times.append(0.0)
            self._steps.append(min(int(start_step), int(step)))
        self._times.append(float(active_s))
        self._steps.append(int(step))

    @property
    def steps_per_s(self) -> float | None:
        """Steps per second (per seed) over the last half of the active time; None before a rate."""
        if len(self._times) < 2:
            return None
        now = self._times[-1]
        # the last reading at or before half the active time: the window covers at least half of it
        anchor = max(0, bisect.bisect_right(self._times, now / 2) - 1)
        elapsed = now - self._times[anchor]
        steps = self._steps[-1] - self._steps[anchor]
        if elapsed <= 0 or steps <= 0:
            return None
        return steps / elapsed

    def eta(self, step: int, total_steps: int) -> float | None:
        """Seconds until ``total_steps`` at the measured rate (0 once there; None before a rate)."""
        return eta_seconds(step, total_steps, self.steps_per_s)
