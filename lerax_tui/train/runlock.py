"""The run folder's ``.lock``: one writer at a time (the app, ``train``, ``train --resume``).

An advisory ``flock`` on ``RUN/.lock``, which holds the writer's pid, host and start time for the
message a second writer gets. The kernel drops the lock when its process ends however it ends
(``kill -9`` included), so a stale ``.lock`` file never blocks anyone: only a held lock does.
The file is removed on release.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import socket
from pathlib import Path

LOCK_FILE = ".lock"
_MAX_LOCK_BYTES = 4096

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, every writer proceeds
    fcntl = None  # type: ignore[assignment]


class RunLocked(RuntimeError):
    """Another process is writing the run folder (the message says which, and what to do)."""


class RunLock:
    """A held lock on a run folder. Use :meth:`acquire`; :meth:`release` is idempotent."""

    def __init__(self, path: Path, fd: int | None):
        self.path, self._fd = path, fd

    @classmethod
    def acquire(cls, folder: str | Path, *, what: str = "train") -> RunLock:
        """Lock ``folder`` for writing, or raise :class:`RunLocked` naming the holder.

        Raises:
            RunLocked: Another process holds the lock.
            OSError: The folder cannot hold a lock file (missing, read-only).
        """
        path = Path(folder) / LOCK_FILE
        if fcntl is None:  # pragma: no cover
            return cls(path, None)
        for _ in range(8):
            fd = os.open(
                path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0), 0o644
            )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = _describe_holder(fd)
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise RunLocked(
                        f"{Path(folder)} is being written by another process ({holder}): wait for it to "
                        "finish or stop it first; two writers would mix their checkpoints and metrics"
                    ) from None
                raise
            # The holder before us may have removed the file after we opened it: lock the file that
            # is at the path now, or two processes could each hold a lock on a different inode.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "command": what,
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
            return cls(path, fd)
        raise RunLocked(f"{Path(folder)}: could not take its lock (it kept changing): try again")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def moved_to(self, folder: Path) -> None:
        """The locked folder was renamed to ``folder`` (the lock itself follows the file)."""
        self.path = Path(folder) / LOCK_FILE

    def release(self) -> None:
        """Remove the lock file and drop the lock (safe to call twice)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it: a waiter then locks a fresh file
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)


def _describe_holder(fd: int) -> str:
    """ "pid 1234 on host gpu-3, since 2026-..." from the lock file (best effort, bounded)."""
    try:
        info = json.loads(os.pread(fd, _MAX_LOCK_BYTES, 0) or b"{}")
    except (OSError, ValueError, RecursionError):
        info = None
    if not isinstance(info, dict):
        return "holder unknown"
    parts = []
    if isinstance(info.get("pid"), int):
        parts.append(f"pid {info['pid']}")
    if isinstance(info.get("host"), str):
        parts.append(f"on {info['host'][:64]}")
    if isinstance(info.get("command"), str):
        parts.append(f"({info['command'][:32]})")
    if isinstance(info.get("since"), str):
        parts.append(f"since {info['since'][:32]}")
    return " ".join(parts) or "holder unknown"
