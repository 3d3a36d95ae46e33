"""Checks of command-line values that need no JAX: paths, seeds, episode counts.

Each check returns ``None`` when the value is usable, or one line saying what is wrong and what to do;
the CLI prints it and exits 2 (bad usage or bad input) before anything is imported or written.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from lerax_tui.core.safe_io import describe_mode
from lerax_tui.core.safe_io import short_path as short  # noqa: F401 (one-line messages)

SEED_MAX = 2**31 - 1
"""Seeds are 0 to 2**31 - 1, as ``DQNConfig.seed``."""
MAX_EVAL_EPISODES = 100_000
"""``eval --episodes`` cap, as ``DQNConfig.eval_episodes`` (episodes run in batches: memory stays flat)."""
_RUN_FOLDER_NAME_MAX = 64
"""A run folder is ``<ENV_ID>-<YYYYmmdd-HHMMSS>-<6 hex>``: room kept under the runs folder for it."""


def int_problem(flag: str, value: int | None, lo: int, hi: int) -> str | None:
    """``"--seed: 9223372036854775808 is out of range (allowed 0 to 2147483647)"`` or None."""
    if value is None or lo <= value <= hi:
        return None
    shown = str(value) if len(str(value)) <= 24 else f"{str(value)[:20]}..."
    return f"{flag}: {shown} is out of range (allowed {lo:,} to {hi:,})"


def _first_existing(path: Path) -> tuple[Path, list[str]]:
    """The deepest existing ancestor of ``path`` (or ``path``), and the parts below it."""
    missing: list[str] = []
    current = path
    while True:
        try:
            os.stat(current)
            return current, missing
        except (FileNotFoundError, NotADirectoryError):  # below a file: report that file
            if current.parent == current:
                return current, missing
            missing.insert(0, current.name)
            current = current.parent


def runs_dir_problem(path: Path, *, writing: bool) -> str | None:
    """Why ``path`` cannot be the runs folder, or None.

    Args:
        path: ``--runs-dir``.
        writing: Training will create a run folder in it (``train``): it must then be creatable and
            writable, with room for a run folder's name. The app only needs it to be a folder or
            absent (it is created when training starts; a read-only one can still be browsed).
    """
    text = short(path)
    if not str(path).strip():
        return "--runs-dir: the path is empty (use . for the current folder)"
    try:
        existing, missing = _first_existing(path.absolute())
        st = os.stat(existing)
    except OSError as e:
        return f"--runs-dir {text}: {_os_reason(e)}"
    if not stat.S_ISDIR(st.st_mode):
        where = "is" if not missing else f"is below {short(existing)}, which is"
        return f"--runs-dir {text} {where} {describe_mode(st.st_mode).replace('not a regular file', 'not a folder')}: pass a folder"
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    too_long = [part for part in missing if len(os.fsencode(part)) > name_max]
    if too_long:
        return f"--runs-dir {text}: a folder name of {len(too_long[0])} characters is longer than the file system allows ({name_max})"
    if writing:
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"--runs-dir {text}: {short(existing)} is not writable: pass a folder you can write to"
        if len(os.fsencode(str(path.absolute()))) + _RUN_FOLDER_NAME_MAX + 40 > 4096:
            return f"--runs-dir {text}: the path is too long to hold run folders"
    return None


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    if error.errno == errno.ELOOP:
        return "a symbolic link loop"
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or str(error)


def file_problem(path: Path, *, what: str = "checkpoint") -> str | None:
    """Why ``path`` cannot be read as a file (missing, a folder, a FIFO or device, unreadable),
    or None when it is a regular, readable file. Nothing is opened."""
    shown = short(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{shown} does not exist"
    except NotADirectoryError:
        return f"{shown} does not exist (a part of the path is a file, not a folder)"
    except OSError as e:
        return f"{shown}: {_os_reason(e)}"
    if stat.S_ISDIR(st.st_mode):
        hint = (
            f" (a run folder: pass e.g. {path / 'checkpoints' / 'final.eqx'})"
            if (path / "checkpoints").is_dir()
            else ""
        )
        return f"{shown} is a folder, not a {what} file{hint}"
    if not stat.S_ISREG(st.st_mode):
        return f"{shown} is {describe_mode(st.st_mode)}, not a {what} file"
    if not os.access(path, os.R_OK):
        return f"{shown} cannot be read: permission denied"
    return None


def checkpoints_dir_problem(path: Path) -> str | None:
    """``--checkpoints``: an existing folder, or a single ``.eqx`` file."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"--checkpoints {short(path)}: {'does not exist' if isinstance(e, FileNotFoundError) else _os_reason(e)}"
    if stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and path.suffix == ".eqx"):
        return None
    return f"--checkpoints {short(path)} is {describe_mode(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file, not a .eqx checkpoint'}: pass a folder of checkpoints"
