"""Run folders under ``--runs-dir`` and an incremental, tolerant reader of their ``metrics.jsonl``.

A run that another process is still writing grows line by line; :class:`MetricsTail` remembers the
byte offset so each poll reads only what is new, and a torn last line waits for its newline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunFolder:
    path: Path
    env_id: str
    mtime: float

    @property
    def name(self) -> str:
        return self.path.name


def list_run_folders(runs_dir: Path) -> list[RunFolder]:
    """Every folder under ``runs_dir`` holding a ``metrics.jsonl`` or ``config.json``, newest first."""
    found: list[RunFolder] = []
    try:
        children = list(Path(runs_dir).iterdir())
    except OSError:
        return found
    for child in children:
        metrics, config = child / "metrics.jsonl", child / "config.json"
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
        data = json.loads((folder / "config.json").read_text())
        env_id = data.get("env_id") or data.get("env", {}).get("env_id")
        if isinstance(env_id, str):
            return env_id
    except (OSError, ValueError, AttributeError):
        pass
    # Folder names are <ENV_ID>-<YYYYmmdd>-<HHMMSS>-<hex>.
    parts = folder.name.rsplit("-", 3)
    return parts[0] if len(parts) == 4 else folder.name


class MetricsTail:
    """Reads a growing ``metrics.jsonl`` from where it stopped last time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.bad_lines = 0

    def poll(self) -> list[dict[str, Any]]:
        """The complete records written since the last poll (unreadable lines are skipped)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # rewritten from scratch: start over
            self.offset = 0
        if size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return []  # only a torn line so far
        self.offset += end + 1
        records = []
        for line in data[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            if isinstance(record, dict):
                records.append(record)
        return records
