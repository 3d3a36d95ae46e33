"""A checkpoint and its manifest change together or not at all, under any kill.

``NAME.eqx`` (fingerprint + leaves) and ``NAME.json`` (its manifest) are two files, so no single
rename can replace both. The rule that makes the pair consistent by construction:

1. The manifest is written first (atomically). It describes the new payload (size, sha256,
   fingerprint) and carries, under ``"previous"``, the entry that describes the ``.eqx`` on disk
   at that moment (the last complete write), without its own ``"previous"``.
2. Then the ``.eqx`` is written (atomically).

Whatever moment a kill (or a full disk) stops this, the ``.eqx`` on disk is described either by
the manifest's own fields (new write complete, or not started) or by its ``"previous"`` entry
(stopped between the two renames). Readers use :func:`consistent_entry` to pick the entry that
matches the bytes they read, and say so when it is the previous one.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import IO, Any, TypeGuard

from lerax_tui.core.atomic import atomic_write_bytes, atomic_write_json
from lerax_tui.core.fingerprint import FINGERPRINT_BYTES
from lerax_tui.core.safe_io import check_regular, describe_os_error, sha256_from

PREVIOUS = "previous"
# A manifest read back by the writer (to carry it as "previous") is small; anything larger is not ours.
MAX_OWN_MANIFEST_BYTES = 16 << 20
_HASH_BLOCK = 1 << 20
# What this process last wrote, per .eqx path: (inode, size, mtime_ns) -> its manifest entry, so a
# rewrite does not hash the file it wrote itself.
_written: dict[str, tuple[tuple[int, int, int], dict]] = {}


def integrity_problems(data: Any, manifest: dict) -> list[str]:
    """Size and sha256 checks of ``data`` (bytes, or a ``safe_io.FileView``) against a manifest
    entry; empty when intact. The sizes are compared first: nothing is hashed when they differ."""
    return size_problems(data, manifest) or digest_problems(data, manifest)


def size_problems(data: Any, manifest: dict) -> list[str]:
    """The checks that read no payload byte: the size and the fingerprint against the entry."""
    payload_size = len(data) - FINGERPRINT_BYTES
    want = manifest.get("payload_bytes")
    problems = []
    if isinstance(want, int) and payload_size < want:
        problems.append(f"truncated: {payload_size} payload bytes, manifest says {want}")
    elif isinstance(want, int) and payload_size > want:
        problems.append(f"trailing garbage: {payload_size - want} bytes after the {want} the manifest records")
    if manifest.get("fingerprint") != data[:FINGERPRINT_BYTES].hex():
        problems.append("the fingerprint in the file differs from the one in its manifest")
    return problems


def digest_problems(data: Any, manifest: dict) -> list[str]:
    """The payload's sha256 against the entry's (streamed in 1 MiB pieces from a ``FileView``)."""
    if manifest.get("payload_sha256") != sha256_from(data, FINGERPRINT_BYTES):
        return ["payload sha256 differs from the manifest: bytes changed since the file was written"]
    return []


def fitting_entries(data: Any, manifest: dict) -> list[tuple[dict, bool]]:
    """The entries (own first, then ``"previous"``) whose size and fingerprint fit ``data``, each
    with whether it is the previous one. Reads no payload byte: a reader checks the structure
    against these sizes before anything is hashed, then picks with :func:`pick_by_digest`."""
    out = []
    for entry, is_previous in ((own_entry(manifest), False), (manifest.get(PREVIOUS), True)):
        if isinstance(entry, dict) and not size_problems(data, entry):
            out.append((own_entry(entry), is_previous))
    return out


def pick_by_digest(fitting: list[tuple[dict, bool]], digest: str, current: dict) -> tuple[dict | None, str | None]:
    """The fitting entry whose payload sha256 is ``digest`` (None when none is), and a note when it
    is the previous one."""
    for entry, is_previous in fitting:
        if entry.get("payload_sha256") == digest:
            if not is_previous:
                return entry, None
            return entry, (
                f"the manifest names a newer write{_at(current)} that did not complete (stopped between its two "
                f"files); the checkpoint on disk is the previous one{_at(entry)}, which its manifest also records"
            )
    return None, None


def own_entry(manifest: dict) -> dict:
    """The manifest's description of the newest write: every field but ``"previous"``."""
    return {k: v for k, v in manifest.items() if k != PREVIOUS}


def consistent_entry(data: Any, manifest: dict) -> tuple[dict, str | None]:
    """The manifest entry that describes ``data`` (the ``.eqx`` bytes, or a ``FileView``), and a
    note when it is not the newest one. Hashes at most once, and only when a size fits.

    Returns:
        ``(entry, note)``: the manifest's own entry when it matches (or when nothing matches: the
        caller's integrity check then reports why), else its ``"previous"`` entry when that one
        matches, with a note saying the newer write did not complete.
    """
    current = own_entry(manifest)
    fitting = fitting_entries(data, manifest)
    if not fitting:
        return current, None
    entry, note = pick_by_digest(fitting, sha256_from(data, FINGERPRINT_BYTES), current)
    return (entry, note) if entry is not None else (current, None)


def _at(entry: dict) -> str:
    step = entry.get("step")
    return f" (step {step:,})" if isinstance(step, int) and not isinstance(step, bool) else ""


def file_digest(path: Path) -> tuple[str, int, str] | None:
    """``(fingerprint hex, payload bytes, payload sha256)`` of a file, read in blocks; None when
    it cannot be read or is shorter than a fingerprint."""
    sha = hashlib.sha256()
    try:
        with _open_regular(path) as f:
            if f is None:
                return None
            head = f.read(FINGERPRINT_BYTES)
            if len(head) < FINGERPRINT_BYTES:
                return None
            size = 0
            while block := f.read(_HASH_BLOCK):
                sha.update(block)
                size += len(block)
    except OSError:
        return None
    return head.hex(), size, sha.hexdigest()


def entry_matches(entry: Any, digest: tuple[str, int, str]) -> TypeGuard[dict[str, Any]]:
    """Whether a manifest entry describes a file with this :func:`file_digest`."""
    if not isinstance(entry, dict):
        return False
    fingerprint, size, sha = digest
    return (
        entry.get("fingerprint") == fingerprint
        and entry.get("payload_bytes") == size
        and entry.get("payload_sha256") == sha
    )


class _open_regular:
    """``open(path, "rb")`` for a regular file; ``None`` for anything else (a FIFO would block)."""

    def __init__(self, path: Path):
        self.path = path
        self.file: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes] | None:
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        self.file = os.fdopen(fd, "rb")
        return self.file

    def __exit__(self, *exc: Any) -> None:
        if self.file is not None:
            self.file.close()


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def entry_on_disk(eqx: Path) -> dict | None:
    """The manifest entry that describes the ``.eqx`` now at ``eqx``, or None (no file, no
    manifest, or a pair that does not match)."""
    key = _stat_key(eqx)
    if key is None:
        return None
    cached = _written.get(str(eqx))
    if cached is not None and cached[0] == key:
        return cached[1]
    manifest = _read_own_manifest(eqx.with_suffix(".json"))
    if manifest is None:
        return None
    digest = file_digest(eqx)
    if digest is None:
        return None
    for entry in (own_entry(manifest), manifest.get(PREVIOUS)):
        if entry_matches(entry, digest):
            return dict(entry)
    return None


def _read_own_manifest(path: Path) -> dict | None:
    try:
        with _open_regular(path) as f:
            if f is None or os.fstat(f.fileno()).st_size > MAX_OWN_MANIFEST_BYTES:
                return None
            manifest = json.loads(f.read(MAX_OWN_MANIFEST_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return None
    return manifest if isinstance(manifest, dict) else None


def write_pair(eqx: Path, data: bytes, manifest: dict) -> Path:
    """Write ``NAME.json`` (carrying the entry of the ``.eqx`` it replaces) then ``NAME.eqx``.

    Args:
        eqx: The ``.eqx`` path.
        data: Its bytes (fingerprint + payload).
        manifest: The entry describing ``data`` (without ``"previous"``).

    Returns:
        ``eqx``.

    Raises:
        OSError: A failed write (full disk, permissions). The pair on disk is then the old one, or
            the new manifest beside the old ``.eqx`` (described by its ``"previous"``).
    """
    previous = entry_on_disk(eqx)
    record = own_entry(manifest)
    if previous is not None:
        record[PREVIOUS] = own_entry(previous)
    atomic_write_json(eqx.with_suffix(".json"), record)
    atomic_write_bytes(eqx, data)
    key = _stat_key(eqx)
    if key is not None:
        _written[str(eqx)] = (key, own_entry(manifest))
    return eqx


def verified_entry(eqx: Path) -> tuple[dict, str | None]:
    """The manifest entry that describes the ``.eqx`` file on disk, checked by hashing it in blocks
    (the file is never held in memory), and a note when it is the manifest's previous entry.

    Raises:
        ValueError: No readable manifest, an unreadable file, or no entry that matches its bytes.
    """
    manifest = _read_own_manifest(eqx.with_suffix(".json"))
    if manifest is None:
        raise ValueError(f"{eqx.name}: its manifest {eqx.with_suffix('.json').name} is missing or unreadable")
    try:  # a FIFO or a folder has a size too (0, 4096): say what it is, not that its size is wrong
        check_regular(eqx)
    except OSError as e:
        raise ValueError(describe_os_error(eqx.name, e)) from None
    key = _stat_key(eqx)
    sizes = [e.get("payload_bytes") for e in (own_entry(manifest), manifest.get(PREVIOUS)) if isinstance(e, dict)]
    if key is not None and key[1] - FINGERPRINT_BYTES not in sizes:  # sizes first: a huge file is never hashed
        raise ValueError(
            f"{eqx.name}: its bytes match neither its manifest nor the previous write it records ({key[1]:,} bytes, a size neither records: damaged)"
        )
    digest = file_digest(eqx)
    if digest is None:
        raise ValueError(f"{eqx.name}: cannot be read, or shorter than its {FINGERPRINT_BYTES}-byte fingerprint")
    current = own_entry(manifest)
    if entry_matches(current, digest):
        return current, None
    previous = manifest.get(PREVIOUS)
    if entry_matches(previous, digest):
        return dict(previous), (
            f"{eqx.name}: the manifest names a newer write{_at(current)} that did not complete; "
            f"using the complete previous one{_at(previous)}"
        )
    raise ValueError(f"{eqx.name}: its bytes match neither its manifest nor the previous write it records (damaged)")
