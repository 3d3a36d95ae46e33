"""Axis arithmetic for the terminal charts: round ticks, log and time scales, thinned marks.

Pure numpy (no plotting library, no app): the return chart and the loss/epsilon charts ask these
functions where their ticks go and what the labels say, and tests check the answers directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_MANTISSAS = (1.0, 2.0, 5.0, 10.0)
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def nice_step(span: float, count: int) -> float:
    """The 1-2-5 step (times a power of ten) that cuts ``span`` into at most about ``count`` parts."""
    raw = max(abs(span), 1e-12) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in _MANTISSAS if m * power >= raw * (1 - 1e-9))


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About ``count`` round tick positions (1, 2 or 5 times a power of ten apart) in [low, high]."""
    step = nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9) * step
    ticks = [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]
    return [_clean(t, step) for t in ticks]


def nice_limits(low: float, high: float, count: int) -> tuple[float, float, list[float]]:
    """``[low, high]`` widened to round numbers, and the ticks on them (both ends are ticks).

    A flat range (``low == high``) is widened around its value so it still has an axis.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return 0.0, 1.0, [0.0, 1.0]
    if high < low:
        low, high = high, low
    if high - low < 1e-12:
        pad = max(abs(low) * 0.1, 1.0)
        low, high = low - pad, high + pad
    step = nice_step(high - low, max(count, 1))
    lo = math.floor(low / step + 1e-9) * step
    hi = math.ceil(high / step - 1e-9) * step
    ticks = [_clean(lo + i * step, step) for i in range(round((hi - lo) / step) + 1)]
    return ticks[0], ticks[-1], ticks


def axis_limits(low: float, high: float, count: int) -> tuple[float, float, list[float]]:
    """Limits and round ticks for data in ``[low, high]`` with room for about ``count`` ticks.

    Round limits (both ends ticks) where widening to them costs at most 15% of the data's span;
    otherwise (a short chart where the only round steps are coarse) the data's range padded by 3%
    with the round ticks that fall inside it, so a 9-row chart is not a third empty.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return 0.0, 1.0, [0.0, 1.0]
    low, high = min(low, high), max(low, high)
    span = high - low
    for c in range(max(count, 1), max(count, 1) + 3):
        lo, hi, ticks = nice_limits(low, high, c)
        if span < 1e-12 or (hi - lo) - span <= 0.15 * span:
            return lo, hi, ticks
    lo, hi = low - 0.03 * span, high + 0.03 * span
    for c in range(max(count, 2), max(count, 2) + 4):
        ticks = nice_ticks(lo, hi, c)
        if len(ticks) >= 2:
            break
    return lo, hi, ticks


def log_ticks(low: float, high: float, count: int) -> tuple[float, float, list[float], list[str]]:
    """A log axis over positive ``[low, high]``: (log10 lower limit, log10 upper limit, tick
    positions in log10 units, labels in data units). Whole decades, or 1-2-5 within them when the
    range spans few decades."""
    low, high = max(low, 1e-300), max(high, 1e-300)
    lo_exp, hi_exp = math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9)
    if hi_exp <= lo_exp:
        hi_exp = lo_exp + 1
    decades = hi_exp - lo_exp
    values: list[float] = []
    if decades * 3 <= max(count, 1):  # 1-2-5 in each decade, the limits the nearest of them around the data
        values = [m * 10.0**e for e in range(lo_exp, hi_exp) for m in (1, 2, 5)] + [10.0**hi_exp]
        values = values[max(i for i, v in enumerate(values) if v <= low * (1 + 1e-9)) :]
        values = values[: min(i for i, v in enumerate(values) if v >= high * (1 - 1e-9)) + 1]
        positions = [math.log10(v) for v in values]
        return positions[0], positions[-1], positions, [short_number(v) for v in values]
    else:  # every ``stride`` decades, on multiples of it so both ends are ticks
        stride = max(1, math.ceil(decades / max(count - 1, 1)))
        lo_exp, hi_exp = math.floor(lo_exp / stride) * stride, math.ceil(hi_exp / stride) * stride
        values = [10.0**e for e in range(lo_exp, hi_exp + 1, stride)]
    positions = [math.log10(v) for v in values]
    return float(lo_exp), float(hi_exp), positions, [short_number(v) for v in values]


def time_ticks(low: float, high: float, count: int) -> list[float]:
    """Tick positions in seconds on round clock steps (10 s, 1 min, 15 min, 1 h, ...)."""
    raw = max(high - low, 1e-9) / max(count, 1)
    step = next((s for s in _TIME_STEPS if s >= raw), None)
    if step is None:
        step = math.ceil(raw / 86400) * 86400
    first = math.ceil(low / step - 1e-9) * step
    return [float(first + i * step) for i in range(int((high - first) / step + 1e-9) + 1)]


def short_number(value: float) -> str:
    """1500 -> 1.5k, 2000000 -> 2M, 0.0005 -> 5e-4, 6e7 -> 60M."""
    if value == 0:
        return "0"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    if abs(value) < 0.01:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.3g}"


def short_duration(seconds: float) -> str:
    """A clock label: ``45s``, ``2:30``, ``1:05:00``."""
    whole = round(max(0.0, seconds))
    if whole < 60:
        return f"{whole}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def thin_marks(x: np.ndarray, y: np.ndarray, low: float, high: float, slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Marks inside ``[low, high]``, at most one per ``slots`` equal slices: where several fall in
    one slice they become one mark at their mean position and mean value (a 2M-step run's 400
    evaluations are not 400 crosses over each other)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (x >= low) & (x <= high) & np.isfinite(y)
    x, y = x[keep], y[keep]
    slots = max(1, int(slots))
    index = _slot(x, low, high, slots)
    count = np.bincount(index, minlength=slots)
    if x.size == 0 or count.max() <= 1:
        return x, y
    filled = count > 0
    mean_x = np.bincount(index, weights=x, minlength=slots)[filled] / count[filled]
    mean_y = np.bincount(index, weights=y, minlength=slots)[filled] / count[filled]
    return mean_x, mean_y


def _slot(x: np.ndarray, low: float, high: float, slots: int) -> np.ndarray:
    width = max(high - low, 1e-12) / slots
    return np.clip(((x - low) / width).astype(np.int64), 0, slots - 1)


def band_path(x: Sequence[float] | np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The zigzag through (x0, low0), (x0, high0), (x1, high1), (x1, low1), ... that fills a band."""
    n = len(x)
    xs = np.repeat(np.asarray(x, dtype=float), 2)
    pairs = np.stack([np.asarray(low, dtype=float), np.asarray(high, dtype=float)], axis=1)
    pairs[1::2] = pairs[1::2, ::-1]  # every other column goes down instead of up
    return xs, pairs.reshape(2 * n)


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """The mean of each value and the ``window - 1`` before it (fewer at the start); ``window`` 1
    or less returns the values."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or values.size == 0:
        return values.copy()
    csum = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(ends - window, 0)
    return (csum[ends] - csum[starts]) / (ends - starts)


def _clean(value: float, step: float) -> float:
    """Round away float noise (0.30000000000000004 -> 0.3) at the step's precision."""
    digits = max(0, -math.floor(math.log10(step)) + 1) if step > 0 else 6
    cleaned = round(value, digits)
    return 0.0 if cleaned == 0 else cleaned
