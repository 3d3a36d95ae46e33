"""The leaderboard's rows: one per configuration, sortable by any column, exported as CSV.

No Textual here (the widget in :mod:`lerax_tui.tui.widgets.leaderboard` shows these rows; tests and
the CSV export read them directly).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from lerax_tui.core.atomic import atomic_write_bytes
from lerax_tui.tui.sweep_run import MemberRun, SweepRun


class SortKey(StrEnum):
    """What the leaderboard is ordered by (best first; configuration order ascending)."""

    BEST = "best"
    EVAL = "eval"
    RETURN = "return"
    CONFIG = "config"


SORT_TITLES = {
    SortKey.BEST: "best so far",
    SortKey.EVAL: "greedy eval (final once finished)",
    SortKey.RETURN: "smoothed return",
    SortKey.CONFIG: "configuration",
}
_SORT_VALUE: dict[SortKey, Callable[[MemberRun], float | None]] = {
    SortKey.BEST: lambda m: m.best_eval if m.best_eval is not None else m.final_eval,
    SortKey.EVAL: lambda m: m.shown_eval[0],
    SortKey.RETURN: lambda m: m.smoothed_return,
}


def ranked(sweep: SweepRun, key: SortKey, *, reverse: bool = False) -> list[MemberRun]:
    """The configurations ordered by ``key``: highest first (missing values last), ties and
    :attr:`SortKey.CONFIG` by configuration order; ``reverse`` flips the order of those with values."""
    members = list(sweep.members)
    if key == SortKey.CONFIG:
        return members[::-1] if reverse else members
    value = _SORT_VALUE[key]

    def order(m: MemberRun) -> tuple[int, float, int]:
        v = value(m)
        if v is None or not math.isfinite(v):
            return (1, 0.0, m.index)
        return (0, v if reverse else -v, m.index)

    return sorted(members, key=order)


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def eval_text(member: MemberRun) -> str:
    """``412.3 ± 20.1``: the final greedy evaluation once it finished, until then the latest periodic
    one (:attr:`MemberRun.shown_eval`); ``–`` before any."""
    mean, std = member.shown_eval
    if mean is None:
        return "–"
    return f"{fmt(mean)} ± {fmt(std)}"


EVAL_TITLE = "greedy eval"
FINAL_EVAL_TITLE = "final eval"


def eval_title(sweep: SweepRun) -> str:
    """The evaluation column's heading: ``final eval`` when every figure in it is a final evaluation
    (a sweep that finished), else ``greedy eval`` (latest periodic, final where a row finished)."""
    shown = [m for m in sweep.members if m.shown_eval[0] is not None]
    return FINAL_EVAL_TITLE if shown and all(m.final_eval is not None for m in shown) else EVAL_TITLE


def value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


@dataclass(frozen=True)
class Column:
    key: str
    title: str


def columns(sweep: SweepRun) -> list[Column]:
    """``#``, one column per varying key, then the figures."""
    keys = [Column(f"key:{k}", k) for k in sweep.varying]
    return [
        Column("index", "#"),
        *keys,
        Column("status", "status"),
        Column("return", "return"),
        Column("eval", eval_title(sweep)),
        Column("best", "best"),
    ]


def cells(sweep: SweepRun, member: MemberRun) -> list[str]:
    """One row's texts, in :func:`columns`' order."""
    return [
        str(member.index),
        *(value_text(member.overrides.get(k)) for k in sweep.varying),
        str(member.status),
        fmt(member.smoothed_return),
        eval_text(member),
        fmt(member.best_eval),
    ]


CSV_FIELDS = (
    "config",
    "run_dir",
    "status",
    "step",
    "smoothed_return",
    "eval_mean",
    "eval_std",
    "best_eval",
    "final_eval",
    "final_eval_std",
)


def _csv_number(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def csv_text(sweep: SweepRun, key: SortKey = SortKey.BEST, *, reverse: bool = False) -> str:
    """The leaderboard as CSV, in the order shown: every swept key's value, the figures in full
    precision (empty when not known yet): ``eval_mean``/``eval_std`` the latest periodic evaluation,
    ``final_eval``/``final_eval_std`` the final one (what the leaderboard shows once finished)."""
    keys = sorted({k for m in sweep.members for k in m.overrides}, key=lambda k: (k not in sweep.varying, k))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([CSV_FIELDS[0], *keys, *CSV_FIELDS[1:]])
    for m in ranked(sweep, key, reverse=reverse):
        writer.writerow(
            [
                m.index,
                *(m.overrides.get(k, "") for k in keys),
                "" if m.run_dir is None else str(m.run_dir),
                str(m.status),
                m.step,
                _csv_number(m.smoothed_return),
                _csv_number(m.eval_mean),
                _csv_number(m.eval_std),
                _csv_number(m.best_eval),
                _csv_number(m.final_eval),
                _csv_number(m.final_std),
            ]
        )
    return out.getvalue()


def export_csv(sweep: SweepRun, path: str | Path, key: SortKey = SortKey.BEST, *, reverse: bool = False) -> Path:
    """Write :func:`csv_text` to ``path`` atomically (the old file or the new one, never half)."""
    return atomic_write_bytes(Path(path), csv_text(sweep, key, reverse=reverse).encode("utf-8"))


def default_csv_path(sweep: SweepRun, runs_dir: Path) -> Path:
    """``<sweep folder>/leaderboard.csv`` (or ``<runs_dir>/sweep-leaderboard.csv`` before it exists)."""
    return (sweep.sweep_dir / "leaderboard.csv") if sweep.sweep_dir else (Path(runs_dir) / "sweep-leaderboard.csv")
