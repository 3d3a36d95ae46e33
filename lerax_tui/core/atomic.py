"""Atomic file writes, and the clean-up of temporary files a killed writer left behind.

A file is written to a temporary name in its own folder, flushed, fsynced and renamed over the
final name, then the folder is fsynced: under any kill the final name holds the old bytes or the
new ones, never a mix. The temporary name is ``.NAME.tmp-HOST-PID-RANDOM`` (``HOST`` a short tag
of the host name): readers skip every dot-file, and the next write into the folder removes the
temporaries of processes that no longer run on this host (:func:`clean_stale_temps`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Any

# Another host's temporaries (a run folder on a shared file system) are only removed when this old:
# their process cannot be checked from here.
FOREIGN_TEMP_AGE_S = 24 * 3600
_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?:(?P<host>[0-9a-f]{6})-)?(?P<pid>\d{1,10})-(?P<token>[0-9a-f]{8})$")
_cleaned: set[str] = set()  # folders already cleaned by this process


def host_tag() -> str:
    """Six hex digits naming this host in temporary names (stable across processes)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` that only this process uses."""
    return path.with_name(f".{path.name}.tmp-{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of :func:`temp_path`'s names (or the older ``.NAME.tmp-PID-RANDOM``)."""
    return _TEMP.match(name) is not None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (one we may not signal counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def is_stale_temp(name: str, *, mtime: float | None = None, owned: bool = False) -> bool:
    """Whether a temporary file named ``name`` was left by a writer that is gone.

    Args:
        name: The file's name.
        mtime: Its modification time (used for other hosts' temporaries).
        owned: The caller holds the folder's run lock, so no other process writes there: every
            temporary but this process's own is stale.
    """
    m = _TEMP.match(name)
    if m is None:
        return False
    pid, host = int(m["pid"]), m["host"]
    mine = host in (None, host_tag())
    if mine and pid == os.getpid():
        return False  # in flight in this process
    if owned:
        return True
    if mine:
        return not pid_alive(pid)
    return mtime is not None and time.time() - mtime > FOREIGN_TEMP_AGE_S


def clean_stale_temps(folder: str | Path, *, owned: bool = False) -> list[Path]:
    """Remove the temporary files killed writers left in ``folder``; returns what was removed.

    Only plain files (or links) with a temporary name are touched; errors are ignored (a folder we
    cannot list or a file someone else removed first).
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not is_temp_name(entry.name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
            mtime = entry.stat(follow_symlinks=False).st_mtime
            if is_stale_temp(entry.name, mtime=mtime, owned=owned):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _clean_once(folder: Path) -> None:
    key = str(folder.resolve())
    if key not in _cleaned:
        _cleaned.add(key)
        clean_stale_temps(folder)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename.

    A crash at any point leaves either the old file or the new one under ``path``, never a partial
    one. A failure (a full disk) removes the temporary file and raises; a kill may leave it, and
    the next write into the folder removes it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_once(path.parent)
    tmp = temp_path(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode("utf-8"))


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (ignored where folders cannot be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
