"""The structure of a policy file: the skeleton we would build, and what record headers imply.

:func:`build_skeleton` makes the shapes-only ``MLPQPolicy`` a fingerprint is compared with;
:func:`infer_from_records` reads width, depth and spaces off the record headers (no array data);
:func:`structure_of` and :func:`differences` turn a mismatch into ``key: file A, requested B`` lines.
"""

from __future__ import annotations

import functools
import io
import json
import math
from typing import Any

from lerax_tui.core.checkpoint import POLICY_DEFAULTS, POLICY_KEYS
from lerax_tui.core.env_catalogue import catalogue, env_info
from lerax_tui.core.fingerprint import Record


@functools.lru_cache(maxsize=64)
def _skeleton_cached(env_id: str, env_params_json: str, epsilon: float, width_size: int, depth: int) -> Any:
    import equinox as eqx
    import jax

    from lerax_tui.core.env import make_env, non_default_params
    from lerax_tui.core.policy import MLPQPolicy

    env = make_env(env_id, **non_default_params(env_id, json.loads(env_params_json)))
    return eqx.filter_eval_shape(
        MLPQPolicy, env, epsilon=epsilon, width_size=width_size, depth=depth, key=jax.random.key(0)
    )


def build_skeleton(env_id: str, hyperparameters: dict, env_params: dict | None = None) -> Any:
    """The ``MLPQPolicy`` skeleton (shapes only, nothing allocated) for an env and hyperparameters.

    Raises:
        EnvError: unknown / unbuildable env or bad env parameter.
        ValueError: the env's action space is not Discrete.
    """
    hp = {**POLICY_DEFAULTS, **{k: v for k, v in hyperparameters.items() if k in POLICY_KEYS and v is not None}}
    return _skeleton_cached(
        env_id,
        json.dumps(env_params or {}, sort_keys=True),
        float(hp["epsilon"]),
        int(hp["width_size"]),
        int(hp["depth"]),
    )


def infer_from_records(records: list[Record]) -> dict | None:
    """Read an MLPQPolicy's structure off its record headers (no array data is read).

    Returns:
        ``{"observation_shape", "num_actions", "width_size", "depth"}``, or None when the records do
        not have an MLPQPolicy's layout (low, high, epsilon, then weight/bias pairs).
    """
    if len(records) < 5 or (len(records) - 3) % 2:
        return None
    low, high, eps, *layers = records
    if low.shape != high.shape or eps.shape != () or low.dtype != high.dtype:
        return None
    pairs = list(zip(layers[::2], layers[1::2]))
    in_size = math.prod(low.shape)
    for w, b in pairs:
        if len(w.shape) != 2 or b.shape != (w.shape[0],) or w.shape[1] != in_size:
            return None
        in_size = w.shape[0]
    depth = len(pairs) - 1
    return {
        "observation_shape": list(low.shape),
        "num_actions": pairs[-1][0].shape[0],
        "width_size": pairs[0][0].shape[0] if depth > 0 else None,
        "depth": depth,
    }


def candidate_envs(inferred: dict) -> list[str]:
    """The supported envs whose observation shape and action count are ``inferred``'s."""
    return [
        e.env_id
        for e in catalogue()
        if e.supported
        and list(e.observation_shape or ()) == inferred["observation_shape"]
        and e.num_actions == inferred["num_actions"]
    ]


def bounds_match(data: bytes, records: list[Record], skeleton: Any, env_id: str) -> bool:
    """Do the file's Box bounds equal ``env_id``'s? Only called after the fingerprint matched."""
    import numpy as np

    from lerax_tui.core.env import make_env
    from lerax_tui.core.spaces import Box

    space = make_env(env_id).observation_space
    if not isinstance(space, Box):  # candidates are supported envs: Box observations
        return False
    got = [np.load(io.BytesIO(data[r.offset : r.end]), allow_pickle=False) for r in records[:2]]
    return bool(np.array_equal(got[0], np.asarray(space.low)) and np.array_equal(got[1], np.asarray(space.high)))


def differences(file_side: dict, requested: dict) -> list[str]:
    """``key: file A, requested B`` for each structural key both sides know and disagree on."""
    out = []
    for key in ("env_id", "width_size", "depth", "observation_shape", "num_actions"):
        a, b = file_side.get(key), requested.get(key)
        if a is not None and b is not None and a != b:
            out.append(f"{key}: file {a}, requested {b}")
    return out


def structure_of(env_id: str, hp: dict) -> dict:
    """What would be built, in the same terms as :func:`infer_from_records`."""
    info = env_info(env_id)
    return {
        "env_id": env_id,
        "width_size": hp.get("width_size"),
        "depth": hp.get("depth"),
        "observation_shape": list(info.observation_shape) if info and info.observation_shape is not None else None,
        "num_actions": info.num_actions if info else None,
    }
