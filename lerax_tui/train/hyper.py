"""Hyperparameters that may differ between the agents of one compiled program (a sweep).

A plain run's :class:`Hyper` holds its config's Python values (:func:`hyper_of`): every function that
reads it then takes the Python branches it always took, and a ``train`` run compiles the program it
compiled before sweeps existed (``tests/test_train_hlo.py``). A sweep program's Hyper holds, for each
key that varies among its configurations, an array with one value per agent (:func:`stack_hyper`);
the rest stay Python values. The engine vmaps the arrays with the agents, so each agent sees its
own scalar: branches on a traced value become selects (both sides computed), and the shared "train
now" and "update the target now" decisions become per-agent masks when an interval is traced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, Int, PyTree

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.sweep_spec import ENGINE_KEYS


@final
class Hyper(eqx.Module):
    """The engine's traceable hyperparameters: each a Python value (static) or, in a sweep, an array
    with a leading agent axis (one scalar per agent inside the vmapped iteration).

    ``linear_lr`` is ``lr_schedule == "linear"`` and ``huber`` is ``loss == "huber"``, so a traced
    choice is a bool array.
    """

    learning_rate: Any
    linear_lr: Any
    gamma: Any
    tau: Any
    epsilon_start: Any
    epsilon_end: Any
    exploration_fraction: Any
    max_grad_norm: Any
    huber: Any
    double_dqn: Any
    learning_starts: Any
    train_frequency: Any
    target_update_interval: Any


def _values(config: DQNConfig) -> dict[str, Any]:
    out = {k: getattr(config, k) for k in ENGINE_KEYS if k not in ("lr_schedule", "loss")}
    out["linear_lr"] = config.lr_schedule == "linear"
    out["huber"] = config.loss == "huber"
    return out


def hyper_of(config: DQNConfig) -> Hyper:
    """``config``'s values as Python scalars: a plain run's Hyper (nothing traced)."""
    return Hyper(**_values(config))


def stack_hyper(configs: Sequence[DQNConfig], seeds: int) -> Hyper:
    """One program's Hyper for ``configs`` x ``seeds`` agents (agent ``c * seeds + s`` is seed ``s``
    of configuration ``c``): a key whose value differs between configurations becomes an array over
    the agents (float32, int32 or bool); the others stay ``configs[0]``'s Python value."""
    rows = [_values(c) for c in configs]
    out: dict[str, Any] = {}
    for key, first in rows[0].items():
        values = [r[key] for r in rows]
        if all(v == first and type(v) is type(first) for v in values):
            out[key] = first
            continue
        dtype = bool if isinstance(first, bool) else np.int32 if isinstance(first, int) else np.float32
        out[key] = jnp.asarray(np.repeat(np.asarray(values, dtype), seeds))
    return Hyper(**out)


def traced(x: Any) -> bool:
    """Whether ``x`` is a per-agent (array) value rather than a Python one."""
    return isinstance(x, jax.Array)


def any_traced(hp: Hyper, *keys: str) -> bool:
    return any(traced(getattr(hp, k)) for k in keys)


def epsilon_traced(hp: Hyper, total_timesteps: int, step: Int[Array, ""]) -> Float[Array, ...]:
    """:func:`~lerax_tui.train.dqn.epsilon_at` on (per-agent) values: linear from ``epsilon_start``
    to ``epsilon_end`` over ``exploration_fraction`` of the run, ``epsilon_end`` at once without decay."""
    start = jnp.asarray(hp.epsilon_start, jnp.float32)
    end = jnp.asarray(hp.epsilon_end, jnp.float32)
    decay = jnp.asarray(hp.exploration_fraction, jnp.float32) * total_timesteps
    frac = jnp.clip(step / jnp.maximum(decay, 1e-30), 0.0, 1.0)
    return jnp.where(decay <= 0, end, (start - end) * (1.0 - frac) + end)


def lr_scale_traced(hp: Hyper, total_timesteps: int, step: Int[Array, ""]) -> Float[Array, ...]:
    """:func:`~lerax_tui.train.learner.lr_scale_at` for a per-agent ``linear_lr``."""
    linear = jnp.clip(1.0 - step / total_timesteps, 0.0, 1.0).astype(jnp.float32)
    return jnp.where(hp.linear_lr, linear, jnp.ones((), jnp.float32))


def select(flag: Any, yes: Any, no: Any) -> Any:
    """``yes`` where ``flag`` (a Python bool picks one side; a traced one selects leaf by leaf)."""
    if not traced(flag):
        return yes if flag else no
    return jax.tree.map(lambda a, b: jnp.where(flag, a, b), yes, no)


def clip_traced(grads: PyTree, max_norm: Float[Array, ""]) -> PyTree:
    """``optax.clip_by_global_norm`` with a traced bound (0: no clipping)."""
    norm = optax.tree.norm(grads)
    scale = jnp.where((max_norm > 0) & (norm >= max_norm), max_norm / jnp.maximum(norm, 1e-30), 1.0)
    return jax.tree.map(lambda g: g * scale.astype(g.dtype), grads)


def adam_update_traced(grads: PyTree, opt_state: PyTree, params: PyTree, hp: Hyper) -> tuple[PyTree, PyTree]:
    """The plain optimizer's step (clip, then Adam) with a per-agent learning rate and/or clip bound.

    The state keeps the plain optimizer's structure (``chain(clip or identity, adam(lr))``: empty
    clip state, Adam's moments, an empty scale state), so a sweep member's ``resume.eqx`` is an
    ordinary run's: Adam runs with step 1 and the agent's learning rate scales its update.
    """
    if traced(hp.max_grad_norm):
        grads = clip_traced(grads, hp.max_grad_norm)
    elif hp.max_grad_norm > 0:
        grads, _ = optax.clip_by_global_norm(hp.max_grad_norm).update(grads, optax.EmptyState())
    clip_state, adam_state = opt_state
    updates, adam_state = optax.adam(1.0).update(grads, adam_state, params)
    updates = jax.tree.map(lambda u: u * jnp.asarray(hp.learning_rate, u.dtype), updates)
    return updates, (clip_state, adam_state)


def masked(mask: Any, new: PyTree, old: PyTree) -> PyTree:
    """``new`` where the agent's ``mask`` holds, else ``old`` (array leaves only)."""
    return jax.tree.map(lambda a, b: jnp.where(mask, a, b) if eqx.is_array(a) else a, new, old)
