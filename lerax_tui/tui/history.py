"""Episode-return history kept in numpy, and the bucketed summary the chart draws.

No Textual here: the chart widget, the past-runs tailer and the benchmark share it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lerax_tui.train.events import ChunkMetrics
from lerax_tui.train.records import MetricsRecord

SMOOTH_WINDOW = 20
"""The smoothed return of an episode is the mean of it and the previous ``SMOOTH_WINDOW - 1``."""


class _Growable:
    """A 1-D numpy array with amortised O(1) append (capacity doubles)."""

    def __init__(self, dtype: Any) -> None:
        self._data = np.empty(256, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + len(values)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : need] = values
        self.size = need

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.size]


class _SeedHistory:
    def __init__(self) -> None:
        self.steps = _Growable(np.int64)
        self.returns = _Growable(np.float64)
        self.smoothed = _Growable(np.float64)
        self.best_smoothed = -np.inf

    def extend(self, steps: np.ndarray, returns: np.ndarray, window: int) -> None:
        if len(returns) == 0:
            return
        # Trailing moving average over episodes, computed only for the new ones.
        previous = self.returns.view[-(window - 1) :] if window > 1 else self.returns.view[:0]
        joined = np.concatenate([previous, returns])
        csum = np.concatenate([[0.0], np.cumsum(joined)])
        ends = np.arange(len(previous) + 1, len(joined) + 1)
        starts = np.maximum(ends - window, 0)
        smooth = (csum[ends] - csum[starts]) / (ends - starts)
        self.steps.extend(steps)
        self.returns.extend(returns)
        self.smoothed.extend(smooth)
        self.best_smoothed = max(self.best_smoothed, float(smooth.max()))


@dataclass(frozen=True)
class Summary:
    """What the chart draws: one value per non-empty bucket (x is the bucket centre)."""

    x: np.ndarray
    raw: np.ndarray  # mean raw return of all seeds' episodes in the bucket
    mean: np.ndarray  # mean over seeds of each seed's smoothed return in the bucket
    low: np.ndarray  # min over seeds
    high: np.ndarray  # max over seeds
    num_seeds: int


class ReturnHistory:
    """Every episode of a run (all seeds), appended chunk by chunk."""

    def __init__(self, window: int = SMOOTH_WINDOW) -> None:
        self.window = window
        self._seeds: list[_SeedHistory] = []
        self.total_steps: int | None = None
        self._eval_steps = _Growable(np.int64)
        self._eval_means = _Growable(np.float64)
        # (step, wall seconds) at each chunk's end, for a wall-time x axis; a resumed run's clock
        # restarts at 0 in its file, so a step back in time adds the time before it
        self._clock_steps = _Growable(np.int64)
        self._clock_wall = _Growable(np.float64)
        self._clock_offset = 0.0
        self._clock_last = 0.0

    # --- appending -------------------------------------------------------------------------------

    def _seed(self, index: int) -> _SeedHistory:
        while len(self._seeds) <= index:
            self._seeds.append(_SeedHistory())
        return self._seeds[index]

    def extend(self, seed: int, steps: Iterable[float], returns: Iterable[float]) -> None:
        steps_a = np.asarray(list(steps) if not isinstance(steps, np.ndarray) else steps, dtype=np.int64)
        returns_a = np.asarray(list(returns) if not isinstance(returns, np.ndarray) else returns, dtype=np.float64)
        n = min(len(steps_a), len(returns_a))
        self._seed(seed).extend(steps_a[:n], returns_a[:n], self.window)

    def add_evaluation(self, step: int, returns_per_seed: Any) -> None:
        """A periodic greedy evaluation: kept as the mean over seeds of each seed's mean return."""
        means = [float(np.mean(r)) for r in returns_per_seed or [] if r is not None and len(r)]
        if means:
            self._eval_steps.extend(np.array([int(step)]))
            self._eval_means.extend(np.array([float(np.mean(means))]))

    @property
    def evaluations(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, mean greedy returns)`` of the periodic evaluations so far."""
        return self._eval_steps.view, self._eval_means.view

    def add_wall_time(self, step: int, wall_s: Any) -> None:
        """The wall clock (seconds since its process started) at the end of the chunk at ``step``."""
        try:
            wall = float(wall_s)
        except (TypeError, ValueError):
            return
        if not np.isfinite(wall) or wall < 0:
            return
        if wall < self._clock_last:  # a resumed run: its clock started again
            self._clock_offset += self._clock_last
        self._clock_last = wall
        self._clock_steps.extend(np.array([int(step)]))
        self._clock_wall.extend(np.array([wall + self._clock_offset]))

    @property
    def wall_clock(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, wall seconds)`` at the end of each chunk (empty when no file says)."""
        return self._clock_steps.view, self._clock_wall.view

    def seed_episodes(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per seed that has episodes: ``(end steps, returns)`` (views: read, never keep)."""
        return [(s.steps.view, s.returns.view) for s in self._seeds if s.returns.size]

    def seed_smoothed(self) -> list[np.ndarray]:
        """Per seed that has episodes: the trailing mean over ``window`` episodes (kept as they come)."""
        return [s.smoothed.view for s in self._seeds if s.returns.size]

    def snapshot(self) -> HistorySnapshot:
        """The history as it is now, safe to read on another thread while this one grows: appending
        writes only past the views' ends (or into a new buffer), never into what they show."""
        steps, wall = self.wall_clock
        eval_steps, eval_means = self.evaluations
        return HistorySnapshot(
            window=self.window,
            episodes=tuple(self.seed_episodes()),
            smoothed=tuple(self.seed_smoothed()),
            clock=(steps, wall),
            evaluation_marks=(eval_steps, eval_means),
            total_steps=self.total_steps,
        )

    def add_chunk(self, chunk: ChunkMetrics) -> None:
        """Append a chunk's episodes (and its periodic evaluation, when one ran after it)."""
        self.total_steps = int(chunk.total_steps or 0) or self.total_steps
        self.add_wall_time(chunk.step, chunk.wall_s)
        if chunk.eval_returns is not None:
            self.add_evaluation(chunk.step, chunk.eval_returns)
        steps = chunk.episode_steps
        for seed, returns in enumerate(chunk.episode_returns):
            seed_steps = steps[seed] if steps is not None and seed < len(steps) else None
            self._extend_with_fallback(seed, seed_steps, returns, chunk.step)

    def add_record(self, record: MetricsRecord) -> None:
        """Append one checked ``metrics.jsonl`` line (``train.records.parse_metrics_line``); a seed
        without per-episode steps has its episodes placed at the chunk's step."""
        if record.eval_returns is not None:
            self.add_evaluation(record.step, record.eval_returns)
        self.add_wall_time(record.step, record.get("wall_s"))
        for seed, seed_returns in enumerate(record.episode_returns):
            self._extend_with_fallback(seed, record.episode_steps[seed], seed_returns, record.step)

    def _extend_with_fallback(self, seed: int, steps: Any, returns: Any, chunk_step: Any) -> None:
        returns = np.asarray(returns if returns is not None else [], dtype=np.float64).ravel()
        if steps is None or len(steps) != len(returns):
            # Older files without per-episode steps: every episode ends at the chunk's step.
            steps = np.full(len(returns), int(chunk_step or 0), dtype=np.int64)
        self.extend(seed, np.asarray(steps, dtype=np.int64).ravel(), returns)
        if len(returns) == 0:
            self._seed(seed)  # a seed with no episode yet still counts

    # --- reading ---------------------------------------------------------------------------------

    @property
    def num_seeds(self) -> int:
        return len(self._seeds)

    @property
    def episodes(self) -> int:
        return sum(s.returns.size for s in self._seeds)

    @property
    def max_step(self) -> int:
        return max((int(s.steps.view[-1]) for s in self._seeds if s.steps.size), default=0)

    @property
    def last_smoothed(self) -> float | None:
        """Mean over seeds of each seed's latest smoothed return (None before any episode)."""
        values = [s.smoothed.view[-1] for s in self._seeds if s.smoothed.size]
        return float(np.mean(values)) if values else None

    @property
    def best_smoothed(self) -> float | None:
        """Best smoothed return any seed has reached."""
        values = [s.best_smoothed for s in self._seeds if s.smoothed.size]
        return float(max(values)) if values else None

    def summary(self, buckets: int, x_max: float | None = None) -> Summary:
        """Bucket every seed's episodes by env step into ``buckets`` equal bins over [0, x_max]."""
        return bucket_summary(self.seed_episodes(), self.seed_smoothed(), buckets, x_max)


def bucket_summary(
    seeds: list[tuple[np.ndarray, np.ndarray]], smoothed: list[np.ndarray], buckets: int, x_max: float | None = None
) -> Summary:
    """Bucket seeds' episodes (``(end steps, returns)``, each with its smoothed returns) by env step
    into ``buckets`` equal bins over [0, x_max] (default: the last episode's step)."""
    buckets = max(1, int(buckets))
    if x_max is None:
        x_max = max((float(steps[-1]) for steps, _ in seeds if steps.size), default=0.0)
    x_max = float(x_max) or 1.0
    width = x_max / buckets
    if not seeds:
        empty = np.empty(0)
        return Summary(empty, empty, empty, empty, empty, 0)
    raw_sum = np.zeros(buckets)
    raw_count = np.zeros(buckets)
    per_seed = np.full((len(seeds), buckets), np.nan)
    for row, ((steps, returns), smooth) in enumerate(zip(seeds, smoothed, strict=True)):
        index = np.clip((steps / width).astype(np.int64), 0, buckets - 1)
        count = np.bincount(index, minlength=buckets)
        raw_sum += np.bincount(index, weights=returns, minlength=buckets)
        raw_count += count
        smooth_sum = np.bincount(index, weights=smooth, minlength=buckets)
        filled = count > 0
        per_seed[row, filled] = smooth_sum[filled] / count[filled]
    keep = raw_count > 0
    x = (np.arange(buckets) + 0.5) * width
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(per_seed, axis=0)
        low = np.nanmin(per_seed, axis=0)
        high = np.nanmax(per_seed, axis=0)
    return Summary(
        x=x[keep],
        raw=raw_sum[keep] / raw_count[keep],
        mean=mean[keep],
        low=low[keep],
        high=high[keep],
        num_seeds=len(seeds),
    )


@dataclass(frozen=True)
class HistorySnapshot:
    """A :class:`ReturnHistory` frozen at one moment, read by the chart's build thread (the same
    reading methods as the history itself)."""

    window: int
    episodes: tuple[tuple[np.ndarray, np.ndarray], ...]
    smoothed: tuple[np.ndarray, ...]
    clock: tuple[np.ndarray, np.ndarray]
    evaluation_marks: tuple[np.ndarray, np.ndarray]
    total_steps: int | None

    def seed_episodes(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(self.episodes)

    def seed_smoothed(self) -> list[np.ndarray]:
        return list(self.smoothed)

    @property
    def wall_clock(self) -> tuple[np.ndarray, np.ndarray]:
        return self.clock

    @property
    def evaluations(self) -> tuple[np.ndarray, np.ndarray]:
        return self.evaluation_marks

    @property
    def max_step(self) -> int:
        return max((int(steps[-1]) for steps, _ in self.episodes if steps.size), default=0)

    def summary(self, buckets: int, x_max: float | None = None) -> Summary:
        return bucket_summary(list(self.episodes), list(self.smoothed), buckets, x_max)


class ScalarSeries:
    """Per-chunk scalars (loss, epsilon) with their env step, for the small metrics view."""

    def __init__(self) -> None:
        self.steps = _Growable(np.int64)
        self.values = _Growable(np.float64)

    def append(self, step: int, value: float | None) -> None:
        value = np.nan if value is None else float(value)
        self.steps.extend(np.array([step]))
        self.values.extend(np.array([value]))

    @property
    def last(self) -> float | None:
        finite = self.values.view[np.isfinite(self.values.view)]
        return float(finite[-1]) if finite.size else None

    def bucketed_xy(self, buckets: int) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of the finite values, averaged down to at most ``buckets`` points."""
        finite = np.isfinite(self.values.view)
        steps, values = self.steps.view[finite].astype(float), self.values.view[finite]
        if values.size <= buckets or buckets <= 0:
            return steps, values.copy()
        edges = np.linspace(0, values.size, buckets + 1).astype(np.int64)
        counts = np.diff(edges)
        return np.add.reduceat(steps, edges[:-1]) / counts, np.add.reduceat(values, edges[:-1]) / counts

    def bucketed(self, buckets: int) -> list[float]:
        """Finite values averaged down to at most ``buckets`` points (for a sparkline)."""
        values = self.values.view[np.isfinite(self.values.view)]
        if values.size <= buckets or buckets <= 0:
            return values.tolist()
        edges = np.linspace(0, values.size, buckets + 1).astype(np.int64)
        sums = np.add.reduceat(values, edges[:-1])
        return (sums / np.diff(edges)).tolist()
