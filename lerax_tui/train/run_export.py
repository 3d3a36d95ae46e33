"""CSV exports of past runs: one run's metrics (a row per chunk) and a compare table.

Written atomically (``core.atomic``): a kill or a full disk never leaves half a file under the name.
Pure Python + NumPy (no JAX).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lerax_tui.core.atomic import atomic_write_bytes
from lerax_tui.train import runs

if TYPE_CHECKING:
    from lerax_tui.train.run_summary import RunSummary

EXPORTS = "exports"
"""The folder under ``--runs-dir`` that exports go to (not a run folder: it holds no config.json)."""

METRICS_HEADER = (
    "step",
    "wall_s",
    "sps",
    "epsilon",
    "loss_mean",
    "episodes",
    "return_mean",
    "return_min",
    "return_max",
    "eval_return_mean",
)


def metrics_rows(run_dir: Path) -> list[list[Any]]:
    """A row per chunk of ``run_dir``'s ``metrics.jsonl`` (all seeds together; unreadable lines
    skipped), in :data:`METRICS_HEADER` order."""
    rows: list[list[Any]] = []
    for record in runs.read_metrics(run_dir):
        returns = np.concatenate([r for r in record.episode_returns] or [np.empty(0)])
        loss = [x for x in (record.get("loss") or []) if isinstance(x, (int, float)) and math.isfinite(x)]
        evals = [float(r.mean()) for r in record.eval_returns or () if r.size]
        rows.append(
            [
                record.step,
                _number(record.get("wall_s")),
                _number(record.get("sps")),
                _number(record.get("epsilon")),
                float(np.mean(loss)) if loss else "",
                int(returns.size),
                float(returns.mean()) if returns.size else "",
                float(returns.min()) if returns.size else "",
                float(returns.max()) if returns.size else "",
                float(np.mean(evals)) if evals else "",
            ]
        )
    return rows


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """``header`` and ``rows`` as CSV at ``path``, atomically (the folder is created)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))


def export_metrics(run_dir: Path, out: Path) -> tuple[Path, int]:
    """Write ``run_dir``'s metrics to ``out``; returns the path and the number of rows."""
    rows = metrics_rows(run_dir)
    return write_csv(out, METRICS_HEADER, rows), len(rows)


def _number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else ""


RESULT_ROWS = ("env", "status", "steps", "seeds", "final return", "best return", "started", "origin")


def compare_table(summaries: Sequence[RunSummary], *, only_differing: bool = True) -> tuple[list[str], list[list[str]]]:
    """The hyperparameters of ``summaries`` side by side: a header (``key`` then each run's name)
    and a row per key. The result rows (status, steps, returns...) come first, always; then the
    hyperparameters, only those whose values differ unless ``only_differing`` is False."""
    from lerax_tui.train.run_summary import started_label

    header = ["key", *(s.name for s in summaries)]
    rows: list[list[str]] = []
    for key in RESULT_ROWS:
        values = [_result_cell(s, key, started_label) for s in summaries]
        if key == "origin" and all(v == "" for v in values):
            continue
        rows.append([key, *values])
    keys = sorted({k for s in summaries for k in s.config})
    for key in keys:
        values = [_cell(s.config.get(key, None), key in s.config) for s in summaries]
        if only_differing and len(set(values)) <= 1:
            continue
        rows.append([key, *values])
    return header, rows


def _result_cell(summary: RunSummary, key: str, started_label: Any) -> str:
    if key == "env":
        return summary.env_id
    if key == "status":
        return str(summary.status)
    if key == "steps":
        total = f"/{summary.total_timesteps:,}" if summary.total_timesteps else ""
        return f"{summary.step:,}{total}"
    if key == "seeds":
        return str(summary.num_seeds)
    if key == "final return":
        return "" if summary.final is None else f"{summary.final:.2f}"
    if key == "best return":
        return "" if summary.best is None else f"{summary.best:.2f}"
    if key == "started":
        return started_label(summary)
    origin = summary.origin or {}
    path = origin.get("path")
    return Path(path).name if isinstance(path, str) else ""


def _cell(value: Any, present: bool) -> str:
    if not present:
        return "(unset)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)[:200]
