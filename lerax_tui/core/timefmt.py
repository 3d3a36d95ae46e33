"""Durations as people read them, and the one ETA formula (no JAX; the CLI and the TUI share them)."""

from __future__ import annotations

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
