"""What :func:`~lerax_tui.core.verification.verify` says about a checkpoint file: a status and why.

No JAX: the browser, the CLI and the tests build and read reports without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from lerax_tui.core.manifest import Manifest
from lerax_tui.core.safe_io import NotRegularFile, describe_os_error


class Status(StrEnum):
    """A verification verdict (README "Checkpoint files"). Members equal their strings, which are
    what ``inspect --json`` prints."""

    OK = "ok"
    FINGERPRINT_MISMATCH = "fingerprint-mismatch"
    """The file is intact but is not the structure you asked for."""
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    NOT_A_CHECKPOINT = "not-a-checkpoint"
    MISSING = "missing"
    UNKNOWN_STRUCTURE = "unknown-structure"
    """Intact, but not a policy this app can rebuild (or another kind of file, e.g. a train state)."""


@dataclass
class Report:
    """The result of :func:`~lerax_tui.core.verification.verify`. ``to_json`` gives the
    ``inspect --json`` object.

    Attributes:
        path: The file.
        status: The verdict.
        fingerprint_kind: ``lerax-tui``, ``lerax`` or ``lerax-0.0.5`` once the structure matched.
        fingerprint: The stored 32-byte fingerprint, hex.
        manifest: The manifest entry that describes the file's bytes (see ``core.pairs``).
        problems: Why the status is not ok; notes otherwise.
        env_id: The environment the file was matched to.
        hyperparameters: The policy hyperparameters it was matched with.
        inferred: The env was read off the file's structure (no manifest, no ``--env``).
        file_bytes: The file's size.
    """

    path: str
    status: Status = Status.OK
    fingerprint_kind: str | None = None
    fingerprint: str | None = None
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)
    env_id: str | None = None
    hyperparameters: dict | None = None
    inferred: bool = False
    file_bytes: int | None = None

    def __post_init__(self) -> None:
        self.manifest = Manifest.of(self.manifest)  # a plain dict from a caller gets the typed fields

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def fail(self, status: Status | str, *problems: str) -> Report:
        """Set ``status`` (a :class:`Status` or its string; anything else raises ValueError) and add
        ``problems``."""
        self.status = Status(status)
        self.problems.extend(problems)
        return self

    def summary(self) -> str:
        name = Path(self.path).name
        if self.ok:
            return f"{name}: ok ({describe_kind(self.fingerprint_kind)})"
        return f"{name}: {self.status}" + (": " + "; ".join(self.problems) if self.problems else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": str(self.status),
            "fingerprint_kind": self.fingerprint_kind,
            "fingerprint": self.fingerprint,
            "manifest": self.manifest,
            "problems": list(self.problems),
            "env_id": self.env_id,
            "hyperparameters": self.hyperparameters,
            "inferred": self.inferred,
            "file_bytes": self.file_bytes,
        }


def describe_kind(kind: str | None) -> str:
    """``lerax-tui fingerprint``, ``lerax fingerprint``, or ``lerax 0.0.5 layout, no fingerprint``."""
    if kind == "lerax-0.0.5":
        return "lerax 0.0.5 layout, no fingerprint"
    return f"{kind} fingerprint"


def unreadable(report: Report, path: Path, error: OSError) -> Report:
    """The report for a path that cannot be opened as a regular file."""
    if isinstance(error, NotRegularFile):
        return report.fail(Status.NOT_A_CHECKPOINT, describe_os_error(path, error))
    return report.fail(Status.MISSING, describe_os_error(path, error))
