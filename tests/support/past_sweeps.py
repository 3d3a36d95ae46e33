"""Sweep folders beside plain runs, for the Runs tab: one finished sweep the fake sweep trainer wrote
(no JAX) and one whose ``sweep.json`` is damaged but whose members are intact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lerax_tui.train.config import preset
from lerax_tui.train.sweep_spec import build_spec
from support.fake_sweep import FakeSweepTrainer

SWEEP = "sweep-CartPole-v1-20261124-140000-5eeb01"
DAMAGED = "sweep-CartPole-v1-20261124-141500-bad0bad"
RATES = (1e-3, 3e-3, 1e-2)


def make_sweep(runs_dir: Path, name: str = SWEEP, *, mtime: float | None = None) -> Path:
    """A finished sweep of three learning rates x 2 seeds (``RATES``) at ``runs_dir/name``."""
    base = preset("CartPole-v1").replace(total_timesteps=4_000, eval_interval=2_000)
    spec = build_spec(base, grid={"learning_rate": list(RATES)}, seeds=2)
    FakeSweepTrainer("CartPole-v1", spec, runs_dir, lambda e: None, name=name).run()
    folder = runs_dir / name
    if mtime is not None:
        os.utime(folder / "sweep.json", (mtime, mtime))
    return folder


def make_damaged_sweep(runs_dir: Path, *, mtime: float | None = None) -> Path:
    """A copy of a sweep whose ``sweep.json`` names a folder outside it (refused by the reader)."""
    good = make_sweep(runs_dir / ".scratch", name=DAMAGED)
    folder = runs_dir / DAMAGED
    shutil.move(good, folder)
    shutil.rmtree(runs_dir / ".scratch")
    text = (folder / "sweep.json").read_text().replace('"run_dir": "config-001"', '"run_dir": "../elsewhere"')
    (folder / "sweep.json").write_text(text)
    if mtime is not None:
        os.utime(folder / "sweep.json", (mtime, mtime))
    return folder
