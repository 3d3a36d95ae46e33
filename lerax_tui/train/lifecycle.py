"""How a run folder comes to exist, is continued, and is forked, so that every way a run ends
leaves it resumable.

- A new run folder is built under a temporary dot-name and renamed once its ``config.json`` is in:
  a kill never leaves a folder that looks like a run but is not one.
- A writer holds the folder's ``.lock`` (:mod:`lerax_tui.train.runlock`) and, holding it, removes the
  temporary files and manifest-only pairs a killed writer left.
- A resume point is the newest consistent ``checkpoints/resume`` pair (:mod:`lerax_tui.core.pairs`);
  a run with none yet restarts from its initial state, which its config determines exactly.
- On resume, ``metrics.jsonl`` is cut after the resume step: the chunks after it are trained again,
  and a torn last line would otherwise swallow the next record.

Pure Python (no JAX): the app and the CLI call these before anything compiles.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerax_tui.core.atomic import (
    atomic_write_json,
    clean_stale_temps,
    fsync_dir,
    is_stale_temp,
    is_temp_name,
    temp_path,
)
from lerax_tui.core.checkpoint import MANIFEST_FORMAT
from lerax_tui.core.pairs import PREVIOUS, verified_entry
from lerax_tui.core.safe_io import (  # lines over the cap are not records
    MAX_METRICS_LINE,
    load_json,
    open_regular,
)
from lerax_tui.train import runs
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.outcome import forget_result
from lerax_tui.train.runlock import LOCK_FILE, RunLock

if TYPE_CHECKING:
    from lerax_tui.core.env import GymnaxEnv

_BLOCK = 1 << 20
_STAGING_CONTENTS = {runs.CONFIG_FILE, LOCK_FILE, runs.CHECKPOINTS}


# --- creating ------------------------------------------------------------------------------------


def create_run_dir(
    runs_dir: str | Path, env_id: str, record: dict[str, Any], *, now: _dt.datetime | None = None
) -> tuple[Path, RunLock]:
    """Create ``runs_dir/<ENV_ID>-<YYYYmmdd-HHMMSS>-<6 hex>/`` with ``checkpoints/`` and
    ``config.json`` (``record``), locked for the caller.

    Returns:
        The folder and its held lock.

    Raises:
        OSError: ``runs_dir`` cannot be created or written (nothing is left behind).
    """
    now = now or _dt.datetime.now()
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_run_dirs(runs_dir)
    for _ in range(16):
        final = runs_dir / f"{env_id}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        if os.path.lexists(final):
            continue
        staging = temp_path(final)
        staging.mkdir()
        lock = None
        try:
            (staging / runs.CHECKPOINTS).mkdir()
            lock = RunLock.acquire(staging)
            atomic_write_json(staging / runs.CONFIG_FILE, record)
            if os.path.lexists(final):  # rename would replace an empty folder of that name
                raise FileExistsError(final)
            os.rename(staging, final)
        except BaseException as e:
            if lock is not None:
                lock.release()
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(e, FileExistsError):
                continue
            raise
        lock.moved_to(final)
        fsync_dir(runs_dir)
        return final, lock
    raise FileExistsError(f"could not create a fresh run folder under {runs_dir}")


def config_record(
    env: GymnaxEnv, env_params: dict, config: DQNConfig, origin: dict | None, *, exact: bool
) -> dict[str, Any]:
    """A new run's ``config.json``: everything needed to rebuild it, and where it continues from.

    Args:
        env: The built environment (its full parameters are recorded).
        env_params: The overrides it was built with.
        config: The :class:`~lerax_tui.train.config.DQNConfig`.
        origin: ``path``, ``step``, ``fingerprint`` of the checkpoint it continues, or None.
        exact: The run continues that checkpoint's full training state (not only its weights).
    """
    from lerax_tui.core.checkpoint import package_versions

    record = {
        "format": "lerax-tui-run",
        "format_version": 1,
        "env_id": env.env_id,
        "env_params": env.param_dict(),
        "env_params_overrides": env_params,
        "config": config.to_dict(),
        "seeds": [config.seed + k for k in range(config.num_seeds)],
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
    }
    if origin:
        record["origin"] = {**origin, "exact": exact}
    return record


def note_resume(run_dir: Path, config: DQNConfig) -> None:
    """Record a continuation in place in ``config.json`` (the new ``total_timesteps``, when it changed)."""
    saved = runs.read_config(run_dir)
    saved["config"] = config.to_dict()
    saved.setdefault("resumed", []).append(_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    atomic_write_json(Path(run_dir) / runs.CONFIG_FILE, saved)
    forget_result(run_dir)  # no longer ended: a kill from here on must not read as its old end


def clean_stale_run_dirs(runs_dir: Path) -> list[Path]:
    """Remove half-built run folders (temporary dot-names) whose creator is gone; returns them.

    Only folders holding nothing but what :func:`create_run_dir` puts there are removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(runs_dir))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not is_temp_name(entry.name):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or not is_stale_temp(
                entry.name, mtime=entry.stat(follow_symlinks=False).st_mtime
            ):
                continue
            if any(n not in _STAGING_CONTENTS and not is_temp_name(n) for n in os.listdir(entry.path)):
                continue
            checkpoints = os.path.join(entry.path, runs.CHECKPOINTS)
            if os.path.isdir(checkpoints) and os.listdir(checkpoints):
                continue
            shutil.rmtree(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def clean_owned(run_dir: Path) -> list[Path]:
    """Holding ``run_dir``'s lock: remove every temporary file a killed writer left in the folder
    and in ``checkpoints/``, and every manifest whose ``.eqx`` never landed. Returns what went."""
    removed = clean_stale_temps(run_dir, owned=True)
    folder = run_dir / runs.CHECKPOINTS
    removed += clean_stale_temps(folder, owned=True)
    try:
        names = set(os.listdir(folder))
    except OSError:
        return removed
    for name in sorted(names):
        if (
            name.endswith(".json")
            and not name.startswith(".")
            and name[:-5] + ".eqx" not in names
            and _is_our_manifest(folder / name)
        ):
            try:
                (folder / name).unlink()
                removed.append(folder / name)
            except OSError:
                pass
    return removed


def _is_our_manifest(path: Path) -> bool:
    try:
        data = load_json(path)  # bounded: size, depth, regular files only
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT


# --- metrics --------------------------------------------------------------------------------------


def metrics_prefix_bytes(path: Path, step: int) -> int:
    """The length of ``metrics.jsonl``'s prefix that ends with the last complete record at or
    before ``step`` (0 when there is none). Reads in blocks; long lines are never held."""
    keep = offset = 0
    line = bytearray()
    too_long = False
    try:
        f = open_regular(path)  # a FIFO or a folder in its place is never opened
    except OSError:
        return 0
    with f:
        while block := f.read(_BLOCK):
            start = 0
            while True:
                nl = block.find(b"\n", start)
                piece = block[start:] if nl < 0 else block[start:nl]
                if not too_long:
                    if len(line) + len(piece) > MAX_METRICS_LINE:
                        too_long, line = True, bytearray()
                    else:
                        line += piece
                if nl < 0:
                    offset += len(block) - start
                    break
                offset += nl - start + 1
                start = nl + 1
                record_step = None if too_long else _step_of(bytes(line))
                line, too_long = bytearray(), False
                if record_step is None:
                    continue
                if record_step > step:
                    return keep
                keep = offset
    return keep


def _step_of(line: bytes) -> int | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def truncate_metrics(run_dir: Path, step: int) -> int:
    """Cut ``metrics.jsonl`` after its last complete record at or before ``step``; returns the
    bytes removed (one ``truncate``: atomic for our purposes)."""
    path = Path(run_dir) / runs.METRICS_FILE
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    keep = metrics_prefix_bytes(path, step)
    if keep >= size:
        return 0
    with open(path, "r+b") as f:
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def copy_metrics_prefix(source_run: Path, run_dir: Path, step: int) -> None:
    """Start ``run_dir``'s ``metrics.jsonl`` with ``source_run``'s records up to ``step`` (a fork
    that continues exactly keeps the curve that led to it). The source is only read."""
    source = Path(source_run) / runs.METRICS_FILE
    n = metrics_prefix_bytes(source, step)
    if n <= 0:
        return
    target = Path(run_dir) / runs.METRICS_FILE
    tmp = temp_path(target)
    try:
        with open(source, "rb") as src, open(tmp, "xb") as dst:
            left = n
            while left > 0 and (block := src.read(min(_BLOCK, left))):
                dst.write(block)
                left -= len(block)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_history(state_path: Path, run_dir: Path, step: int) -> None:
    """A fork that continues exactly starts with its source run's metrics up to ``step``."""
    source_run = Path(state_path).parent.parent
    if Path(state_path).parent.name == runs.CHECKPOINTS and (source_run / runs.METRICS_FILE).is_file():
        copy_metrics_prefix(source_run, run_dir, step)


# --- resume points --------------------------------------------------------------------------------


class ResumeStateError(ValueError):
    """A resume state that cannot be used (damaged, or at another step than asked): a checkpoint
    problem (exit status 1), never silently skipped."""


@dataclass(frozen=True)
class ResumePoint:
    """Where a continued run starts.

    Attributes:
        path: The ``resume.eqx`` to load, or None: start from the initial state (step 0).
        step: Its training step.
        entry: Its manifest entry (the one that matches its bytes).
        note: What the reader had to do (an incomplete newer write, no state yet), or None.
    """

    path: Path | None
    step: int
    entry: dict | None = None
    note: str | None = None


def resume_file(run_dir: Path) -> Path:
    return Path(run_dir) / runs.CHECKPOINTS / f"{runs.RESUME_NAME}.eqx"


def resume_point(run_dir: Path) -> ResumePoint:
    """The newest consistent resume state of ``run_dir``, or step 0 when it has none yet.

    Raises:
        ResumeStateError: A resume file that no manifest entry describes (damaged: never skipped).
    """
    path = resume_file(run_dir)
    if not os.path.lexists(path):
        return ResumePoint(
            None, 0, None, "no resume state yet, so it restarts from step 0, whose state its config.json determines"
        )
    entry, note = _verified(path)
    return ResumePoint(path, _entry_step(entry, path), entry, note)


def fork_point(state_path: Path, step: int | None = None) -> ResumePoint:
    """A resume state to continue from in a new run folder, checked (and at ``step`` when given).

    Raises:
        ResumeStateError: Damaged, or at another step than ``step``.
    """
    entry, note = _verified(Path(state_path))
    at = _entry_step(entry, state_path)
    if step is not None and at != step:
        raise ResumeStateError(f"{state_path}: the resume state is at step {at:,}, not {step:,}")
    return ResumePoint(Path(state_path), at, entry, note)


def _verified(path: Path) -> tuple[dict, str | None]:
    try:
        return verified_entry(path)
    except ValueError as e:
        raise ResumeStateError(
            f"{path.parent.parent.name}/{path.parent.name}/{e}: the run cannot continue from it"
        ) from None


def _entry_step(entry: dict, path: Path) -> int:
    step = entry.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ResumeStateError(f"{path}: its manifest records no valid step ({step!r})")
    return step


def resume_state_at(checkpoint: Path, step: Any) -> Path | None:
    """The ``resume.eqx`` beside ``checkpoint`` when its manifest (newest or previous write)
    records ``step``: exact continuation is possible from there. Reads only the small manifest;
    the runner checks the state's bytes before using it."""
    if not isinstance(step, int) or isinstance(step, bool):
        return None
    path = Path(checkpoint).with_name(f"{runs.RESUME_NAME}.eqx")
    try:
        if not path.is_file():
            return None
        manifest = load_json(path.with_suffix(".json"))  # bounded: a FIFO manifest never blocks
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    steps = [e.get("step") for e in (manifest, manifest.get(PREVIOUS)) if isinstance(e, dict)]
    return path if any(type(s) is int and s == step for s in steps) else None
