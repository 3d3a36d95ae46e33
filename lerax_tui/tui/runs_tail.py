"""An incremental, tolerant reader of a run's ``metrics.jsonl`` (run folders: ``train.runs``).

A run that another process is still writing grows line by line; :class:`MetricsTail` remembers the
byte offset so each poll reads only what is new, and a torn last line waits for its newline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
