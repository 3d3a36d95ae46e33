"""Type and range checks of gymnax environment parameters read from files or typed by a user.

Environment parameters reach ``make_env`` from manifests, ``config.json`` and the app; any of those
may be hostile. Each value is checked against the environment's own default for that field (its
kind, bool / int / float, and its shape) and against sane ranges, then converted to that kind, so a
list where a float belongs, a string, or ``max_steps_in_episode`` of 2e9 (an evaluation that never
ends) is refused with a message naming the field instead of failing somewhere inside JAX.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import numpy as np

MAX_EPISODE_STEPS = 1_000_000
"""``max_steps_in_episode`` above this is refused: evaluation runs every episode to its end."""
MAX_MAGNITUDE = 1e6
"""Any other numeric parameter is refused beyond +-1e6 (gymnax defaults are all below 3,000)."""
MAX_ARRAY_ELEMENTS = 4096


class EnvParamError(ValueError):
    """An environment parameter of the wrong type or out of range. The message names it."""


def check_env_params(env_id: str, defaults: Any, given: Any) -> dict[str, Any]:
    """Check and convert ``given`` against the env's default ``EnvParams``.

    Args:
        env_id: For messages.
        defaults: The env's default ``EnvParams`` (a dataclass).
        given: The overrides, name -> value, as read from JSON or typed.

    Returns:
        The same names with values converted to the defaults' kinds (bool, int, float, or a NumPy
        array of the default's shape and dtype).

    Raises:
        EnvParamError: for anything but an object of known names with well-typed, sane values.
    """
    if not isinstance(given, Mapping):
        raise EnvParamError(f"{env_id}: environment parameters must be an object of name: value, not {_kind(given)}")
    known = {f.name for f in fields(defaults)}
    out: dict[str, Any] = {}
    for name, value in given.items():
        if not isinstance(name, str) or name not in known:
            raise EnvParamError(f"{env_id} has no parameter {name!r} (known: {', '.join(sorted(known))})")
        out[name] = _check_one(env_id, name, value, np.asarray(getattr(defaults, name)))
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, np.integer)):
        return "an integer"
    if isinstance(value, (float, np.floating)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    if value is None:
        return "null"
    return type(value).__name__


def _check_one(env_id: str, name: str, value: Any, default: np.ndarray) -> Any:
    where = f"{env_id} parameter {name}"
    kind = default.dtype.kind
    if default.ndim == 0:
        return _scalar(where, name, value, kind, default)
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise EnvParamError(f"{where}: {_kind(value)}, expected a list of shape {list(default.shape)}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.shape != default.shape or arr.size > MAX_ARRAY_ELEMENTS:
        raise EnvParamError(f"{where}: expected a list of shape {list(default.shape)}")
    if arr.dtype.kind not in ("iu" if kind in "iu" else "iuf" if kind == "f" else "b"):
        raise EnvParamError(
            f"{where}: elements must be {'integers' if kind in 'iu' else 'numbers' if kind == 'f' else 'booleans'}"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise EnvParamError(f"{where}: elements must be finite")
    if arr.dtype.kind in "iuf" and arr.size and float(np.max(np.abs(arr.astype(np.float64)))) > MAX_MAGNITUDE:
        raise EnvParamError(f"{where}: elements beyond +-{MAX_MAGNITUDE:g}")
    return arr.astype(default.dtype)


def _scalar(where: str, name: str, value: Any, kind: str, default: np.ndarray) -> Any:
    if kind == "b":
        if not isinstance(value, (bool, np.bool_)):
            raise EnvParamError(f"{where}: {_kind(value)}, expected true or false")
        return bool(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EnvParamError(f"{where}: {_kind(value)}, expected {'a whole number' if kind in 'iu' else 'a number'}")
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise EnvParamError(f"{where}: {value!r} is not finite")
    if kind in "iu" and not isinstance(value, (int, np.integer)):
        raise EnvParamError(f"{where}: {value!r} is a fraction, expected a whole number (an integer)")
    number = float(value)  # a real number from here on (the checks above refused everything else)
    if name == "max_steps_in_episode":
        if value != int(value) or not 1 <= value <= MAX_EPISODE_STEPS:
            raise EnvParamError(
                f"{where}: {value!r} is out of range (allowed 1 to {MAX_EPISODE_STEPS:,}: evaluation runs every episode to its end)"
            )
    elif abs(number) > MAX_MAGNITUDE:
        raise EnvParamError(f"{where}: {value!r} is out of range (allowed -{MAX_MAGNITUDE:g} to {MAX_MAGNITUDE:g})")
    elif kind in "iu" and float(default) >= 0 and number < 0:
        raise EnvParamError(f"{where}: {value!r} is negative (its default is {default.item()!r})")
    return int(value) if kind in "iu" else float(value)
