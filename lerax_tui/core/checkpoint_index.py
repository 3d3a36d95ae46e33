"""What the checkpoint browser lists: every ``*.eqx`` under the run folders and any extra folder
(:mod:`~lerax_tui.core.checkpoint_scan`), verified file by file with a cache
(:mod:`~lerax_tui.core.report_cache`) so a rescan only re-verifies files that changed, and deleted
with their manifest.

Pure Python (no Textual): the words the browser shows for a row are the TUI's
(``lerax_tui.tui.checkpoint_text``). Listing only stats files; everything that reads a file
goes through :meth:`CheckpointIndex.verify_row`, which the browser calls from a thread worker.
``verify`` decides a file's status from its fingerprint and record headers before any array is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lerax_tui.core.checkpoint import manifest_path
from lerax_tui.core.checkpoint_scan import PENDING, CheckpointRow, resume_file_of, run_dir_of, scan_folder
from lerax_tui.core.report_cache import SHARED, ReportCache, stat_key

if TYPE_CHECKING:
    from lerax_tui.core.verification import Report

__all__ = ["PENDING", "CheckpointIndex", "CheckpointRow", "ScanResult", "resume_file_of", "run_dir_of"]

VerifyFn = Callable[..., "Report"]


@dataclass
class ScanResult:
    rows: list[CheckpointRow] = field(default_factory=list)
    seconds: float = 0.0


class CheckpointIndex:
    """Lists checkpoints and verifies them with a cache keyed by path, size and mtime.

    Args:
        runs_dir: The folder of run folders (``<run>/checkpoints/*.eqx``).
        folders: Extra folders whose ``*.eqx`` files are listed (and their run folders, if any).
        verify_fn: ``verify(path, *, env_id=None, overrides=None) -> Report``; injectable for tests
            (an injected function gets a cache of its own; the real one shares the process's cache).
        clock: ``time.time`` by default; tests fix it so ages are stable.
    """

    def __init__(
        self,
        runs_dir: str | Path | None,
        folders: Iterable[str | Path] = (),
        *,
        verify_fn: VerifyFn | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.folders: list[Path] = []
        for f in folders:
            self.add_folder(f)
        self._verify_fn = verify_fn
        self.clock = clock
        self.cache = SHARED if verify_fn is None else ReportCache()
        self.cache_hits = 0
        self.cache_misses = 0

    # --- listing ----------------------------------------------------------------------------

    def add_folder(self, folder: str | Path) -> Path:
        folder = Path(folder).expanduser()
        if folder not in self.folders:
            self.folders.append(folder)
        return folder

    def scan(self) -> ScanResult:
        """Stat-only listing (no file is opened): run folders first, then each extra folder; rows of
        files verified before (unchanged since) come with their report.

        A folder that cannot be listed becomes a row of its own with the reason; it never raises.
        """
        t0 = time.perf_counter()
        rows: list[CheckpointRow] = []
        seen: set[str] = set()
        bases = ([self.runs_dir] if self.runs_dir is not None else []) + self.folders
        for base in bases:
            for row in scan_folder(base):
                ident = row.key
                if len(bases) > 1:  # the same file reached through two folders: once
                    try:
                        ident = str(row.path.resolve())
                    except OSError:
                        pass
                if ident not in seen:
                    seen.add(ident)
                    if row.listing_problem is None:
                        row.report = self.cache.get(stat_key(row.path))
                    rows.append(row)
        return ScanResult(rows, time.perf_counter() - t0)

    # --- verification -----------------------------------------------------------------------

    @property
    def verify_fn(self) -> VerifyFn:
        if self._verify_fn is None:
            from lerax_tui.core.verification import verify

            self._verify_fn = verify
        return self._verify_fn

    def own_report(self, row: CheckpointRow) -> Report | None:
        """The file's report against its own description (cached), whatever the row shows now."""
        return self.cache.get(stat_key(row.path))

    def verify_row(
        self, row: CheckpointRow, *, env_id: str | None = None, overrides: dict | None = None
    ) -> Report | None:
        """Verify one row's file (cached unless ``env_id``/``overrides`` are given); sets ``row.report``.

        Never raises for a bad file: every problem is a status in the report. ``None`` for a row
        that stands for a folder that could not be listed.
        """
        if row.listing_problem is not None:
            return None
        requested = env_id is not None or bool(overrides)
        key = stat_key(row.path)
        if not requested:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                row.report, row.requested = hit, None
                return hit
        self.cache_misses += 1
        try:
            report = self.verify_fn(row.path, env_id=env_id, overrides=overrides)
        except Exception as e:  # a bug or an unexpected OS error: still a row, never a traceback
            from lerax_tui.core.verification import Report

            report = Report(path=str(row.path)).fail("corrupt", f"verification failed: {type(e).__name__}: {e}")
        if requested:
            row.requested = (env_id or "", dict(overrides or {}))
        else:
            row.requested = None
            if report.status != "missing":
                self.cache.put(key, report)
        row.report = report
        return report

    def forget(self, path: Path) -> None:
        self.cache.forget(path)

    # --- deleting ---------------------------------------------------------------------------

    def delete(self, row: CheckpointRow) -> list[Path]:
        """Delete the ``.eqx`` and its ``.json`` manifest; returns what was removed.

        Raises:
            OSError: when a file exists but cannot be removed (e.g. permission denied).
        """
        removed = []
        for p in (row.path, manifest_path(row.path)):
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass
        self.forget(row.path)
        return removed
