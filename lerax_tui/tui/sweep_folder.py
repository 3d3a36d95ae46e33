"""Sweep folders on disk: finding them under the runs folder and reading one back whole (its
``sweep.json`` and every member's ``metrics.jsonl``) into a :class:`~lerax_tui.tui.sweep_run.SweepRun`.

No Textual here (the app calls :func:`load_sweep` from a thread worker; the sweep screen keeps it current)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lerax_tui.train.config import ConfigError, DQNConfig
from lerax_tui.train.sweep_record import SWEEP_FILE, read_sweep
from lerax_tui.tui.sweep_follow import SweepFollower, stamp_of
from lerax_tui.tui.sweep_run import SweepRun

MAX_LISTED = 500
"""Sweep folders listed at most (newest first)."""


class SweepOpenError(ValueError):
    """A sweep folder that cannot be shown; the message says why in one line."""


@dataclass(frozen=True)
class SweepFolder:
    path: Path
    mtime: float

    @property
    def name(self) -> str:
        return self.path.name


def list_sweep_folders(runs_dir: Path) -> list[SweepFolder]:
    """The folders directly under ``runs_dir`` that hold a ``sweep.json`` (of any kind), newest first."""
    found: list[SweepFolder] = []
    try:
        entries = list(Path(runs_dir).iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            index = entry / SWEEP_FILE
            # any sweep.json, even one that is not a regular file: listed, and refused with a reason when read
            if entry.is_dir() and not entry.name.startswith(".") and os.path.lexists(index):
                found.append(SweepFolder(entry, index.lstat().st_mtime))
        except OSError:
            continue
    found.sort(key=lambda f: (-f.mtime, f.name))
    return found[:MAX_LISTED]


def load_sweep(folder: Path) -> SweepFollower:
    """A sweep folder read back: statuses and results from ``sweep.json``, each member's curve and
    evaluations from its ``metrics.jsonl`` (a missing or torn file gives what it holds), in a
    :class:`~lerax_tui.tui.sweep_follow.SweepFollower` that keeps reading them while another
    process still writes the sweep.

    Raises:
        SweepOpenError: no readable ``sweep.json``, or one of the wrong shape (naming the field).
    """
    folder = Path(folder)
    stamp = stamp_of(folder / SWEEP_FILE)
    try:
        record = read_sweep(folder)
        base = DQNConfig.from_dict(dict(record.base))
    except OSError as error:
        raise SweepOpenError(f"{folder / SWEEP_FILE}: cannot read ({error.strerror or error})") from None
    except (ValueError, ConfigError) as error:  # SweepFileError is a ValueError
        raise SweepOpenError(f"{folder / SWEEP_FILE}: {error}") from None
    follower = SweepFollower(SweepRun.from_record(record, folder), base, folder, stamp)
    follower.catch_up()
    return follower
