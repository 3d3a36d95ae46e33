"""Per-field type checks of checkpoint manifests, before any field is used.

A manifest is JSON anyone can edit: ``env_id`` may be a list, ``width_size`` a string,
``payload_bytes`` 10**12. :func:`manifest_problems` names every field of the wrong type or out of
range, so :func:`~lerax_tui.core.verification.verify` can call the file corrupt in one line instead
of failing later inside JAX, and every caller after it may trust the fields' types.

The policy limits match ``DQNConfig``'s ranges (a test keeps them equal): a file declaring a wider
or deeper network than the app can build is refused before its size is trusted.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from typing import Any

POLICY_LIMITS: dict[str, tuple[float, float]] = {"epsilon": (0.0, 1.0), "width_size": (1, 4096), "depth": (0, 16)}
"""Allowed ranges of the policy's hyperparameters, as in ``train.config.DQNConfig``."""
MAX_STEP = 2**53
"""Steps, byte counts and other counters must stay below this (JSON numbers beyond it lose precision)."""
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _type_name(x: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(x), "null" if x is None else type(x).__name__)


def policy_hyperparameter_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the policy's ``name`` (epsilon, width_size, depth), or None."""
    lo, hi = POLICY_LIMITS[name]
    if name == "epsilon":
        if not _is_number(value):
            return f"{name} is {_type_name(value)} {str(value)[:20]}, expected a number"
    elif not _is_int(value):
        return f"{name} is {_type_name(value)} {str(value)[:20]}, expected a whole number"
    if not lo <= value <= hi:
        return f"{name} {value} is out of range (allowed {lo} to {hi})"
    return None


def manifest_problems(m: dict) -> list[str]:
    """Every field of a manifest (already known to be a JSON object) with the wrong type or range.

    Absent optional fields are fine (older files lack some); present ones must be well-typed.
    """
    problems: list[str] = []

    def bad(key: str, what: str) -> None:
        problems.append(f"manifest field {key}: {what}")

    for key in ("kind", "class", "env_id", "created", "fingerprint_kind"):
        if key in m and m[key] is not None and not isinstance(m[key], str):
            bad(key, f"{_type_name(m[key])}, expected a string")
    for key in ("fingerprint", "payload_sha256"):
        if key in m and not (isinstance(m[key], str) and _HEX64.fullmatch(m[key])):
            bad(key, "expected 64 lowercase hex digits")
    for key in ("payload_bytes", "step", "format_version", "seed"):
        if key in m and m[key] is not None and not (_is_int(m[key]) and 0 <= m[key] < MAX_STEP):
            bad(key, f"{_type_name(m[key])} {str(m[key])[:20]}, expected a whole number from 0 to 2**53")
    if "recent_return" in m and m["recent_return"] is not None and not _is_number(m["recent_return"]):
        bad(
            "recent_return",
            f"{_type_name(m['recent_return'])} {str(m['recent_return'])[:20]}, expected a finite number or null",
        )
    for key in ("env_params", "config", "versions", "observation_space", "action_space"):
        if key in m and m[key] is not None and not isinstance(m[key], dict):
            bad(key, f"{_type_name(m[key])}, expected an object")
    hp = m.get("hyperparameters")
    if "hyperparameters" in m and not isinstance(hp, dict):
        bad("hyperparameters", f"{_type_name(hp)}, expected an object")
    elif isinstance(hp, dict):
        for name in POLICY_LIMITS:
            if hp.get(name) is not None:
                problem = policy_hyperparameter_problem(name, hp[name])
                if problem:
                    bad("hyperparameters." + name, problem)
    if "structure" in m and not (isinstance(m["structure"], list) and all(isinstance(s, str) for s in m["structure"])):
        bad("structure", "expected a list of strings")
    previous = m.get("previous")  # the entry of the write a newer one replaces (core.pairs)
    if previous is not None and not isinstance(previous, dict):
        bad("previous", f"{_type_name(previous)}, expected an object")
    elif isinstance(previous, dict):
        inner = manifest_problems({k: v for k, v in previous.items() if k != "previous"})
        problems.extend(p.replace("manifest field ", "manifest field previous.", 1) for p in inner)
    return problems


def read_manifest(path: str | Path) -> tuple[dict | None, str | None, list[str]]:
    """Read and check the manifest beside checkpoint ``path`` (bounded: size, depth, file kind).

    Returns:
        ``(manifest, status, problems)``: ``(None, None, [])`` when there is none; ``status`` is
        the verify status (``corrupt``, ``unknown-structure``) when it cannot be used, and then
        ``manifest`` is only returned for a manifest of another kind (a train state).
    """
    from lerax_tui.core.checkpoint import MANIFEST_FORMAT, manifest_path
    from lerax_tui.core.safe_io import describe_os_error, load_json

    path = Path(path)
    mpath = manifest_path(path)
    try:
        manifest = load_json(mpath)  # size and depth capped; a FIFO or device is refused
    except FileNotFoundError:
        return None, None, []
    except OSError as e:
        return None, "corrupt", [f"manifest {describe_os_error(mpath.name, e)}; the checkpoint cannot be trusted"]
    except ValueError as e:
        return None, "corrupt", [f"manifest {mpath.name} is not valid JSON ({e}); the checkpoint cannot be trusted"]
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None, "corrupt", [f"{mpath.name} is not a lerax-tui manifest (no format {MANIFEST_FORMAT!r})"]
    problems = manifest_problems(manifest)
    if problems:
        return None, "corrupt", problems
    if manifest.get("kind", "policy") != "policy":
        return manifest, "unknown-structure", [f"{path.name} holds a {manifest.get('kind')!r}, not a policy"]
    env_problem = env_params_problem(manifest.get("env_id"), manifest.get("env_params"))
    if env_problem:
        return None, "corrupt", [f"manifest field env_params: {env_problem}"]
    return manifest, None, []


@functools.lru_cache(maxsize=64)
def _default_params(env_id: str) -> Any:
    from lerax_tui.core.env import make_env

    return make_env(env_id).params


def env_params_problem(env_id: Any, params: Any) -> str | None:
    """Why ``params`` cannot be ``env_id``'s parameters (their names, types and ranges), or None;
    also None when the env itself cannot be built (that is the structure's problem)."""
    from lerax_tui.core.env_params import EnvParamError, check_env_params

    if not isinstance(env_id, str) or not params:
        return None
    try:
        defaults = _default_params(env_id)
    except ValueError:
        return None
    try:
        check_env_params(env_id, defaults, params)
    except EnvParamError as e:
        return str(e)
    return None
