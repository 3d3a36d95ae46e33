"""Run folders: naming, config.json, append-only metrics.jsonl, and reading past runs back.

Pure Python + NumPy (no JAX): the TUI lists and charts past runs without starting JAX.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
RESUME_NAME = "resume"


def new_run_dir(runs_dir: str | Path, env_id: str, *, now: _dt.datetime | None = None) -> Path:
    """Create ``runs_dir/<ENV_ID>-<YYYYmmdd-HHMMSS>-<6 hex>/`` (and ``checkpoints/``)."""
    now = now or _dt.datetime.now()
    for _ in range(16):
        path = Path(runs_dir) / f"{env_id}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        (path / CHECKPOINTS).mkdir()
        return path
    raise FileExistsError(f"could not create a fresh run folder under {runs_dir}")


def checkpoint_name(step: int | None, *, seed: int, num_seeds: int) -> str:
    """``step-000050000`` / ``final`` for one seed; ``seed-K-step-...`` / ``seed-K-final`` for several."""
    base = "final" if step is None else f"step-{int(step):09d}"
    return base if num_seeds == 1 else f"seed-{seed}-{base}"


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (a crash leaves at most a torn last line)."""
    line = json.dumps(record, allow_nan=False) + "\n"
    with open(Path(run_dir) / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every chunk record of a run, in order. A torn or unreadable line (a crash mid-write) is
    skipped; a missing file gives an empty list."""
    path = Path(run_dir) / METRICS_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json``.

    Raises:
        FileNotFoundError: If the folder has no config.json.
        ValueError: If it is not valid JSON.
    """
    return json.loads((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class RunSummary:
    """One past run, as the run list shows it."""

    run_dir: Path
    env_id: str | None
    started: str | None
    num_seeds: int
    total_steps: int | None
    last_step: int
    final_checkpoint: Path | None
    has_resume: bool


def _summary(path: Path) -> RunSummary | None:
    try:
        config = read_config(path)
    except (OSError, ValueError):
        return None
    dqn = config.get("config") or {}
    metrics = read_metrics(path)
    last_step = int(metrics[-1].get("step", 0)) if metrics else 0
    ckpt = path / CHECKPOINTS
    finals = sorted(ckpt.glob("final.eqx")) or sorted(ckpt.glob("seed-0-final.eqx"))
    return RunSummary(
        run_dir=path,
        env_id=config.get("env_id"),
        started=config.get("started"),
        num_seeds=int(dqn.get("num_seeds", 1) or 1),
        total_steps=dqn.get("total_timesteps"),
        last_step=last_step,
        final_checkpoint=finals[0] if finals else None,
        has_resume=(ckpt / f"{RESUME_NAME}.eqx").is_file(),
    )


def list_runs(runs_dir: str | Path) -> list[RunSummary]:
    """Every run folder (one with a readable config.json) under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    runs = [s for p in root.iterdir() if p.is_dir() and (s := _summary(p)) is not None]
    return sorted(runs, key=lambda r: (r.started or "", r.run_dir.name), reverse=True)
