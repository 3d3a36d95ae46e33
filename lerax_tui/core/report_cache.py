"""Verification reports cached by file identity: a rescan only re-verifies files that changed.

A file's key is its path with the size and modification time of the file and of its manifest, so
rewriting either one re-verifies it. The real ``verify``'s reports are shared by every index in the
process (reopening the browser verifies nothing that did not change); an injected verifier (tests)
gets a cache of its own.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from lerax_tui.core.checkpoint import manifest_path

if TYPE_CHECKING:
    from lerax_tui.core.verification import Report

StatKey = tuple[str, int | None, int | None, int | None, int | None]


def stat_key(path: Path) -> StatKey:
    """(path, size, mtime_ns) of the file and (size, mtime_ns) of its manifest: a change to either
    re-verifies."""
    out: list[int | None] = []
    for p in (path, manifest_path(path)):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [None, None]
    return (str(path), out[0], out[1], out[2], out[3])


class ReportCache:
    """A thread-safe map from :func:`stat_key` to a report (the browser verifies in a worker thread)."""

    def __init__(self) -> None:
        self._reports: dict[StatKey, Report] = {}
        self._lock = threading.Lock()

    def get(self, key: StatKey) -> Report | None:
        with self._lock:
            return self._reports.get(key)

    def put(self, key: StatKey, report: Report) -> None:
        with self._lock:
            self._reports[key] = report

    def forget(self, path: Path) -> None:
        """Drop every report of ``path`` (whatever its size and time were)."""
        with self._lock:
            for key in [k for k in self._reports if k[0] == str(path)]:
                del self._reports[key]

    def clear(self) -> None:
        with self._lock:
            self._reports.clear()


SHARED = ReportCache()
"""The real ``verify``'s reports, shared by every index in the process."""
