"""Bounded readers for every file the app and the CLI read from disk.

Anything on disk may be hostile: a FIFO (opening or reading it blocks forever), a device
(``/dev/zero`` never ends), a folder, a sparse file of a terabyte, a manifest of 200 MB, JSON nested
100,000 deep (``RecursionError``), a line of 100 MB in ``metrics.jsonl``. These helpers refuse all
of that before reading, with an error that says what the path is and what to do:

* :func:`check_regular` / :func:`open_regular`: only regular files are opened, and opening never
  blocks (``O_NONBLOCK``), so a FIFO swapped in after the check cannot hang us either.
* :func:`read_bytes` / :func:`load_json`: size caps checked with ``fstat`` before reading, and a
  depth cap on JSON.
* :func:`iter_lines`: a JSON-lines reader that skips (and counts) lines over a cap without holding
  them in memory.
* :class:`FileView`: bytes-like random access (``len``, slices) that reads only the slices asked
  for, so a checkpoint's headers are checked against its size before its payload is read.

Pure Python: no JAX, no NumPy.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

# Caps (README "Limits"). Real files are far below them: a manifest is ~4 kB, a config.json ~1.5 kB,
# a metrics line at most ~6 MB (131,072 episodes per chunk, see train/runner.py MAX_REPORT_ENTRIES).
MAX_JSON_BYTES = 1 << 20
"""config.json, checkpoint manifests, keymaps: 1 MiB."""
MAX_JSON_DEPTH = 64
"""Nesting of any JSON we read (ours never goes past 6)."""
MAX_METRICS_LINE = 16 << 20
"""A metrics.jsonl line longer than 16 MiB is skipped, never held whole."""
_CHUNK = 1 << 20
_SKIP_CHUNK = 1 << 18


class NotRegularFile(OSError):
    """The path exists but is not a regular file (a folder, a FIFO, a device, a socket)."""

    def __str__(self) -> str:
        return f"{short_path(self.filename)} is {self.strerror}"


class FileTooLarge(OSError):
    """The file is larger than the cap for what it should be."""

    def __str__(self) -> str:
        return f"{short_path(self.filename)} is too large: {self.strerror}"


class JsonTooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH`."""


def describe_mode(mode: int) -> str:
    """``"a folder"``, ``"a FIFO"``, ``"a character device"``... for a ``st_mode``."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def format_bytes(n: int) -> str:
    """``"1.0 GiB"``, ``"200.0 MiB"``, ``"512 B"``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def check_regular(path: str | Path, *, max_bytes: int | None = None) -> os.stat_result:
    """``stat`` ``path`` (following links) and refuse anything but a regular file.

    Raises:
        FileNotFoundError: nothing there (or a dangling link).
        NotRegularFile: a folder, FIFO, device or socket.
        FileTooLarge: larger than ``max_bytes``.
        OSError: anything else ``stat`` says (permission, a link loop, a name too long).
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(errno.EINVAL, f"{describe_mode(st.st_mode)}, not a file", str(path))
    if max_bytes is not None and st.st_size > max_bytes:
        raise FileTooLarge(
            errno.EFBIG, f"{format_bytes(st.st_size)}, over the {format_bytes(max_bytes)} cap", str(path)
        )
    return st


def open_regular(path: str | Path, *, max_bytes: int | None = None) -> BinaryIO:
    """Open a regular file for reading, refusing anything else before a byte is read.

    The path is checked with ``stat`` first (a device is never opened), then opened with
    ``O_NONBLOCK`` and checked again with ``fstat`` (a FIFO put there in between cannot block).

    Raises:
        The errors of :func:`check_regular`.
    """
    check_regular(path, max_bytes=max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, f"{describe_mode(st.st_mode)}, not a file", str(path))
        if max_bytes is not None and st.st_size > max_bytes:
            raise FileTooLarge(
                errno.EFBIG, f"{format_bytes(st.st_size)}, over the {format_bytes(max_bytes)} cap", str(path)
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: reads never block anyway
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, max_bytes: int) -> bytes:
    """The whole file, refused before reading when it is over ``max_bytes`` (and if it grows past
    the cap while being read)."""
    with open_regular(path, max_bytes=max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(errno.EFBIG, f"grew past the {format_bytes(max_bytes)} cap while being read", str(path))
    return data


def read_text(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> str:
    """:func:`read_bytes` decoded as UTF-8 (``UnicodeDecodeError`` is a ``ValueError``)."""
    return read_bytes(path, max_bytes).decode("utf-8")


def json_depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests lists/dicts deeper than ``max_depth`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def loads_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that turns deep nesting into :class:`JsonTooDeep` (a ``ValueError``).

    Raises:
        ValueError: invalid JSON (``json.JSONDecodeError``), deep nesting (:class:`JsonTooDeep`),
            or an integer too long to convert.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels") from None
    if json_depth_exceeds(value, max_depth):
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    return value


def load_json(path: str | Path, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file with a size and a depth cap.

    Raises:
        OSError: missing, not a regular file, too large, unreadable (see :func:`check_regular`).
        ValueError: not UTF-8, not JSON, or nested too deep.
    """
    return loads_json(read_bytes(path, max_bytes), max_depth=max_depth)


def iter_lines(f: BinaryIO, *, max_line: int = MAX_METRICS_LINE, stats: dict | None = None) -> Iterator[bytes]:
    """Complete lines of ``f`` (without the newline), skipping any longer than ``max_line``.

    A line over the cap is read through in pieces and dropped, so memory stays within a few times
    ``max_line`` whatever the file holds; ``stats["long_lines"]`` counts them. A last line without its newline
    is yielded too (callers that tail a growing file handle torn lines themselves).
    """
    while True:
        line = f.readline(max_line + 1)
        if not line:
            return
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:  # drop the rest of this line, a small piece at a time
                rest = f.readline(_SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            if stats is not None:
                stats["long_lines"] = stats.get("long_lines", 0) + 1
            continue
        yield line.rstrip(b"\r\n")


class FileView:
    """Read-only, bytes-like access to an open regular file: ``len(view)`` is its size and
    ``view[a:b]`` reads just those bytes. Code written for ``bytes`` (header walks, digests of
    slices) runs unchanged on it, so nothing reads more of a file than it looks at.

    Args:
        f: A file opened with :func:`open_regular` (the view does not close it).
    """

    def __init__(self, f: BinaryIO):
        self._f = f
        self._fd = f.fileno()
        self.size = os.fstat(self._fd).st_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("FileView supports contiguous slices only")
        start, stop, _ = key.indices(self.size)
        if stop <= start:
            return b""
        return os.pread(self._fd, stop - start, start)

    def sha256(self, start: int = 0) -> str:
        """Hex sha256 of the bytes from ``start`` to the end, read in 1 MiB chunks."""
        h = hashlib.sha256()
        pos = start
        while pos < self.size:
            chunk = os.pread(self._fd, min(_CHUNK, self.size - pos), pos)
            if not chunk:
                break
            h.update(chunk)
            pos += len(chunk)
        return h.hexdigest()

    def read_all(self) -> bytes:
        """Every byte (call only once the size has been checked against what it should hold)."""
        return self[0 : self.size]


def sha256_from(data: Any, start: int = 0) -> str:
    """Hex sha256 of ``data[start:]`` for ``bytes`` or a :class:`FileView` (streamed)."""
    if isinstance(data, FileView):
        return data.sha256(start)
    return hashlib.sha256(memoryview(data)[start:]).hexdigest()


def short_path(path: object, limit: int = 80) -> str:
    """A path for a one-line message: a long one keeps its start and its end."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2 - 2]}...{text[-(limit // 2 - 1) :]}"


def describe_os_error(path: str | Path, error: OSError) -> str:
    """One readable phrase for why ``path`` cannot be read: ``"x.eqx is a FIFO (named pipe), not a
    file"``, ``"x.eqx does not exist"``, ``"x.eqx cannot be read: permission denied"``."""
    path = short_path(path)
    if isinstance(error, FileNotFoundError):
        return f"{path} does not exist"
    if isinstance(error, NotRegularFile):
        return f"{path} is {error.strerror}"
    if isinstance(error, FileTooLarge):
        return f"{path} is too large: {error.strerror}"
    if isinstance(error, PermissionError):
        return f"{path} cannot be read: permission denied"
    if isinstance(error, NotADirectoryError):
        return f"{path} does not exist (a part of the path is a file, not a folder)"
    if error.errno == errno.ENAMETOOLONG:
        return f"{path}: the name is too long for the file system"
    if error.errno == errno.ELOOP:
        return f"{path} is a symbolic link loop"
    return f"{path} cannot be read: {error.strerror or error}"
