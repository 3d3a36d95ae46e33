"""The run folder's files, parsed once at the edge into typed records.

``config.json`` and ``metrics.jsonl`` are JSON that anything may have written. Every reader (the CLI's
``--resume``, the app's run list and chart, the past-runs tailer) goes through :func:`parse_run_config`
and :func:`parse_metrics_line`, which check each field's type and range and give either a typed
record or a clear refusal, so nothing after them meets a string where a number belongs.

Pure Python + NumPy (no JAX): the app lists and charts past runs without starting JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lerax_tui.core.safe_io import JsonTooDeep, loads_json
from lerax_tui.core.schema import MAX_STEP

MAX_SEEDS = 1024
"""More seeds than ``num_seeds`` allows make a metrics line unreadable."""


class RunFileError(ValueError):
    """A run folder file with the wrong shape; the message names the field."""


@dataclass(frozen=True)
class RunConfig:
    """A run's ``config.json``, checked.

    Attributes:
        env_id: The environment id (a string; whether gymnax knows it is checked when building).
        config: The hyperparameters as saved (an object; ``DQNConfig.from_dict`` checks each one).
        env_params_overrides: The env parameters that differ from the defaults (an object).
        num_seeds: ``config["num_seeds"]`` when it is a positive integer, else 1.
        raw: The whole object, for callers that rewrite it (``--resume`` notes the continuation).
    """

    env_id: str
    config: dict
    env_params_overrides: dict
    num_seeds: int
    raw: dict


def parse_run_config(raw: Any, *, name: str = "config.json") -> RunConfig:
    """Check the shape of a parsed ``config.json``.

    Raises:
        RunFileError: not an object, no string ``env_id``, no ``config`` object, or overrides that
            are not an object.
    """
    if not isinstance(raw, dict):
        raise RunFileError(f"{name} holds {_kind(raw)}, not an object with env_id and config")
    env_id = raw.get("env_id")
    if not isinstance(env_id, str) or not env_id:
        raise RunFileError(f"{name}: env_id is {_kind(env_id)}, expected an environment id string")
    config = raw.get("config")
    if not isinstance(config, dict):
        raise RunFileError(f"{name}: config is {_kind(config)}, expected an object of hyperparameters")
    overrides = raw.get("env_params_overrides", {})
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise RunFileError(f"{name}: env_params_overrides is {_kind(overrides)}, expected an object")
    seeds = config.get("num_seeds", 1)
    num_seeds = seeds if isinstance(seeds, int) and not isinstance(seeds, bool) and 1 <= seeds <= MAX_SEEDS else 1
    return RunConfig(env_id, config, overrides, num_seeds, raw)


@dataclass(frozen=True)
class MetricsRecord:
    """One checked ``metrics.jsonl`` line (one chunk of training).

    Attributes:
        step: Environment steps per seed at the end of the chunk.
        episode_returns: One float64 array per seed (episodes completed in the chunk).
        episode_steps: Per seed, the int64 env step at which each episode ended, or None when the
            line has none for that seed (older files) or they do not align with the returns.
        eval_returns: One float64 array per seed after a periodic evaluation, else None.
        raw: The parsed object (other keys: loss, epsilon, sps, wall_s...).
    """

    step: int
    episode_returns: tuple[np.ndarray, ...]
    episode_steps: tuple[np.ndarray | None, ...]
    eval_returns: tuple[np.ndarray, ...] | None
    raw: dict

    # Read-only dict access to the raw object, for scripts that treat lines as dicts
    # (``record["step"]``, ``"eval_returns" in record``); the typed fields above are checked.
    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __contains__(self, key: object) -> bool:
        return key in self.raw

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


def parse_metrics_line(line: bytes | str) -> MetricsRecord | None:
    """A typed record for one line, or None for a torn, invalid or wrongly typed line."""
    try:
        obj = loads_json(line)
    except (ValueError, JsonTooDeep):
        return None
    try:
        return parse_metrics_record(obj)
    except RunFileError:
        return None


def parse_metrics_record(obj: Any) -> MetricsRecord:
    """Check one parsed ``metrics.jsonl`` object.

    Raises:
        RunFileError: naming the first field of the wrong type or out of range.
    """
    if not isinstance(obj, dict):
        raise RunFileError(f"a metrics line holds {_kind(obj)}, not an object")
    step = obj.get("step", 0)
    if not _is_int(step) or not 0 <= step < MAX_STEP:
        raise RunFileError(f"step is {_kind(step)} {str(step)[:20]}, expected a whole number from 0")
    returns = _per_seed(obj.get("episode_returns") or [], "episode_returns", float)
    steps_raw = obj.get("episode_steps")
    steps: list[np.ndarray | None] = [None] * len(returns)
    if steps_raw is not None:
        parsed = _per_seed(steps_raw, "episode_steps", int)
        for seed, seed_steps in enumerate(parsed[: len(returns)]):
            if len(seed_steps) == len(returns[seed]):
                steps[seed] = seed_steps
    evals = obj.get("eval_returns")
    eval_returns = tuple(_per_seed(evals, "eval_returns", float)) if evals is not None else None
    return MetricsRecord(step, tuple(returns), tuple(steps), eval_returns, obj)


def _per_seed(value: Any, name: str, kind: type) -> list[np.ndarray]:
    """A list (one entry per seed) of lists of numbers, as arrays; anything else is refused."""
    if not isinstance(value, list) or len(value) > MAX_SEEDS:
        raise RunFileError(f"{name} is {_kind(value)}, expected one list of numbers per seed")
    out: list[np.ndarray] = []
    for seed, entry in enumerate(value):
        if not isinstance(entry, list):
            raise RunFileError(f"{name}[{seed}] is {_kind(entry)}, expected a list of numbers")
        if kind is int:
            if not all(type(x) is int and 0 <= x < MAX_STEP for x in entry):
                raise RunFileError(f"{name}[{seed}] holds something other than whole numbers from 0")
            out.append(np.asarray(entry, dtype=np.int64))
        else:
            if not all((type(x) is float or type(x) is int) for x in entry):
                raise RunFileError(f"{name}[{seed}] holds something other than numbers")
            arr = np.asarray(entry, dtype=np.float64)
            if not np.isfinite(arr).all():
                raise RunFileError(f"{name}[{seed}] holds a number that is not finite")
            out.append(arr)
    return out


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
