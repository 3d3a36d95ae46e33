"""What the checkpoint browser lists: every ``*.eqx`` under the run folders and any extra folder, with a
verification cache so a rescan only re-verifies files that changed.

Pure Python (no Textual). Listing only stats files; everything that reads a file goes through
:meth:`CheckpointIndex.verify_row`, which the browser calls from a thread worker, file by file.
``verify`` decides a file's status from its fingerprint and record headers before any array is read,
so a mismatching file's arrays are never read.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from lerax_tui.core.checkpoint import manifest_path

PENDING = "pending"

# Status (verify's word) -> the browser's label. "ok" depends on the fingerprint and manifest.
STATUS_LABELS = {
    PENDING: "verifying…",
    "fingerprint-mismatch": "fingerprint mismatch",
    "corrupt": "corrupt",
    "truncated": "truncated",
    "not-a-checkpoint": "not a checkpoint",
    "missing": "missing",
    "unknown-structure": "unknown structure",
    "unreadable-folder": "folder not readable",
}

# Train-state files: listed as a property of their run ("resume" column), never as policies.
RESUME_STEM = "resume"

VerifyFn = Callable[..., Any]


def status_label(report: Any | None) -> str:
    """The browser's status text for a verification report (``None``: not verified yet)."""
    if report is None:
        return STATUS_LABELS[PENDING]
    if report.status == "ok":
        if report.fingerprint_kind == "lerax":
            return "ok (lerax file)"
        if report.fingerprint_kind == "lerax-0.0.5":
            return "ok (lerax 0.0.5 file)"
        if report.manifest is None:
            return "no manifest"
        return "ok (lerax-tui fingerprint)"
    if report.status == "unknown-structure" and report.manifest is None:
        return "no manifest"
    if report.status == "missing" and any("permission denied" in p for p in report.problems):
        return "not readable"
    return STATUS_LABELS.get(report.status, report.status)


def format_size(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def format_age(seconds: float | None) -> str:
    """``"42s"``, ``"5m"``, ``"3h"``, ``"12d"``; clock skew (a file from the future) shows ``"0s"``."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    for unit, scale in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= scale:
            return f"{s // scale}{unit}"
    return f"{s}s"


def format_return(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "—"
    return f"{x:.1f}" if x == x else "—"


@dataclass
class CheckpointRow:
    """One line of the browser.

    Attributes:
        path: The ``.eqx`` file (for a folder that cannot be listed: the folder).
        run: The run folder's name, or the extra folder's name for loose files.
        run_dir: The run folder (``None`` for loose files).
        size: File size in bytes at listing time.
        mtime: Modification time (seconds since the epoch) at listing time.
        has_resume: The run folder holds ``checkpoints/resume.eqx`` (exact resume possible).
        report: The verification report, once verified.
        requested: ``(env_id, overrides)`` the current report was verified against, when the user
            gave them (a file without a manifest); ``None`` for the file's own description.
        listing_problem: Set for a folder that could not be listed (the row stands for the folder).
    """

    path: Path
    run: str
    run_dir: Path | None = None
    size: int | None = None
    mtime: float | None = None
    has_resume: bool = False
    report: Any | None = None
    requested: tuple[str, dict] | None = None
    listing_problem: str | None = None

    @property
    def key(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.stem if self.listing_problem is None else self.path.name + "/"

    @property
    def manifest(self) -> dict | None:
        return getattr(self.report, "manifest", None)

    @property
    def status(self) -> str:
        if self.listing_problem is not None:
            return "unreadable-folder"
        return PENDING if self.report is None else self.report.status

    @property
    def label(self) -> str:
        if self.listing_problem is not None:
            return STATUS_LABELS["unreadable-folder"]
        return status_label(self.report)

    @property
    def env(self) -> str:
        if self.report is None:
            return "…" if self.listing_problem is None else "—"
        m = self.report.manifest
        if m and m.get("env_id"):
            return str(m["env_id"])
        if self.report.env_id:
            return f"{self.report.env_id}?" if self.report.inferred else str(self.report.env_id)
        return "—"

    @property
    def step(self) -> int | None:
        m = self.manifest
        s = m.get("step") if m else None
        return s if isinstance(s, int) else None

    @property
    def recent_return(self) -> float | None:
        m = self.manifest
        r = m.get("recent_return") if m else None
        return float(r) if isinstance(r, (int, float)) else None

    @property
    def needs_parameters(self) -> bool:
        """No manifest: loading asks for the env and hyperparameters first."""
        return self.report is not None and self.report.manifest is None and self.report.status in (
            "ok",
            "unknown-structure",
            "fingerprint-mismatch",
        )

    @property
    def loadable(self) -> bool:
        """Enter may load it right away (ok and described by its manifest)."""
        return self.report is not None and self.report.ok and self.report.manifest is not None

    @property
    def problems(self) -> list[str]:
        if self.listing_problem is not None:
            return [self.listing_problem]
        return list(getattr(self.report, "problems", []) or [])

    def cells(self, now: float) -> tuple[str, ...]:
        """name, run, env, step, recent return, size, age, status: the browser's columns."""
        return (
            self.name,
            self.run,
            self.env,
            "—" if self.step is None else f"{self.step:,}",
            format_return(self.recent_return),
            format_size(self.size),
            format_age(None if self.mtime is None else now - self.mtime),
            self.label,
        )

    def matches(self, text: str) -> bool:
        """Case-insensitive substring match on name, run, env and status (the ``/`` filter)."""
        if not text:
            return True
        hay = " ".join((self.name, self.run, self.env, self.label, str(self.path))).lower()
        return all(word in hay for word in text.lower().split())


def _is_listed(entry: os.DirEntry) -> bool:
    name = entry.name
    return (
        name.endswith(".eqx")
        and not name.startswith(".")  # atomic-write temporaries are ".NAME.tmp-*"
        and ".tmp-" not in name
        and not _is_resume(name)
    )


def _is_resume(name: str) -> bool:
    """``resume.eqx`` (or ``seed-K-resume.eqx``): a train state, not a policy."""
    stem = name[: -len(".eqx")] if name.endswith(".eqx") else None
    return stem is not None and (stem == RESUME_STEM or stem.endswith("-" + RESUME_STEM))


def _stat_key(path: Path) -> tuple:
    """(size, mtime_ns) of the file and of its manifest: a change to either re-verifies."""
    out: list[Any] = []
    for p in (path, manifest_path(path)):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [None, None]
    return tuple(out)


# Reports of the real ``verify`` shared by every index in the process: reopening the browser does not
# re-verify files whose size and mtime (and their manifest's) have not changed.
_SHARED_CACHE: dict[tuple, Any] = {}
_SHARED_LOCK = threading.Lock()


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
        if verify_fn is None:
            self._cache, self._lock = _SHARED_CACHE, _SHARED_LOCK
        else:
            self._cache, self._lock = {}, threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # --- listing ----------------------------------------------------------------------------

    def add_folder(self, folder: str | Path) -> Path:
        folder = Path(folder).expanduser()
        if folder not in self.folders:
            self.folders.append(folder)
        return folder

    def scan(self) -> ScanResult:
        """Stat-only listing (no file is opened): run folders first, then each extra folder.

        A folder that cannot be listed becomes a row of its own with the reason; it never raises.
        """
        t0 = time.perf_counter()
        rows: list[CheckpointRow] = []
        seen: set[str] = set()

        bases = ([self.runs_dir] if self.runs_dir is not None else []) + self.folders

        def add(row: CheckpointRow) -> None:
            ident = row.key
            if len(bases) > 1:  # the same file reached through two folders: once
                try:
                    ident = str(row.path.resolve())
                except OSError:
                    pass
            if ident not in seen:
                seen.add(ident)
                rows.append(row)

        for base in bases:
            for row in self._scan_base(base):
                add(row)
        rows_cached = [self._attach_cached(r) for r in rows]
        return ScanResult(rows_cached, time.perf_counter() - t0)

    def _scan_base(self, base: Path) -> list[CheckpointRow]:
        """Loose ``*.eqx`` in ``base``; ``base/checkpoints``; and ``base/<run>/checkpoints``. A ``.eqx``
        file given instead of a folder is listed on its own."""
        out: list[CheckpointRow] = []
        if base.suffix == ".eqx" and base.is_file():
            run_dir = run_dir_of(base)
            st = base.stat()
            return [
                CheckpointRow(
                    path=base,
                    run=run_dir.name if run_dir else base.parent.name,
                    run_dir=run_dir,
                    size=st.st_size,
                    mtime=st.st_mtime,
                    has_resume=resume_file_of(base) is not None,
                )
            ]
        entries, problem = _list(base)
        if problem is not None:
            if base.exists() or isinstance(problem, PermissionError):
                out.append(CheckpointRow(path=base, run=base.name, listing_problem=_describe(base, problem)))
            return out
        subdirs = []
        for e in entries:
            try:
                if e.is_dir():
                    subdirs.append(Path(e.path))
            except OSError:
                continue
        if base.name == "checkpoints":
            out += self._files_in(base, run=base.parent.name, run_dir=base.parent, entries=entries)
        else:
            out += self._files_in(base, run=base.name, run_dir=None, entries=entries)
        for sub in sorted(subdirs):
            if sub.name == "checkpoints":
                out += self._run_checkpoints(sub, run_dir=base)
            elif (sub / "checkpoints").is_dir():
                out += self._run_checkpoints(sub / "checkpoints", run_dir=sub)
        return out

    def _run_checkpoints(self, folder: Path, *, run_dir: Path) -> list[CheckpointRow]:
        entries, problem = _list(folder)
        if problem is not None:
            return [CheckpointRow(path=folder, run=run_dir.name, run_dir=run_dir, listing_problem=_describe(folder, problem))]
        return self._files_in(folder, run=run_dir.name, run_dir=run_dir, entries=entries)

    def _files_in(self, folder: Path, *, run: str, run_dir: Path | None, entries: list[os.DirEntry]) -> list[CheckpointRow]:
        has_resume = any(_is_resume(e.name) for e in entries)
        rows = []
        for e in sorted(entries, key=lambda e: e.name):
            if not _is_listed(e):
                continue
            try:
                st = e.stat()
            except OSError:  # vanished since the listing: verify will say "missing"
                st = None
            rows.append(
                CheckpointRow(
                    path=Path(e.path),
                    run=run,
                    run_dir=run_dir,
                    size=st.st_size if st else None,
                    mtime=st.st_mtime if st else None,
                    has_resume=has_resume,
                )
            )
        return rows

    # --- verification -----------------------------------------------------------------------

    @property
    def verify_fn(self) -> VerifyFn:
        if self._verify_fn is None:
            from lerax_tui.core.verification import verify

            self._verify_fn = verify
        return self._verify_fn

    def _attach_cached(self, row: CheckpointRow) -> CheckpointRow:
        if row.listing_problem is None:
            with self._lock:
                row.report = self._cache.get((row.key, *_stat_key(row.path)))
        return row

    def own_report(self, row: CheckpointRow) -> Any | None:
        """The file's report against its own description (cached), whatever the row shows now."""
        with self._lock:
            return self._cache.get((row.key, *_stat_key(row.path)))

    def verify_row(self, row: CheckpointRow, *, env_id: str | None = None, overrides: dict | None = None) -> Any:
        """Verify one row's file (cached unless ``env_id``/``overrides`` are given); sets ``row.report``.

        Never raises for a bad file: every problem is a status in the report.
        """
        if row.listing_problem is not None:
            return None
        requested = env_id is not None or bool(overrides)
        key = (row.key, *_stat_key(row.path))
        if not requested:
            with self._lock:
                hit = self._cache.get(key)
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
                with self._lock:
                    self._cache[key] = report
        row.report = report
        return report

    def forget(self, path: Path) -> None:
        with self._lock:
            for k in [k for k in self._cache if k[0] == str(path)]:
                del self._cache[k]

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


def _list(folder: Path) -> tuple[list[os.DirEntry], OSError | None]:
    try:
        with os.scandir(folder) as it:
            return list(it), None
    except OSError as e:
        return [], e


def _describe(folder: Path, error: OSError) -> str:
    if isinstance(error, PermissionError):
        return f"{folder}: permission denied, the folder cannot be listed (check its permissions)"
    if isinstance(error, FileNotFoundError):
        return f"{folder}: no such folder"
    if isinstance(error, NotADirectoryError):
        return f"{folder}: not a folder"
    return f"{folder}: cannot be listed ({error.strerror or error})"


def run_dir_of(path: Path) -> Path | None:
    """The run folder of a checkpoint in ``<run>/checkpoints/``, else None."""
    path = Path(path)
    return path.parent.parent if path.parent.name == "checkpoints" else None


def resume_file_of(path: Path) -> Path | None:
    """The run's ``resume.eqx`` when it exists beside ``path`` (exact resume), else None."""
    candidate = Path(path).with_name(RESUME_STEM + ".eqx")
    return candidate if candidate.is_file() else None
