"""An incremental, tolerant reader of a run's ``metrics.jsonl`` (run folders: ``train.runs``).

A run that another process is still writing grows line by line; :class:`MetricsTail` remembers the
byte offset so each poll reads only what is new, and a torn last line waits for its newline. Lines
are parsed into typed records (``train.records``); a line that is not JSON, has fields of the wrong
types, or is longer than ``MAX_METRICS_LINE`` is skipped and counted, never held whole.
"""

from __future__ import annotations

from pathlib import Path

from lerax_tui.core.safe_io import MAX_METRICS_LINE, open_regular
from lerax_tui.train.records import MetricsRecord, parse_metrics_line


class MetricsTail:
    """Reads a growing ``metrics.jsonl`` from where it stopped last time.

    Attributes:
        bad_lines: Lines skipped because they were not JSON or had fields of the wrong types.
        long_lines: Lines skipped because they were over ``max_line`` bytes.
    """

    def __init__(self, path: Path, *, max_line: int = MAX_METRICS_LINE) -> None:
        self.path = Path(path)
        self.max_line = max_line
        self.offset = 0
        self.bad_lines = 0
        self.long_lines = 0
        self._skipping = False  # inside a line over the cap: drop bytes up to its newline
        self.size = 0  # the file's size when last polled
        self.restarts = 0  # times the file shrank and was read again from its start

    @property
    def behind(self) -> bool:
        """Whether the file held more than the last poll read (a torn last line counts)."""
        return self.size > self.offset

    def poll(self, max_bytes: int | None = None) -> list[MetricsRecord]:
        """The complete records written since the last poll (unreadable lines are skipped); with
        ``max_bytes``, those of about that many bytes at most (a line is never split: the next poll
        goes on from there, and :attr:`behind` says whether there is more)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        self.size = size
        if size < self.offset:  # rewritten from scratch (or cut by a resume): start over
            self.offset, self._skipping = 0, False
            self.restarts += 1
        if size == self.offset:
            return []
        try:
            f = open_regular(self.path)  # a FIFO or a folder is never opened
        except OSError:
            return []
        records = []
        start = self.offset
        with f:
            f.seek(self.offset)
            while max_bytes is None or self.offset - start < max_bytes:
                line = f.readline(self.max_line + 1)
                if not line:
                    break
                complete = line.endswith(b"\n")
                if self._skipping:
                    self.offset += len(line)
                    if complete:
                        self._skipping = False
                        self.long_lines += 1
                    continue
                if not complete:
                    if len(line) > self.max_line:
                        self._skipping = True
                        self.offset += len(line)
                        continue
                    break  # a torn line: wait for its newline
                self.offset += len(line)
                if not line.strip():
                    continue
                record = parse_metrics_line(line)
                if record is None:
                    self.bad_lines += 1
                else:
                    records.append(record)
        return records
