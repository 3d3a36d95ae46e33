"""What the Runs tab lists under ``--runs-dir``: plain run folders and sweep folders, each sweep with
its members (ordinary run folders inside it, one per configuration).

A sweep's ``sweep.json`` is read with the checked, JAX-free reader (``train.sweep_record``); a
damaged one does not hide the sweep: it is listed with the reason, and its members are the run
folders found inside it. No Textual here (the Runs tab lists in a thread worker).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerax_tui.train.config import ConfigError
from lerax_tui.train.outcome import RunStatus
from lerax_tui.train.run_summary import RunSummary
from lerax_tui.train.runs import RunFolder, list_run_folders
from lerax_tui.train.sweep_record import SWEEP_FILE, ConfigStatus, SweepEntry, read_sweep
from lerax_tui.tui.sweep_folder import list_sweep_folders

SHORT_KEYS = {
    "learning_rate": "lr",
    "width_size": "width",
    "total_timesteps": "steps",
    "target_update_interval": "target_every",
    "exploration_fraction": "explore",
    "max_grad_norm": "clip",
    "batch_size": "batch",
    "buffer_size": "buffer",
}


@dataclass(frozen=True)
class SweepMember:
    """One configuration's run folder, with what sets it apart (``lr 0.001, gamma 0.9``)."""

    path: Path
    label: str
    entry: SweepEntry | None = None  # None when sweep.json could not be read
    values: str = ""  # the label without key names (``0.001 0.98``), for a narrow column

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.path, "", 0.0)


@dataclass(frozen=True)
class SweepListing:
    """A sweep folder: its record's gist and members, or the one-line reason its ``sweep.json`` is unreadable."""

    path: Path
    mtime: float
    env_id: str
    seeds: int | None
    created: str | None
    members: tuple[SweepMember, ...] = ()
    error: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def short_name(self) -> str:
        """``sweep 20261202-143000-abc123``: the env has its own column."""
        prefix = f"sweep-{self.env_id}-"
        if self.name.startswith(prefix) and len(self.name) > len(prefix):
            return "sweep " + self.name[len(prefix) :]
        return self.name


@dataclass(frozen=True)
class Listing:
    runs: list[RunFolder] = field(default_factory=list)
    sweeps: list[SweepListing] = field(default_factory=list)

    def items(self) -> list[RunFolder | SweepListing]:
        """Runs and sweeps together, newest first."""
        both: list[RunFolder | SweepListing] = [*self.runs, *self.sweeps]
        return sorted(both, key=lambda item: (item.mtime, item.name), reverse=True)

    def members(self) -> list[SweepMember]:
        return [m for s in self.sweeps for m in s.members]

    def paths(self) -> list[Path]:
        """Every run folder whose figures the table shows: plain runs and every sweep's members."""
        return [f.path for f in self.runs] + [m.path for m in self.members()]


_CACHE: dict[Path, tuple[tuple[int, int, int], SweepListing]] = {}
_CACHE_MAX = 1024


def list_runs(runs_dir: Path) -> Listing:
    """The runs and sweeps directly under ``runs_dir`` (one small read per run; a sweep.json is read
    again only when its size, time or inode changed: the Runs tab lists once a second)."""
    return Listing(list_run_folders(runs_dir), [_cached(f.path, f.mtime) for f in list_sweep_folders(runs_dir)])


def _cached(folder: Path, mtime: float) -> SweepListing:
    try:
        st = (folder / SWEEP_FILE).lstat()
    except OSError:
        return read_listing(folder, mtime)
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _CACHE.get(folder)
    if hit is not None and hit[0] == key:
        return hit[1]
    listing = read_listing(folder, mtime)
    if listing.error is None:  # a damaged one lists the folders inside it: read again each time
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[folder] = (key, listing)
    return listing


def read_listing(folder: Path, mtime: float) -> SweepListing:
    """One sweep folder; never raises (a damaged sweep.json is an ``error`` line)."""
    try:
        record = read_sweep(folder)
    except OSError as error:
        return _damaged(folder, mtime, f"{SWEEP_FILE} unreadable: {error.strerror or error}")
    except (ValueError, ConfigError) as error:  # SweepFileError is a ValueError
        text = str(error)
        text = text[len(SWEEP_FILE) + 2 :] if text.startswith(SWEEP_FILE + ": ") else text
        return _damaged(folder, mtime, f"damaged {SWEEP_FILE}: {text}"[:300])
    varying = [k for k in record.swept if len({_value_key(e.overrides.get(k)) for e in record.configs}) > 1]
    keys = varying or sorted({k for e in record.configs for k in e.overrides})
    members = tuple(
        SweepMember(
            folder / e.run_dir,
            overrides_label(e.overrides, keys) or e.run_dir,
            e,
            " ".join(short_value(e.overrides[k]) for k in keys if k in e.overrides),
        )
        for e in record.configs
    )
    return SweepListing(folder, mtime, record.env_id, record.seeds, record.created, members)


def _damaged(folder: Path, mtime: float, reason: str) -> SweepListing:
    found = list_run_folders(folder)  # its members are still ordinary run folders
    found.sort(key=lambda f: f.name)
    members = tuple(SweepMember(f.path, f.name) for f in found)
    env = found[0].env_id if found else _env_from_name(folder)
    return SweepListing(folder, mtime, env, None, None, members, error=reason)


def _env_from_name(folder: Path) -> str:
    parts = folder.name.split("-", 1)[-1].rsplit("-", 3)  # sweep-<ENV>-<date>-<time>-<hex>
    return parts[0] if len(parts) == 4 else "?"


def _value_key(value: Any) -> str:
    return repr(value)


def short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    return str(value)[:24]


def overrides_label(overrides: dict[str, Any], keys: list[str]) -> str:
    """``lr 0.001, gamma 0.9``: a member's values of ``keys`` (the ones that vary in its sweep)."""
    return ", ".join(f"{SHORT_KEYS.get(k, k)} {short_value(overrides[k])}" for k in keys if k in overrides)


def member_status(member: SweepMember, summary: RunSummary | None) -> RunStatus | str:
    """A member's status: the sweep's word for a configuration that has not started or that failed
    (its folder alone cannot say), else what its files say."""
    entry = member.entry
    if entry is not None and entry.status == ConfigStatus.PENDING and (summary is None or summary.step == 0):
        return "pending"
    if entry is not None and entry.status == ConfigStatus.FAILED:
        return RunStatus.FAILED
    if summary is None:
        return "…"
    if entry is not None and entry.status in (ConfigStatus.FINISHED, ConfigStatus.STOPPED):
        if summary.status == RunStatus.INTERRUPTED:  # a member that wrote no result.json: the sweep knows
            return RunStatus(str(entry.status))
    return summary.status


def member_returns(member: SweepMember, summary: RunSummary | None) -> tuple[float | None, float | None]:
    """A member's final and best greedy return: its own files', else the sweep's record of them."""
    final = summary.final if summary is not None else None
    best = summary.best if summary is not None else None
    result = member.entry.result if member.entry is not None else None
    if result is not None:
        final = result.eval_return_mean if final is None else final
        best = result.best_eval_return_mean if best is None else best
    return final, best


def member_summary(member: SweepMember, summary: RunSummary) -> RunSummary:
    """A member's summary completed from its sweep's record where its own files say less (a member
    that wrote no ``result.json``): its ended status and its final greedy returns per seed."""
    result = member.entry.result if member.entry is not None else None
    status = member_status(member, summary)
    changes: dict[str, Any] = {}
    if isinstance(status, RunStatus) and status != summary.status:
        changes["status"] = status
    if result is not None and summary.final is None and result.eval_return_mean is not None:
        changes["final"] = result.eval_return_mean
        per_seed = result.eval_return_per_seed
        if len(per_seed) == len(summary.seeds):
            changes["seeds"] = tuple(
                dataclasses.replace(seed, final=value) if seed.final is None else seed
                for seed, value in zip(summary.seeds, per_seed, strict=True)
            )
    if result is not None and summary.best is None and result.best_eval_return_mean is not None:
        changes["best"] = result.best_eval_return_mean
    return dataclasses.replace(summary, **changes) if changes else summary


def leader(returns: list[tuple[float | None, float | None]]) -> int:
    """The leading configuration, given each one's (final, best) greedy return: the one that
    ``sweep --json``'s ``ranking`` puts first (highest final; ties: the first), and while none has a
    final yet, the one with the highest best so far."""

    def known(x: float | None) -> float:
        return x if x is not None and math.isfinite(x) else -math.inf

    return min(range(len(returns)), key=lambda i: (-known(returns[i][0]), -known(returns[i][1]), i))


@dataclass(frozen=True)
class SweepFigures:
    """What a sweep's own row shows: a status over its members, the least steps any member has
    made, and its leading configuration's (:func:`leader`) final and best greedy return: both of
    one configuration, the one ``sweep --json`` ranks first."""

    status: RunStatus | str
    step: int | None
    final: float | None
    best: float | None
    configs: int
    seeds: int | None


def sweep_figures(sweep: SweepListing, summaries: dict[str, RunSummary]) -> SweepFigures:
    if sweep.error is not None:
        return SweepFigures("damaged", None, None, None, len(sweep.members), None)
    known = [summaries.get(str(m.path)) for m in sweep.members]
    statuses = [member_status(m, s) for m, s in zip(sweep.members, known, strict=True)]
    entries = [m.entry.status for m in sweep.members if m.entry is not None]
    if RunStatus.RUNNING in statuses:
        status: RunStatus | str = RunStatus.RUNNING
    elif entries and all(e in (ConfigStatus.FINISHED, ConfigStatus.FAILED) for e in entries):
        status = RunStatus.FAILED if all(e == ConfigStatus.FAILED for e in entries) else RunStatus.FINISHED
    elif ConfigStatus.RUNNING in entries:
        status = RunStatus.INTERRUPTED  # its process was killed: members still marked running
    else:
        status = RunStatus.STOPPED
    read = [s for s in known if s is not None]
    returns = [member_returns(m, s) for m, s in zip(sweep.members, known, strict=True)]
    final, best = returns[leader(returns)] if returns else (None, None)
    return SweepFigures(
        status=status,
        step=min(s.step for s in read) if read else None,
        final=final,
        best=best,
        configs=len(sweep.members),
        seeds=sweep.seeds,
    )
