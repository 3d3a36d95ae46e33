"""The learning step of DQN: TD targets and loss, Adam with its clip and schedule, target updates.

Pure functions of one seed (the loop that calls them lives in :mod:`lerax_tui.train.dqn`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, Int, PyTree

from lerax_tui.core.policy import MLPQPolicy
from lerax_tui.train.buffer import (
    ReplayBuffer,
    Transitions,
    buffer_sample,
    buffer_sample_nstep,
)
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.hyper import Hyper, adam_update_traced, any_traced, hyper_of, traced


def make_optimizer(config: DQNConfig) -> optax.GradientTransformation:
    """Adam after a global-norm clip (``max_grad_norm`` 0: no clip). The state has the same structure
    either way, so a run's resume file does not depend on it."""
    clip = optax.clip_by_global_norm(config.max_grad_norm) if config.max_grad_norm > 0 else optax.identity()
    return optax.chain(clip, optax.adam(config.learning_rate))


def lr_scale_at(config: DQNConfig, step: Int[Array, ""]) -> Float[Array, ""]:
    """The factor on Adam's step at env step ``step``: 1, or ``1 - step / total_timesteps`` for the
    linear schedule (applied to the updates, so the optimizer state keeps one structure: optax's
    schedules inside ``adam`` would count optimizer updates in its state, not env steps)."""
    if config.lr_schedule == "constant":
        return jnp.ones((), jnp.float32)
    return jnp.asarray(optax.linear_schedule(1.0, 0.0, config.total_timesteps)(step), jnp.float32)


def _batched_mlp(net: eqx.nn.MLP, x: Float[Array, "batch features"]) -> Float[Array, "batch out"]:
    """``vmap(net)(x)`` as plain ``x @ W.T + b`` matmuls over the batch.

    Under ``vmap`` each ``Linear`` becomes a batched matrix-vector product whose backward pass XLA
    lowers less efficiently on CPU; this form is ~25% faster per update at rejax's CartPole config
    (``bench/throughput.py``). Only for the plain MLP that ``MLPQPolicy`` builds (elementwise
    activations without parameters, no scan); anything else goes through ``vmap``.
    """
    plain = not getattr(net, "scan", False) and not jax.tree.leaves(
        eqx.filter((net.activation, net.final_activation), eqx.is_array)
    )
    if not plain or net.in_size == "scalar" or net.out_size == "scalar":
        return jax.vmap(net)(x)
    for i, layer in enumerate(net.layers):
        x = x @ layer.weight.T
        if layer.bias is not None:
            x = x + layer.bias
        x = net.activation(x) if i < len(net.layers) - 1 else net.final_activation(x)
    return x


def q_batch(policy: MLPQPolicy, observations: Array) -> Float[Array, "batch actions"]:
    """``policy.q_values`` of every observation in the batch (same values, batched matmuls)."""
    flat = jax.vmap(policy.observation_space.flatten_sample)(observations)
    return _batched_mlp(policy.q_network, flat)


def td_targets(
    online: MLPQPolicy,
    target: MLPQPolicy,
    batch: Transitions,
    config: DQNConfig,
    discount: Float[Array, " batch"] | None = None,
    hp: Hyper | None = None,
) -> Float[Array, " batch"]:
    """The TD targets ``r + gamma * (1 - terminated) * V(next)`` (no gradient flows through them).

    Termination cuts bootstrapping; truncation keeps it (``next_observation`` is the pre-reset one).
    With ``double_dqn`` the online net picks the next action and the target net values it.
    ``discount`` replaces ``gamma * (1 - terminated)`` for n-step batches
    (see :func:`~lerax_tui.train.buffer.buffer_sample_nstep`). ``hp`` (default: the config's) may
    hold one agent's traced ``gamma`` and ``double_dqn`` (a sweep, :mod:`~lerax_tui.train.hyper`).
    """
    hp = hp if hp is not None else hyper_of(config)
    online, target = jax.tree.map(lambda x: jax.lax.stop_gradient(x) if eqx.is_array(x) else x, (online, target))
    next_target = q_batch(target, batch.next_observation)

    def double() -> Array:
        next_action = jnp.argmax(q_batch(online, batch.next_observation), axis=1)
        return jnp.take_along_axis(next_target, next_action[:, None], axis=1)[:, 0]

    if traced(hp.double_dqn):
        next_value = jnp.where(hp.double_dqn, double(), jnp.max(next_target, axis=1))
    else:
        next_value = double() if hp.double_dqn else jnp.max(next_target, axis=1)
    if discount is not None:
        return batch.reward + discount * next_value
    not_terminated = 1.0 - batch.terminated.astype(jnp.float32)
    return batch.reward + hp.gamma * not_terminated * next_value


def td_loss(
    q_network: eqx.nn.MLP,
    online: MLPQPolicy,
    target: MLPQPolicy,
    batch: Transitions,
    config: DQNConfig,
    discount: Float[Array, " batch"] | None = None,
    hp: Hyper | None = None,
) -> Float[Array, ""]:
    """The TD loss of ``q_network`` (in place of ``online``'s) on ``batch``, against
    :func:`td_targets` of ``online`` and ``target``.

    The targets come from separate forward passes without gradient, so the backward pass covers
    only the ``batch`` rows of ``Q(observation)`` (a forward pass over observations and next
    observations concatenated would take its backward pass over both).
    """
    hp = hp if hp is not None else hyper_of(config)
    y = td_targets(online, target, batch, config, discount, hp)
    policy = eqx.tree_at(lambda p: p.q_network, online, q_network)
    q = q_batch(policy, batch.observation)
    q_taken = jnp.take_along_axis(q, batch.action[:, None].astype(jnp.int32), axis=1)[:, 0]
    if traced(hp.huber):
        huber = jnp.mean(optax.huber_loss(q_taken, y, delta=1.0))
        return jnp.where(hp.huber, huber, jnp.mean(jnp.square(q_taken - y)))
    if hp.huber:
        return jnp.mean(optax.huber_loss(q_taken, y, delta=1.0))
    return jnp.mean(jnp.square(q_taken - y))


def update_seed(
    online: MLPQPolicy,
    opt_state: PyTree,
    key_data: Array,
    target: MLPQPolicy,
    buffer: ReplayBuffer,
    config: DQNConfig,
    lr_scale: Float[Array, ""] | None = None,
    hp: Hyper | None = None,
) -> tuple[MLPQPolicy, PyTree, Array, Float[Array, ""]]:
    """One gradient step of one seed on a uniform batch from its buffer (Adam's step times
    ``lr_scale``, see :func:`lr_scale_at`).

    Takes and returns only what the step changes (online policy, Adam's state, raw key data), so a
    loop of steps carries those and reads ``target`` and ``buffer`` as loop constants: a loop that
    carried the buffer would copy all of it every step (see ``tests/test_train_hlo.py``).

    ``hp`` (default: the config's) may hold this agent's traced values (a sweep).

    Returns:
        ``(online, opt_state, key_data, loss)``.
    """
    hp = hp if hp is not None else hyper_of(config)
    key, sample_key = jr.split(jr.wrap_key_data(key_data))
    if config.n_step == 1:
        batch, discount = buffer_sample(buffer, config.batch_size, key=sample_key), None
    else:
        batch, discount = buffer_sample_nstep(
            buffer, config.batch_size, n=config.n_step, stride=config.num_envs, gamma=hp.gamma, key=sample_key
        )
    loss, grads = eqx.filter_value_and_grad(td_loss)(online.q_network, online, target, batch, config, discount, hp)
    params = eqx.filter(online.q_network, eqx.is_array)
    if any_traced(hp, "learning_rate", "max_grad_norm"):
        updates, opt_state = adam_update_traced(grads, opt_state, params, hp)
    else:
        updates, opt_state = make_optimizer(config).update(grads, opt_state, params)
    if lr_scale is not None:
        updates = jax.tree.map(lambda u: u * lr_scale, updates)
    q_network = eqx.apply_updates(online.q_network, updates)
    online = eqx.tree_at(lambda p: p.q_network, online, q_network)
    return online, opt_state, jr.key_data(key), loss


def update_target(online: MLPQPolicy, target: MLPQPolicy, tau: float | Array) -> MLPQPolicy:
    """``tau`` of the online network mixed into the target (``optax.incremental_update``; 1.0: a
    hard copy, which also drops whatever the old target held; a traced ``tau`` selects between them)."""
    if traced(tau):  # a sweep's per-agent tau: the mix, or the copy where it is 1
        online_arrays, static = eqx.partition(online.q_network, eqx.is_inexact_array)
        target_arrays = eqx.filter(target.q_network, eqx.is_inexact_array)
        mixed = optax.incremental_update(online_arrays, target_arrays, tau)
        mixed = jax.tree.map(lambda o, m: jnp.where(tau >= 1.0, o, m), online_arrays, mixed)
        return eqx.tree_at(lambda p: p.q_network, target, eqx.combine(mixed, static))
    if tau >= 1.0:
        return eqx.tree_at(lambda p: p.q_network, target, online.q_network)
    online_arrays, static = eqx.partition(online.q_network, eqx.is_inexact_array)
    target_arrays = eqx.filter(target.q_network, eqx.is_inexact_array)
    mixed = optax.incremental_update(online_arrays, target_arrays, tau)
    return eqx.tree_at(lambda p: p.q_network, target, eqx.combine(mixed, static))
