"""The return chart's data under the user's settings: per-episode x on the chosen axis, a trailing
mean of the chosen width, bucketed over the shown x range, and the chosen band over seeds.

Pure numpy on a :class:`ReturnHistory` (no Textual): tests check the numbers without an app.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from lerax_tui.render.chart_scale import trailing_mean
from lerax_tui.tui.chart_settings import Band, XAxis
from lerax_tui.tui.history import HistorySnapshot, ReturnHistory

History = ReturnHistory | HistorySnapshot

# Student's t at 97.5% for 1..30 degrees of freedom: a 95% CI over 3 seeds is much wider than 1.96 std errors.
_T975: tuple[float, ...] = (
    *(12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131),
    *(2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
)


def t975(dof: int) -> float:
    """Student's t quantile at 0.975 for ``dof`` degrees of freedom (1.96 from 31 on)."""
    return _T975[dof - 1] if 1 <= dof <= len(_T975) else 1.96


@dataclass(frozen=True)
class Series:
    """One run as the chart draws it: one value per non-empty bucket (x is the bucket centre)."""

    x: np.ndarray
    raw: np.ndarray  # mean raw return of all seeds' episodes in the bucket
    mean: np.ndarray  # mean over seeds of each seed's smoothed return in the bucket
    low: np.ndarray  # the band's lower edge (equal to ``mean`` with one seed)
    high: np.ndarray
    num_seeds: int

    @staticmethod
    def empty() -> Series:
        e = np.empty(0)
        return Series(e, e, e, e, e, 0)


def episode_x(history: History, axis: XAxis) -> list[np.ndarray] | None:
    """Each seed's episodes on ``axis`` (aligned with ``history.seed_episodes()``); None when the
    axis cannot be drawn (wall time for a history without clock readings)."""
    seeds = history.seed_episodes()
    if axis == XAxis.EPISODES:
        return [np.arange(1, steps.size + 1, dtype=float) for steps, _ in seeds]
    if axis == XAxis.WALL:
        clock_steps, clock_wall = history.wall_clock
        if clock_steps.size == 0:
            return None if seeds else []
        return [np.interp(steps, clock_steps, clock_wall) for steps, _ in seeds]
    return [steps.astype(float) for steps, _ in seeds]


def x_extent(history: History, axis: XAxis) -> float:
    """The largest x of ``history``'s episodes on ``axis`` (0 without any)."""
    xs = episode_x(history, axis) or []
    return max((float(x[-1]) for x in xs if x.size), default=0.0)


def step_to_x(history: History, axis: XAxis, steps: np.ndarray) -> np.ndarray | None:
    """Env steps (evaluations') on ``axis``: episodes ended by then (mean over seeds), or the clock."""
    steps = np.asarray(steps, dtype=float)
    if axis == XAxis.STEPS:
        return steps
    if axis == XAxis.WALL:
        clock_steps, clock_wall = history.wall_clock
        return np.interp(steps, clock_steps, clock_wall) if clock_steps.size else None
    seeds = history.seed_episodes()
    if not seeds:
        return None
    return np.mean([np.searchsorted(s, steps, side="right") for s, _ in seeds], axis=0).astype(float)


def summarize(
    history: History, *, axis: XAxis, window: int, band: Band, low: float, high: float, buckets: int
) -> Series:
    """Bucket every seed's episodes with x in ``[low, high]`` into ``buckets`` equal bins.

    The smoothed value of an episode is the trailing mean over ``window`` episodes of its seed
    (computed over the whole history, so zooming in does not restart it). Each seed's value in a
    bucket is the mean of its smoothed values there (interpolated where it ended no episode); the
    line is the mean over seeds and the band spans ``band`` of those seed values. Buckets where
    no episode ended at all are left out.
    """
    xs = episode_x(history, axis)
    seeds = history.seed_episodes()
    buckets = max(1, int(buckets))
    if not xs or not seeds or not high > low:
        return Series.empty()
    width = (high - low) / buckets  # bucket centres
    raw_sum, raw_count = np.zeros(buckets), np.zeros(buckets)
    per_seed = np.full((len(seeds), buckets), np.nan)
    kept = history.seed_smoothed() if window == history.window else None  # the usual window: computed already
    for row, ((_, returns), x) in enumerate(zip(seeds, xs, strict=True)):
        smooth = kept[row] if kept is not None else trailing_mean(returns, window)
        if x.size and (x[0] < low or x[-1] > high):  # zoomed: only what is shown
            inside = (x >= low) & (x <= high)
            x, returns, smooth = x[inside], returns[inside], smooth[inside]
        index = np.clip(((x - low) * (buckets / (high - low))).astype(np.int64), 0, buckets - 1)
        count = np.bincount(index, minlength=buckets)
        raw_sum += np.bincount(index, weights=returns, minlength=buckets)
        raw_count += count
        filled = count > 0
        per_seed[row, filled] = np.bincount(index, weights=smooth, minlength=buckets)[filled] / count[filled]
        _fill_gaps(per_seed[row], filled)
    keep = raw_count > 0
    if not keep.any():
        return Series.empty()
    centres = low + (np.arange(buckets) + 0.5) * width
    values = per_seed[:, keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bucket only some seeds reach
        mean = np.nanmean(values, axis=0)
        lo, hi = _band(values, mean, band)
    return Series(centres[keep], raw_sum[keep] / raw_count[keep], mean, lo, hi, len(seeds))


def _fill_gaps(row: np.ndarray, filled: np.ndarray) -> None:
    """Between a seed's first and last filled bucket, give the empty ones the value interpolated
    from their filled neighbours: long episodes leave most buckets to one seed or another, and a
    band over whichever seeds happen to end an episode there jumps from column to column."""
    where = np.flatnonzero(filled)
    if where.size < 2:
        return
    span = np.arange(where[0], where[-1] + 1)
    row[span] = np.interp(span, where, row[where])


def _band(values: np.ndarray, mean: np.ndarray, band: Band) -> tuple[np.ndarray, np.ndarray]:
    if band == Band.MINMAX:
        return np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    n = np.sum(np.isfinite(values), axis=0)
    std = np.nan_to_num(np.nanstd(values, axis=0, ddof=1))  # NaN (one seed in the bucket) -> no band
    if band == Band.STD:
        half = std
    else:
        t = np.array([t975(int(k) - 1) for k in n])
        half = t * std / np.sqrt(np.maximum(n, 1))
    return mean - half, mean + half


def value_range(*arrays: np.ndarray, positive_only: bool = False) -> tuple[float, float] | None:
    """The finite min and max over ``arrays`` (only values > 0 when ``positive_only``); None if none."""
    lows, highs = [], []
    for a in arrays:
        a = np.asarray(a, dtype=float)
        a = a[np.isfinite(a) & (a > 0)] if positive_only else a[np.isfinite(a)]
        if a.size:
            lows.append(float(a.min()))
            highs.append(float(a.max()))
    if not lows:
        return None
    return min(lows), max(highs)


def log10_or_nan(values: np.ndarray) -> np.ndarray:
    """log10 where positive, NaN elsewhere (NaN points are left out of the drawing)."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, math.nan)
    positive = values > 0
    out[positive] = np.log10(values[positive])
    return out
