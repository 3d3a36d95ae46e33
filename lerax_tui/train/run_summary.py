"""One line per past run: status, seeds, steps, final and best greedy return, started, origin.

Reading many runs stays cheap: :class:`RunSummaries` keeps, per folder, a byte offset into its
``metrics.jsonl`` (only new lines are parsed on the next refresh) and a few running figures, and
rereads ``config.json`` and ``result.json`` only when their size or time changed. A refresh of an
unchanged folder is a handful of ``stat`` calls and one lock probe.

Pure Python + NumPy (no JAX).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lerax_tui.core.safe_io import MAX_METRICS_LINE, load_json, open_regular
from lerax_tui.core.schema import MAX_STEP
from lerax_tui.train import runs
from lerax_tui.train.outcome import RESULT_FILE, Result, RunStatus, lock_held, read_result
from lerax_tui.train.records import MAX_SEEDS, RunConfig

RECENT = 20  # episodes in a seed's "recent training return"


@dataclass(frozen=True)
class SeedSummary:
    """One seed of a run.

    Attributes:
        index: The seed's position (0 .. num_seeds - 1); ``seed`` is its PRNG seed when known.
        final: Mean final greedy return (``result.json``), None before the run ends.
        best: Mean greedy return of its best policy: re-evaluated at the end when the run finished,
            else its best periodic evaluation so far.
        best_step: The step of that best policy.
        episodes: Training episodes completed.
        recent: Mean of its last ``RECENT`` training episode returns (exploring, not greedy).
    """

    index: int
    seed: int | None
    final: float | None
    best: float | None
    best_step: int | None
    episodes: int
    recent: float | None


@dataclass(frozen=True)
class RunSummary:
    """What the Runs tab shows of a folder (and what its summary screen details)."""

    path: Path
    env_id: str
    status: RunStatus
    num_seeds: int
    step: int
    total_timesteps: int | None
    final: float | None
    best: float | None
    started: str | None
    config: dict[str, Any]
    origin: dict[str, Any] | None
    seeds: tuple[SeedSummary, ...]
    error: str | None = None
    evaluations: int = 0

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class _MetricsFigures:
    """Running figures of one ``metrics.jsonl``, fed line by line from a byte offset."""

    offset: int = 0
    step: int = 0
    evaluations: int = 0
    episodes: list[int] = field(default_factory=list)
    recent: list[deque] = field(default_factory=list)
    best: list[float | None] = field(default_factory=list)
    best_step: list[int | None] = field(default_factory=list)
    _skipping: bool = False

    def _grow(self, seeds: int) -> None:
        while len(self.episodes) < seeds:
            self.episodes.append(0)
            self.recent.append(deque(maxlen=RECENT))
            self.best.append(None)
            self.best_step.append(None)

    def feed(self, path: Path) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            return
        if size < self.offset:  # cut on resume or rewritten: start over
            self.__init__()  # type: ignore[misc]
        if size == self.offset:
            return
        try:
            f = open_regular(path)
        except OSError:
            return
        with f:
            f.seek(self.offset)
            while True:
                line = f.readline(MAX_METRICS_LINE + 1)
                if not line:
                    break
                if not line.endswith(b"\n"):
                    if len(line) <= MAX_METRICS_LINE:
                        break  # a torn last line waits for its newline
                    self.offset += len(line)  # over the cap: dropped up to its newline, never held
                    self._skipping = True
                    continue
                self.offset += len(line)
                if self._skipping:  # the end of a line over the cap
                    self._skipping = False
                    continue
                record = _light_record(line) if line.strip() else None
                if record is not None:
                    self._add(*record)

    def _add(self, step: int, returns: list[list[float]], evals: list[list[float]] | None) -> None:
        self.step = max(self.step, step)
        self._grow(len(returns))
        for seed, seed_returns in enumerate(returns):
            self.episodes[seed] += len(seed_returns)
            self.recent[seed].extend(seed_returns)
        if evals is not None:
            self.evaluations += 1
            self._grow(len(evals))
            for seed, seed_evals in enumerate(evals):
                if not seed_evals:
                    continue
                mean = sum(seed_evals) / len(seed_evals)
                best = self.best[seed]
                if best is None or mean > best:
                    self.best[seed], self.best_step[seed] = mean, step


def _light_record(line: bytes) -> tuple[int, list[list[float]], list[list[float]] | None] | None:
    """``step``, ``episode_returns`` and ``eval_returns`` of a metrics line, checked as strictly as
    :func:`~lerax_tui.train.records.parse_metrics_record` checks them (whole step in range, one list
    of finite numbers per seed, at most ``MAX_SEEDS`` seeds) but without building arrays or reading
    the other fields: the Runs table reads every line of every run once. None: not a usable line."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    step = obj.get("step", 0)
    if type(step) is not int or not 0 <= step < MAX_STEP:
        return None
    returns = _per_seed(obj.get("episode_returns") or [])
    if returns is None:
        return None
    steps = obj.get("episode_steps")
    if steps is not None and _per_seed(steps, whole=True) is None:
        return None
    raw_evals = obj.get("eval_returns")
    evals = _per_seed(raw_evals) if raw_evals is not None else None
    if raw_evals is not None and evals is None:
        return None
    return step, returns, evals


def _per_seed(value: Any, *, whole: bool = False) -> list[list[float]] | None:
    """``value`` when it is one list per seed of finite numbers (``whole``: of steps), else None."""
    if not isinstance(value, list) or len(value) > MAX_SEEDS:
        return None
    for entry in value:
        if not isinstance(entry, list):
            return None
        for x in entry:
            ok = (
                (type(x) is int and 0 <= x < MAX_STEP)
                if whole
                else (type(x) is int or (type(x) is float and math.isfinite(x)))
            )
            if not ok:
                return None
    return value


@dataclass
class _Entry:
    figures: _MetricsFigures = field(default_factory=_MetricsFigures)
    config_key: tuple | None = None
    config: RunConfig | None = None
    result_key: tuple | None = None
    result: Result | None = None
    final_key: tuple | None = None
    final_step: int | None = None
    seen: tuple | None = None  # every file's identity and the lock at the last summary
    last: RunSummary | None = None


class RunSummaries:
    """Summaries of run folders, refreshed incrementally (one instance per reader; not shared
    between threads)."""

    def __init__(self) -> None:
        self._entries: dict[Path, _Entry] = {}

    def summaries(self, folders: list[Path]) -> list[RunSummary]:
        keep = set(folders)
        for gone in [p for p in self._entries if p not in keep]:
            del self._entries[gone]
        return [self.summary(p) for p in folders]

    def summary(self, folder: Path) -> RunSummary:
        entry = self._entries.setdefault(folder, _Entry())
        key = _stat(folder / runs.CONFIG_FILE)
        if key != entry.config_key:
            entry.config_key, entry.config = key, _config(folder)
        key = _stat(folder / RESULT_FILE)
        if key != entry.result_key:
            entry.result_key, entry.result = key, read_result(folder) if key is not None else None
        metrics = folder / runs.METRICS_FILE
        seen = (
            entry.config_key,
            entry.result_key,
            _stat(metrics),
            _stat(_final_path(folder, entry)),
            lock_held(folder),
        )
        if seen == entry.seen and entry.last is not None:
            return entry.last  # nothing changed: a few stat calls and one lock probe
        entry.figures.feed(metrics)
        entry.seen, entry.last = seen, _summarise(folder, entry, running=seen[-1])
        return entry.last


def _summarise(folder: Path, entry: _Entry, *, running: bool) -> RunSummary:
    figures, result, run = entry.figures, entry.result, entry.config
    config = dict(run.config) if run is not None else {}
    raw = run.raw if run is not None else {}
    num_seeds = run.num_seeds if run is not None else max(1, len(figures.episodes))
    total = config.get("total_timesteps")
    total = total if type(total) is int else None
    if running:
        status = RunStatus.RUNNING
    elif result is not None:
        status = result.status
    else:
        final_step = _final_step(folder, entry)
        if final_step is None or final_step < figures.step:
            status = RunStatus.INTERRUPTED  # killed: no end was written after its last chunk
        elif total is not None and final_step >= total:
            status = RunStatus.FINISHED
        else:
            status = RunStatus.STOPPED
    ended = result is not None and status != RunStatus.RUNNING
    seeds_list = raw.get("seeds")
    seeds = []
    for index in range(num_seeds):
        final = _at(result.final, index) if ended and result else None
        best = _at(result.best, index) if ended and result and result.best else None
        best_step = _at(result.best_steps, index) if ended and result and result.best else None
        if best is None:
            best, best_step = _at(figures.best, index), _at(figures.best_step, index)
        recent = figures.recent[index] if index < len(figures.recent) else ()
        seed = _at(seeds_list, index) if isinstance(seeds_list, list) else None
        seeds.append(
            SeedSummary(
                index=index,
                seed=seed if type(seed) is int else None,
                final=final,
                best=best,
                best_step=best_step,
                episodes=_at(figures.episodes, index) or 0,
                recent=float(np.mean(recent)) if len(recent) else None,
            )
        )
    origin = raw.get("origin")
    started = raw.get("started")
    return RunSummary(
        path=folder,
        env_id=run.env_id if run is not None else _env_from_name(folder),
        status=status,
        num_seeds=num_seeds,
        step=max(figures.step, (result.step or 0) if ended and result else 0),
        total_timesteps=total,
        final=_mean([s.final for s in seeds]),
        best=_mean([s.best for s in seeds]),
        started=started[:40] if isinstance(started, str) else None,
        config=config,
        origin=origin if isinstance(origin, dict) else None,
        seeds=tuple(seeds),
        error=result.error if ended and result else None,
        evaluations=figures.evaluations,
    )


def _final_path(folder: Path, entry: _Entry) -> Path:
    """Seed 0's final manifest (``final.json``, or ``seed-0-final.json`` with several seeds)."""
    num_seeds = entry.config.num_seeds if entry.config is not None else 1
    return folder / runs.CHECKPOINTS / f"{runs.checkpoint_name(None, seed=0, num_seeds=num_seeds)}.json"


def _final_step(folder: Path, entry: _Entry) -> int | None:
    """The step in seed 0's final manifest (cached by its size and time)."""
    path = _final_path(folder, entry)
    key = _stat(path)
    if key != entry.final_key:
        entry.final_key, entry.final_step = key, None
        if key is not None:
            try:
                manifest = load_json(path)
            except (OSError, ValueError):
                manifest = None
            step = manifest.get("step") if isinstance(manifest, dict) else None
            entry.final_step = step if type(step) is int else None
    return entry.final_step


def _config(folder: Path) -> RunConfig | None:
    try:
        return runs.read_run_config(folder)
    except (OSError, ValueError):
        return None


def _stat(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _at(values: Any, index: int) -> Any:
    return values[index] if values is not None and index < len(values) else None


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _env_from_name(folder: Path) -> str:
    parts = folder.name.rsplit("-", 3)
    return parts[0] if len(parts) == 4 else "?"


def started_label(summary: RunSummary) -> str:
    """When the run started, in local time (``2026-11-24 12:00``), from config.json or its name."""
    if summary.started:
        try:
            when = _dt.datetime.fromisoformat(summary.started)
            return when.astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    parts = summary.name.rsplit("-", 3)
    if len(parts) == 4 and len(parts[1]) == 8 and len(parts[2]) == 6:
        d, t = parts[1], parts[2]
        return f"{d[:4]}-{d[4:6]}-{d[6:]} {t[:2]}:{t[2:4]}"
    return "?"
