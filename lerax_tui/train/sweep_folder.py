"""The sweep folder: ``sweep.json`` beside one ordinary run folder per configuration.

```
runs/sweep-<ENV_ID>-<YYYYmmdd-HHMMSS>-<6 hex>/
  sweep.json          the index (lerax_tui.train.sweep_record)
  .lock               held while a sweep process runs it
  config-000/         configuration 0: config.json, metrics.jsonl, checkpoints/ (a plain run folder)
  config-001/ ...
```
Each member's ``config.json`` is a plain run's (its full configuration, ``num_seeds`` = the sweep's
seeds) plus ``sweep`` (the sweep folder's name, its index and overrides), so ``eval``, ``export``,
the browser and ``train --resume MEMBER`` treat it as any run.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import shutil
from pathlib import Path

from lerax_tui.core.atomic import atomic_write_json, fsync_dir, temp_path
from lerax_tui.core.env import GymnaxEnv
from lerax_tui.train import lifecycle, runs
from lerax_tui.train.runlock import RunLock
from lerax_tui.train.sweep_record import SweepRecord, write_sweep
from lerax_tui.train.sweep_spec import SweepSpec


def member_record(env: GymnaxEnv, spec: SweepSpec, record: SweepRecord, index: int, sweep_name: str) -> dict:
    """Configuration ``index``'s ``config.json``."""
    config = spec.config(index)
    out = lifecycle.config_record(env, {}, config, None, exact=False)
    out["sweep"] = {"sweep_dir": sweep_name, "index": index, "overrides": dict(record.configs[index].overrides)}
    return out


def create_sweep_dir(runs_dir: Path, env: GymnaxEnv, spec: SweepSpec, record: SweepRecord) -> Path:
    """Make the sweep folder with every member's folder and ``config.json`` and ``sweep.json``, built
    under a temporary name and renamed into place (a kill leaves nothing half-made under a real name).

    Raises:
        OSError: ``runs_dir`` cannot be created or written (nothing is left behind).
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    lifecycle.clean_stale_run_dirs(runs_dir)
    now = _dt.datetime.now()
    for _ in range(16):
        final = runs_dir / f"sweep-{env.env_id}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        if os.path.lexists(final):
            continue
        staging = temp_path(final)
        staging.mkdir()
        try:
            for entry in record.configs:
                member = staging / entry.run_dir
                (member / runs.CHECKPOINTS).mkdir(parents=True)
                atomic_write_json(member / runs.CONFIG_FILE, member_record(env, spec, record, entry.index, final.name))
            write_sweep(staging, record)
            if os.path.lexists(final):
                raise FileExistsError(final)
            os.rename(staging, final)
        except BaseException as e:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(e, FileExistsError):
                continue
            raise
        fsync_dir(runs_dir)
        return final
    raise FileExistsError(f"could not create a fresh sweep folder under {runs_dir}")


def lock_all(sweep_dir: Path, record: SweepRecord) -> list[RunLock]:
    """Lock the sweep folder and every member (a second sweep process, or a ``train --resume`` of a
    member, is refused while this one runs). Releases what it took if one is held elsewhere.

    Raises:
        RunLocked: naming the folder and its holder.
    """
    locks: list[RunLock] = []
    try:
        locks.append(RunLock.acquire(sweep_dir, what="sweep"))
        for entry in record.configs:
            locks.append(RunLock.acquire(sweep_dir / entry.run_dir, what="sweep"))
    except BaseException:
        for lock in locks:
            lock.release()
        raise
    return locks
