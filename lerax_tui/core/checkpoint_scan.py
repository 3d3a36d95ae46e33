"""Listing checkpoints by stat alone (no file is opened): every ``*.eqx`` in a folder, in its
``checkpoints/`` and in its run folders' ``checkpoints/``, as :class:`CheckpointRow`.

A folder that cannot be listed becomes a row of its own with the reason; listing never raises.
Train states (``resume.eqx``) are a property of their run, never listed as policies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lerax_tui.core.verification import Report

PENDING = "pending"
UNREADABLE_FOLDER = "unreadable-folder"
RESUME_STEM = "resume"


@dataclass
class CheckpointRow:
    """One checkpoint file as listed (stat only), and its verification report once verified.

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
    report: Report | None = None
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
        return None if self.report is None else self.report.manifest

    @property
    def status(self) -> str:
        """``verify``'s status; ``"pending"`` before it ran, ``"unreadable-folder"`` for a folder row."""
        if self.listing_problem is not None:
            return UNREADABLE_FOLDER
        return PENDING if self.report is None else self.report.status

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
        return (
            self.report is not None
            and self.report.manifest is None
            and self.report.status
            in (
                "ok",
                "unknown-structure",
                "fingerprint-mismatch",
            )
        )

    @property
    def loadable(self) -> bool:
        """Enter may load it right away (ok and described by its manifest)."""
        return self.report is not None and self.report.ok and self.report.manifest is not None

    @property
    def problems(self) -> list[str]:
        if self.listing_problem is not None:
            return [self.listing_problem]
        return [] if self.report is None else list(self.report.problems)


def scan_folder(base: Path) -> list[CheckpointRow]:
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
        out += _files_in(base, run=base.parent.name, run_dir=base.parent, entries=entries)
    else:
        out += _files_in(base, run=base.name, run_dir=None, entries=entries)
    for sub in sorted(subdirs):
        if sub.name == "checkpoints":
            out += _run_checkpoints(sub, run_dir=base)
        elif (sub / "checkpoints").is_dir():
            out += _run_checkpoints(sub / "checkpoints", run_dir=sub)
    return out


def _run_checkpoints(folder: Path, *, run_dir: Path) -> list[CheckpointRow]:
    entries, problem = _list(folder)
    if problem is not None:
        return [
            CheckpointRow(path=folder, run=run_dir.name, run_dir=run_dir, listing_problem=_describe(folder, problem))
        ]
    return _files_in(folder, run=run_dir.name, run_dir=run_dir, entries=entries)


def _files_in(folder: Path, *, run: str, run_dir: Path | None, entries: list[os.DirEntry]) -> list[CheckpointRow]:
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
