"""Run folders: naming, config.json, append-only metrics.jsonl, and reading past runs back.

Pure Python + NumPy (no JAX): the TUI lists and charts past runs without starting JAX.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerax_tui.core.safe_io import MAX_METRICS_LINE, iter_lines, load_json, open_regular
from lerax_tui.train.records import (
    MetricsRecord,
    RunConfig,
    parse_metrics_line,
    parse_run_config,
)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
RESUME_NAME = "resume"
BEST_NAME = "best"


def checkpoint_name(step: int | None, *, seed: int, num_seeds: int) -> str:
    """``step-000050000`` / ``final`` for one seed; ``seed-K-step-...`` / ``seed-K-final`` for several."""
    base = "final" if step is None else f"step-{int(step):09d}"
    return base if num_seeds == 1 else f"seed-{seed}-{base}"


def best_checkpoint_name(*, seed: int, num_seeds: int) -> str:
    """``best`` for one seed; ``seed-K-best`` for several (the best policy of ``eval_interval``'s
    periodic evaluations, rewritten whenever a seed improves)."""
    return BEST_NAME if num_seeds == 1 else f"seed-{seed}-{BEST_NAME}"


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (a crash leaves at most a torn last line)."""
    line = json.dumps(record, allow_nan=False) + "\n"
    with open(Path(run_dir) / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_metrics(
    run_dir: str | Path, *, max_line: int = MAX_METRICS_LINE, stats: dict | None = None
) -> list[MetricsRecord]:
    """Every chunk record of a run, in order, typed (:class:`~lerax_tui.train.records.MetricsRecord`).

    A torn line (a crash mid-write), a line that is not JSON or has fields of the wrong types, and a
    line over ``max_line`` (:data:`~lerax_tui.core.safe_io.MAX_METRICS_LINE`; never held whole) are skipped and
    counted in ``stats`` (``bad_lines``, ``long_lines``). A missing or non-regular file (a FIFO, a
    folder) gives an empty list.
    """
    stats = {} if stats is None else stats
    out: list[MetricsRecord] = []
    try:
        f = open_regular(Path(run_dir) / METRICS_FILE)
    except OSError:
        return out
    with f:
        for line in iter_lines(f, max_line=max_line, stats=stats):
            if not line.strip():
                continue
            record = parse_metrics_line(line)
            if record is None:
                stats["bad_lines"] = stats.get("bad_lines", 0) + 1
            else:
                out.append(record)
    return out


def read_run_config(run_dir: str | Path) -> RunConfig:
    """The run's ``config.json``, size- and depth-capped and checked (:class:`RunConfig`).

    Raises:
        OSError: no config.json, or it is not a regular file, or over the size cap.
        ValueError: not UTF-8 JSON, nested too deep, or of the wrong shape (names the field).
    """
    return parse_run_config(load_json(Path(run_dir) / CONFIG_FILE))


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json`` as a dict, checked like :func:`read_run_config`.

    Raises:
        FileNotFoundError: If the folder has no config.json.
        OSError: If it is not a regular file or too large.
        ValueError: If it is not valid JSON or not of a run's shape.
    """
    return read_run_config(run_dir).raw


@dataclass(frozen=True)
class RunFolder:
    path: Path
    env_id: str
    mtime: float

    @property
    def name(self) -> str:
        return self.path.name


def list_run_folders(runs_dir: Path) -> list[RunFolder]:
    """Every folder under ``runs_dir`` holding a ``metrics.jsonl`` or ``config.json``, newest first.

    Only ``stat`` calls and one small ``config.json`` read per run: the app polls this every few
    seconds, so it never reads metrics files (see :func:`read_metrics` for those)."""
    found: list[RunFolder] = []
    try:
        children = list(Path(runs_dir).iterdir())
    except OSError:
        return found
    for child in children:
        if child.name.startswith("."):  # a run folder being created (or one a kill left half-built)
            continue
        metrics, config = child / METRICS_FILE, child / CONFIG_FILE
        if not child.is_dir() or not (metrics.exists() or config.exists()):
            continue
        env_id = _env_id_of(child)
        try:
            mtime = max(p.stat().st_mtime for p in (metrics, config, child) if p.exists())
        except OSError:
            continue
        found.append(RunFolder(child, env_id, mtime))
    found.sort(key=lambda r: (r.mtime, r.name), reverse=True)
    return found


def _env_id_of(folder: Path) -> str:
    try:
        return read_run_config(folder).env_id
    except (OSError, ValueError):
        pass
    # Folder names are <ENV_ID>-<YYYYmmdd>-<HHMMSS>-<hex>.
    parts = folder.name.rsplit("-", 3)
    return parts[0] if len(parts) == 4 else folder.name
