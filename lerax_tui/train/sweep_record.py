"""``sweep.json``: the sweep folder's index of its configurations, their run folders and results.

Pure Python (no JAX): the app lists and watches sweeps without starting JAX. Written atomically
(:mod:`lerax_tui.core.atomic`) whenever a configuration's status changes; read back through
:func:`parse_sweep`, which checks every field (a hostile file gets a clear refusal, and a
``run_dir`` can only name a folder inside the sweep folder).

Format (version 1)::

    {"kind": "lerax-tui-sweep", "version": 1, "env_id": str, "created": iso-time, "seeds": K,
     "base": {full config dict as in config.json}, "swept": {KEY: [values] | {"lo", "hi", "log"}},
     "samples": N | null,
     "configs": [{"index": i, "overrides": {KEY: value}, "run_dir": "<folder name in the sweep folder>",
                  "status": "pending" | "running" | "finished" | "stopped" | "failed", "error": str | null,
                  "result": null | {"eval_return_mean", "eval_return_per_seed", "best_eval_return_mean",
                                    "eval_return_std" (absent in older files)}}],
     "programs": int}
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from lerax_tui.core.atomic import atomic_write_json
from lerax_tui.core.safe_io import load_json
from lerax_tui.train.config import ConfigError, DQNConfig, check_value, coerce, field_info
from lerax_tui.train.sweep_spec import MAX_CONFIGS, FieldValues, SampleRange, SweepSpec

SWEEP_FILE = "sweep.json"
SWEEP_KIND = "lerax-tui-sweep"
SWEEP_VERSION = 1
_RUN_DIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SweepFileError(ValueError):
    """A ``sweep.json`` of the wrong shape; the message names the field."""


class ConfigStatus(StrEnum):
    """Where one configuration of a sweep stands."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class ConfigResult:
    """A configuration's final greedy evaluation (means over its seeds' episodes; ``eval_return_std``:
    the standard deviation over those episodes, what the app's leaderboard shows beside the mean; None
    when read from a ``sweep.json`` written before it was kept)."""

    eval_return_mean: float | None
    eval_return_per_seed: list[float]
    best_eval_return_mean: float | None
    eval_return_std: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SweepEntry:
    """One configuration of a sweep: its overrides, its run folder (a name inside the sweep
    folder), its status and, once finished or stopped, its result."""

    index: int
    overrides: dict[str, Any]
    run_dir: str
    status: ConfigStatus = ConfigStatus.PENDING
    error: str | None = None
    result: ConfigResult | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "overrides": dict(self.overrides),
            "run_dir": self.run_dir,
            "status": str(self.status),
            "error": self.error,
            "result": None if self.result is None else self.result.to_json(),
        }


@dataclass
class SweepRecord:
    """The whole ``sweep.json`` (mutable: the sweep updates its entries and rewrites it)."""

    env_id: str
    created: str
    seeds: int
    base: dict[str, Any]
    swept: dict[str, Any]
    samples: int | None
    configs: list[SweepEntry] = field(default_factory=list)
    programs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": SWEEP_KIND,
            "version": SWEEP_VERSION,
            "env_id": self.env_id,
            "created": self.created,
            "seeds": self.seeds,
            "base": dict(self.base),
            "swept": dict(self.swept),
            "samples": self.samples,
            "configs": [c.to_json() for c in self.configs],
            "programs": self.programs,
        }

    def spec(self) -> SweepSpec:
        """The sweep as a :class:`SweepSpec` again (for ``--resume``), every value re-checked.

        Raises:
            ConfigError: a base or override value that is not a valid hyperparameter.
        """
        base = DQNConfig.from_dict(self.base)
        swept: dict[str, FieldValues] = {
            k: SampleRange(v["lo"], v["hi"], v["log"]) if isinstance(v, dict) else list(v)
            for k, v in self.swept.items()
        }
        overrides = tuple(dict(c.overrides) for c in self.configs)
        for o in overrides:
            base.replace(**o)
        return SweepSpec(base=base, overrides=overrides, seeds=self.seeds, swept=swept, samples=self.samples)

    def update(self, index: int, **changes: Any) -> SweepEntry:
        """Replace configuration ``index``'s fields (``status``, ``error``, ``result``)."""
        self.configs[index] = dataclasses.replace(self.configs[index], **changes)
        return self.configs[index]


def run_dir_name(index: int, num_configs: int) -> str:
    """``config-007``: configuration ``index``'s folder name (zero-padded so they sort)."""
    return f"config-{index:0{max(3, len(str(num_configs - 1)))}d}"


def _json_value(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None


def new_record(spec: SweepSpec, env_id: str, *, created: str | None = None) -> SweepRecord:
    """The record of a sweep about to start: every configuration pending."""
    swept = {k: v.to_json() if isinstance(v, SampleRange) else list(v) for k, v in spec.swept.items()}
    return SweepRecord(
        env_id=env_id,
        created=created or datetime.now(UTC).isoformat(timespec="seconds"),
        seeds=spec.seeds,
        base=spec.base.to_dict(),
        swept=swept,
        samples=spec.samples,
        configs=[
            SweepEntry(
                index=i, overrides={k: _json_value(v) for k, v in o.items()}, run_dir=run_dir_name(i, spec.num_configs)
            )
            for i, o in enumerate(spec.overrides)
        ],
        programs=len(spec.programs()),
    )


def write_sweep(folder: str | Path, record: SweepRecord) -> Path:
    """Write ``folder/sweep.json`` atomically (the old file or the new one, never a mix)."""
    return atomic_write_json(Path(folder) / SWEEP_FILE, record.to_json())


def read_sweep(folder: str | Path) -> SweepRecord:
    """Read and check ``folder/sweep.json``.

    Raises:
        OSError: no such file, not a regular file, or too large.
        ValueError: not JSON (a :class:`SweepFileError` when the shape is wrong, naming the field).
    """
    return parse_sweep(load_json(Path(folder) / SWEEP_FILE))


def _kind(x: Any) -> str:
    return "null" if x is None else type(x).__name__


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _optional_number(x: Any, name: str) -> float | None:
    if x is None:
        return None
    if not _number(x):
        raise SweepFileError(f"{name} is {_kind(x)}, expected a number or null")
    return float(x)


def _int(raw: dict, key: str, lo: int, hi: int, where: str = "sweep.json") -> int:
    x = raw.get(key)
    if not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi:
        raise SweepFileError(f"{where}: {key} is {x!r}, expected a whole number in [{lo}, {hi}]")
    return x


def _checked_value(key: str, value: Any, where: str) -> Any:
    try:
        field_info(key)
        typed = coerce(key, value)
        check_value(field_info(key), typed)
    except ConfigError as e:
        raise SweepFileError(f"{where}: {e}") from None
    return typed


def _parse_swept(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SweepFileError(f"sweep.json: swept is {_kind(raw)}, expected an object")
    out: dict[str, Any] = {}
    for key, v in raw.items():
        where = f"sweep.json: swept.{key}"
        if isinstance(v, list):
            if not v or len(v) > MAX_CONFIGS:
                raise SweepFileError(f"{where} has {len(v)} values, expected 1 to {MAX_CONFIGS}")
            out[key] = [_checked_value(key, x, where) for x in v]
        elif isinstance(v, dict):
            log = v.get("log")
            if not isinstance(log, bool) or not _number(v.get("lo")) or not _number(v.get("hi")):
                raise SweepFileError(f"{where} is not a range with numbers lo, hi and a bool log")
            out[key] = {
                "lo": _checked_value(key, v["lo"], where),
                "hi": _checked_value(key, v["hi"], where),
                "log": log,
            }
        else:
            raise SweepFileError(f"{where} is {_kind(v)}, expected a list of values or a range object")
    return out


def _parse_result(raw: Any, where: str) -> ConfigResult | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where}.result is {_kind(raw)}, expected an object or null")
    per_seed = raw.get("eval_return_per_seed", [])
    if not isinstance(per_seed, list) or not all(_number(x) for x in per_seed):
        raise SweepFileError(f"{where}.result.eval_return_per_seed is not a list of numbers")
    return ConfigResult(
        eval_return_mean=_optional_number(raw.get("eval_return_mean"), f"{where}.result.eval_return_mean"),
        eval_return_per_seed=[float(x) for x in per_seed],
        best_eval_return_mean=_optional_number(
            raw.get("best_eval_return_mean"), f"{where}.result.best_eval_return_mean"
        ),
        eval_return_std=_optional_number(raw.get("eval_return_std"), f"{where}.result.eval_return_std"),
    )


def _parse_entry(raw: Any, index: int) -> SweepEntry:
    where = f"sweep.json: configs[{index}]"
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where} is {_kind(raw)}, expected an object")
    if raw.get("index") != index or isinstance(raw.get("index"), bool):
        raise SweepFileError(f"{where}.index is {raw.get('index')!r}, expected {index}")
    overrides = raw.get("overrides")
    if not isinstance(overrides, dict):
        raise SweepFileError(f"{where}.overrides is {_kind(overrides)}, expected an object")
    overrides = {k: _checked_value(k, v, f"{where}.overrides") for k, v in overrides.items()}
    run_dir = raw.get("run_dir")
    if not isinstance(run_dir, str) or not _RUN_DIR.match(run_dir) or run_dir in (".", ".."):
        raise SweepFileError(f"{where}.run_dir is {run_dir!r}, expected a folder name inside the sweep folder")
    try:
        status = ConfigStatus(str(raw.get("status")))
    except ValueError:
        allowed = ", ".join(s.value for s in ConfigStatus)
        raise SweepFileError(f"{where}.status is {raw.get('status')!r}, expected one of {allowed}") from None
    error = raw.get("error")
    if error is not None and not isinstance(error, str):
        raise SweepFileError(f"{where}.error is {_kind(error)}, expected a string or null")
    return SweepEntry(index, overrides, run_dir, status, error, _parse_result(raw.get("result"), where))


def parse_sweep(raw: Any) -> SweepRecord:
    """Check a parsed ``sweep.json`` field by field.

    Raises:
        SweepFileError: the first problem, naming the field.
    """
    if not isinstance(raw, dict):
        raise SweepFileError(f"sweep.json holds {_kind(raw)}, not a sweep object")
    if raw.get("kind") != SWEEP_KIND:
        raise SweepFileError(f"sweep.json: kind is {raw.get('kind')!r}, not {SWEEP_KIND!r}")
    if raw.get("version") != SWEEP_VERSION:
        raise SweepFileError(
            f"sweep.json: version {raw.get('version')!r} is not one this program reads ({SWEEP_VERSION})"
        )
    env_id, created, base = raw.get("env_id"), raw.get("created"), raw.get("base")
    if not isinstance(env_id, str) or not env_id:
        raise SweepFileError(f"sweep.json: env_id is {_kind(env_id)}, expected an environment id string")
    if not isinstance(created, str):
        raise SweepFileError(f"sweep.json: created is {_kind(created)}, expected an ISO time string")
    if not isinstance(base, dict):
        raise SweepFileError(f"sweep.json: base is {_kind(base)}, expected the configuration object")
    seeds = _int(raw, "seeds", 1, 1024)
    samples = raw.get("samples")
    if samples is not None:
        samples = _int(raw, "samples", 1, MAX_CONFIGS)
    configs = raw.get("configs")
    if not isinstance(configs, list) or not 1 <= len(configs) <= MAX_CONFIGS:
        raise SweepFileError(f"sweep.json: configs is {_kind(configs)}, expected a list of 1 to {MAX_CONFIGS} objects")
    entries = [_parse_entry(c, i) for i, c in enumerate(configs)]
    if len({e.run_dir for e in entries}) != len(entries):
        raise SweepFileError("sweep.json: two configurations share a run_dir")
    return SweepRecord(
        env_id=env_id,
        created=created,
        seeds=seeds,
        base=dict(base),
        swept=_parse_swept(raw.get("swept", {})),
        samples=samples,
        configs=entries,
        programs=_int(raw, "programs", 0, MAX_CONFIGS),
    )
